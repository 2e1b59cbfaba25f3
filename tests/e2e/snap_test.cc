// Code snapshots and artifacts with the real binary: what reaches a trial, the node's
// snapshot cache, edits after submission, outputs/ stored and downloaded, bad inputs.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "tests/e2e/e2e_util.h"

namespace sweep::e2e {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

// Occurrences of `needle` in every worker log of the workspace.
int CountInWorkerLogs(const std::string& ws, const std::string& needle) {
  int count = 0;
  std::error_code ec;
  for (const auto& entry : fs::recursive_directory_iterator(ws + "/logs", ec)) {
    if (!entry.is_regular_file()) continue;
    std::string text = Slurp(entry.path());
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
      ++count;
    }
  }
  return count;
}

// A one-node target, so every trial runs on the same node (and its snapshot cache).
void CreateSoloTarget(const std::string& ws) {
  CommandResult created = RunSweep({"compute", "create", "solo", "--type", "amlcompute",
                                    "--min-nodes", "0", "--max-nodes", "1", "--workspace", ws});
  ASSERT_EQ(created.exit_code, 0) << created.err;
}

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

// A grid sweep over x whose trials run `command` in a snapshot of <dir>/code.
std::string WriteSpec(const TempDir& dir, const std::string& command, const std::string& compute,
                      const std::string& metric, const std::string& x_values,
                      const std::string& limits) {
  std::string yaml = "type: sweep\n";
  yaml += "trial:\n  code: code\n  command: " + command + "\n";
  yaml += "compute: " + compute + "\n";
  yaml += "sampling_algorithm: grid\n";
  yaml += "search_space:\n  x: {type: choice, values: " + x_values + "}\n";
  yaml += "objective: {primary_metric: " + metric + ", goal: maximize}\n";
  yaml += "limits: " + limits + "\n";
  return dir.Write("spec.yml", yaml);
}

// The trial fails unless exactly the kept files arrived; it writes two outputs.
constexpr char kCheckingTrain[] = R"PY(import os, sys
x = sys.argv[1]
expect = {'keep.txt': True, 'data/keep.csv': True, 'secret.csv': False,
          'data/big.csv': False, 'cache/blob.bin': False, 'train.py': True}
for path, present in expect.items():
    if os.path.exists(path) != present:
        print(f'{path} present={os.path.exists(path)}, expected {present}', file=sys.stderr)
        sys.exit(3)
os.makedirs('outputs/sub', exist_ok=True)
open('outputs/model.txt', 'w').write(f'model for x={x}\n')
open('outputs/sub/bytes.bin', 'wb').write(bytes(range(256)) * 40)
print(f'score={x}')
)PY";

TEST(SnapE2E, OnlyKeptFilesReachTrialsThroughTheNodeCacheAndOutputsAreStored) {
  TempDir dir;
  const std::string ws = dir.path() + "/ws";
  dir.Write("code/train.py", kCheckingTrain);
  dir.Write("code/keep.txt", "kept\n");
  dir.Write("code/secret.csv", "a,b\n");
  dir.Write("code/data/keep.csv", "1,2\n");
  dir.Write("code/data/big.csv", "3,4\n");
  dir.Write("code/cache/blob.bin", "cached\n");
  // .amlignore wins: keep.txt, which .gitignore names, is shipped.
  dir.Write("code/.gitignore", "keep.txt\n");
  dir.Write("code/.amlignore", "# data files stay home\n*.csv\n!data/keep.csv\ncache/\n");
  std::string spec = WriteSpec(dir, "python3 train.py ${{search_space.x}}", "solo", "score",
                               "[1, 2]", "{max_total_trials: 2, max_concurrent_trials: 1}");
  CreateSoloTarget(ws);
  CommandResult run = RunSweep({"run", spec, "--workspace", ws, "-q"}, 180);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  std::string id = FirstLine(run.out);
  nlohmann::json trials = ParseJson(RunSweep({"trials", id, "--json", "--workspace", ws}));
  ASSERT_EQ(trials.size(), 2u);
  for (const auto& t : trials) EXPECT_EQ(t["state"], "completed") << t.dump();
  // One node ran both trials: it fetched the snapshot once and reused it.
  EXPECT_EQ(CountInWorkerLogs(ws, "cache miss"), 1);
  EXPECT_EQ(CountInWorkerLogs(ws, "cache hit"), 1);

  CommandResult listed = RunSweep({"artifacts", id, "2", "--json", "--workspace", ws});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  nlohmann::json files = ParseJson(listed)["files"];
  ASSERT_EQ(files.size(), 2u) << listed.out;
  EXPECT_EQ(files[0]["path"], "model.txt");
  EXPECT_EQ(files[0]["size"], 14);
  EXPECT_EQ(files[1]["path"], "sub/bytes.bin");
  EXPECT_EQ(files[1]["size"], 256 * 40);
  CommandResult table = RunSweep({"artifacts", id, "2", "--workspace", ws});
  ASSERT_EQ(table.exit_code, 0);
  EXPECT_NE(table.out.find("sub/bytes.bin"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find(files[1]["sha256"].get<std::string>()), std::string::npos);

  const std::string down = dir.path() + "/down";
  CommandResult got = RunSweep({"artifacts", id, "2", "--download", down, "--workspace", ws});
  ASSERT_EQ(got.exit_code, 0) << got.err;
  EXPECT_EQ(Slurp(down + "/model.txt"), "model for x=2\n");
  std::string bytes;
  for (int i = 0; i < 40; ++i) {
    for (int b = 0; b < 256; ++b) bytes.push_back(static_cast<char>(b));
  }
  EXPECT_EQ(Slurp(down + "/sub/bytes.bin"), bytes);

  // Bad inputs: a non-empty destination, an unknown trial, an unknown sweep.
  CommandResult again = RunSweep({"artifacts", id, "2", "--download", down, "--workspace", ws});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find(down + " already exists and is not an empty directory; choose a "
                                  "new or empty directory for --download"),
            std::string::npos)
      << again.err;
  EXPECT_EQ(Slurp(down + "/model.txt"), "model for x=2\n");  // untouched
  CommandResult no_trial = RunSweep({"artifacts", id, "9", "--workspace", ws});
  EXPECT_EQ(no_trial.exit_code, 1);
  EXPECT_NE(no_trial.err.find("has no trial 9"), std::string::npos) << no_trial.err;
  CommandResult no_sweep = RunSweep({"artifacts", "sw-nope", "1", "--workspace", ws});
  EXPECT_EQ(no_sweep.exit_code, 1);
  EXPECT_NE(no_sweep.err.find("no sweep 'sw-nope'"), std::string::npos) << no_sweep.err;
}

TEST(SnapE2E, CodeEditedAfterSubmissionDoesNotReachTrials) {
  TempDir dir;
  const std::string ws = dir.path() + "/ws";
  const std::string go = dir.path() + "/go";
  dir.Write("code/version.txt", "v1\n");
  dir.Write("code/train.py", R"PY(import os, sys, time
deadline = time.time() + 60
while not os.path.exists(sys.argv[1]) and time.time() < deadline:
    time.sleep(0.05)
version = open('version.txt').read().strip()
if version != 'v1':
    print(f'saw {version}', file=sys.stderr)
    sys.exit(4)
print('ok=1')
)PY");
  std::string spec = WriteSpec(dir, "python3 train.py " + go, "solo", "ok", "[1, 2]",
                               "{max_total_trials: 2, max_concurrent_trials: 1}");
  CreateSoloTarget(ws);
  BackgroundSweep run({"run", spec, "--workspace", ws, "-q"});
  std::string id = run.WaitFirstLine();
  ASSERT_EQ(id.rfind("sw-", 0), 0u) << id;
  // The id is printed once the snapshot is stored: edit the code, then let trials go.
  dir.Write("code/version.txt", "v2\n");
  dir.Write("code/train.py", "import sys\nsys.exit(5)\n");
  dir.Write("go", "");
  CommandResult done = run.Wait(180);
  ASSERT_EQ(done.exit_code, 0) << done.out << done.err;
  nlohmann::json trials = ParseJson(RunSweep({"trials", id, "--json", "--workspace", ws}));
  ASSERT_EQ(trials.size(), 2u);
  for (const auto& t : trials) EXPECT_EQ(t["state"], "completed") << t.dump();
}

TEST(SnapE2E, OversizedSnapshotIsRefusedNamingTheLargestFiles) {
  TempDir dir;
  const std::string ws = dir.path() + "/ws";
  dir.Write("code/train.py", "print('ok=1')\n");
  dir.Write("code/weights/big.bin", std::string(3 << 20, 'w'));
  dir.Write("code/small.bin", std::string(1 << 20, 's'));
  std::string spec =
      WriteSpec(dir, "python3 train.py", "cpu-cluster", "ok", "[1]", "{max_total_trials: 1}");
  CommandResult run =
      RunSweep({"run", spec, "--snapshot-max-mb", "2", "--workspace", ws, "-q"}, 60);
  EXPECT_EQ(run.exit_code, 2) << run.out << run.err;
  EXPECT_NE(run.err.find("holds 4.0 MB, more than the snapshot limit of 2.0 MB; largest files: "
                         "weights/big.bin (3.0 MB), small.bin (1.0 MB)"),
            std::string::npos)
      << run.err;
  EXPECT_NE(run.err.find(".amlignore"), std::string::npos) << run.err;
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(ParseJson(RunSweep({"ls", "--json", "--workspace", ws})).size(), 0u);
  EXPECT_TRUE(fs::is_empty(ws + "/snapshots"));  // the workspace makes it; nothing went in

  CommandResult zero = RunSweep({"run", spec, "--snapshot-max-mb", "0", "--workspace", ws});
  EXPECT_EQ(zero.exit_code, 2);
  EXPECT_NE(zero.err.find("--snapshot-max-mb and --artifact-max-mb must be at least 1"),
            std::string::npos)
      << zero.err;
}

TEST(SnapE2E, EscapingSymlinkInOutputsFailsTheTrialWithTheReason) {
  TempDir dir;
  const std::string ws = dir.path() + "/ws";
  dir.Write("secret.txt", "secret\n");
  dir.Write("code/train.py",
            "import os, sys\n"
            "os.makedirs('outputs', exist_ok=True)\n"
            "open('outputs/fine.txt', 'w').write('fine')\n"
            "os.symlink(sys.argv[1], 'outputs/leak')\n"
            "print('ok=1')\n");
  std::string spec = WriteSpec(dir, "python3 train.py " + dir.path() + "/secret.txt", "cpu-cluster",
                               "ok", "[1]", "{max_total_trials: 1}");
  CommandResult run = RunSweep({"run", spec, "--workspace", ws, "-q"}, 120);
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  std::string id = FirstLine(run.out);
  nlohmann::json trials = ParseJson(RunSweep({"trials", id, "--json", "--workspace", ws}));
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(trials[0]["state"], "failed");
  EXPECT_EQ(trials[0]["reason"],
            "uploading outputs/ failed: outputs/ refused: 'leak' is a symbolic link; only "
            "regular files are allowed");
  CommandResult listed = RunSweep({"artifacts", id, "1", "--workspace", ws});
  EXPECT_EQ(listed.exit_code, 1);
  EXPECT_NE(listed.err.find("trial 1 of sweep " + id + " has no uploaded artifacts"),
            std::string::npos)
      << listed.err;
}

TEST(SnapE2E, OutputsOverTheArtifactLimitFailTheTrialAndStoreNothing) {
  TempDir dir;
  const std::string ws = dir.path() + "/ws";
  dir.Write("code/train.py",
            "import os\n"
            "os.makedirs('outputs', exist_ok=True)\n"
            "open('outputs/huge.bin', 'wb').write(b'h' * (2 << 20))\n"
            "print('ok=1')\n");
  std::string spec =
      WriteSpec(dir, "python3 train.py", "cpu-cluster", "ok", "[1]", "{max_total_trials: 1}");
  CommandResult run =
      RunSweep({"run", spec, "--artifact-max-mb", "1", "--workspace", ws, "-q"}, 120);
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
  std::string id = FirstLine(run.out);
  nlohmann::json trials = ParseJson(RunSweep({"trials", id, "--json", "--workspace", ws}));
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(trials[0]["state"], "failed");
  EXPECT_EQ(trials[0]["reason"],
            "uploading outputs/ failed: outputs/ hold 2.0 MB, more than the artifact limit of "
            "1.0 MB; write less to outputs/ or raise the limit (sweep run --artifact-max-mb)");
  EXPECT_TRUE(fs::is_empty(ws + "/artifacts"));
}

}  // namespace
}  // namespace sweep::e2e

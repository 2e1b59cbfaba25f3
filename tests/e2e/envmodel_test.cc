// `sweep environment ...`, environments in specs, and `sweep models ...`, end to end.
// Artifacts are placed in the workspace layout by the test (controller/artifact_store.h)
// where a worker's upload would leave them.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "gtest/gtest.h"
#include "tests/e2e/e2e_util.h"
#include "workspace/artifact_store.h"

namespace sweep::e2e {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int Lines(const fs::path& path) {
  std::string text = Slurp(path);
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

// The command failed with `code` and its error names `text`.
void ExpectError(const CommandResult& result, int code, const std::string& text) {
  EXPECT_EQ(result.exit_code, code) << result.out << result.err;
  EXPECT_NE(result.err.find(text), std::string::npos)
      << "expected: " << text << "\ngot: " << result.err;
}

// A grid sweep over a = 1..n maximizing `score`; `trial` is the body of the trial section.
std::string GridSpec(const std::string& trial, int n, int concurrent) {
  std::string values;
  for (int i = 1; i <= n; ++i) values += (i > 1 ? ", " : "") + std::to_string(i);
  return "type: sweep\ntrial:\n" + trial +
         "compute: azureml:cpu-cluster\n"
         "sampling_algorithm: grid\n"
         "search_space:\n"
         "  a: {type: choice, values: [" +
         values +
         "]}\n"
         "objective: {primary_metric: score, goal: maximize}\n"
         "limits: {max_total_trials: " +
         std::to_string(n) + ", max_concurrent_trials: " + std::to_string(concurrent) + "}\n";
}

// Runs a spec to its end; the sweep id.
std::string RunToEnd(const std::string& spec, const std::string& ws) {
  CommandResult run = RunSweep({"run", spec, "--workspace", ws, "-q"}, 240);
  std::string id = run.out.substr(0, run.out.find('\n'));
  EXPECT_EQ(id.rfind("sw-", 0), 0u) << run.out << run.err;
  return id;
}

TEST(EnvironmentE2E, CreateListShowAndTheSameDefinitionIsTheSameVersion) {
  TempDir dir;
  const std::string ws = dir.path() + "/ws";
  const std::string req = dir.Write("requirements.txt", "numpy==1.26\n");

  CommandResult user = RunSweep({"environment", "create", "py-env", "--user-managed", "--python",
                                 "/bin/sh", "--workspace", ws});
  ASSERT_EQ(user.exit_code, 0) << user.err;
  EXPECT_EQ(user.out, "created environment py-env version 1 (python /bin/sh)\n");

  nlohmann::json v1 = ParseJson(
      RunSweep({"environment", "create", "sk", "--setup", "pip install -r requirements.txt",
                "--file", req, "--json", "--workspace", ws}));
  EXPECT_EQ(v1["version"], 1);
  EXPECT_EQ(v1["created"], true);
  EXPECT_EQ(v1["kind"], "system_managed");
  EXPECT_EQ(v1["files"][0]["name"], "requirements.txt");

  CommandResult same =
      RunSweep({"environment", "create", "sk", "--setup", "pip install -r requirements.txt",
                "--file", req, "--workspace", ws});
  ASSERT_EQ(same.exit_code, 0) << same.err;
  EXPECT_EQ(same.out,
            "environment sk version 1 already has this definition; no new version "
            "created\n");

  dir.Write("requirements.txt", "numpy==2.0\n");
  CommandResult changed =
      RunSweep({"environment", "create", "sk", "--setup", "pip install -r requirements.txt",
                "--file", req, "--workspace", ws});
  ASSERT_EQ(changed.exit_code, 0) << changed.err;
  EXPECT_NE(changed.out.find("created environment sk version 2"), std::string::npos);

  nlohmann::json list = ParseJson(RunSweep({"environment", "list", "--json", "--workspace", ws}));
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0]["name"], "py-env");
  EXPECT_EQ(list[2]["version"], 2);
  CommandResult table = RunSweep({"environment", "list", "--workspace", ws});
  EXPECT_EQ(table.out.rfind("NAME", 0), 0u) << table.out;

  nlohmann::json latest =
      ParseJson(RunSweep({"environment", "show", "sk", "--json", "--workspace", ws}));
  EXPECT_EQ(latest["version"], 2);
  nlohmann::json first =
      ParseJson(RunSweep({"environment", "show", "sk@1", "--json", "--workspace", ws}));
  EXPECT_EQ(first["version"], 1);
  EXPECT_NE(first["digest"], latest["digest"]);
  CommandResult text = RunSweep({"environment", "show", "sk@latest", "--workspace", ws});
  EXPECT_NE(text.out.find("file      requirements.txt (11 bytes)"), std::string::npos) << text.out;
}

TEST(EnvironmentE2E, BadInputsAreRefusedWithExitTwoAndWriteNothing) {
  TempDir dir;
  const std::string ws = dir.path() + "/ws";
  const std::string req = dir.Write("requirements.txt", "x\n");
  const std::string not_exec = dir.Write("python", "not a program");
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"sk"}, "say what kind of environment 'sk' is: --user-managed"},
      {{"sk", "--user-managed", "--setup", "make"},
       "--user-managed and --setup exclude each other"},
      {{"sk", "--setup", "make", "--file", dir.path() + "/missing.txt"},
       "--file '" + dir.path() + "/missing.txt' is not a readable file"},
      {{"sk", "--setup", "make", "--file", dir.path()}, "is not a readable file"},
      {{"bad name", "--user-managed"}, "environment name 'bad name' is invalid"},
      {{"sk", "--user-managed", "--python", not_exec}, "is not an executable file on this host"},
      {{"sk", "--user-managed", "--python", "python3"}, "must be an absolute path"},
      {{"sk", "--user-managed", "--file", req}, "--file goes with --setup"},
      {{"sk", "--setup", "make", "--python", "/bin/sh"}, "--python goes with --user-managed"},
      {{"sk", "--setup", " "}, "needs a setup command (--setup)"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"environment", "create"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    args.insert(args.end(), {"--workspace", ws});
    CommandResult result = RunSweep(args);
    ExpectError(result, 2, c.message);
    EXPECT_EQ(result.out, "");
  }
  nlohmann::json list = ParseJson(RunSweep({"environment", "list", "--json", "--workspace", ws}));
  EXPECT_TRUE(list.empty()) << list.dump();

  CommandResult unknown = RunSweep({"environment", "show", "nope", "--workspace", ws});
  ExpectError(unknown, 1, "environment 'nope' not found in this workspace; create it with");
  CommandResult bad_version = RunSweep({"environment", "show", "nope@x", "--workspace", ws});
  ExpectError(bad_version, 2, "version 'x' is not a number >= 1 or 'latest'");
}

TEST(EnvironmentE2E, AnUnknownEnvironmentInASpecIsRefusedBeforeAnythingRuns) {
  TempDir dir;
  const std::string ws = dir.path() + "/ws";
  const std::string spec = dir.Write(
      "spec.yml",
      GridSpec("  command: sh -c 'echo score=1'\n  environment: azureml:nope@latest\n", 1, 1));
  CommandResult run = RunSweep({"run", spec, "--workspace", ws});
  ExpectError(run, 2,
              "environment 'nope' not found in this workspace; create it with `sweep "
              "environment create nope --user-managed`");
  EXPECT_TRUE(ParseJson(RunSweep({"ls", "--json", "--workspace", ws})).empty());

  std::string bad_text = Slurp(spec);
  bad_text.replace(bad_text.find("nope@latest"), 11, "nope@x");
  const std::string bad = dir.Write("bad.yml", bad_text);
  CommandResult validate = RunSweep({"validate", bad});
  ExpectError(validate, 2, "environment reference 'azureml:nope@x' is invalid");
}

// The setup command counts its builds in a file and installs the `trainer` the trials run.
TEST(EnvironmentE2E, ASystemManagedEnvironmentIsBuiltOnceAndRebuiltWhenItsFileChanges) {
  TempDir dir;
  const std::string ws = dir.path() + "/ws";
  const std::string counter = dir.path() + "/builds.txt";
  const std::string req = dir.Write("requirements.txt", "scikit-learn==1.4\n");
  const std::string setup =
      "echo build >> " + counter +
      " && cp requirements.txt \"$SWEEP_ENV_DIR/\" && printf '#!/bin/sh\\necho "
      "\"score=$1\"; cat \"$SWEEP_ENV_DIR/requirements.txt\" >&2\\n' > "
      "\"$SWEEP_ENV_DIR/bin/trainer\" && chmod +x \"$SWEEP_ENV_DIR/bin/trainer\"";
  ASSERT_EQ(RunSweep({"environment", "create", "counted", "--setup", setup, "--file", req,
                      "--workspace", ws})
                .exit_code,
            0);
  const std::string spec = dir.Write(
      "spec.yml",
      GridSpec("  command: trainer ${{search_space.a}}\n  environment: azureml:counted\n", 4, 2));
  auto run_all_completed = [&] {
    const std::string id = RunToEnd(spec, ws);
    nlohmann::json trials = ParseJson(RunSweep({"trials", id, "--json", "--workspace", ws}));
    ASSERT_EQ(trials.size(), 4u);
    for (const auto& t : trials) EXPECT_EQ(t["state"], "completed") << t.dump();
  };
  run_all_completed();
  EXPECT_EQ(Lines(counter), 1) << "4 trials on 2 nodes, one build";

  run_all_completed();
  EXPECT_EQ(Lines(counter), 1) << "a second sweep reuses the cached build";

  dir.Write("requirements.txt", "scikit-learn==1.5\n");
  CommandResult v2 = RunSweep(
      {"environment", "create", "counted", "--setup", setup, "--file", req, "--workspace", ws});
  ASSERT_NE(v2.out.find("version 2"), std::string::npos) << v2.out << v2.err;
  run_all_completed();
  EXPECT_EQ(Lines(counter), 2) << "the changed requirements file is a new build";
}

TEST(EnvironmentE2E, AFailedBuildFailsTheTrialsWithTheLogTailAndIsBuiltOnce) {
  TempDir dir;
  const std::string ws = dir.path() + "/ws";
  const std::string counter = dir.path() + "/builds.txt";
  ASSERT_EQ(RunSweep({"environment", "create", "broken", "--setup",
                      "echo build >> " + counter + "; echo 'ERROR: no such package' >&2; exit 4",
                      "--workspace", ws})
                .exit_code,
            0);
  const std::string spec =
      dir.Write("spec.yml",
                GridSpec("  command: sh -c 'echo score=1'\n  environment: azureml:broken\n", 3, 1));
  const std::string id = RunToEnd(spec, ws);
  nlohmann::json trials = ParseJson(RunSweep({"trials", id, "--json", "--workspace", ws}));
  ASSERT_EQ(trials.size(), 3u);
  for (const auto& t : trials) {
    EXPECT_EQ(t["state"], "failed");
    const std::string reason = t["reason"];
    EXPECT_NE(reason.find("setup command failed (exit code 4)"), std::string::npos) << reason;
    EXPECT_NE(reason.find("ERROR: no such package"), std::string::npos) << reason;
  }
  EXPECT_EQ(Lines(counter), 1) << "a failed build is remembered, not retried";
}

class ModelsE2E : public ::testing::Test {
 protected:
  // Runs a 3-trial grid sweep whose score is the parameter (trial 3 is the best), or
  // whose trials all fail.
  std::string RunSweepOf(const std::string& command) {
    return RunToEnd(dir_.Write("spec.yml", GridSpec("  command: " + command + "\n", 3, 1)), ws_);
  }

  // What an upload of `files` by the given attempt leaves in the workspace.
  void PlaceArtifacts(const std::string& sweep, int64_t trial,
                      const std::map<std::string, std::string>& files) {
    const fs::path attempt = workspace::ArtifactAttemptDir(ws_, sweep, trial, 1);
    for (const auto& [path, content] : files) {
      fs::create_directories((attempt / "files" / path).parent_path());
      std::ofstream(attempt / "files" / path, std::ios::binary) << content;
    }
    auto manifest = workspace::ScanFiles((attempt / "files").string());
    ASSERT_TRUE(manifest.ok()) << manifest.status();
    ASSERT_TRUE(workspace::WriteManifest(attempt.string(), *manifest).ok());
  }

  nlohmann::json ModelList() {
    return ParseJson(RunSweep({"models", "list", "--json", "--workspace", ws_}));
  }

  TempDir dir_;
  const std::string ws_ = dir_.path() + "/ws";
};

TEST_F(ModelsE2E, RegisterListShowAndDownloadByteIdentical) {
  const std::string id = RunSweepOf("sh -c 'echo score=${{search_space.a}}'");
  const std::string pickle("\x80\x04\x95\0binary\xff", 11);
  PlaceArtifacts(id, 3, {{"model.pkl", pickle}, {"metrics/report.txt", "f1=0.9\n"}});
  PlaceArtifacts(id, 1, {{"model.pkl", "trial one"}});

  // A trial without artifacts: nothing is written.
  CommandResult none = RunSweep(
      {"models", "register", "--sweep", id, "--trial", "2", "--name", "clf", "--workspace", ws_});
  ExpectError(none, 1, "trial 2 of sweep " + id + " has no uploaded artifacts");
  EXPECT_TRUE(ModelList().empty());
  EXPECT_FALSE(fs::exists(ws_ + "/models/clf/1"));

  CommandResult reg = RunSweep({"models", "register", "--sweep", id.substr(0, 6), "--name", "clf",
                                "--tag", "stage=dev", "--tag", "owner=me", "--workspace", ws_});
  ASSERT_EQ(reg.exit_code, 0) << reg.err;
  EXPECT_EQ(reg.out, "registered model clf version 1 from trial 3 of sweep " + id +
                         " (score=3, 18 bytes)\n");
  nlohmann::json second = ParseJson(RunSweep({"models", "register", "--sweep", id, "--trial", "1",
                                              "--name", "clf", "--json", "--workspace", ws_}));
  EXPECT_EQ(second["version"], 2);
  EXPECT_EQ(second["trial_id"], 1);

  nlohmann::json list = ModelList();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["version"], 1);
  EXPECT_EQ(list[0]["sweep_id"], id);
  EXPECT_EQ(list[0]["value"], 3.0);
  EXPECT_EQ(list[0]["params"]["a"], 3);
  EXPECT_EQ(list[0]["tags"]["stage"], "dev");

  nlohmann::json shown =
      ParseJson(RunSweep({"models", "show", "clf:1", "--json", "--workspace", ws_}));
  ASSERT_EQ(shown["files"].size(), 2u);
  EXPECT_EQ(shown["files"][1]["path"], "model.pkl");
  EXPECT_EQ(shown["files"][1]["bytes"], 11);
  nlohmann::json newest =
      ParseJson(RunSweep({"models", "show", "clf", "--json", "--workspace", ws_}));
  EXPECT_EQ(newest["version"], 2);
  CommandResult text = RunSweep({"models", "show", "clf:1", "--workspace", ws_});
  EXPECT_NE(text.out.find("from      sweep " + id + ", trial 3, attempt 1"), std::string::npos)
      << text.out;

  const std::string out = dir_.path() + "/download";
  CommandResult download =
      RunSweep({"models", "download", "clf:1", "--to", out, "--workspace", ws_});
  ASSERT_EQ(download.exit_code, 0) << download.err;
  EXPECT_EQ(Slurp(out + "/model.pkl"), pickle);
  EXPECT_EQ(Slurp(out + "/metrics/report.txt"), "f1=0.9\n");

  CommandResult again = RunSweep({"models", "download", "clf:1", "--to", out, "--workspace", ws_});
  ExpectError(again, 2, "already exists and is not an empty directory");
}

TEST_F(ModelsE2E, UnknownModelsVersionsAndBadInputsAreClearErrors) {
  const std::string id = RunSweepOf("sh -c 'echo score=${{search_space.a}}'");
  PlaceArtifacts(id, 3, {{"model.pkl", "m"}});
  ASSERT_EQ(RunSweep({"models", "register", "--sweep", id, "--name", "clf", "--workspace", ws_})
                .exit_code,
            0);
  ExpectError(RunSweep({"models", "show", "nope", "--workspace", ws_}), 1,
              "model 'nope' not found (`sweep models list` lists registered models)");
  ExpectError(RunSweep({"models", "show", "clf:9", "--workspace", ws_}), 1,
              "model 'clf' has no version 9");
  ExpectError(
      RunSweep({"models", "download", "clf:9", "--to", dir_.path() + "/x", "--workspace", ws_}), 1,
      "model 'clf' has no version 9");
  EXPECT_FALSE(fs::exists(dir_.path() + "/x"));
  ExpectError(RunSweep({"models", "show", "clf:x", "--workspace", ws_}), 2,
              "model version 'x' in 'clf:x' is not a number >= 1");
  ExpectError(RunSweep({"models", "register", "--sweep", id, "--name", "clf", "--tag", "novalue",
                        "--workspace", ws_}),
              2, "--tag 'novalue' is not KEY=VALUE");
  ExpectError(
      RunSweep({"models", "register", "--sweep", id, "--name", "bad/name", "--workspace", ws_}), 2,
      "model name 'bad/name' is invalid");
  ExpectError(
      RunSweep({"models", "register", "--sweep", "sw-nope", "--name", "clf", "--workspace", ws_}),
      1, "no sweep 'sw-nope'");
  ExpectError(RunSweep({"models", "register", "--sweep", id, "--trial", "7", "--name", "clf",
                        "--workspace", ws_}),
              1, "trial 7 of sweep '" + id + "' not found");
  EXPECT_EQ(ModelList().size(), 1u) << "nothing more was registered";
}

TEST_F(ModelsE2E, ASweepWithNoCompletedTrialHasNothingToRegister) {
  const std::string id = RunSweepOf("sh -c 'exit 1'");
  PlaceArtifacts(id, 1, {{"model.pkl", "from a failed trial"}});
  CommandResult reg =
      RunSweep({"models", "register", "--sweep", id, "--name", "clf", "--workspace", ws_});
  ExpectError(reg, 2, "sweep " + id + " has no completed trial with a value of 'score'");
  CommandResult failed_trial = RunSweep(
      {"models", "register", "--sweep", id, "--trial", "1", "--name", "clf", "--workspace", ws_});
  ExpectError(failed_trial, 2, "trial 1 of sweep " + id + " is failed; only completed trials");
  EXPECT_TRUE(ModelList().empty());
  EXPECT_FALSE(fs::exists(ws_ + "/models/clf/1"));
}

}  // namespace
}  // namespace sweep::e2e

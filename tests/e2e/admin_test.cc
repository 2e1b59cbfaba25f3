// Changes to a workspace (`sweep compute create|update|delete`, `environment create`,
// `models register`) have one writer: through the controller that serves the workspace
// when one does, else under the workspace lock. And one controller per workspace.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "gtest/gtest.h"
#include "tests/e2e/e2e_util.h"
#include "workspace/artifact_store.h"
#include "workspace/workspace_lock.h"

namespace sweep::e2e {
namespace {

namespace fs = std::filesystem;

// A `sweep server` in text mode: its log is one line per event, read once it stopped.
class LoggingServer {
 public:
  explicit LoggingServer(const std::string& ws)
      : proc_({"server", "--listen", "127.0.0.1:0", "--workspace", ws}) {
    // "sweep server listening on 127.0.0.1:PORT (workspace ..., pid N)"
    std::string line = proc_.WaitFirstLine(60);
    const std::string prefix = "sweep server listening on ";
    if (line.rfind(prefix, 0) == 0) {
      address_ = line.substr(prefix.size(), line.find(' ', prefix.size()) - prefix.size());
    }
  }
  const std::string& address() const { return address_; }
  pid_t pid() const { return proc_.pid(); }
  CommandResult Stop() {
    proc_.Signal(SIGTERM);
    return proc_.Wait(60);
  }

 private:
  BackgroundSweep proc_;
  std::string address_;
};

// What an upload of `files` by trial `trial`'s first attempt leaves in the workspace.
void PlaceArtifacts(const std::string& ws, const std::string& sweep, int64_t trial) {
  const fs::path attempt = workspace::ArtifactAttemptDir(ws, sweep, trial, 1);
  fs::create_directories(attempt / "files");
  std::ofstream(attempt / "files" / "model.pkl") << "weights";
  auto manifest = workspace::ScanFiles((attempt / "files").string());
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  ASSERT_TRUE(workspace::WriteManifest(attempt.string(), *manifest).ok());
}

TEST(AdminE2E, ChangesGoThroughTheServerThatServesTheWorkspace) {
  TempDir dir;
  const std::string ws = dir.path() + "/ws";
  // A finished sweep with artifacts, for `models register`.
  CommandResult run = RunSweep({"run", SleepSpec(dir, "s.yml", 0, 2), "-q", "--workspace", ws});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string id = run.out.substr(0, run.out.find('\n'));
  PlaceArtifacts(ws, id, 2);

  LoggingServer server(ws);
  ASSERT_FALSE(server.address().empty());
  const std::vector<std::vector<std::string>> changes = {
      {"compute", "create", "big-1", "--max-nodes", "3"},
      {"compute", "update", "big-1", "--max-nodes", "5"},
      {"environment", "create", "py", "--user-managed"},
      {"models", "register", "--sweep", id, "--name", "clf"},
      {"compute", "delete", "big-1"},
  };
  for (std::vector<std::string> args : changes) {
    args.insert(args.end(), {"--workspace", ws});
    CommandResult r = RunSweep(args);
    EXPECT_EQ(r.exit_code, 0) << args[0] << " " << args[1] << ": " << r.err;
  }
  CommandResult bad =
      RunSweep({"compute", "update", "cpu-cluster", "--min-nodes", "99", "--workspace", ws});
  EXPECT_EQ(bad.exit_code, 2) << "the server's InvalidArgument keeps its exit code: " << bad.err;
  // With --server, the CLI's own workspace is not even looked at.
  const std::string elsewhere = dir.path() + "/not-a-workspace";
  CommandResult remote =
      RunSweep({"compute", "create", "far-1", "--server", server.address(), "--token-file",
                ws + "/token", "--workspace", elsewhere, "--json"});
  ASSERT_EQ(remote.exit_code, 0) << remote.err;
  EXPECT_EQ(ParseJson(remote)["name"], "far-1");
  EXPECT_FALSE(fs::exists(elsewhere)) << "the change went to the server, not to a local workspace";
  nlohmann::json listed = ParseJson(RunSweep(
      {"compute", "list", "--json", "--server", server.address(), "--token-file", ws + "/token"}));
  ASSERT_EQ(listed.size(), 2u) << listed.dump();
  EXPECT_EQ(listed[1]["name"], "far-1");

  // The server made every change: its log shows each one.
  CommandResult log = server.Stop();
  ASSERT_EQ(log.exit_code, 0) << log.err;
  for (const char* line :
       {"compute created: big-1 (amlcompute, provider local, 0-3 nodes)",
        "compute updated: big-1 (amlcompute, provider local, 0-5 nodes)",
        "environment created: py version 1", "model registered: clf version 1 from trial 2",
        "compute deleted: big-1", "compute created: far-1"}) {
    EXPECT_NE(log.out.find(line), std::string::npos) << line << " not in:\n" << log.out;
  }
  nlohmann::json models = ParseJson(RunSweep({"models", "list", "--json", "--workspace", ws}));
  ASSERT_EQ(models.size(), 1u);
  EXPECT_EQ(models[0]["trial_id"], 2);
}

TEST(AdminE2E, ATargetInUseIsNotDeletedThroughTheServerNorLocally) {
  TempDir dir;
  const std::string ws = dir.path() + "/ws";
  LoggingServer server(ws);
  ASSERT_FALSE(server.address().empty());
  CommandResult submitted = RunSweep({"submit", SleepSpec(dir, "slow.yml", 30, 4), "--server",
                                      server.address(), "--token-file", ws + "/token"});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.err;
  const std::string id = submitted.out.substr(0, submitted.out.find('\n'));
  CommandResult refused = RunSweep({"compute", "delete", "cpu-cluster", "--workspace", ws});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("compute target 'cpu-cluster' is used by running sweep " + id),
            std::string::npos)
      << refused.err;

  // The server stops; its sweep stays `running` in the workspace for the next controller.
  ASSERT_EQ(server.Stop().exit_code, 0);
  refused = RunSweep({"compute", "delete", "cpu-cluster", "--workspace", ws});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("is used by running sweep " + id + "; cancel it first"),
            std::string::npos)
      << refused.err;
  nlohmann::json list = ParseJson(RunSweep({"compute", "list", "--json", "--workspace", ws}));
  EXPECT_EQ(list.size(), 1u) << "still there";
}

TEST(AdminE2E, WithoutAControllerAChangeWaitsForTheWorkspaceLock) {
  TempDir dir;
  const std::string ws = dir.path() + "/ws";
  ASSERT_EQ(RunSweep({"compute", "list", "--workspace", ws}).exit_code, 0);
  auto held = workspace::WorkspaceLock::TryAcquire(
      ws, workspace::LockHolder{.pid = ::getpid(), .role = "a test"});
  ASSERT_TRUE(held.ok() && held->lock) << "the test holds the lock";

  const auto start = std::chrono::steady_clock::now();
  BackgroundSweep create({"compute", "create", "late-1", "--workspace", ws});
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  nlohmann::json list = ParseJson(RunSweep({"compute", "list", "--json", "--workspace", ws}));
  EXPECT_EQ(list.size(), 1u) << "not created while the lock is held: " << list.dump();
  held->lock.reset();
  CommandResult done = create.Wait(60);
  EXPECT_EQ(done.exit_code, 0) << done.err;
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1500));
  list = ParseJson(RunSweep({"compute", "list", "--json", "--workspace", ws}));
  EXPECT_EQ(list.size(), 2u) << list.dump();

  // A controller holds the lock but does not answer: a clear refusal, nothing written.
  held = workspace::WorkspaceLock::TryAcquire(
      ws, workspace::LockHolder{
              .pid = ::getpid(), .role = workspace::kControllerRole, .address = "127.0.0.1:1"});
  ASSERT_TRUE(held.ok() && held->lock);
  CommandResult refused = RunSweep({"compute", "delete", "late-1", "--workspace", ws});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("cannot reach the sweep server at 127.0.0.1:1"), std::string::npos)
      << refused.err;
  CommandResult run = RunSweep({"run", SleepSpec(dir, "s.yml", 0, 1), "--workspace", ws});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("is already served by a controller (pid " + std::to_string(::getpid()) +
                         " at 127.0.0.1:1)"),
            std::string::npos)
      << run.err;
}

TEST(AdminE2E, TwoRunsStartedTogetherServeTheWorkspaceOnce) {
  TempDir dir;
  const std::string ws = dir.path() + "/ws";
  // A code directory to snapshot: the window in which both used to load.
  for (int i = 0; i < 8; ++i) {
    dir.Write("code/blob" + std::to_string(i), std::string(1 << 20, static_cast<char>('a' + i)));
  }
  const std::string spec = dir.Write("s.yml",
                                     "type: sweep\n"
                                     "trial:\n"
                                     "  code: code\n"
                                     "  command: sh -c 'sleep 1; echo score=${{search_space.a}}'\n"
                                     "compute: azureml:cpu-cluster\n"
                                     "sampling_algorithm: grid\n"
                                     "search_space:\n"
                                     "  a: {type: choice, values: [1, 2]}\n"
                                     "objective: {primary_metric: score, goal: maximize}\n"
                                     "limits: {max_total_trials: 2}\n");
  BackgroundSweep a({"run", spec, "-q", "--workspace", ws});
  BackgroundSweep b({"run", spec, "-q", "--workspace", ws});
  const pid_t pid_a = a.pid(), pid_b = b.pid();
  CommandResult ra = a.Wait(120), rb = b.Wait(120);
  ASSERT_EQ((ra.exit_code == 0) + (rb.exit_code == 0), 1) << "exactly one serves:\n"
                                                          << ra.out << ra.err << "\n--\n"
                                                          << rb.out << rb.err;
  const CommandResult& loser = ra.exit_code == 0 ? rb : ra;
  const pid_t winner = ra.exit_code == 0 ? pid_a : pid_b;
  EXPECT_EQ(loser.exit_code, 1) << loser.err;
  EXPECT_NE(loser.err.find("is already served by a controller (pid " + std::to_string(winner)),
            std::string::npos)
      << loser.err;
  EXPECT_TRUE(loser.out.empty()) << "the refused run submitted nothing: " << loser.out;
  nlohmann::json sweeps = ParseJson(RunSweep({"ls", "--json", "--workspace", ws}));
  ASSERT_EQ(sweeps.size(), 1u) << sweeps.dump();
  nlohmann::json trials =
      ParseJson(RunSweep({"trials", sweeps[0]["id"], "--json", "--workspace", ws}));
  ASSERT_EQ(trials.size(), 2u);
  for (const auto& t : trials) EXPECT_EQ(t["state"], "completed") << t.dump();
}

}  // namespace
}  // namespace sweep::e2e

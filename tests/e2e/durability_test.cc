// Issue 11's durability faults, reproduced with the real binary: a store another process
// locks (fault 4), trials that print faster than they are stored (fault 5), processes
// left behind by a killed worker or controller (fault 6), file modes and logs (fault 11).
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/e2e/e2e_util.h"

namespace sweep::e2e {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Another process's write transaction on sweep.db, like `sqlite3 sweep.db` left in
// BEGIN EXCLUSIVE: the controller's commits get "database is locked" while it is held.
class StoreWriteLock {
 public:
  explicit StoreWriteLock(const std::string& db_path) {
    EXPECT_EQ(sqlite3_open(db_path.c_str(), &db_), SQLITE_OK);
    sqlite3_busy_timeout(db_, 20'000);
    EXPECT_EQ(sqlite3_exec(db_, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db_);
  }
  ~StoreWriteLock() { Release(); }
  void Release() {
    if (db_ == nullptr) return;
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(db_);
    db_ = nullptr;
  }

 private:
  sqlite3* db_ = nullptr;
};

// Live (not zombie) processes whose command line contains `needle`.
std::vector<pid_t> ProcessesWith(const std::string& needle) {
  std::vector<pid_t> pids;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream cmdline_file(entry.path() / "cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(cmdline_file)),
                        std::istreambuf_iterator<char>());
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    std::ifstream stat_file(entry.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
    const size_t paren = stat.rfind(')');
    const bool zombie =
        paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z';
    if (!zombie && cmdline.find(needle) != std::string::npos) pids.push_back(std::stoi(name));
  }
  return pids;
}

// A sweep of one trial that sleeps 300.<marker> s, which names it on its command line.
std::string SleeperSpec(const TempDir& dir, const std::string& marker) {
  return dir.Write("sleeper.yml",
                   "type: sweep\n"
                   "trial:\n"
                   "  command: sleep 300." +
                       marker +
                       "\n"
                       "compute: azureml:cpu-cluster\n"
                       "sampling_algorithm: grid\n"
                       "search_space:\n"
                       "  a: {type: choice, values: [1]}\n"
                       "objective: {primary_metric: score, goal: maximize}\n"
                       "limits: {max_total_trials: 1}\n");
}

nlohmann::json Trials(const std::string& ws, const std::string& id) {
  return ParseJson(RunSweep({"trials", id, "--json", "--workspace", ws}));
}

void ExpectAllCompleted(const std::string& ws, const std::string& id, size_t n) {
  nlohmann::json trials = Trials(ws, id);
  ASSERT_EQ(trials.size(), n) << trials.dump();
  for (const auto& t : trials) EXPECT_EQ(t["state"], "completed") << t.dump();
}

// Fault 4: with a write lock held on sweep.db for 8 s, the controller failed with
// "database is locked" and never moved again. Now the commit is retried and the sweep ends.
TEST(DurabilityE2E, ABriefStoreLockIsWaitedOut) {
  TempDir dir;
  const std::string ws = dir.path() + "/ws";
  BackgroundSweep run({"run", SleepSpec(dir, "s.yml", 0.3, 6), "-q", "--workspace", ws});
  const std::string id = run.WaitFirstLine(60);
  ASSERT_FALSE(id.empty());
  {
    StoreWriteLock lock(ws + "/sweep.db");
    std::this_thread::sleep_for(std::chrono::seconds(8));
  }
  CommandResult done = run.Wait(120);
  EXPECT_EQ(done.exit_code, 0) << done.err;
  ExpectAllCompleted(ws, id, 6);
}

// Fault 4, lasting: `sweep run` ends non-zero with the reason within seconds of giving up,
// and a restart (here `sweep server`) finishes the sweep from the store.
TEST(DurabilityE2E, ALastingStoreFailureEndsTheRunAndARestartRecovers) {
  TempDir dir;
  const std::string ws = dir.path() + "/ws";
  BackgroundSweep run({"run", SleepSpec(dir, "s.yml", 0.3, 6), "-q", "--workspace", ws});
  const std::string id = run.WaitFirstLine(60);
  ASSERT_FALSE(id.empty());
  StoreWriteLock lock(ws + "/sweep.db");
  const auto locked_at = Clock::now();
  CommandResult failed = run.Wait(90);
  const auto took = Clock::now() - locked_at;
  EXPECT_EQ(failed.exit_code, 1) << failed.err;
  EXPECT_NE(failed.err.find("database is locked"), std::string::npos) << failed.err;
  EXPECT_NE(failed.err.find("restart it"), std::string::npos) << failed.err;
  // The retry budget (20 s) plus SQLite's busy wait of the last try (5 s) and the stop.
  EXPECT_LT(took, std::chrono::seconds(45));
  EXPECT_TRUE(FindWorkers(ws).empty()) << "its local workers stopped with it";
  lock.Release();

  BackgroundSweep server({"server", "--listen", "127.0.0.1:0", "--workspace", ws});
  ASSERT_FALSE(server.WaitFirstLine(60).empty());
  EXPECT_TRUE(WaitFor(
      [&] {
        nlohmann::json sweeps = ParseJson(RunSweep({"ls", "--json", "--workspace", ws}));
        return sweeps.size() == 1 && sweeps[0]["state"] == "completed";
      },
      120))
      << "the restarted controller resumes and finishes the sweep";
  server.Signal(SIGTERM);
  EXPECT_EQ(server.Wait(60).exit_code, 0);
  ExpectAllCompleted(ws, id, 6);
}

// Fault 5: a trial that prints 200,000 lines as fast as awk can: every point stored once,
// the interval count right (the worker used to keep only the last 100,000 unsent points).
TEST(DurabilityE2E, AFloodOfMetricLinesIsStoredWhole) {
  TempDir dir;
  const std::string ws = dir.path() + "/ws";
  const std::string spec = dir.Write(
      "flood.yml",
      "type: sweep\n"
      "trial:\n"
      "  command: >-\n"
      "    awk 'BEGIN { for (i = 1; i <= 200000; i++) printf \"step=%d loss=%g acc=%g\\n\", i,"
      " 1 / i, i / 200000 }'\n"
      "compute: azureml:cpu-cluster\n"
      "sampling_algorithm: grid\n"
      "search_space:\n"
      "  a: {type: choice, values: [1]}\n"
      "objective: {primary_metric: acc, goal: maximize}\n"
      "limits: {max_total_trials: 1}\n");
  CommandResult run = RunSweep({"run", spec, "-q", "--workspace", ws}, 300);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string id = run.out.substr(0, run.out.find('\n'));
  nlohmann::json trials = Trials(ws, id);
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(trials[0]["intervals"], 200000) << trials[0].dump();
  EXPECT_DOUBLE_EQ(trials[0]["final_value"].get<double>(), 1.0);
  CommandResult csv = RunSweep({"metrics", id, "1", "--csv", "--workspace", ws}, 300);
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  const size_t lines = std::count(csv.out.begin(), csv.out.end(), '\n');
  EXPECT_EQ(lines, 1u + 400000u) << "a header and every loss and acc point, once each";
}

// Fault 6: after SIGKILL of a worker its trial ran on with PPID 1 (while the retry started
// a second copy); after SIGKILL of `sweep run` its workers and trials ran on.
TEST(DurabilityE2E, NothingOutlivesAKilledWorkerOrController) {
  TempDir dir;
  const std::string ws = dir.path() + "/ws";
  const std::string marker = std::to_string(::getpid());
  const std::string trial = "sleep 300." + marker;
  BackgroundSweep run(
      {"run", SleeperSpec(dir, marker), "-q", "--lease-seconds", "2", "--workspace", ws});
  ASSERT_TRUE(WaitFor([&] { return !ProcessesWith(trial).empty(); }, 60));
  std::vector<pid_t> workers = FindWorkers(ws);
  ASSERT_EQ(workers.size(), 1u);
  const pid_t first_trial = ProcessesWith(trial)[0];
  ::kill(workers[0], SIGKILL);
  EXPECT_TRUE(WaitFor([&] { return ::kill(first_trial, 0) != 0; }, 10))
      << "the trial of a killed worker runs on";

  // The lease expires, a new worker runs the trial again; then the controller is killed.
  ASSERT_TRUE(WaitFor(
      [&] {
        std::vector<pid_t> trials = ProcessesWith(trial);
        return !trials.empty() && trials[0] != first_trial;
      },
      60));
  run.Signal(SIGKILL);
  run.Wait(30);
  EXPECT_TRUE(WaitFor([&] { return FindWorkers(ws).empty(); }, 10)) << "workers run on";
  EXPECT_TRUE(WaitFor([&] { return ProcessesWith(trial).empty(); }, 10)) << "trials run on";
}

}  // namespace
}  // namespace sweep::e2e

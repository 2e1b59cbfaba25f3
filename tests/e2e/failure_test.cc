// Failures a sweep must survive or report: lost workers, timeouts, cancellation,
// trials that never report, and sweeps that cannot start.
#include <filesystem>

#include "gtest/gtest.h"
#include "tests/e2e/e2e_util.h"

namespace sweep::e2e {
namespace {

// A trial script that reports `loss` every 0.2 s for `steps` steps.
constexpr char kSlowTrial[] =
    "import sys, time\n"
    "steps = int(sys.argv[1])\n"
    "for i in range(1, steps + 1):\n"
    "    time.sleep(0.2)\n"
    "    print(f'step={i} loss={1.0 / i}', flush=True)\n";

std::string SlowSpec(const TempDir& dir, int steps_a, int steps_b, const std::string& extra) {
  dir.Write("code/slow.py", kSlowTrial);
  return dir.Write("slow.yml",
                   "type: sweep\n"
                   "trial:\n"
                   "  code: code\n"
                   "  command: python3 slow.py ${{search_space.steps}}\n"
                   "compute: azureml:cpu-cluster\n"
                   "sampling_algorithm: grid\n"
                   "search_space:\n"
                   "  steps: {type: choice, values: [" +
                       std::to_string(steps_a) + ", " + std::to_string(steps_b) +
                       "]}\n"
                       "objective: {primary_metric: loss, goal: minimize}\n" +
                       extra);
}

nlohmann::json Trials(const std::string& id, const std::string& ws) {
  return ParseJson(RunSweep({"trials", id, "--json", "--workspace", ws}));
}

TEST(FailureE2E, KilledWorkerTrialIsRetriedElsewhere) {
  TempDir dir;
  std::string ws = dir.path() + "/ws";
  std::string spec = SlowSpec(dir, 25, 26, "limits: {max_concurrent_trials: 2}\n");
  // Leases short enough for the dead worker's to run out soon, long enough that a loaded
  // machine does not let the live worker's expire (the trial then runs again).
  BackgroundSweep run({"run", spec, "--workspace", ws, "--lease-seconds", "5"});
  std::string id = run.WaitFirstLine();
  ASSERT_EQ(id.rfind("sw-", 0), 0u);
  // Wait until a trial has reported a metric, then SIGKILL the workers of this workspace.
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const auto& t : Trials(id, ws)) {
          if (t["state"] == "running" && t["intervals"].get<int>() >= 2) return true;
        }
        return false;
      },
      60));
  std::vector<pid_t> workers = FindWorkers(ws);
  ASSERT_FALSE(workers.empty());
  ::kill(workers.front(), SIGKILL);
  CommandResult result = run.Wait(180);
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  nlohmann::json list = Trials(id, ws);
  ASSERT_EQ(list.size(), 2u);
  int max_attempts = 0;
  for (const auto& t : list) {
    EXPECT_EQ(t["state"], "completed") << t.dump();
    max_attempts = std::max(max_attempts, t["attempts"].get<int>());
  }
  EXPECT_GE(max_attempts, 2) << "the killed worker's trial must have run again";
}

TEST(FailureE2E, TrialTimeoutStopsOnlyThatTrial) {
  TempDir dir;
  std::string ws = dir.path() + "/ws";
  // One step (0.2 s) against a 15 s limit: a loaded machine that starts python slowly
  // still finishes it; the other trial would run for hours.
  std::string spec =
      SlowSpec(dir, 1, 100000, "limits: {max_concurrent_trials: 2, trial_timeout: 15}\n");
  CommandResult run = RunSweep({"run", spec, "--workspace", ws, "-q"}, 120);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  std::string id = run.out.substr(0, run.out.find('\n'));
  nlohmann::json list = Trials(id, ws);
  ASSERT_EQ(list.size(), 2u);
  for (const auto& t : list) {
    if (t["params"]["steps"] == 1) {
      EXPECT_EQ(t["state"], "completed");
    } else {
      EXPECT_EQ(t["state"], "failed") << t.dump();
      EXPECT_NE(t["reason"].get<std::string>().find("timeout"), std::string::npos) << t.dump();
      EXPECT_LT(t["duration_s"].get<double>(), 60.0);
    }
  }
}

TEST(FailureE2E, CancelStopsARunningSweep) {
  TempDir dir;
  std::string ws = dir.path() + "/ws";
  std::string spec = SlowSpec(dir, 300, 301, "limits: {max_concurrent_trials: 2}\n");
  BackgroundSweep run({"run", spec, "--workspace", ws});
  std::string id = run.WaitFirstLine();
  ASSERT_EQ(id.rfind("sw-", 0), 0u);
  ASSERT_TRUE(WaitFor(
      [&] {
        for (const auto& t : Trials(id, ws)) {
          if (t["state"] == "running") return true;
        }
        return false;
      },
      60));
  CommandResult cancel = RunSweep({"cancel", id, "--workspace", ws});
  ASSERT_EQ(cancel.exit_code, 0) << cancel.out << cancel.err;
  CommandResult result = run.Wait(60);
  EXPECT_EQ(result.exit_code, 1) << "a canceled sweep is not a success";
  nlohmann::json show = ParseJson(RunSweep({"show", id, "--json", "--workspace", ws}));
  EXPECT_EQ(show["state"], "canceled");
  for (const auto& t : Trials(id, ws)) EXPECT_EQ(t["state"], "canceled") << t.dump();
  EXPECT_TRUE(FindWorkers(ws).empty()) << "workers must be gone after the sweep ends";
}

TEST(FailureE2E, TrialThatNeverReportsThePrimaryMetricFails) {
  TempDir dir;
  std::string ws = dir.path() + "/ws";
  std::string spec = dir.Write("silent.yml", R"YAML(type: sweep
trial:
  command: python3 -c "print('loss=0.1')"
compute: cpu-cluster
sampling_algorithm: grid
search_space:
  x: {type: choice, values: [1]}
objective: {primary_metric: accuracy, goal: maximize}
)YAML");
  CommandResult run = RunSweep({"run", spec, "--workspace", ws, "-q"}, 60);
  EXPECT_EQ(run.exit_code, 1) << "every trial failed: " << run.out << run.err;
  std::string id = run.out.substr(0, run.out.find('\n'));
  nlohmann::json list = Trials(id, ws);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["state"], "failed");
  EXPECT_NE(list[0]["reason"].get<std::string>().find("never reported primary metric 'accuracy'"),
            std::string::npos)
      << list[0].dump();
  CommandResult best = RunSweep({"best", id, "--workspace", ws});
  EXPECT_EQ(best.exit_code, 1);
  EXPECT_NE(best.err.find("no completed trial"), std::string::npos) << best.err;
}

TEST(FailureE2E, FailingTrialReportsExitCodeAndStderr) {
  TempDir dir;
  std::string ws = dir.path() + "/ws";
  std::string spec = dir.Write("crash.yml", R"YAML(type: sweep
trial:
  command: >-
    python3 -c "import sys; sys.stderr.write('boom: bad lr\n'); sys.exit(3)"
compute: cpu-cluster
sampling_algorithm: grid
search_space:
  x: {type: choice, values: [1]}
objective: {primary_metric: accuracy, goal: maximize}
)YAML");
  CommandResult run = RunSweep({"run", spec, "--workspace", ws, "-q"}, 60);
  EXPECT_EQ(run.exit_code, 1);
  std::string id = run.out.substr(0, run.out.find('\n'));
  nlohmann::json list = Trials(id, ws);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["state"], "failed");
  std::string reason = list[0]["reason"];
  EXPECT_NE(reason.find("3"), std::string::npos) << reason;
  EXPECT_NE(reason.find("boom: bad lr"), std::string::npos) << reason;
}

TEST(FailureE2E, UnknownComputeTargetIsRejectedBeforeAnythingRuns) {
  TempDir dir;
  std::string ws = dir.path() + "/ws";
  std::string spec = dir.Write("nocluster.yml", R"YAML(type: sweep
trial:
  command: python3 -c "print('accuracy=1')"
compute: azureml:gpu-cluster
search_space:
  x: {type: uniform, min_value: 0, max_value: 1}
objective: {primary_metric: accuracy, goal: maximize}
)YAML");
  CommandResult run = RunSweep({"run", spec, "--workspace", ws}, 60);
  EXPECT_EQ(run.exit_code, 2) << run.out << run.err;
  EXPECT_NE(run.err.find("compute target 'gpu-cluster' not found"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("sweep compute create gpu-cluster"), std::string::npos) << run.err;
  nlohmann::json ls = ParseJson(RunSweep({"ls", "--json", "--workspace", ws}));
  EXPECT_TRUE(ls.empty()) << "nothing may be written for a rejected sweep";
}

}  // namespace
}  // namespace sweep::e2e

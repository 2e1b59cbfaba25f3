// Early termination through the real product path: scripted learning curves, one trial at
// a time (max_concurrent_trials: 1) so the outcome is deterministic, and the stopped set
// must be the one computed by hand from the documented policy semantics.
#include <map>
#include <ostream>
#include <string>

#include "gtest/gtest.h"
#include "tests/e2e/e2e_util.h"

namespace sweep::e2e {
namespace {

// Trial k (1-based, grid order) follows curve k-1, one value every 0.2 s. A trial the test
// expects to be stopped at interval N waits after reporting N until the stop's SIGTERM
// ends it, so the outcome never depends on how fast the decision travels (a missing stop
// shows as a trial that goes on after 300 s).
std::string CurveScript(const std::map<int, int>& stopped = {}) {
  std::string hold = "{";
  for (const auto& [trial_id, interval] : stopped) {
    hold += std::to_string(trial_id - 1) + ": " + std::to_string(interval) + ", ";
  }
  hold += "}";
  return "import sys, time\n"
         "curves = [\n"
         "  [0.5, 0.6, 0.7, 0.75, 0.8, 0.82],\n"
         "  [0.1, 0.15, 0.2, 0.22, 0.25, 0.26],\n"
         "  [0.45, 0.55, 0.65, 0.7, 0.78, 0.85],\n"
         "  [0.3, 0.35, 0.4, 0.42, 0.45, 0.46],\n"
         "  [0.05, 0.06, 0.07, 0.08, 0.09, 0.1],\n"
         "  [0.48, 0.58, 0.68, 0.72, 0.79, 0.81],\n"
         "]\n"
         "hold = " +
         hold +
         "\n"
         "curve = int(sys.argv[1])\n"
         "for epoch, value in enumerate(curves[curve], start=1):\n"
         "    print(f'epoch={epoch} accuracy={value}', flush=True)\n"
         "    time.sleep(300 if hold.get(curve) == epoch else 0.2)\n";
}

struct PolicyCase {
  std::string name;
  std::string policy_yaml;
  std::map<int, int> stopped;  // trial id -> interval it was stopped at
};

void PrintTo(const PolicyCase& c, std::ostream* os) { *os << c.name; }

// Expected sets computed by hand (docs/spec.md "Early termination" has the rules).
const PolicyCase kCases[] = {
    {"bandit", "{type: bandit, slack_factor: 0.2, delay_evaluation: 2}", {{2, 2}, {4, 2}, {5, 2}}},
    {"median", "{type: median_stopping, delay_evaluation: 2}", {{2, 2}, {4, 2}, {5, 2}}},
    {"truncation",
     "{type: truncation_selection, truncation_percentage: 50, delay_evaluation: 2}",
     {{2, 2}, {3, 3}, {4, 2}, {5, 2}, {6, 4}}},
    {"asha",
     "{type: asha, reduction_factor: 2, min_interval: 2, max_interval: 6}",
     {{2, 2}, {3, 4}, {4, 2}, {5, 2}}},
};

class PolicyE2E : public ::testing::TestWithParam<PolicyCase> {};

TEST_P(PolicyE2E, StopsExactlyTheExpectedTrials) {
  const PolicyCase& c = GetParam();
  TempDir dir;
  std::string ws = dir.path() + "/ws";
  dir.Write("code/curve.py", CurveScript(c.stopped));
  std::string spec = dir.Write("policy.yml",
                               "type: sweep\n"
                               "trial:\n"
                               "  code: code\n"
                               "  command: python3 curve.py ${{search_space.curve}}\n"
                               "compute: cpu-cluster\n"
                               "sampling_algorithm: grid\n"
                               "search_space:\n"
                               "  curve: {type: choice, values: [0, 1, 2, 3, 4, 5]}\n"
                               "objective: {primary_metric: accuracy, goal: maximize}\n"
                               "early_termination: " +
                                   c.policy_yaml + "\nlimits: {max_concurrent_trials: 1}\n");
  // Seconds on an idle machine; the limit only catches a hang.
  CommandResult run = RunSweep({"run", spec, "--workspace", ws, "-q"}, 500);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  std::string id = run.out.substr(0, run.out.find('\n'));
  nlohmann::json trials = ParseJson(RunSweep({"trials", id, "--json", "--workspace", ws}));
  ASSERT_EQ(trials.size(), 6u);
  std::map<int, int> stopped;
  for (const auto& t : trials) {
    int trial_id = t["trial_id"];
    ASSERT_EQ(t["params"]["curve"], trial_id - 1) << "grid order";
    if (t["state"] == "early_terminated") {
      stopped[trial_id] = t["intervals"];
      EXPECT_TRUE(t["final_value"].is_number()) << "a stopped trial keeps its last metrics";
    } else {
      EXPECT_EQ(t["state"], "completed") << t.dump();
      EXPECT_EQ(t["intervals"], 6);
    }
  }
  EXPECT_EQ(stopped, c.stopped);

  // `sweep explain` says why: each stopped trial's last decision is the stop, at the
  // interval computed by hand.
  int first_stopped = c.stopped.begin()->first;
  CommandResult explain =
      RunSweep({"explain", id, std::to_string(first_stopped), "--workspace", ws});
  ASSERT_EQ(explain.exit_code, 0) << explain.err;
  EXPECT_NE(explain.out.find("stopped"), std::string::npos) << explain.out;
  for (const auto& [trial_id, interval] : c.stopped) {
    nlohmann::json explained =
        ParseJson(RunSweep({"explain", id, std::to_string(trial_id), "--json", "--workspace", ws}));
    ASSERT_FALSE(explained["decisions"].empty()) << "trial " << trial_id;
    EXPECT_EQ(explained["decisions"].back()["stop"], true) << "trial " << trial_id;
    EXPECT_EQ(explained["decisions"].back()["interval"], interval) << "trial " << trial_id;
  }
}

INSTANTIATE_TEST_SUITE_P(Policies, PolicyE2E, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return info.param.name; });

TEST(ReplayE2E, ReplayOfAFinishedSweepReportsSavings) {
  TempDir dir;
  std::string ws = dir.path() + "/ws";
  dir.Write("code/curve.py", CurveScript());
  std::string spec = dir.Write("nopolicy.yml", R"YAML(type: sweep
trial:
  code: code
  command: python3 curve.py ${{search_space.curve}}
compute: cpu-cluster
sampling_algorithm: grid
search_space:
  curve: {type: choice, values: [0, 1, 2, 3, 4, 5]}
objective: {primary_metric: accuracy, goal: maximize}
limits: {max_concurrent_trials: 1}
)YAML");
  CommandResult run = RunSweep({"run", spec, "--workspace", ws, "-q"}, 180);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  std::string id = run.out.substr(0, run.out.find('\n'));

  nlohmann::json replay =
      ParseJson(RunSweep({"replay", id, "--policy", "bandit", "--slack-factor", "0.2",
                          "--delay-evaluation", "2", "--json", "--workspace", ws}));
  EXPECT_EQ(replay["intervals_without_policy"], 36);
  std::map<int, int> stopped;
  for (const auto& s : replay["stopped"]) stopped[s["trial_id"]] = s["stopped_at"];
  EXPECT_EQ(stopped, (std::map<int, int>{{2, 2}, {4, 2}, {5, 2}}));
  EXPECT_EQ(replay["intervals_with_policy"], 36 - 3 * 4);
  EXPECT_EQ(replay["best"]["trial_id"], 3);
  EXPECT_EQ(replay["best"]["survives"], true);

  CommandResult text = RunSweep({"replay", id, "--policy", "median_stopping", "--workspace", ws});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_FALSE(text.out.empty());

  CommandResult bad = RunSweep({"replay", id, "--policy", "bandit", "--workspace", ws});
  EXPECT_EQ(bad.exit_code, 2) << "bandit needs a slack";
  EXPECT_NE(bad.err.find("slack"), std::string::npos) << bad.err;
  CommandResult unknown = RunSweep({"replay", id, "--policy", "coinflip", "--workspace", ws});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("unknown policy 'coinflip'"), std::string::npos) << unknown.err;
  CommandResult none = RunSweep({"explain", id, "2", "--workspace", ws});
  EXPECT_EQ(none.exit_code, 0);
  EXPECT_NE(none.out.find("no early-termination policy"), std::string::npos) << none.out;
}

}  // namespace
}  // namespace sweep::e2e

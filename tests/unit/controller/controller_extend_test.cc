// Controller::ExtendSweep and warm start: an ended sweep continues with more trials from
// its whole history, a new sweep learns from earlier ones; bad requests change nothing.
#include <set>

#include "controller/controller.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/controller_test_util.h"

namespace sweep::controller::testing {
namespace {

using ::testing::HasSubstr;

// A finite space (12 points) so repeats would be likely without the history.
std::string FiniteSpec(const std::string& limits, const std::string& sampling,
                       const std::string& extra = "") {
  std::string yaml = SpecYaml(limits, extra, sampling);
  const std::string from = "lr: {type: uniform, min_value: 0.0, max_value: 1.0}";
  yaml.replace(yaml.find(from), from.size(), "lr: {type: choice, values: [1, 2, 3, 4, 5, 6]}");
  return yaml;
}

class ControllerExtendTest : public ControllerTest {
 protected:
  // Runs trials until none is offered, each reporting `value(trial)`; returns their count.
  int RunAll(const std::string& node, double base = 0.5) {
    int n = 0;
    while (std::optional<LeaseGrant> g = Acquire(node)) {
      EXPECT_TRUE(Report(g->ref, base + 0.01 * g->ref.trial_id).ok());
      EXPECT_TRUE(Complete(g->ref).ok());
      ++n;
    }
    controller_->Tick();
    return n;
  }

  std::set<std::string> Keys(const std::string& sweep) {
    std::set<std::string> keys;
    const std::vector<core::Trial> trials = store_->ListTrials(sweep).value();
    for (const core::Trial& t : trials) {
      EXPECT_TRUE(keys.insert(core::ConfigKey(t.config)).second)
          << "trial " << t.trial_id << " repeats " << core::ConfigKey(t.config);
    }
    return keys;
  }
};

TEST_F(ControllerExtendTest, AnExtensionContinuesTheSamplerWithoutRepeats) {
  for (const std::string sampling :
       {"{type: random, seed: 7}", "{type: random, rule: sobol, seed: 7}", "grid", "bayesian",
        "tpe"}) {
    SCOPED_TRACE(sampling);
    const std::string sweep =
        Submit(FiniteSpec("{max_total_trials: 4, max_concurrent_trials: 1}", sampling));
    const std::string node = Node();
    EXPECT_EQ(RunAll(node), 4);
    ASSERT_EQ(GetSweep(sweep).state, core::SweepState::kCompleted);
    absl::StatusOr<int64_t> n = controller_->ExtendSweep(sweep, {.max_total_trials = 9});
    ASSERT_TRUE(n.ok()) << n.status();
    EXPECT_EQ(*n, 1);
    EXPECT_EQ(RunAll(node), 5);
    core::Sweep after = GetSweep(sweep);
    EXPECT_EQ(after.state, core::SweepState::kCompleted);
    EXPECT_EQ(after.max_total_trials, 9);
    EXPECT_EQ(after.extension, 1);
    EXPECT_EQ(Keys(sweep).size(), 9u);
    EXPECT_EQ(GetTrial(sweep, 4).origin, "sampled");
    EXPECT_EQ(GetTrial(sweep, 5).origin, "extension 1");
    EXPECT_EQ(GetTrial(sweep, 9).origin, "extension 1");
    EXPECT_EQ(CountEvents(sweep, "sweep_extended"), 1);
  }
}

TEST_F(ControllerExtendTest, AnExtensionSurvivesARestartAndKeepsItsLimits) {
  const std::string sweep = Submit(FiniteSpec("{max_total_trials: 2}", "grid"));
  std::string node = Node();
  RunAll(node);
  ASSERT_TRUE(controller_->CancelSweep(sweep).ok() == false);  // already completed
  ASSERT_TRUE(
      controller_->ExtendSweep(sweep, {.max_total_trials = 6, .max_concurrent_trials = 1}).ok());
  std::optional<LeaseGrant> g = Acquire(node);
  ASSERT_TRUE(g.has_value());
  EXPECT_FALSE(Acquire(Node()).has_value()) << "max_concurrent_trials 1";
  Restart();
  node = Node();
  EXPECT_FALSE(Acquire(node).has_value()) << "max_concurrent_trials 1 after a restart";
  ASSERT_TRUE(Report(g->ref, 0.9).ok());
  ASSERT_TRUE(Complete(g->ref).ok());
  EXPECT_EQ(RunAll(node), 3);
  EXPECT_EQ(GetSweep(sweep).state, core::SweepState::kCompleted);
  EXPECT_EQ(Keys(sweep).size(), 6u);
  EXPECT_EQ(GetTrial(sweep, 6).origin, "extension 1");
}

TEST_F(ControllerExtendTest, AnExtensionTimeoutCountsFromItsStart) {
  const std::string sweep = Submit(SpecYaml("{max_total_trials: 1, timeout: 100}"));
  const std::string node = Node();
  RunAll(node);
  clock_.Advance(500'000);  // long after the spec's timeout
  ASSERT_TRUE(controller_->ExtendSweep(sweep, {.max_total_trials = 3, .timeout_s = 50}).ok());
  controller_->Tick();
  EXPECT_EQ(GetSweep(sweep).state, core::SweepState::kRunning);
  clock_.Advance(51'000);
  controller_->Tick();
  core::Sweep ended = GetSweep(sweep);
  EXPECT_EQ(ended.state, core::SweepState::kCompleted);
  EXPECT_THAT(ended.status_message, HasSubstr("timeout reached (50s)"));
}

TEST_F(ControllerExtendTest, BadExtensionsAreRefusedAndStoreNothing) {
  const std::string sweep = Submit(FiniteSpec("{max_total_trials: 12}", "grid"));
  std::string node = Node();
  std::optional<LeaseGrant> g = Acquire(node);
  ASSERT_TRUE(g.has_value());
  auto refused = [&](const ExtendRequest& request) {
    StoreSnapshot before = Snapshot(sweep);
    absl::StatusOr<int64_t> n = controller_->ExtendSweep(sweep, request);
    EXPECT_FALSE(n.ok());
    ExpectUnchanged(before, sweep);
    return n.status();
  };
  absl::Status running = refused({.max_total_trials = 20});
  EXPECT_EQ(running.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(running.message(), HasSubstr("is still running"));
  ASSERT_TRUE(Complete(g->ref).ok());
  RunAll(node);
  ASSERT_EQ(GetSweep(sweep).state, core::SweepState::kCompleted);

  absl::Status exhausted = refused({.max_total_trials = 20});
  EXPECT_EQ(exhausted.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(exhausted.message(), HasSubstr("search space is exhausted (all 12 configurations"));
  absl::Status not_above = refused({.max_total_trials = 12});
  EXPECT_EQ(not_above.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(not_above.message(), HasSubstr("must be above the 12 trials"));
  EXPECT_THAT(refused({.max_total_trials = 0}).message(), HasSubstr("at least 1"));
  EXPECT_THAT(refused({.max_total_trials = 20, .timeout_s = -1}).message(),
              HasSubstr("--timeout must be >= 0"));
  EXPECT_EQ(controller_->ExtendSweep("sw-000000000000", {.max_total_trials = 3}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(CountEvents(sweep, "sweep_extended"), 0);
}

TEST_F(ControllerExtendTest, EarlyTerminationStatisticsIncludeEarlierTrials) {
  const std::string sweep = Submit(
      SpecYaml("{max_total_trials: 1}",
               "early_termination: {type: bandit, slack_amount: 0.1, evaluation_interval: 1}\n"));
  const std::string node = Node();
  std::optional<LeaseGrant> g = Acquire(node);
  ASSERT_TRUE(g.has_value());
  ASSERT_TRUE(Report(g->ref, 0.9).ok());
  ASSERT_TRUE(Complete(g->ref).ok());
  ASSERT_TRUE(controller_->ExtendSweep(sweep, {.max_total_trials = 2}).ok());
  g = Acquire(node);
  ASSERT_TRUE(g.has_value());
  // Worse than the earlier trial's 0.9 by more than the slack: stopped.
  absl::StatusOr<DirectiveReply> reply = Report(g->ref, 0.2);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->directive, Directive::kStop);
}

TEST_F(ControllerExtendTest, WarmStartUsesFittingTrialsAndListsTheRestWithReasons) {
  const std::string first = Submit(SpecYaml("{max_total_trials: 4, max_concurrent_trials: 1}"));
  const std::string node = Node();
  RunAll(node);
  // lr narrowed to [0, 0.5]: trials with a larger lr no longer fit.
  std::string yaml =
      SpecYaml("{max_total_trials: 2}", "warm_start: {sweeps: [" + first.substr(0, 8) + "]}\n");
  const std::string from = "max_value: 1.0";
  yaml.replace(yaml.find(from), from.size(), "max_value: 0.5");
  const std::string second = Submit(yaml);
  int fitting = 0;
  const std::vector<core::Trial> trials = store_->ListTrials(first).value();
  for (const core::Trial& t : trials) {
    fitting += std::get<double>(t.config.at("lr")) <= 0.5 ? 1 : 0;
  }
  std::vector<std::string> messages;
  for (const core::Event& e : Events(second)) {
    if (e.kind == "warm_start") messages.push_back(e.message);
  }
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_THAT(messages[0], HasSubstr(absl::StrCat("using ", fitting, " of 4 finished trials")));
  if (fitting < 4) {
    EXPECT_THAT(messages[0], HasSubstr("value 0."));
  }
  EXPECT_EQ(GetSweep(second).warm_start, std::vector<std::string>{first});
  EXPECT_EQ(RunAll(node), 2) << "warm-start trials count against no limit";
  Restart();  // resumes with the same warm start
  EXPECT_EQ(GetSweep(second).state, core::SweepState::kCompleted);
}

TEST_F(ControllerExtendTest, WarmStartNeedsTheSameObjectiveAndKnownSweeps) {
  const std::string first = Submit(SpecYaml("{max_total_trials: 1}"));
  auto submit = [&](const std::string& yaml) {
    auto spec = spec::ParseSpec(yaml, "", "");
    EXPECT_TRUE(spec.ok()) << spec.status();
    return controller_->SubmitSweep(*spec, yaml).status();
  };
  const size_t sweeps = store_->ListSweeps()->size();
  std::string other_goal =
      SpecYaml("{max_total_trials: 1}", "warm_start: {sweeps: [" + first + "]}\n");
  other_goal.replace(other_goal.find("goal: maximize"), 14, "goal: minimize");
  absl::Status goal = submit(other_goal);
  EXPECT_EQ(goal.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(goal.message(), HasSubstr("optimizes accuracy (maximize) but this spec optimizes "
                                        "accuracy (minimize)"));
  absl::Status unknown =
      submit(SpecYaml("{max_total_trials: 1}", "warm_start: {sweeps: [sw-ffffffffffff]}\n"));
  EXPECT_EQ(unknown.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(unknown.message(), HasSubstr("no sweep 'sw-ffffffffffff'"));
  EXPECT_EQ(store_->ListSweeps()->size(), sweeps) << "nothing stored";
}

}  // namespace
}  // namespace sweep::controller::testing

// What ends a trial the controller asked to stop: the README's promise that a trial whose
// process exits 0 before the stop reaches it ends `completed`, with the decision kept.
#include "controller/controller.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/controller_test_util.h"

namespace sweep::controller::testing {
namespace {

using ::testing::HasSubstr;

TEST_F(ControllerTest, ATrialThatExitsZeroAfterAStopDecisionEndsCompleted) {
  std::string sweep = Submit(
      SpecYaml("{max_total_trials: 2}",
               "early_termination: {type: bandit, slack_factor: 0.1, evaluation_interval: 1}\n"));
  std::string n1 = Node(), n2 = Node();
  auto g1 = Acquire(n1);
  auto g2 = Acquire(n2);
  ASSERT_TRUE(g1 && g2);
  EXPECT_EQ(Report(g1->ref, 0.9).value().directive, Directive::kContinue);
  auto stop = Report(g2->ref, 0.5);
  ASSERT_TRUE(stop.ok()) << stop.status();
  ASSERT_EQ(stop->directive, Directive::kStop);

  // The process exited 0 before the worker learned of the stop: its work is whole.
  EXPECT_EQ(Complete(g2->ref, Outcome::kSucceeded, 0).value(), core::TrialState::kCompleted);
  core::Trial t = GetTrial(sweep, g2->ref.trial_id);
  EXPECT_EQ(t.state, core::TrialState::kCompleted);
  EXPECT_EQ(t.final_value, 0.5);
  EXPECT_EQ(store_->ListAttempts(sweep, g2->ref.trial_id).value().back().state,
            core::AttemptState::kSucceeded);
  EXPECT_EQ(CountEvents(sweep, "trial_early_terminated"), 0);
  // The decision stays recorded (`sweep explain` shows it).
  int stops = 0;
  const std::vector<core::Decision> decisions =
      store_->ListDecisions(sweep, g2->ref.trial_id).value();
  for (const core::Decision& d : decisions) {
    stops += d.stop ? 1 : 0;
  }
  EXPECT_EQ(stops, 1);

  EXPECT_EQ(Complete(g1->ref).value(), core::TrialState::kCompleted);
  EXPECT_EQ(GetSweep(sweep).state, core::SweepState::kCompleted);
  EXPECT_THAT(GetSweep(sweep).status_message, HasSubstr("2 completed"));
}

}  // namespace
}  // namespace sweep::controller::testing

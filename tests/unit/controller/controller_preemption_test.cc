// Preemption semantics: NodeGone, a worker stopped by SIGTERM, the retry budget they do
// not use, the cap that ends a trial preempted forever, and the exclusion of a
// preempted attempt's curve from early termination and from the trial's value.
#include "controller/controller.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/controller_test_util.h"

namespace sweep::controller::testing {
namespace {

using ::testing::HasSubstr;

std::string NodeState(store::Store* store, const std::string& node_id) {
  const std::vector<core::Node> nodes = store->ListNodes().value();
  for (const core::Node& n : nodes) {
    if (n.node_id == node_id) return n.state;
  }
  return "<none>";
}

constexpr char kBandit[] =
    "early_termination: {type: bandit, slack_factor: 0.1, evaluation_interval: 1}\n";

TEST_F(ControllerTest, NodeGoneTurnsTheRunningAttemptPreemptedAndTheTrialRunsAgain) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 1, max_retries: 0}"));
  std::string n1 = Node(), n2 = Node();
  auto g1 = Acquire(n1);
  ASSERT_TRUE(g1);
  ASSERT_TRUE(controller_->NodeGone(n1, "Slurm job 12 PREEMPTED").ok());

  auto attempts = store_->ListAttempts(sweep, 1).value();
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].state, core::AttemptState::kPreempted);
  EXPECT_EQ(attempts[0].error, "node " + n1 + " ended: Slurm job 12 PREEMPTED");
  core::Trial t = GetTrial(sweep, 1);
  EXPECT_EQ(t.state, core::TrialState::kPending);
  EXPECT_EQ(t.retries, 0);  // not counted against max_retries (0 here)
  EXPECT_EQ(CountEvents(sweep, "attempt_preempted"), 1);
  EXPECT_EQ(NodeState(store_.get(), n1), "gone");
  // The old lease is fenced off; the trial runs again on another node.
  EXPECT_EQ(controller_->Heartbeat(g1->ref).status().code(), absl::StatusCode::kFailedPrecondition);
  auto g2 = Acquire(n2);
  ASSERT_TRUE(g2);
  EXPECT_EQ(g2->ref.trial_id, 1);
  EXPECT_EQ(g2->ref.attempt, 2);
  ASSERT_TRUE(Report(g2->ref, 0.8).ok());
  EXPECT_EQ(Complete(g2->ref).value(), core::TrialState::kCompleted);
  EXPECT_EQ(GetSweep(sweep).state, core::SweepState::kCompleted);
}

TEST_F(ControllerTest, NodeGoneIsIdempotentAndNotFoundForUnknownNodes) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 1}"));
  std::string n1 = Node();
  ASSERT_TRUE(Acquire(n1));
  ASSERT_TRUE(controller_->NodeGone(n1, "gone").ok());
  StoreSnapshot before = Snapshot(sweep);
  EXPECT_TRUE(controller_->NodeGone(n1, "gone again").ok());
  ExpectUnchanged(before, sweep);
  absl::Status unknown = controller_->NodeGone("slurm-999", "never registered");
  EXPECT_EQ(unknown.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(unknown.message(), "unknown node 'slurm-999'");
  ExpectUnchanged(before, sweep);
}

TEST_F(ControllerTest, NodeGoneOfAnIdleNodeOnlyMarksItGone) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 1}"));
  std::string n1 = Node();
  StoreSnapshot before = Snapshot(sweep);
  ASSERT_TRUE(controller_->NodeGone(n1, "Slurm job 3 COMPLETED").ok());
  ExpectUnchanged(before, sweep);
  EXPECT_EQ(NodeState(store_.get(), n1), "gone");
}

TEST_F(ControllerTest, PreemptionsDoNotUseRetriesButAreCapped) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 1, max_retries: 1}"));
  // At most max_retries + 21 attempts: the trial fails when that many have been
  // interrupted (controller/controller.h), not one later.
  const int kAllowed = 1 + 21;
  for (int i = 1; i <= kAllowed; ++i) {
    std::string n = Node();
    auto g = Acquire(n);
    ASSERT_TRUE(g) << "attempt " << i;
    EXPECT_EQ(g->ref.attempt, i);
    if (i % 2 == 0) {
      ASSERT_TRUE(controller_->NodeGone(n, "Slurm job PREEMPTED").ok());
    } else {  // the worker got SIGTERM and stopped the trial itself
      ASSERT_TRUE(Complete(g->ref, Outcome::kStopped, 0, "stopped by a signal").ok());
    }
    EXPECT_EQ(GetTrial(sweep, 1).retries, 0);
    EXPECT_EQ(GetTrial(sweep, 1).state,
              i < kAllowed ? core::TrialState::kPending : core::TrialState::kFailed)
        << "after " << i << " interruptions";
  }
  core::Trial t = GetTrial(sweep, 1);
  EXPECT_EQ(t.state, core::TrialState::kFailed);
  EXPECT_THAT(t.reason, HasSubstr("interrupted 22 times (preempted, lost or released; at most "
                                  "22 attempts)"));
  EXPECT_EQ(CountEvents(sweep, "attempt_preempted"), kAllowed);
}

TEST_F(ControllerTest, APreemptedCurveLeavesEarlyTerminationAndTheTrialValue) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 2, max_concurrent_trials: 2}", kBandit));
  std::string n1 = Node(), n2 = Node(), n3 = Node();
  auto g1 = Acquire(n1);
  ASSERT_TRUE(g1);
  ASSERT_EQ(Report(g1->ref, 0.9).value().directive, Directive::kContinue);
  ASSERT_TRUE(controller_->NodeGone(n1, "Slurm job 1 PREEMPTED").ok());
  // Trial 1's 0.9 was preempted: 0.5 is now the best at interval 1, not a laggard.
  auto g2 = Acquire(n2);
  ASSERT_TRUE(g2);
  ASSERT_EQ(g2->ref.trial_id, 1);  // the retry goes first
  auto g3 = Acquire(n3);
  ASSERT_TRUE(g3);
  ASSERT_EQ(g3->ref.trial_id, 2);
  EXPECT_EQ(Report(g3->ref, 0.5).value().directive, Directive::kContinue);
  EXPECT_EQ(Report(g2->ref, 0.3).value().directive, Directive::kStop);  // 0.3 < 0.5/1.1
  ASSERT_EQ(Complete(g2->ref, Outcome::kStopped).value(), core::TrialState::kEarlyTerminated);
  core::Trial t1 = GetTrial(sweep, 1);
  EXPECT_EQ(t1.final_value, 0.3);  // not the preempted attempt's 0.9
  EXPECT_EQ(t1.intervals, 1);
  ASSERT_TRUE(Complete(g3->ref).ok());
  EXPECT_EQ(GetTrial(sweep, 2).final_value, 0.5);
  EXPECT_THAT(GetSweep(sweep).status_message, HasSubstr("best accuracy 0.5"));
}

TEST_F(ControllerTest, RestartKeepsAPreemptedCurveOutOfEarlyTermination) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 2, max_concurrent_trials: 2}", kBandit));
  std::string n1 = Node(), n2 = Node();
  auto g1 = Acquire(n1);
  ASSERT_TRUE(g1);
  ASSERT_TRUE(Report(g1->ref, 0.9).ok());
  ASSERT_TRUE(controller_->NodeGone(n1, "Slurm job 1 CANCELLED").ok());
  Restart();
  auto g2 = Acquire(n2);
  ASSERT_TRUE(g2);
  ASSERT_EQ(g2->ref.trial_id, 1);
  EXPECT_EQ(g2->ref.attempt, 2);
  std::string n3 = Node();
  auto g3 = Acquire(n3);
  ASSERT_TRUE(g3);
  EXPECT_EQ(Report(g3->ref, 0.5).value().directive, Directive::kContinue);
}

}  // namespace
}  // namespace sweep::controller::testing

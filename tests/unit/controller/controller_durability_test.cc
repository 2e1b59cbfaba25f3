// Issue 11's controller faults: metric points re-sent after a lost reply (fault 5), and what
// a restart must pick up (fault 10).
#include <vector>

#include "gmock/gmock.h"
#include "tests/unit/controller/controller_test_util.h"

namespace sweep::controller::testing {

using ::testing::HasSubstr;
namespace {

std::vector<core::MetricPoint> Numbered(int64_t first, int64_t last) {
  std::vector<core::MetricPoint> points;
  for (int64_t seq = first; seq <= last; ++seq) {
    core::MetricPoint p;
    p.name = "accuracy";
    p.value = static_cast<double>(seq) / 100;
    p.seq = seq;
    points.push_back(p);
  }
  return points;
}

size_t StoredPoints(store::Store* store, const std::string& sweep) {
  store::MetricFilter f;
  f.sweep_id = sweep;
  return store->ListMetrics(f).value().size();
}

TEST_F(ControllerTest, AReSentReportIsStoredOnceAlsoAfterARestart) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 1}"));
  std::string node = Node();
  auto g = Acquire(node);
  ASSERT_TRUE(g);
  ASSERT_TRUE(controller_->ReportMetrics(g->ref, Numbered(1, 3)).ok());
  // The reply was lost: the worker sends the same report again, then the next.
  ASSERT_TRUE(controller_->ReportMetrics(g->ref, Numbered(1, 3)).ok());
  ASSERT_TRUE(controller_->ReportMetrics(g->ref, Numbered(2, 5)).ok()) << "overlapping";
  EXPECT_EQ(StoredPoints(store_.get(), sweep), 5u);

  Restart();  // the controller died after storing 4..5, before its reply
  ASSERT_TRUE(controller_->ReportMetrics(g->ref, Numbered(4, 6)).ok());
  Completion c;
  c.outcome = Outcome::kSucceeded;
  c.points = Numbered(6, 7);
  ASSERT_TRUE(controller_->CompleteTrial(g->ref, c).ok());
  EXPECT_EQ(StoredPoints(store_.get(), sweep), 7u);
  core::Trial t = GetTrial(sweep, 1);
  EXPECT_EQ(t.intervals, 7) << "each report counted once";
  EXPECT_EQ(t.final_value, 0.07);

  // Unnumbered points (an older worker) are all stored.
  std::string other = Submit(SpecYaml("{max_total_trials: 1}"));
  auto g2 = Acquire(node);
  ASSERT_TRUE(g2);
  std::vector<core::MetricPoint> plain = Numbered(1, 2);
  for (auto& p : plain) p.seq = 0;
  ASSERT_TRUE(controller_->ReportMetrics(g2->ref, plain).ok());
  ASSERT_TRUE(controller_->ReportMetrics(g2->ref, plain).ok());
  EXPECT_EQ(StoredPoints(store_.get(), other), 4u);
}

// Fault 11: leases expired by the wall clock, so a step of it expired them all at once.
TEST_F(ControllerTest, AWallClockStepDoesNotExpireLeases) {
  EXPECT_NE(ControllerOptions().clock, core::SystemClock::Default())
      << "the default clock is not stepped with the wall clock";
  core::FakeClock wall, steady(0);
  core::MonotonicWallClock clock(&wall, &steady);
  options_.clock = &clock;
  Restart();
  Submit(SpecYaml("{max_total_trials: 2, max_concurrent_trials: 2}"));
  auto g = Acquire(Node());
  ASSERT_TRUE(g);
  wall.Advance(3'600'000);  // NTP steps the system clock an hour ahead
  controller_->Tick();
  EXPECT_TRUE(controller_->Heartbeat(g->ref).ok()) << "the lease survives the step";
  steady.Advance(options_.lease_duration_ms + 1);  // real time passes without a heartbeat
  controller_->Tick();
  EXPECT_FALSE(controller_->Heartbeat(g->ref).ok()) << "it still expires in real time";
  controller_->Shutdown();
  controller_.reset();
}

// Fault 10: a register_model pending when the controller died was never done.
TEST_F(ControllerTest, ARegistrationPendingAtACrashIsDoneAfterTheRestart) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 1}", "register_model: {name: clf}\n"));
  auto g = Acquire(Node());
  ASSERT_TRUE(g);
  ASSERT_TRUE(Report(g->ref, 0.9).ok());
  ASSERT_TRUE(Complete(g->ref).ok());  // the sweep's end is durable; no Tick registered yet
  EXPECT_EQ(GetSweep(sweep).state, core::SweepState::kCompleted);
  Restart();
  controller_->Tick();
  // This controller has no workspace directory, so the outcome is a recorded failure: the
  // point is that an outcome is recorded at all, once.
  EXPECT_EQ(
      CountEvents(sweep, "model_registered") + CountEvents(sweep, "model_registration_failed"), 1);
  Restart();
  controller_->Tick();
  EXPECT_EQ(
      CountEvents(sweep, "model_registered") + CountEvents(sweep, "model_registration_failed"), 1)
      << "not registered twice";
}

// Fault 10: attempts still stopping under an ended sweep were not reloaded, and stayed
// running in the store for ever.
TEST_F(ControllerTest, AttemptsDrainingUnderAnEndedSweepEndAtTheRestart) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 2, max_concurrent_trials: 2}"));
  auto g = Acquire(Node());
  ASSERT_TRUE(g);
  ASSERT_TRUE(controller_->CancelSweep(sweep).ok());
  ASSERT_TRUE(controller_->Heartbeat(g->ref).ok());  // told to stop; the trial is stopping
  EXPECT_EQ(GetSweep(sweep).state, core::SweepState::kCanceled);
  Restart();
  const std::vector<core::Attempt> attempts = store_->ListAttempts(sweep, std::nullopt).value();
  for (const core::Attempt& a : attempts) {
    EXPECT_TRUE(core::IsTerminal(a.state)) << "attempt of trial " << a.trial_id;
  }
  const std::vector<core::Trial> trials = store_->ListTrials(sweep).value();
  for (const core::Trial& t : trials) {
    EXPECT_TRUE(core::IsTerminal(t.state)) << "trial " << t.trial_id;
  }
  EXPECT_FALSE(controller_->Heartbeat(g->ref).ok()) << "the node is told its lease is gone";
}

// The chaos test's finding: every controller restart lost its local workers' attempts, and
// each loss counted against max_retries, so under repeated restarts no trial completed.
// Attempts lost to the restart itself end `interrupted` and are not charged.
TEST_F(ControllerTest, AttemptsLostToControllerRestartsAreNotChargedToMaxRetries) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 1, max_retries: 0}"));
  // 30 restarts: more than max_retries + 21 attempts, so neither limit may count them.
  for (int i = 0; i < 30; ++i) {
    auto g = Acquire(Node());  // a local worker of this controller
    ASSERT_TRUE(g) << "restart " << i;
    ASSERT_TRUE(Report(g->ref, 0.1).ok());
    Restart();  // the controller dies; its workers die with it and never call again
    if (i % 2 == 0) {
      controller_->Tick();
      clock_.Advance(options_.lease_duration_ms + 1);  // runs out under this controller
      controller_->Tick();
    } else {
      clock_.Advance(options_.lease_duration_ms + 1);  // ran out while none was up
      Restart();
    }
    EXPECT_EQ(GetTrial(sweep, 1).state, core::TrialState::kPending) << "restart " << i;
  }
  core::Trial t = GetTrial(sweep, 1);
  EXPECT_EQ(t.retries, 0);
  EXPECT_EQ(t.attempts, 30);
  const std::vector<core::Attempt> attempts = store_->ListAttempts(sweep, 1).value();
  for (const core::Attempt& a : attempts) {
    EXPECT_EQ(a.state, core::AttemptState::kInterrupted) << "attempt " << a.attempt;
    EXPECT_THAT(a.error, HasSubstr("not counted against max_retries"));
  }
  EXPECT_EQ(CountEvents(sweep, "attempt_interrupted"), 30);
  EXPECT_EQ(CountEvents(sweep, "attempt_lost"), 0);
  auto g = Acquire(Node());
  ASSERT_TRUE(g);
  ASSERT_TRUE(Report(g->ref, 0.9).ok());
  EXPECT_EQ(Complete(g->ref).value(), core::TrialState::kCompleted);
}

// Only the restart is forgiven: a node that renewed its lease with the restarted controller
// and then went silent lost it itself, and that counts.
TEST_F(ControllerTest, AnInheritedLeaseRenewedAfterTheRestartIsChargedWhenItExpires) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 1, max_retries: 0}"));
  auto g = Acquire(Node());
  ASSERT_TRUE(g);
  Restart();
  ASSERT_TRUE(controller_->Heartbeat(g->ref).ok()) << "the node survived the restart";
  clock_.Advance(options_.lease_duration_ms + 1);
  controller_->Tick();
  auto attempts = store_->ListAttempts(sweep, 1).value();
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].state, core::AttemptState::kLost);
  core::Trial t = GetTrial(sweep, 1);
  EXPECT_EQ(t.retries, 1);
  EXPECT_EQ(t.state, core::TrialState::kFailed);
  EXPECT_THAT(t.reason, HasSubstr("node lost 1 times (max_retries 0)"));
}

}  // namespace
}  // namespace sweep::controller::testing

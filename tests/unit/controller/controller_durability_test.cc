// Issue 11's controller faults: metric points re-sent after a lost reply (fault 5), and what
// a restart must pick up (fault 10).
#include <vector>

#include "tests/unit/controller/controller_test_util.h"

namespace sweep::controller::testing {
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
  for (const core::Attempt& a : store_->ListAttempts(sweep, std::nullopt).value()) {
    EXPECT_TRUE(core::IsTerminal(a.state)) << "attempt of trial " << a.trial_id;
  }
  for (const core::Trial& t : store_->ListTrials(sweep).value()) {
    EXPECT_TRUE(core::IsTerminal(t.state)) << "trial " << t.trial_id;
  }
  EXPECT_FALSE(controller_->Heartbeat(g->ref).ok()) << "the node is told its lease is gone";
}

}  // namespace
}  // namespace sweep::controller::testing

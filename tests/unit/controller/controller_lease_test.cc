// Lease protocol of the Controller: grants, idempotent acquire, fencing, expiry,
// retries, deregistration, metrics and completion outcomes.
#include <set>

#include "controller/controller.h"
#include "core/search_space.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/unit/controller/controller_test_util.h"

namespace sweep::controller::testing {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Pair;

std::string EnvOf(const LeaseGrant& g, const std::string& key) {
  for (const auto& [k, v] : g.env) {
    if (k == key) return v;
  }
  return "<unset>";
}

TEST_F(ControllerTest, GrantCarriesCommandEnvironmentAndToken) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 3}"));
  std::string node = Node();
  auto g = Acquire(node);
  ASSERT_TRUE(g.has_value());
  EXPECT_EQ(g->ref.sweep_id, sweep);
  EXPECT_EQ(g->ref.trial_id, 1);
  EXPECT_EQ(g->ref.attempt, 1);
  EXPECT_EQ(g->ref.node_id, node);
  EXPECT_GT(g->ref.fencing_token, 0u);
  EXPECT_EQ(g->primary_metric, "accuracy");
  EXPECT_EQ(g->expires_at_ms, clock_.NowMillis() + options_.lease_duration_ms);

  core::Trial t = GetTrial(sweep, 1);
  EXPECT_EQ(t.state, core::TrialState::kRunning);
  std::string lr = core::ParamValueToString(t.config.at("lr"));
  std::string model = core::ParamValueToString(t.config.at("model"));
  EXPECT_EQ(g->argv,
            (std::vector<std::string>{"python3", "train.py", "--lr", lr, "--model", model}));
  EXPECT_EQ(EnvOf(*g, "AZUREML_SWEEP_lr"), lr);
  EXPECT_EQ(EnvOf(*g, "AZUREML_SWEEP_model"), model);
  EXPECT_EQ(EnvOf(*g, "SWEEP_ID"), sweep);
  EXPECT_EQ(EnvOf(*g, "SWEEP_TRIAL_ID"), "1");
  EXPECT_EQ(EnvOf(*g, "SWEEP_ATTEMPT"), "1");
  nlohmann::json params = nlohmann::json::parse(EnvOf(*g, "SWEEP_PARAMS"));
  EXPECT_EQ(params["model"], model);
  EXPECT_EQ(g->params_json, params.dump());

  auto attempts = store_->ListAttempts(sweep, 1).value();
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].fencing_token, g->ref.fencing_token);
  EXPECT_EQ(attempts[0].state, core::AttemptState::kLeased);
  EXPECT_EQ(CountEvents(sweep, "trial_started"), 1);
}

TEST_F(ControllerTest, FullLeaseFlowCompletesTrialWithLastValue) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 1}"));
  std::string node = Node();
  auto g = Acquire(node);
  ASSERT_TRUE(g);
  clock_.Advance(1000);
  auto hb = controller_->Heartbeat(g->ref);
  ASSERT_TRUE(hb.ok()) << hb.status();
  EXPECT_EQ(hb->directive, Directive::kContinue);
  EXPECT_EQ(hb->expires_at_ms, clock_.NowMillis() + options_.lease_duration_ms);
  core::MetricPoint loss;
  loss.name = "loss";
  loss.value = 0.3;
  core::MetricPoint acc1;
  acc1.name = "accuracy";
  acc1.value = 0.7;
  core::MetricPoint acc2 = acc1;
  acc2.value = 0.6;
  auto r = controller_->ReportMetrics(g->ref, {loss, acc1, acc2});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->directive, Directive::kContinue);
  auto state = Complete(g->ref);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, core::TrialState::kCompleted);

  core::Trial t = GetTrial(sweep, 1);
  EXPECT_EQ(t.state, core::TrialState::kCompleted);
  EXPECT_EQ(t.final_value, 0.6);  // aggregation last
  EXPECT_EQ(t.intervals, 2);
  store::MetricFilter f;
  f.sweep_id = sweep;
  auto metrics = store_->ListMetrics(f).value();
  ASSERT_EQ(metrics.size(), 3u);
  std::map<std::string, std::vector<int64_t>> intervals;
  for (const auto& m : metrics) intervals[m.name].push_back(m.interval);
  EXPECT_EQ(intervals["accuracy"], (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(intervals["loss"], (std::vector<int64_t>{0}));
  auto attempts = store_->ListAttempts(sweep, 1).value();
  EXPECT_EQ(attempts[0].state, core::AttemptState::kSucceeded);
  EXPECT_EQ(CountEvents(sweep, "trial_completed"), 1);
  EXPECT_EQ(CountEvents(sweep, "best_improved"), 1);
  // The single trial is done: the sweep completed with the counts.
  core::Sweep s = GetSweep(sweep);
  EXPECT_EQ(s.state, core::SweepState::kCompleted);
  EXPECT_THAT(s.status_message, HasSubstr("1 completed"));
  EXPECT_EQ(controller_->WaitForSweep(sweep, 0).value(), core::SweepState::kCompleted);
}

TEST_F(ControllerTest, AggregationBestUsesBestValue) {
  std::string yaml = SpecYaml("{max_total_trials: 1}");
  yaml.replace(yaml.find("goal: maximize}"), 15, "goal: maximize, aggregation: best}");
  std::string sweep = Submit(yaml);
  auto g = Acquire(Node());
  ASSERT_TRUE(g);
  ASSERT_TRUE(Report(g->ref, 0.8).ok());
  ASSERT_TRUE(Report(g->ref, 0.5).ok());
  ASSERT_TRUE(Complete(g->ref).ok());
  EXPECT_EQ(GetTrial(sweep, 1).final_value, 0.8);
}

TEST_F(ControllerTest, AcquireIsIdempotentPerNode) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 5}"));
  std::string a = Node();
  std::string b = Node();
  auto g1 = Acquire(a);
  auto g2 = Acquire(a);
  ASSERT_TRUE(g1 && g2);
  EXPECT_EQ(g1->ref.trial_id, g2->ref.trial_id);
  EXPECT_EQ(g1->ref.fencing_token, g2->ref.fencing_token);
  EXPECT_EQ(g1->argv, g2->argv);
  auto gb = Acquire(b);
  ASSERT_TRUE(gb);
  EXPECT_NE(gb->ref.trial_id, g1->ref.trial_id);
  EXPECT_GT(gb->ref.fencing_token, g1->ref.fencing_token);
  EXPECT_EQ(store_->ListTrials(sweep).value().size(), 2u);
}

TEST_F(ControllerTest, StaleTokenIsRejectedAndChangesNothing) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 3}"));
  std::string node = Node();
  auto g = Acquire(node);
  ASSERT_TRUE(g);
  ASSERT_TRUE(Report(g->ref, 0.5).ok());
  StoreSnapshot before = Snapshot(sweep);
  clock_.Advance(500);

  LeaseRef stale = g->ref;
  stale.fencing_token -= 1;
  auto hb = controller_->Heartbeat(stale);
  EXPECT_EQ(hb.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(hb.status().message(), HasSubstr("stale lease: fencing token"));
  auto rep = Report(stale, 0.9);
  EXPECT_EQ(rep.status().code(), absl::StatusCode::kFailedPrecondition);
  auto done = Complete(stale);
  EXPECT_EQ(done.status().code(), absl::StatusCode::kFailedPrecondition);

  LeaseRef wrong_attempt = g->ref;
  wrong_attempt.attempt = 2;
  EXPECT_THAT(controller_->Heartbeat(wrong_attempt).status().message(),
              HasSubstr("is on attempt 1, not 2"));
  LeaseRef wrong_node = g->ref;
  wrong_node.node_id = "node-elsewhere";
  EXPECT_THAT(controller_->Heartbeat(wrong_node).status().message(),
              HasSubstr("is leased to node " + node));
  LeaseRef no_trial = g->ref;
  no_trial.trial_id = 99;
  EXPECT_THAT(controller_->Heartbeat(no_trial).status().message(), HasSubstr("has no trial 99"));
  LeaseRef no_sweep = g->ref;
  no_sweep.sweep_id = "sw-000000000000";
  EXPECT_EQ(controller_->Heartbeat(no_sweep).status().code(),
            absl::StatusCode::kFailedPrecondition);

  ExpectUnchanged(before, sweep);
  // The real lease still works.
  EXPECT_TRUE(controller_->Heartbeat(g->ref).ok());
}

TEST_F(ControllerTest, CompleteIsIdempotentForTheSameLease) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 2}"));
  std::string node = Node();
  auto g = Acquire(node);
  ASSERT_TRUE(g);
  ASSERT_TRUE(Report(g->ref, 0.5).ok());
  ASSERT_EQ(Complete(g->ref).value(), core::TrialState::kCompleted);
  StoreSnapshot before = Snapshot(sweep);
  EXPECT_EQ(Complete(g->ref).value(), core::TrialState::kCompleted);
  ExpectUnchanged(before, sweep);
  // A different outcome for an ended attempt is stale.
  auto other = Complete(g->ref, Outcome::kFailed, 1);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(other.status().message(), HasSubstr("already ended (succeeded)"));
  // And heartbeats after completion are stale too.
  EXPECT_EQ(controller_->Heartbeat(g->ref).status().code(), absl::StatusCode::kFailedPrecondition);
  ExpectUnchanged(before, sweep);
}

TEST_F(ControllerTest, ExpiredLeaseIsLostAndRetriedOnAnotherNode) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 1}"));
  std::string a = Node();
  std::string b = Node();
  auto ga = Acquire(a);
  ASSERT_TRUE(ga);
  ASSERT_TRUE(Report(ga->ref, 0.4).ok());
  clock_.Advance(options_.lease_duration_ms + 1);
  controller_->Tick();

  auto attempts = store_->ListAttempts(sweep, 1).value();
  ASSERT_EQ(attempts.size(), 1u);
  EXPECT_EQ(attempts[0].state, core::AttemptState::kLost);
  core::Trial t = GetTrial(sweep, 1);
  EXPECT_EQ(t.state, core::TrialState::kPending);
  EXPECT_EQ(t.retries, 1);
  EXPECT_EQ(t.intervals, 0);
  EXPECT_EQ(CountEvents(sweep, "attempt_lost"), 1);

  // The old holder is fenced off.
  EXPECT_EQ(controller_->Heartbeat(ga->ref).status().code(), absl::StatusCode::kFailedPrecondition);
  auto gb = Acquire(b);
  ASSERT_TRUE(gb);
  EXPECT_EQ(gb->ref.trial_id, 1);
  EXPECT_EQ(gb->ref.attempt, 2);
  EXPECT_GT(gb->ref.fencing_token, ga->ref.fencing_token);
  EXPECT_EQ(Complete(ga->ref).status().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(Report(gb->ref, 0.9).ok());
  // Intervals restart with the new attempt.
  store::MetricFilter f;
  f.sweep_id = sweep;
  auto metrics = store_->ListMetrics(f).value();
  ASSERT_EQ(metrics.size(), 2u);
  EXPECT_EQ(metrics[1].attempt, 2);
  EXPECT_EQ(metrics[1].interval, 1);
  EXPECT_EQ(Complete(gb->ref).value(), core::TrialState::kCompleted);
  EXPECT_EQ(GetTrial(sweep, 1).final_value, 0.9);
  EXPECT_EQ(GetSweep(sweep).state, core::SweepState::kCompleted);
}

TEST_F(ControllerTest, TrialFailsAfterMaxRetriesLostAttempts) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 1, max_retries: 1}"));
  std::string node = Node();
  for (int i = 0; i < 2; ++i) {
    auto g = Acquire(node);
    ASSERT_TRUE(g) << "attempt " << i + 1;
    EXPECT_EQ(g->ref.attempt, i + 1);
    clock_.Advance(options_.lease_duration_ms + 1);
    controller_->Tick();
  }
  core::Trial t = GetTrial(sweep, 1);
  EXPECT_EQ(t.state, core::TrialState::kFailed);
  EXPECT_THAT(t.reason, HasSubstr("node lost 2 times (max_retries 1)"));
  EXPECT_FALSE(Acquire(node).has_value());
  core::Sweep s = GetSweep(sweep);
  EXPECT_EQ(s.state, core::SweepState::kFailed);
  EXPECT_THAT(s.status_message, HasSubstr("every trial failed"));
}

TEST_F(ControllerTest, HeartbeatsKeepTheLeaseAlive) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 1}"));
  std::string node = Node();
  auto g = Acquire(node);
  ASSERT_TRUE(g);
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(options_.lease_duration_ms / 2);
    ASSERT_TRUE(controller_->Heartbeat(g->ref).ok());
    controller_->Tick();
  }
  EXPECT_EQ(store_->ListAttempts(sweep, 1).value()[0].state, core::AttemptState::kRunning);
}

TEST_F(ControllerTest, DeregisterReleasesTheLeaseWithoutCountingARetry) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 1, max_retries: 0}"));
  std::string a = Node();
  auto g = Acquire(a);
  ASSERT_TRUE(g);
  ASSERT_TRUE(controller_->Deregister(a).ok());
  auto attempts = store_->ListAttempts(sweep, 1).value();
  EXPECT_EQ(attempts[0].state, core::AttemptState::kStopped);
  core::Trial t = GetTrial(sweep, 1);
  EXPECT_EQ(t.state, core::TrialState::kPending);
  EXPECT_EQ(t.retries, 0);
  std::string b = Node();
  auto gb = Acquire(b);
  ASSERT_TRUE(gb);
  EXPECT_EQ(gb->ref.trial_id, 1);
  EXPECT_EQ(gb->ref.attempt, 2);
  EXPECT_EQ(controller_->Deregister("node-nope").code(), absl::StatusCode::kNotFound);
}

TEST_F(ControllerTest, AcquireFromUnknownNodeIsNotFound) {
  auto r = controller_->AcquireTrial("node-unknown", 0);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(r.status().message(), HasSubstr("unknown node 'node-unknown'; register"));
}

TEST_F(ControllerTest, RegisterForMissingComputeIsNotFound) {
  NodeRegistration r;
  r.compute = "gpu-cluster";
  auto reg = controller_->Register(r);
  EXPECT_EQ(reg.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(reg.status().message(), HasSubstr("compute target 'gpu-cluster' not found"));
}

TEST_F(ControllerTest, NodesOnOtherComputesGetNothing) {
  core::ComputeTarget other;
  other.name = "other";
  other.max_nodes = 2;
  store::WriteBatch b;
  b.computes.push_back(other);
  ASSERT_TRUE(store_->Commit(b).ok());
  Submit(SpecYaml("{max_total_trials: 2}"));
  std::string node = Node("other");
  EXPECT_FALSE(Acquire(node).has_value());
}

TEST_F(ControllerTest, FailedOutcomeRecordsExitCodeAndError) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 1}"));
  auto g = Acquire(Node());
  ASSERT_TRUE(g);
  EXPECT_EQ(Complete(g->ref, Outcome::kFailed, 3, "Traceback: boom").value(),
            core::TrialState::kFailed);
  core::Trial t = GetTrial(sweep, 1);
  EXPECT_EQ(t.reason, "exited with code 3: Traceback: boom");
  auto attempts = store_->ListAttempts(sweep, 1).value();
  EXPECT_EQ(attempts[0].exit_code, 3);
  EXPECT_EQ(attempts[0].state, core::AttemptState::kFailed);
}

TEST_F(ControllerTest, NeverReportedPrimaryMetricFailsTheTrial) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 1}"));
  auto g = Acquire(Node());
  ASSERT_TRUE(g);
  ASSERT_TRUE(Report(g->ref, 0.1, "loss").ok());
  EXPECT_EQ(Complete(g->ref).value(), core::TrialState::kFailed);
  EXPECT_EQ(GetTrial(sweep, 1).reason, "exited 0 but never reported primary metric 'accuracy'");
}

TEST_F(ControllerTest, PointsSentWithCompletionCount) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 1}"));
  auto g = Acquire(Node());
  ASSERT_TRUE(g);
  Completion c;
  core::MetricPoint p;
  p.name = "accuracy";
  p.value = 0.75;
  c.points.push_back(p);
  EXPECT_EQ(controller_->CompleteTrial(g->ref, c).value(), core::TrialState::kCompleted);
  EXPECT_EQ(GetTrial(sweep, 1).final_value, 0.75);
}

TEST_F(ControllerTest, MetricPointWithoutNameIsRejected) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 1}"));
  auto g = Acquire(Node());
  ASSERT_TRUE(g);
  StoreSnapshot before = Snapshot(sweep);
  core::MetricPoint good;
  good.name = "accuracy";
  core::MetricPoint bad;
  auto r = controller_->ReportMetrics(g->ref, {good, bad});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "metric point 2 of 2 has an empty name");
  ExpectUnchanged(before, sweep);
}

TEST_F(ControllerTest, NonFiniteValuesCountAsIntervalsButNotAsValues) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 1}"));
  auto g = Acquire(Node());
  ASSERT_TRUE(g);
  ASSERT_TRUE(Report(g->ref, std::nan("")).ok());
  EXPECT_EQ(Complete(g->ref).value(), core::TrialState::kFailed);
  core::Trial t = GetTrial(sweep, 1);
  EXPECT_EQ(t.intervals, 1);
  EXPECT_EQ(t.reason, "exited 0 but reported primary metric 'accuracy' only as non-finite values");
}

TEST_F(ControllerTest, WorkerStoppedWithoutDirectiveIsAPreemption) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 1}"));
  auto g = Acquire(Node());
  ASSERT_TRUE(g);
  EXPECT_EQ(Complete(g->ref, Outcome::kStopped).value(), core::TrialState::kPending);
  EXPECT_EQ(store_->ListAttempts(sweep, 1).value()[0].state, core::AttemptState::kPreempted);
  // Preemptions do not count against max_retries (controller_preemption_test.cc).
  EXPECT_EQ(GetTrial(sweep, 1).retries, 0);
  // Same completion again: same answer.
  EXPECT_EQ(Complete(g->ref, Outcome::kStopped).value(), core::TrialState::kPending);
}

TEST_F(ControllerTest, EventListenerSeesCommittedEvents) {
  std::vector<std::string> kinds;
  std::mutex mu;
  controller_->SetEventListener([&](const core::Event& e) {
    std::lock_guard<std::mutex> l(mu);
    kinds.push_back(e.kind);
  });
  std::string sweep = Submit(SpecYaml("{max_total_trials: 1}"));
  auto g = Acquire(Node());
  ASSERT_TRUE(g);
  ASSERT_TRUE(Report(g->ref, 0.5).ok());
  ASSERT_TRUE(Complete(g->ref).ok());
  std::lock_guard<std::mutex> l(mu);
  EXPECT_EQ(kinds, (std::vector<std::string>{"sweep_submitted", "trial_started", "trial_completed",
                                             "best_improved", "sweep_completed"}));
}

// Issue 12: the completion and the node's next lease in one call (and one commit).
TEST_F(ControllerTest, CompleteTrialAndAcquireHandsTheNodeItsNextTrial) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 2, max_concurrent_trials: 1}"));
  std::string node = Node();
  auto g = Acquire(node);
  ASSERT_TRUE(g);
  ASSERT_TRUE(Report(g->ref, 0.5).ok());
  Completion c;
  c.outcome = Outcome::kSucceeded;
  auto done = controller_->CompleteTrialAndAcquire(g->ref, c);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(done->state, core::TrialState::kCompleted);
  EXPECT_EQ(GetTrial(sweep, 1).state, core::TrialState::kCompleted);
  ASSERT_TRUE(done->next && done->next->lease);
  EXPECT_EQ(done->next->lease->ref.trial_id, 2);
  EXPECT_EQ(done->next->lease->ref.node_id, node);
  EXPECT_GT(done->next->lease->ref.fencing_token, g->ref.fencing_token);
  EXPECT_EQ(GetTrial(sweep, 2).state, core::TrialState::kRunning) << "committed too";
  // Asking again is idempotent: the same lease, as AcquireTrial gives it.
  auto again = controller_->CompleteTrialAndAcquire(g->ref, c);
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_TRUE(again->next && again->next->lease);
  EXPECT_EQ(again->next->lease->ref.fencing_token, done->next->lease->ref.fencing_token);

  // The last trial: nothing left to lease, and the sweep ends.
  ASSERT_TRUE(Report(done->next->lease->ref, 0.6).ok());
  auto last = controller_->CompleteTrialAndAcquire(done->next->lease->ref, c);
  ASSERT_TRUE(last.ok()) << last.status();
  ASSERT_TRUE(last->next);
  EXPECT_FALSE(last->next->lease);
  EXPECT_EQ(GetSweep(sweep).state, core::SweepState::kCompleted);
}

TEST_F(ControllerTest, CompleteTrialAndAcquireWithAStaleLeaseChangesNothing) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 3}"));
  std::string node = Node();
  auto g = Acquire(node);
  ASSERT_TRUE(g);
  StoreSnapshot before = Snapshot(sweep);
  LeaseRef stale = g->ref;
  stale.fencing_token -= 1;
  Completion c;
  c.outcome = Outcome::kSucceeded;
  auto done = controller_->CompleteTrialAndAcquire(stale, c);
  EXPECT_EQ(done.status().code(), absl::StatusCode::kFailedPrecondition);
  ExpectUnchanged(before, sweep);
}

}  // namespace
}  // namespace sweep::controller::testing

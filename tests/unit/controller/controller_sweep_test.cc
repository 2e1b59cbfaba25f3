// Sweep-level behaviour of the Controller: submission checks, limits, timeouts, cancel,
// grid exhaustion, early termination, autoscaling and restart.
#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "controller/controller.h"
#include "core/search_space.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/controller_test_util.h"

namespace sweep::controller::testing {
namespace {

using ::testing::HasSubstr;

void AddCompute(store::Store* store, const std::string& name, const std::string& type,
                int64_t min_nodes = 0, int64_t max_nodes = 4) {
  core::ComputeTarget t;
  t.name = name;
  t.type = type;
  t.min_nodes = min_nodes;
  t.max_nodes = max_nodes;
  t.idle_seconds_before_scaledown = 60;
  store::WriteBatch b;
  b.computes.push_back(t);
  ASSERT_TRUE(store->Commit(b).ok());
}

TEST_F(ControllerTest, SubmitToMissingTargetExplainsHowToCreateIt) {
  std::string yaml = SpecYaml("{max_total_trials: 2}");
  yaml.replace(yaml.find("azureml:cpu-cluster"), 19, "gpu-cluster");
  auto spec = spec::ParseSpec(yaml, "/tmp/x/spec.yml", "/tmp");
  ASSERT_TRUE(spec.ok()) << spec.status();
  auto id = controller_->SubmitSweep(*spec, yaml);
  EXPECT_EQ(id.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(id.status().message(),
            "compute target 'gpu-cluster' not found; create it with `sweep compute create "
            "gpu-cluster --type amlcompute --min-nodes 0 --max-nodes 4`");
}

TEST_F(ControllerTest, SubmitToNonPersistentTargetIsRefused) {
  AddCompute(store_.get(), "laptop", "local");
  std::string yaml = SpecYaml("{max_total_trials: 2}");
  yaml.replace(yaml.find("azureml:cpu-cluster"), 19, "laptop");
  auto spec = spec::ParseSpec(yaml, "/tmp/x/spec.yml", "/tmp");
  ASSERT_TRUE(spec.ok()) << spec.status();
  auto id = controller_->SubmitSweep(*spec, yaml);
  EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(id.status().message(), HasSubstr("compute target 'laptop' has type 'local'"));
  EXPECT_THAT(id.status().message(),
              HasSubstr("run only on persistent amlcompute clusters and attached remotevm"));
}

TEST_F(ControllerTest, SweepRecordCarriesSpecSummary) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 7}"));
  ASSERT_EQ(sweep.size(), 15u);
  EXPECT_EQ(sweep.substr(0, 3), "sw-");
  EXPECT_EQ(sweep.find_first_not_of("0123456789abcdef", 3), std::string::npos);
  core::Sweep s = GetSweep(sweep);
  EXPECT_EQ(s.state, core::SweepState::kRunning);
  EXPECT_EQ(s.compute, "cpu-cluster");
  EXPECT_EQ(s.max_total_trials, 7);
  EXPECT_EQ(s.sampling_algorithm, "random");
  EXPECT_EQ(s.objective.primary_metric, "accuracy");
  EXPECT_EQ(s.spec_path, "/tmp/controller-test/spec.yml");
  auto events = Events(sweep);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0].kind, "sweep_submitted");
  EXPECT_THAT(events[0].message, HasSubstr("seed 7"));
}

TEST_F(ControllerTest, MaxConcurrentAndMaxTotalLimitTrials) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 3, max_concurrent_trials: 2}"));
  std::string n1 = Node(), n2 = Node(), n3 = Node();
  auto g1 = Acquire(n1);
  auto g2 = Acquire(n2);
  ASSERT_TRUE(g1 && g2);
  EXPECT_FALSE(Acquire(n3).has_value());  // two running = max_concurrent
  ASSERT_TRUE(Report(g1->ref, 0.5).ok());
  ASSERT_TRUE(Complete(g1->ref).ok());
  auto g3 = Acquire(n3);
  ASSERT_TRUE(g3);
  EXPECT_EQ(g3->ref.trial_id, 3);
  EXPECT_FALSE(Acquire(n1).has_value());  // max_total reached
  ASSERT_TRUE(Report(g2->ref, 0.6).ok());
  ASSERT_TRUE(Complete(g2->ref).ok());
  EXPECT_EQ(GetSweep(sweep).state, core::SweepState::kRunning);
  ASSERT_TRUE(Complete(g3->ref, Outcome::kFailed, 1).ok());
  core::Sweep s = GetSweep(sweep);
  EXPECT_EQ(s.state, core::SweepState::kCompleted);
  EXPECT_THAT(s.status_message, HasSubstr("3 trials: 2 completed, 1 failed"));
  EXPECT_THAT(s.status_message, HasSubstr("best accuracy 0.6 (trial 2)"));
  EXPECT_EQ(store_->ListTrials(sweep).value().size(), 3u);
}

TEST_F(ControllerTest, RetriedTrialDoesNotCountAgainstMaxTotal) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 2}"));
  std::string n = Node();
  auto g = Acquire(n);
  ASSERT_TRUE(g);
  clock_.Advance(options_.lease_duration_ms + 1);
  controller_->Tick();
  auto again = Acquire(n);  // retry of trial 1 first
  ASSERT_TRUE(again);
  EXPECT_EQ(again->ref.trial_id, 1);
  std::string m = Node();
  auto second = Acquire(m);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->ref.trial_id, 2);
  EXPECT_EQ(store_->ListTrials(sweep).value().size(), 2u);
}

TEST_F(ControllerTest, GridExhaustionEndsTheSweep) {
  std::string yaml =
      "type: sweep\n"
      "trial:\n"
      "  command: echo ${{search_space.model}}\n"
      "compute: cpu-cluster\n"
      "sampling_algorithm: grid\n"
      "search_space:\n"
      "  model: {type: choice, values: [a, b, c]}\n"
      "objective: {primary_metric: accuracy, goal: maximize}\n"
      "limits: {max_total_trials: 10, max_concurrent_trials: 1}\n";
  std::string sweep = Submit(yaml);
  std::string n = Node();
  std::set<std::string> seen;
  for (int i = 0; i < 3; ++i) {
    auto g = Acquire(n);
    ASSERT_TRUE(g) << i;
    seen.insert(g->argv.back());
    ASSERT_TRUE(Report(g->ref, 0.1 * i).ok());
    ASSERT_TRUE(Complete(g->ref).ok());
  }
  EXPECT_EQ(seen, (std::set<std::string>{"a", "b", "c"}));
  // Nobody polls: Tick asks the sampler ahead and learns the grid is done.
  controller_->Tick();
  EXPECT_EQ(controller_->WaitForSweep(sweep, 1000).value(), core::SweepState::kCompleted);
  EXPECT_EQ(CountEvents(sweep, "search_space_exhausted"), 1);
  EXPECT_THAT(GetSweep(sweep).status_message, HasSubstr("3 trials: 3 completed"));
  EXPECT_FALSE(Acquire(n).has_value());
}

TEST_F(ControllerTest, GridExhaustionSeenByAPollingNode) {
  std::string yaml =
      "type: sweep\n"
      "trial:\n"
      "  command: echo ${{search_space.model}}\n"
      "compute: cpu-cluster\n"
      "sampling_algorithm: grid\n"
      "search_space:\n"
      "  model: {type: choice, values: [a, b]}\n"
      "objective: {primary_metric: accuracy, goal: maximize}\n"
      "limits: {max_total_trials: 10, max_concurrent_trials: 4}\n";
  std::string sweep = Submit(yaml);
  std::string n1 = Node(), n2 = Node(), n3 = Node();
  auto g1 = Acquire(n1);
  auto g2 = Acquire(n2);
  ASSERT_TRUE(g1 && g2);
  EXPECT_FALSE(Acquire(n3).has_value());  // grid has only two points
  EXPECT_EQ(GetSweep(sweep).state, core::SweepState::kRunning);
  ASSERT_TRUE(Report(g1->ref, 0.5).ok());
  ASSERT_TRUE(Complete(g1->ref).ok());
  ASSERT_TRUE(Report(g2->ref, 0.7).ok());
  ASSERT_TRUE(Complete(g2->ref).ok());
  EXPECT_EQ(GetSweep(sweep).state, core::SweepState::kCompleted);
}

TEST_F(ControllerTest, CancelStopsRunningTrialsAndCancelsPendingOnes) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 5}"));
  std::string n1 = Node(), n2 = Node();
  auto g1 = Acquire(n1);
  auto g2 = Acquire(n2);
  ASSERT_TRUE(g1 && g2);
  ASSERT_TRUE(controller_->Deregister(n2).ok());  // trial 2 back to pending
  ASSERT_TRUE(controller_->CancelSweep(sweep).ok());
  EXPECT_EQ(controller_->WaitForSweep(sweep, 0).value(), core::SweepState::kCanceled);
  core::Sweep s = GetSweep(sweep);
  EXPECT_EQ(s.state, core::SweepState::kCanceled);
  EXPECT_THAT(s.status_message, HasSubstr("canceled by user; 2 trials: 0 completed, 0 failed, 0 "
                                          "early terminated, 2 canceled"));
  EXPECT_EQ(GetTrial(sweep, 1).state, core::TrialState::kCanceled);
  EXPECT_EQ(GetTrial(sweep, 2).state, core::TrialState::kCanceled);
  // The running attempt drains: STOP until its worker reports back.
  auto hb = controller_->Heartbeat(g1->ref);
  ASSERT_TRUE(hb.ok()) << hb.status();
  EXPECT_EQ(hb->directive, Directive::kStop);
  EXPECT_EQ(hb->reason, "canceled by user");
  EXPECT_EQ(Complete(g1->ref, Outcome::kStopped).value(), core::TrialState::kCanceled);
  EXPECT_EQ(store_->ListAttempts(sweep, 1).value()[0].state, core::AttemptState::kStopped);
  auto again = controller_->CancelSweep(sweep);
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(again.message(), "sweep " + sweep + " already ended (canceled)");
  EXPECT_EQ(controller_->CancelSweep("sw-123456789012").code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(Acquire(n1).has_value());
}

TEST_F(ControllerTest, SweepTimeoutStopsEverything) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 5, timeout: 60}"));
  std::string n1 = Node(), n2 = Node();
  auto g1 = Acquire(n1);
  ASSERT_TRUE(g1);
  ASSERT_TRUE(Report(g1->ref, 0.5).ok());
  ASSERT_TRUE(Complete(g1->ref).ok());
  auto g2 = Acquire(n2);
  ASSERT_TRUE(g2);
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(19'000);
    ASSERT_TRUE(controller_->Heartbeat(g2->ref).ok());
    controller_->Tick();
  }
  EXPECT_EQ(GetSweep(sweep).state, core::SweepState::kRunning);
  clock_.Advance(3'000);
  controller_->Tick();
  core::Sweep s = GetSweep(sweep);
  EXPECT_EQ(s.state, core::SweepState::kCompleted);  // one trial completed before it
  EXPECT_THAT(s.status_message, HasSubstr("timeout reached (60s)"));
  auto hb = controller_->Heartbeat(g2->ref);
  ASSERT_TRUE(hb.ok());
  EXPECT_EQ(hb->directive, Directive::kStop);
  EXPECT_EQ(Complete(g2->ref, Outcome::kStopped).value(), core::TrialState::kCanceled);
  EXPECT_FALSE(Acquire(n1).has_value());
}

TEST_F(ControllerTest, SweepTimeoutWithoutCompletedTrialFails) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 5, timeout: 10}"));
  auto g = Acquire(Node());
  ASSERT_TRUE(g);
  clock_.Advance(10'000);
  controller_->Tick();
  core::Sweep s = GetSweep(sweep);
  EXPECT_EQ(s.state, core::SweepState::kFailed);
  EXPECT_THAT(s.status_message, HasSubstr("timeout reached (10s)"));
}

TEST_F(ControllerTest, TrialTimeoutStopsTheTrialAndFailsIt) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 2, trial_timeout: 10}"));
  auto g = Acquire(Node());
  ASSERT_TRUE(g);
  EXPECT_EQ(g->trial_timeout_ms, 10'000);
  clock_.Advance(9'000);
  controller_->Tick();
  EXPECT_EQ(controller_->Heartbeat(g->ref).value().directive, Directive::kContinue);
  clock_.Advance(1'000);
  controller_->Tick();
  auto hb = controller_->Heartbeat(g->ref);
  ASSERT_TRUE(hb.ok());
  EXPECT_EQ(hb->directive, Directive::kStop);
  EXPECT_EQ(hb->reason, "trial timeout (10s) reached");
  EXPECT_EQ(Complete(g->ref, Outcome::kStopped).value(), core::TrialState::kFailed);
  EXPECT_EQ(GetTrial(sweep, 1).reason, "trial timeout (10s) reached");
  EXPECT_EQ(GetSweep(sweep).state, core::SweepState::kRunning);  // the sweep goes on
}

TEST_F(ControllerTest, WorkerEnforcedTrialTimeoutFailsTheTrial) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 2, trial_timeout: 10}"));
  auto g = Acquire(Node());
  ASSERT_TRUE(g);
  clock_.Advance(10'500);
  EXPECT_EQ(Complete(g->ref, Outcome::kStopped).value(), core::TrialState::kFailed);
  EXPECT_EQ(GetTrial(sweep, 1).reason, "trial timeout (10s) reached");
}

TEST_F(ControllerTest, BanditStopsALaggingTrialAndRecordsDecisions) {
  std::string sweep = Submit(
      SpecYaml("{max_total_trials: 4}",
               "early_termination: {type: bandit, slack_factor: 0.1, evaluation_interval: 1}\n"));
  std::string n1 = Node(), n2 = Node();
  auto g1 = Acquire(n1);
  auto g2 = Acquire(n2);
  ASSERT_TRUE(g1 && g2);
  EXPECT_EQ(Report(g1->ref, 0.9).value().directive, Directive::kContinue);
  auto r = Report(g2->ref, 0.5);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->directive, Directive::kStop);
  EXPECT_THAT(r->reason, HasSubstr("stopped at interval 1"));
  // Later calls keep saying stop.
  EXPECT_EQ(controller_->Heartbeat(g2->ref).value().directive, Directive::kStop);
  EXPECT_EQ(Complete(g2->ref, Outcome::kStopped).value(), core::TrialState::kEarlyTerminated);
  core::Trial t = GetTrial(sweep, g2->ref.trial_id);
  EXPECT_EQ(t.final_value, 0.5);
  auto decisions = store_->ListDecisions(sweep, std::nullopt).value();
  ASSERT_EQ(decisions.size(), 2u);
  int stops = 0;
  for (const auto& d : decisions) {
    EXPECT_EQ(d.sweep_id, sweep);
    EXPECT_EQ(d.policy, "bandit");
    stops += d.stop ? 1 : 0;
  }
  EXPECT_EQ(stops, 1);
  EXPECT_EQ(CountEvents(sweep, "trial_stop_requested"), 1);
  EXPECT_EQ(CountEvents(sweep, "trial_early_terminated"), 1);
}

TEST_F(ControllerTest, WaitForSweepTimesOut) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 2}"));
  auto r = controller_->WaitForSweep(sweep, 10);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(controller_->WaitForSweep("sw-nope", 0).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ControllerTest, LongPollWakesWhenATrialFrees) {
  Submit(SpecYaml("{max_total_trials: 3, max_concurrent_trials: 1}"));
  std::string n1 = Node(), n2 = Node();
  auto g1 = Acquire(n1);
  ASSERT_TRUE(g1);
  std::atomic<bool> got{false};
  std::thread poller([&] {
    auto r = controller_->AcquireTrial(n2, 60'000);  // capped at max_acquire_wait_ms
    got = r.ok() && r->lease.has_value();
  });
  ASSERT_TRUE(Report(g1->ref, 0.5).ok());
  ASSERT_TRUE(Complete(g1->ref).ok());
  poller.join();
  EXPECT_TRUE(got);
}

TEST_F(ControllerTest, RoundRobinAcrossSweepsOnOneTarget) {
  std::string a = Submit(SpecYaml("{max_total_trials: 10}"));
  std::string b = Submit(SpecYaml("{max_total_trials: 10}"));
  std::map<std::string, int> per_sweep;
  for (int i = 0; i < 6; ++i) {
    auto g = Acquire(Node());
    ASSERT_TRUE(g);
    per_sweep[g->ref.sweep_id]++;
  }
  EXPECT_EQ(per_sweep[a], 3);
  EXPECT_EQ(per_sweep[b], 3);
}

TEST_F(ControllerTest, EndedSweepsAreForgottenAfterAWhileButStillAnswerable) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 1}"));
  auto g = Acquire(Node());
  ASSERT_TRUE(g);
  ASSERT_TRUE(Report(g->ref, 0.5).ok());
  ASSERT_TRUE(Complete(g->ref).ok());
  controller_->Tick();
  EXPECT_EQ(Complete(g->ref).value(), core::TrialState::kCompleted);  // still in memory
  clock_.Advance(11 * 60 * 1000);
  controller_->Tick();
  auto late = Complete(g->ref);
  EXPECT_EQ(late.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(late.status().message(), HasSubstr("is not active on this controller"));
  EXPECT_EQ(controller_->WaitForSweep(sweep, 0).value(), core::SweepState::kCompleted);
  EXPECT_EQ(controller_->CancelSweep(sweep).code(), absl::StatusCode::kFailedPrecondition);
}

// --- autoscaling ---

class FakeProvider : public NodeProvider {
 public:
  absl::StatusOr<std::string> StartNode(const core::ComputeTarget& target) override {
    std::lock_guard<std::mutex> l(mu);
    started[target.name]++;
    return "fake-" + std::to_string(started[target.name]);
  }
  int64_t LiveNodes(const std::string& compute) override {
    std::lock_guard<std::mutex> l(mu);
    return started[compute] - exited[compute];
  }
  void StopAll() override { stopped = true; }
  std::mutex mu;
  std::map<std::string, int64_t> started, exited;
  std::atomic<bool> stopped{false};
};

TEST_F(ControllerTest, AutoscalerStartsNodesUpToDemandWithinBounds) {
  auto provider = std::make_shared<FakeProvider>();
  controller_->SetNodeProvider("local", provider);
  controller_->Tick();
  EXPECT_EQ(provider->LiveNodes("cpu-cluster"), 0);  // min_nodes 0, no sweeps
  std::string sweep = Submit(SpecYaml("{max_total_trials: 3, max_concurrent_trials: 2}"));
  controller_->Tick();
  EXPECT_EQ(provider->LiveNodes("cpu-cluster"), 2);  // min(max_concurrent, startable)
  controller_->Tick();
  EXPECT_EQ(provider->LiveNodes("cpu-cluster"), 2);  // no overshoot
  EXPECT_EQ(CountEvents(sweep, "scale_up"), 1);
  Submit(SpecYaml("{max_total_trials: 10, max_concurrent_trials: 5}"));
  controller_->Tick();
  EXPECT_EQ(provider->LiveNodes("cpu-cluster"), 4);  // capped by max_nodes
  controller_->Shutdown();
  EXPECT_TRUE(provider->stopped);
}

TEST_F(ControllerTest, IdleNodesAreToldToShutDownAboveMinNodes) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 1}"));
  std::string n1 = Node(), n2 = Node();
  auto g = Acquire(n1);
  ASSERT_TRUE(g);
  ASSERT_TRUE(Report(g->ref, 0.5).ok());
  ASSERT_TRUE(Complete(g->ref).ok());
  EXPECT_EQ(GetSweep(sweep).state, core::SweepState::kCompleted);
  // Both nodes keep polling; the default idle_seconds_before_scaledown is 120.
  for (int i = 0; i < 6; ++i) {
    clock_.Advance(19'900);
    controller_->Tick();
    for (const std::string& n : {n1, n2}) {
      auto r = controller_->AcquireTrial(n, 0);
      ASSERT_TRUE(r.ok());
      EXPECT_FALSE(r->shutdown) << "after " << (i + 1) * 19.9 << "s";
    }
  }
  clock_.Advance(1'000);
  controller_->Tick();
  for (const std::string& n : {n1, n2}) {
    auto r = controller_->AcquireTrial(n, 0);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->shutdown);
  }
  // Asking again gets the same answer and records nothing new.
  auto again = controller_->AcquireTrial(n1, 0);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->shutdown);
  // No sweep runs on the target any more: the decisions are workspace-level events.
  EXPECT_EQ(CountEvents("", "scale_down"), 2);
  EXPECT_EQ(CountEvents("", "node_scaled_down"), 2);
}

TEST_F(ControllerTest, MinNodesAreKeptWhenIdle) {
  AddCompute(store_.get(), "small", "amlcompute", /*min_nodes=*/1, /*max_nodes=*/2);
  std::string n1 = Node("small"), n2 = Node("small");
  std::set<std::string> polling = {n1, n2};
  for (int i = 0; i < 4; ++i) {
    clock_.Advance(20'000);
    controller_->Tick();
    for (const std::string& n : std::set<std::string>(polling)) {
      auto r = controller_->AcquireTrial(n, 0);
      ASSERT_TRUE(r.ok());
      if (r->shutdown) polling.erase(n);  // a node told to shut down exits
    }
  }
  EXPECT_EQ(polling.size(), 1u);  // idle 60 s: one goes, min_nodes 1 stays
}

TEST_F(ControllerTest, ShutdownEndsLongPollsWithShutdown) {
  std::string n = Node();
  std::atomic<bool> shutdown{false};
  std::thread poller([&] {
    auto r = controller_->AcquireTrial(n, 60'000);
    shutdown = r.ok() && r->shutdown;
  });
  controller_->Shutdown();
  poller.join();
  EXPECT_TRUE(shutdown);
}

// --- store failures ---

// Delegates to an InMemoryStore until told to fail.
class FlakyStore : public store::Store {
 public:
  explicit FlakyStore(store::Store* inner) : inner_(inner) {}
  absl::Status Commit(const store::WriteBatch& b) override {
    if (fail) return absl::UnavailableError("disk full");
    return inner_->Commit(b);
  }
  absl::StatusOr<core::ComputeTarget> GetCompute(const std::string& n) override {
    return inner_->GetCompute(n);
  }
  absl::StatusOr<std::vector<core::ComputeTarget>> ListComputes() override {
    return inner_->ListComputes();
  }
  absl::StatusOr<core::Sweep> GetSweep(const std::string& id) override {
    return inner_->GetSweep(id);
  }
  absl::StatusOr<std::vector<core::Sweep>> ListSweeps() override { return inner_->ListSweeps(); }
  absl::StatusOr<core::Trial> GetTrial(const std::string& s, int64_t t) override {
    return inner_->GetTrial(s, t);
  }
  absl::StatusOr<std::vector<core::Trial>> ListTrials(const std::string& s) override {
    return inner_->ListTrials(s);
  }
  absl::StatusOr<std::vector<core::Attempt>> ListAttempts(const std::string& s,
                                                          std::optional<int64_t> t) override {
    return inner_->ListAttempts(s, t);
  }
  absl::StatusOr<std::vector<core::MetricPoint>> ListMetrics(
      const store::MetricFilter& f) override {
    return inner_->ListMetrics(f);
  }
  absl::StatusOr<std::vector<core::Event>> ListEvents(const std::string& s) override {
    return inner_->ListEvents(s);
  }
  absl::StatusOr<std::vector<core::Decision>> ListDecisions(const std::string& s,
                                                            std::optional<int64_t> t) override {
    return inner_->ListDecisions(s, t);
  }
  absl::StatusOr<std::vector<core::Node>> ListNodes() override { return inner_->ListNodes(); }
  absl::StatusOr<uint64_t> MaxFencingToken() override { return inner_->MaxFencingToken(); }
  absl::StatusOr<core::Environment> GetEnvironment(const std::string& n,
                                                   std::optional<int64_t> v) override {
    return inner_->GetEnvironment(n, v);
  }
  absl::StatusOr<std::vector<core::Environment>> ListEnvironments() override {
    return inner_->ListEnvironments();
  }
  absl::StatusOr<core::Model> GetModel(const std::string& n, std::optional<int64_t> v) override {
    return inner_->GetModel(n, v);
  }
  absl::StatusOr<std::vector<core::Model>> ListModels() override { return inner_->ListModels(); }
  std::atomic<bool> fail{false};

 private:
  store::Store* inner_;
};

TEST_F(ControllerTest, FailedCommitIsReportedAndFreezesTheController) {
  FlakyStore flaky(store_.get());
  auto c = Controller::Create(&flaky, options_);
  ASSERT_TRUE(c.ok());
  auto spec = spec::ParseSpec(SpecYaml("{max_total_trials: 2}"), "/tmp/x/spec.yml", "/tmp");
  ASSERT_TRUE(spec.ok());
  absl::StatusOr<std::string> id = (*c)->SubmitSweep(*spec, "");
  ASSERT_TRUE(id.ok()) << id.status();
  NodeRegistration r;
  r.compute = "cpu-cluster";
  std::string node = (*c)->Register(r).value().node_id;
  flaky.fail = true;
  auto a = (*c)->AcquireTrial(node, 0);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(a.status().message(), HasSubstr("could not save its state (disk full)"));
  flaky.fail = false;
  // Memory may be ahead of the store now: nothing more is acknowledged.
  EXPECT_EQ((*c)->AcquireTrial(node, 0).status().code(), absl::StatusCode::kInternal);
  // Issue 11, fault 4: `sweep run` waited on for ever. Its wait and the server's health
  // check end with the reason, so the process exits non-zero.
  auto waited = (*c)->WaitForSweep(*id, 0);
  EXPECT_EQ(waited.status().code(), absl::StatusCode::kInternal) << waited.status();
  EXPECT_THAT(waited.status().message(), HasSubstr("disk full"));
  EXPECT_EQ((*c)->Health().code(), absl::StatusCode::kInternal);
  (*c)->Shutdown();
}

// --- restart ---

TEST_F(ControllerTest, RestartResumesStateAndLosesExpiredLeases) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 6, max_concurrent_trials: 3}"));
  std::string n1 = Node(), n2 = Node(), n3 = Node();
  auto g1 = Acquire(n1);
  auto g2 = Acquire(n2);
  ASSERT_TRUE(g1 && g2);
  ASSERT_TRUE(Report(g1->ref, 0.5).ok());
  ASSERT_TRUE(Complete(g1->ref).ok());
  auto g3 = Acquire(n3);
  ASSERT_TRUE(g3);
  ASSERT_TRUE(Report(g3->ref, 0.6).ok());
  // g2 stops heartbeating; g3 keeps its lease fresh.
  clock_.Advance(options_.lease_duration_ms - 1000);
  ASSERT_TRUE(controller_->Heartbeat(g3->ref).ok());
  uint64_t max_token = store_->MaxFencingToken().value();

  Restart();
  clock_.Advance(2000);
  controller_->Tick();
  // g2's lease ran out before its node renewed it with this controller: the restart lost
  // it (interrupted, not charged), back to pending; g3's lease is intact.
  auto a2 = store_->ListAttempts(sweep, g2->ref.trial_id).value();
  EXPECT_EQ(a2.back().state, core::AttemptState::kInterrupted);
  EXPECT_EQ(GetTrial(sweep, g2->ref.trial_id).retries, 0);
  EXPECT_EQ(GetTrial(sweep, g2->ref.trial_id).state, core::TrialState::kPending);
  auto hb = controller_->Heartbeat(g3->ref);
  ASSERT_TRUE(hb.ok()) << hb.status();
  EXPECT_EQ(hb->directive, Directive::kContinue);
  EXPECT_FALSE(controller_->Heartbeat(g2->ref).ok());
  // A node that held a lease gets it back after the restart (idempotent acquire).
  auto again = Acquire(n3);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->ref.fencing_token, g3->ref.fencing_token);
  EXPECT_EQ(again->argv, g3->argv);
  // Retry first, with a token above everything issued before the restart.
  auto retry = Acquire(n2);
  ASSERT_TRUE(retry);
  EXPECT_EQ(retry->ref.trial_id, g2->ref.trial_id);
  EXPECT_EQ(retry->ref.attempt, 2);
  EXPECT_GT(retry->ref.fencing_token, max_token);
  // Intervals continue for the surviving attempt.
  ASSERT_TRUE(Report(g3->ref, 0.7).ok());
  EXPECT_EQ(GetTrial(sweep, g3->ref.trial_id).intervals, 2);
  ASSERT_TRUE(Complete(g3->ref).ok());
  EXPECT_EQ(GetTrial(sweep, g3->ref.trial_id).final_value, 0.7);
  EXPECT_EQ(CountEvents(sweep, "sweep_resumed"), 1);
}

TEST_F(ControllerTest, RestartContinuesTheSamplerSequenceWithoutDuplicates) {
  // Uninterrupted reference run, seed taken from the spec.
  auto run = [&](bool restart_midway) {
    std::string sweep = Submit(SpecYaml("{max_total_trials: 6, max_concurrent_trials: 1}"));
    std::string n = Node();
    std::vector<std::string> keys;
    for (int i = 0; i < 6; ++i) {
      if (restart_midway && i == 3) {
        Restart();
        n = Node();
      }
      auto g = Acquire(n);
      EXPECT_TRUE(g) << i;
      if (!g) break;
      keys.push_back(core::ConfigKey(GetTrial(sweep, g->ref.trial_id).config));
      EXPECT_TRUE(Report(g->ref, 0.1 * i).ok());
      EXPECT_TRUE(Complete(g->ref).ok());
    }
    return keys;
  };
  std::vector<std::string> straight = run(false);
  std::vector<std::string> resumed = run(true);
  EXPECT_EQ(straight, resumed);
  EXPECT_EQ(std::set<std::string>(resumed.begin(), resumed.end()).size(), resumed.size());
}

TEST_F(ControllerTest, RestartKeepsTheGeneratedSeed) {
  // No seed in the spec: the controller picks one, records it, and reuses it on restart.
  auto sampling = "random";
  std::string first =
      Submit(SpecYaml("{max_total_trials: 4, max_concurrent_trials: 1}", "", sampling));
  std::string n = Node();
  std::vector<std::string> keys;
  for (int i = 0; i < 4; ++i) {
    if (i == 2) {
      Restart();
      n = Node();
    }
    auto g = Acquire(n);
    ASSERT_TRUE(g);
    keys.push_back(core::ConfigKey(GetTrial(first, g->ref.trial_id).config));
    ASSERT_TRUE(Report(g->ref, 0.1).ok());
    ASSERT_TRUE(Complete(g->ref).ok());
  }
  std::string message = Events(first)[0].message;
  size_t at = message.find("(seed ");
  ASSERT_NE(at, std::string::npos);
  std::string seed = message.substr(at + 6, message.find(')', at) - at - 6);
  // The same seed given explicitly reproduces the resumed sequence.
  std::string twin = Submit(SpecYaml("{max_total_trials: 4, max_concurrent_trials: 1}", "",
                                     "{type: random, seed: " + seed + "}"));
  std::vector<std::string> twin_keys;
  for (int i = 0; i < 4; ++i) {
    auto g = Acquire(n);
    ASSERT_TRUE(g);
    ASSERT_EQ(g->ref.sweep_id, twin);
    twin_keys.push_back(core::ConfigKey(GetTrial(twin, g->ref.trial_id).config));
    ASSERT_TRUE(Report(g->ref, 0.1).ok());
    ASSERT_TRUE(Complete(g->ref).ok());
  }
  EXPECT_EQ(keys, twin_keys);
}

TEST_F(ControllerTest, RestartReplaysTheEarlyTerminationPolicy) {
  std::string sweep = Submit(
      SpecYaml("{max_total_trials: 4}",
               "early_termination: {type: bandit, slack_factor: 0.1, evaluation_interval: 1}\n"));
  std::string n1 = Node(), n2 = Node();
  auto g1 = Acquire(n1);
  ASSERT_TRUE(g1);
  ASSERT_TRUE(Report(g1->ref, 0.9).ok());
  ASSERT_TRUE(Complete(g1->ref).ok());
  size_t decisions_before = store_->ListDecisions(sweep, std::nullopt).value().size();
  Restart();
  EXPECT_EQ(store_->ListDecisions(sweep, std::nullopt).value().size(), decisions_before);
  // Without the replayed 0.9 the policy would have nothing to compare 0.5 against.
  auto g2 = Acquire(n2);
  ASSERT_TRUE(g2);
  auto r = Report(g2->ref, 0.5);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->directive, Directive::kStop);
}

TEST_F(ControllerTest, RestartKeepsAStopDecision) {
  std::string sweep = Submit(
      SpecYaml("{max_total_trials: 4}",
               "early_termination: {type: bandit, slack_factor: 0.1, evaluation_interval: 1}\n"));
  std::string n1 = Node(), n2 = Node();
  auto g1 = Acquire(n1);
  auto g2 = Acquire(n2);
  ASSERT_TRUE(g1 && g2);
  ASSERT_TRUE(Report(g1->ref, 0.9).ok());
  ASSERT_EQ(Report(g2->ref, 0.5).value().directive, Directive::kStop);
  Restart();
  auto hb = controller_->Heartbeat(g2->ref);
  ASSERT_TRUE(hb.ok()) << hb.status();
  EXPECT_EQ(hb->directive, Directive::kStop);
  EXPECT_EQ(Complete(g2->ref, Outcome::kStopped).value(), core::TrialState::kEarlyTerminated);
  EXPECT_EQ(CountEvents(sweep, "trial_early_terminated"), 1);
}

TEST_F(ControllerTest, RestartFailsASweepWhoseSpecNoLongerParses) {
  auto spec = spec::ParseSpec(SpecYaml("{max_total_trials: 4}"), "/tmp/x/spec.yml", "/tmp");
  ASSERT_TRUE(spec.ok());
  std::string sweep = controller_->SubmitSweep(*spec, "type: sweep\nbogus: [").value();
  Restart();
  core::Sweep s = GetSweep(sweep);
  EXPECT_EQ(s.state, core::SweepState::kFailed);
  EXPECT_THAT(s.status_message,
              HasSubstr("cannot resume after restart: the spec no longer parses"));
}

}  // namespace
}  // namespace sweep::controller::testing

namespace sweep::controller::testing {
namespace {

// remotevm targets: a fixed worker count while a sweep runs, exited workers replaced.
TEST_F(ControllerTest, RemoteVmKeepsItsWorkersAliveWhileASweepRuns) {
  core::ComputeTarget vm;
  vm.name = "vm";
  vm.type = "remotevm";
  vm.provider = "ssh";
  vm.min_nodes = 0;
  vm.max_nodes = 2;  // workers per node
  store::WriteBatch b;
  b.computes.push_back(vm);
  ASSERT_TRUE(store_->Commit(b).ok());
  auto provider = std::make_shared<FakeProvider>();
  controller_->SetNodeProvider("ssh", provider);
  controller_->Tick();
  EXPECT_EQ(provider->LiveNodes("vm"), 0) << "no sweep, no workers";

  std::string yaml = SpecYaml("{max_total_trials: 5, max_concurrent_trials: 1}");
  yaml.replace(yaml.find("azureml:cpu-cluster"), 19, "azureml:vm");
  std::string sweep = Submit(yaml);
  controller_->Tick();
  EXPECT_EQ(provider->LiveNodes("vm"), 2) << "the fixed count, not the demand of 1";
  EXPECT_EQ(CountEvents(sweep, "scale_up"), 1);

  {
    std::lock_guard<std::mutex> l(provider->mu);
    provider->exited["vm"] = 1;
  }
  controller_->Tick();
  EXPECT_EQ(provider->LiveNodes("vm"), 2);
  EXPECT_EQ(CountEvents(sweep, "node_restarted"), 1);
  EXPECT_EQ(CountEvents(sweep, "scale_up"), 1);
  for (const core::Event& e : Events(sweep)) {
    if (e.kind == "node_restarted") {
      EXPECT_EQ(e.message, "compute vm: 1 worker(s) exited; restarted 1 of them");
    }
  }

  ASSERT_TRUE(controller_->CancelSweep(sweep).ok());
  {
    std::lock_guard<std::mutex> l(provider->mu);
    provider->exited["vm"] = 2;
  }
  controller_->Tick();
  EXPECT_EQ(provider->LiveNodes("vm"), 1) << "no restarts once the sweep ended";
  EXPECT_EQ(CountEvents(sweep, "node_restarted"), 1);
}

}  // namespace
}  // namespace sweep::controller::testing

namespace sweep::controller::testing {
namespace {

class FailingProvider : public NodeProvider {
 public:
  absl::StatusOr<std::string> StartNode(const core::ComputeTarget&) override {
    ++calls;
    return absl::UnavailableError("cannot reach 10.0.0.9:22 over SSH");
  }
  int64_t LiveNodes(const std::string&) override { return 0; }
  void StopAll() override {}
  std::atomic<int> calls{0};
};

TEST_F(ControllerTest, FailedScaleUpIsRetriedAfterABackoff) {
  auto provider = std::make_shared<FailingProvider>();
  controller_->SetNodeProvider("local", provider);
  std::string sweep = Submit(SpecYaml("{max_total_trials: 3, max_concurrent_trials: 2}"));
  controller_->Tick();
  EXPECT_EQ(provider->calls, 1);
  ASSERT_EQ(CountEvents(sweep, "scale_up_failed"), 1);
  for (const core::Event& e : Events(sweep)) {
    if (e.kind == "scale_up_failed") {
      EXPECT_THAT(e.message, HasSubstr("cannot reach 10.0.0.9:22 over SSH (retrying in 10s)"));
    }
  }
  clock_.Advance(9'000);
  controller_->Tick();
  EXPECT_EQ(provider->calls, 1) << "no retry within the backoff";
  EXPECT_EQ(CountEvents(sweep, "scale_up_failed"), 1);
  clock_.Advance(1'000);
  controller_->Tick();
  EXPECT_EQ(provider->calls, 2);
  EXPECT_EQ(CountEvents(sweep, "scale_up_failed"), 2);
}

}  // namespace
}  // namespace sweep::controller::testing

// The autoscaler's pure plan (PlanScaling), and the back-off the Autoscaler applies after a
// failed start.
#include "controller/autoscaler.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace sweep::controller {
namespace {

constexpr int64_t kNow = 1'000'000;

core::ComputeTarget Cluster(int64_t min_nodes, int64_t max_nodes) {
  core::ComputeTarget t;
  t.name = "cpu";
  t.type = "amlcompute";
  t.provider = "local";
  t.min_nodes = min_nodes;
  t.max_nodes = max_nodes;
  t.idle_seconds_before_scaledown = 120;
  return t;
}

core::ComputeTarget RemoteVm(int64_t workers) {
  core::ComputeTarget t = Cluster(0, workers);
  t.name = "vm";
  t.type = "remotevm";
  t.provider = "ssh";
  return t;
}

// A cluster (min 0, max 4) with one running sweep, as planned before with `last_desired`.
TargetScaling ClusterWithSweep(SweepDemand sweep, int64_t last_desired) {
  TargetScaling t;
  t.target = Cluster(0, 4);
  t.sweeps = {std::move(sweep)};
  t.last_desired = last_desired;
  return t;
}

ScalingPlan PlanOne(const TargetScaling& target) {
  ScalingInput input;
  input.now_ms = kNow;
  input.targets = {target};
  return PlanScaling(input);
}

std::vector<std::string> Kinds(const std::vector<core::Event>& events) {
  std::vector<std::string> kinds;
  for (const core::Event& e : events) kinds.push_back(e.kind);
  return kinds;
}

TEST(AutoscalerTest, DesiredIsTheClampedSumOfEachSweepsBoundedDemand) {
  TargetScaling t;
  t.target = Cluster(1, 6);
  t.live_nodes = 0;
  t.sweeps = {{"sw-a", /*running=*/1, /*startable=*/5, /*max_concurrent=*/2},  // 2
              {"sw-b", 0, 3, 4},                                               // 3
              {"sw-c", 0, 0, 4}};                                              // 0
  ScalingPlan plan = PlanOne(t);
  ASSERT_EQ(plan.targets.size(), 1u);
  EXPECT_EQ(plan.targets[0].desired, 5);
  ASSERT_EQ(plan.events.size(), 1u);
  EXPECT_EQ(plan.events[0].kind, "scale_target");
  EXPECT_EQ(plan.events[0].sweep_id, "sw-a") << "events belong to the oldest running sweep";
  EXPECT_EQ(plan.events[0].timestamp_ms, kNow);
  EXPECT_EQ(plan.events[0].message,
            "compute cpu: desired nodes 0 -> 5 (min 1, max 6): 5 trials waiting in sw-a (1 "
            "running, at most 2 at once); 3 trials waiting in sw-b (0 running, at most 4 at once)");
  ASSERT_EQ(plan.starts.size(), 1u);
  EXPECT_EQ(plan.starts[0].count, 5);

  t.target = Cluster(1, 4);
  EXPECT_EQ(PlanOne(t).targets[0].desired, 4) << "capped by max_nodes";
  t.sweeps.clear();
  plan = PlanOne(t);
  EXPECT_EQ(plan.targets[0].desired, 1) << "min_nodes without any sweep";
  EXPECT_NE(plan.events[0].message.find("no trials waiting"), std::string::npos);
  EXPECT_EQ(plan.events[0].sweep_id, "");
}

TEST(AutoscalerTest, AnUnchangedTargetIsNotAnnouncedAgain) {
  TargetScaling t = ClusterWithSweep({"sw-a", 0, 3, 2}, /*last_desired=*/2);
  ScalingPlan plan = PlanOne(t);
  EXPECT_EQ(plan.targets[0].desired, 2);
  EXPECT_TRUE(plan.events.empty());
}

TEST(AutoscalerTest, StartsWhatTheProviderLacksAndNothingWithoutAProvider) {
  TargetScaling t = ClusterWithSweep({"sw-a", 0, 10, 3}, /*last_desired=*/3);
  t.live_nodes = 1;
  ScalingPlan plan = PlanOne(t);
  ASSERT_EQ(plan.starts.size(), 1u);
  const NodeStart& start = plan.starts[0];
  EXPECT_EQ(start.count, 2);
  EXPECT_EQ(start.live, 1);
  EXPECT_EQ(start.desired, 3);
  EXPECT_EQ(start.sweep_id, "sw-a");
  EXPECT_FALSE(start.restart);
  EXPECT_EQ(StartEvent(start, 2, "", kNow).message,
            "compute cpu: 1 -> 3 nodes (desired 3, max 4): 10 trials waiting in sw-a (0 running, "
            "at most 3 at once)");
  EXPECT_EQ(StartEvent(start, 2, "", kNow).kind, "scale_up");

  t.live_nodes = 3;
  EXPECT_TRUE(PlanOne(t).starts.empty()) << "no overshoot";
  t.live_nodes = std::nullopt;
  EXPECT_TRUE(PlanOne(t).starts.empty()) << "no provider: workers are started by hand";
}

TEST(AutoscalerTest, IdleNodesPastTheTimeoutAreShutDownWhileAboveDesired) {
  TargetScaling t = ClusterWithSweep({"sw-a", 1, 0, 2}, /*last_desired=*/1);  // desired 1
  t.nodes = {{"n1", /*busy=*/true, kNow - 500'000},
             {"n2", false, kNow - 200'000},
             {"n3", false, kNow - 10'000},  // idle, but not for long enough
             {"n4", false, kNow - 300'000}};
  ScalingPlan plan = PlanOne(t);
  EXPECT_EQ(plan.shut_down, (std::vector<std::string>{"n2", "n4"}));
  EXPECT_EQ(Kinds(plan.events), (std::vector<std::string>{"scale_down", "scale_down"}));
  EXPECT_EQ(plan.events[0].message,
            "compute cpu: node n2 idle for 200s (limit 120s); 4 -> 3 nodes (desired 1, min 0): 0 "
            "trials waiting in sw-a (1 running, at most 2 at once)");
  EXPECT_NE(plan.events[1].message.find("3 -> 2 nodes"), std::string::npos);

  t.target.min_nodes = 3;
  t.last_desired = 3;
  plan = PlanOne(t);
  EXPECT_EQ(plan.shut_down, (std::vector<std::string>{"n2"})) << "min_nodes stay";
}

TEST(AutoscalerTest, RemoteVmKeepsItsWorkersWhileASweepRunsAndRestartsExitedOnes) {
  TargetScaling t;
  t.target = RemoteVm(2);
  t.sweeps = {{"sw-a", 0, 5, 1}};  // a demand of 1
  t.live_nodes = 0;
  ScalingPlan plan = PlanOne(t);
  EXPECT_EQ(plan.targets[0].desired, 2) << "the fixed worker count, not the demand";
  EXPECT_FALSE(plan.targets[0].forget_started);
  ASSERT_EQ(plan.starts.size(), 1u);
  EXPECT_EQ(plan.starts[0].count, 2);
  EXPECT_FALSE(plan.starts[0].restart);

  t.last_desired = 2;
  t.remote_started = 2;
  t.live_nodes = 1;  // one worker exited
  plan = PlanOne(t);
  ASSERT_EQ(plan.starts.size(), 1u);
  EXPECT_EQ(plan.starts[0].count, 1);
  EXPECT_TRUE(plan.starts[0].restart);
  EXPECT_EQ(StartEvent(plan.starts[0], 1, "", kNow).kind, "node_restarted");
  EXPECT_EQ(StartEvent(plan.starts[0], 1, "", kNow).message,
            "compute vm: 1 worker(s) exited; restarted 1 of them");

  t.sweeps.clear();
  t.live_nodes = 0;
  plan = PlanOne(t);
  EXPECT_EQ(plan.targets[0].desired, 0) << "no sweep, no workers";
  EXPECT_TRUE(plan.targets[0].forget_started);
  EXPECT_TRUE(plan.starts.empty());
}

TEST(AutoscalerTest, NoStartDuringTheBackOffAfterAFailedStart) {
  TargetScaling t = ClusterWithSweep({"sw-a", 0, 3, 3}, /*last_desired=*/3);
  t.live_nodes = 0;
  t.retry_after_ms = kNow + 1;
  EXPECT_TRUE(PlanOne(t).starts.empty());
  t.retry_after_ms = kNow;
  EXPECT_EQ(PlanOne(t).starts.size(), 1u);

  core::Event failed = StartEvent(PlanOne(t).starts[0], 1, "vm unreachable", kNow);
  EXPECT_EQ(failed.kind, "scale_up_failed");
  EXPECT_NE(failed.message.find("0 -> 1 nodes"), std::string::npos) << failed.message;
  EXPECT_NE(failed.message.find("failed to start more: vm unreachable (retrying in 10s)"),
            std::string::npos)
      << failed.message;
}

// A provider whose starts fail.
class FailingProvider : public compute::NodeProvider {
 public:
  absl::StatusOr<std::string> StartNode(const core::ComputeTarget&) override {
    ++calls;
    return absl::UnavailableError("no capacity");
  }
  int64_t LiveNodes(const std::string&) override { return 0; }
  void StopAll() override {}
  int calls = 0;
};

class FixedClock : public core::Clock {
 public:
  int64_t NowMillis() const override { return kNow; }
};

TEST(AutoscalerTest, AFailedStartBacksTheTargetOffForTenSeconds) {
  State state;
  auto sweep = std::make_unique<SweepRec>();
  sweep->sweep.id = "sw-a";
  sweep->sweep.compute = "cpu";
  sweep->max_total = 3;
  sweep->max_concurrent = 2;
  state.AddRunning(std::move(sweep));
  auto provider = std::make_shared<FailingProvider>();
  Autoscaler autoscaler;
  autoscaler.SetProvider("local", provider);
  autoscaler.SetTargets({Cluster(0, 4)});

  Txn txn;
  std::vector<Autoscaler::Start> starts = autoscaler.Plan(txn, state, kNow);
  ASSERT_EQ(starts.size(), 1u);
  EXPECT_EQ(starts[0].plan.count, 2);
  FixedClock clock;
  std::vector<core::Event> events = Autoscaler::StartNodes(starts, clock);
  EXPECT_EQ(provider->calls, 1) << "the first failure ends the attempt to scale up";
  EXPECT_EQ(Kinds(events), (std::vector<std::string>{"scale_up_failed"}));
  autoscaler.Record(starts, kNow);

  EXPECT_TRUE(autoscaler.Plan(txn, state, kNow + kStartRetryMs - 1).empty());
  EXPECT_EQ(autoscaler.Plan(txn, state, kNow + kStartRetryMs).size(), 1u);
  EXPECT_EQ(autoscaler.Status("cpu", state)->desired_nodes, 2);
}

// --- never hang silently: sweeps that cannot get a single node ---

// A Slurm cluster (min 0, max 2) whose provider runs `live` jobs, none registered, with
// one sweep wanting 2 nodes that may wait 600 s, waiting since `since` (nullopt: not yet).
TargetScaling Starving(int64_t live, std::optional<int64_t> since) {
  SweepDemand d{"sw-a", /*running=*/0, /*startable=*/4, /*max_concurrent=*/2};
  d.node_wait_ms = 600'000;
  d.waiting_since_ms = since;
  TargetScaling t = ClusterWithSweep(d, /*last_desired=*/2);
  t.target.provider = "slurm";
  t.live_nodes = live;
  return t;
}

TEST(AutoscalerTest, ASweepWithoutANodeWaitsThenTimesOut) {
  // First plan: it starts to wait now.
  ScalingPlan plan = PlanOne(Starving(0, std::nullopt));
  ASSERT_EQ(plan.waiting.size(), 1u);
  EXPECT_EQ(plan.waiting[0].first, "sw-a");
  EXPECT_EQ(plan.waiting[0].second, kNow);
  EXPECT_TRUE(plan.timeouts.empty());
  EXPECT_EQ(plan.starts.size(), 1u);

  // One millisecond short of its limit: still waiting, still asking for nodes.
  TargetScaling t = Starving(0, kNow - 599'999);
  t.last_start_error = "sbatch: error: Memory specification can not be satisfied";
  plan = PlanOne(t);
  EXPECT_TRUE(plan.timeouts.empty());
  EXPECT_EQ(plan.waiting[0].second, kNow - 599'999) << "the wait keeps its start";

  // At the limit: it times out with the last reason, and no longer asks for nodes.
  t.sweeps[0].waiting_since_ms = kNow - 600'000;
  plan = PlanOne(t);
  ASSERT_EQ(plan.timeouts.size(), 1u);
  EXPECT_EQ(plan.timeouts[0].sweep_id, "sw-a");
  EXPECT_EQ(plan.timeouts[0].reason,
            "no node of compute 'cpu' registered for 600 s (limits.node_wait_timeout): the last "
            "start failed: sbatch: error: Memory specification can not be satisfied");
  EXPECT_EQ(plan.targets[0].desired, 0);
  EXPECT_TRUE(plan.starts.empty());
}

TEST(AutoscalerTest, TheReasonSaysWhenStartedNodesNeverRegistered) {
  ScalingPlan plan = PlanOne(Starving(2, kNow - 700'000));
  ASSERT_EQ(plan.timeouts.size(), 1u);
  EXPECT_EQ(plan.timeouts[0].reason,
            "no node of compute 'cpu' registered for 700 s (limits.node_wait_timeout): 2 "
            "node(s) started by the 'slurm' provider never registered");
}

TEST(AutoscalerTest, OnlySweepsThatWantANodeOfATargetWithoutOneWait) {
  TargetScaling with_node = Starving(1, kNow - 900'000);
  with_node.nodes = {{"node-1", /*busy=*/true, 0}};
  ScalingPlan plan = PlanOne(with_node);
  EXPECT_TRUE(plan.timeouts.empty()) << "a registered node, even a busy one, ends the wait";
  EXPECT_EQ(plan.waiting[0].second, std::nullopt);

  TargetScaling running = Starving(0, kNow - 900'000);
  running.sweeps[0].running = 1;  // it has a trial on a node that just left
  EXPECT_TRUE(PlanOne(running).timeouts.empty());

  TargetScaling done = Starving(0, kNow - 900'000);
  done.sweeps[0].startable = 0;  // nothing left to start
  EXPECT_TRUE(PlanOne(done).timeouts.empty());

  TargetScaling by_hand = Starving(0, kNow - 900'000);
  by_hand.live_nodes.reset();  // no provider: its workers are started by hand
  plan = PlanOne(by_hand);
  EXPECT_TRUE(plan.timeouts.empty());
  EXPECT_EQ(plan.waiting[0].second, std::nullopt);

  TargetScaling forever = Starving(0, kNow - 900'000);
  forever.sweeps[0].node_wait_ms = 0;  // node_wait_timeout: 0
  plan = PlanOne(forever);
  EXPECT_TRUE(plan.timeouts.empty());
  EXPECT_EQ(plan.waiting[0].second, kNow - 900'000);
}

TEST(AutoscalerTest, AnUnreachableVmEndsItsSweepAfterTheDefaultWait) {
  State state;
  auto sweep = std::make_unique<SweepRec>();
  sweep->sweep.id = "sw-a";
  sweep->sweep.compute = "vm";
  sweep->max_total = 3;
  sweep->max_concurrent = 1;
  state.AddRunning(std::move(sweep));
  auto provider = std::make_shared<FailingProvider>();
  Autoscaler autoscaler;
  autoscaler.SetProvider("ssh", provider);
  autoscaler.SetTargets({RemoteVm(1)});
  autoscaler.SetNodeWaitTimeout(600'000);

  // The controller ticks; starts are retried every 10 s and keep failing.
  core::FakeClock clock(kNow);
  int64_t ended_at = 0;
  std::vector<NodeWaitTimeout> timeouts;
  while (ended_at == 0 && clock.NowMillis() < kNow + 3'600'000) {
    Txn txn;
    std::vector<Autoscaler::Start> starts =
        autoscaler.Plan(txn, state, clock.NowMillis(), &timeouts);
    if (!timeouts.empty()) ended_at = clock.NowMillis();
    Autoscaler::StartNodes(starts, clock);
    autoscaler.Record(starts, clock.NowMillis());
    clock.Advance(1'000);
  }
  EXPECT_EQ(ended_at, kNow + 600'000);
  EXPECT_EQ(provider->calls, 60) << "one start every 10 s until then";
  ASSERT_EQ(timeouts.size(), 1u);
  EXPECT_EQ(timeouts[0].reason,
            "no node of compute 'vm' registered for 600 s (limits.node_wait_timeout): the last "
            "start failed: no capacity");

  // The spec's own limit wins over the default.
  state.sweeps.at("sw-a")->spec.limits.node_wait_timeout_s = 0;
  timeouts.clear();
  Txn txn;
  autoscaler.Plan(txn, state, clock.NowMillis() + 3'600'000, &timeouts);
  EXPECT_TRUE(timeouts.empty());
}

}  // namespace
}  // namespace sweep::controller

// Several sweeps on one shared target: limits per sweep, fair sharing of nodes, and the
// autoscaling state `sweep compute show` displays.
#include <algorithm>
#include <map>
#include <memory>
#include <mutex>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/controller_test_util.h"

namespace sweep::controller::testing {
namespace {

using ::testing::HasSubstr;

class CountingProvider : public NodeProvider {
 public:
  absl::StatusOr<std::string> StartNode(const core::ComputeTarget& target) override {
    std::lock_guard<std::mutex> l(mu);
    return "node-" + std::to_string(++started[target.name]);
  }
  int64_t LiveNodes(const std::string& compute) override {
    std::lock_guard<std::mutex> l(mu);
    return started[compute];
  }
  void StopAll() override {}
  std::mutex mu;
  std::map<std::string, int64_t> started;
};

// Both nodes loop: complete what they hold, ask again. Counts per sweep stay within one
// of each other and no sweep ever runs more than its max_concurrent_trials.
TEST_F(ControllerTest, TwoSweepsShareNodesEvenlyWhileTheyCycle) {
  std::string a = Submit(SpecYaml("{max_total_trials: 50, max_concurrent_trials: 2}"));
  std::string b = Submit(SpecYaml("{max_total_trials: 50, max_concurrent_trials: 2}"));
  std::vector<std::string> nodes = {Node(), Node(), Node()};
  std::map<std::string, std::optional<LeaseGrant>> held;
  std::map<std::string, int> granted, running;
  for (int round = 0; round < 12; ++round) {
    for (const std::string& n : nodes) {
      if (held[n]) {
        ASSERT_TRUE(Report(held[n]->ref, 0.5).ok());
        ASSERT_TRUE(Complete(held[n]->ref).ok());
        running[held[n]->ref.sweep_id]--;
      }
      held[n] = Acquire(n);
      ASSERT_TRUE(held[n]);
      const std::string& s = held[n]->ref.sweep_id;
      granted[s]++;
      running[s]++;
      EXPECT_LE(running[s], 2) << "max_concurrent_trials of " << s << " exceeded";
    }
    EXPECT_LE(std::abs(granted[a] - granted[b]), 1) << "round " << round;
  }
  EXPECT_EQ(granted[a] + granted[b], 36);
}

// Trials of `quick` end at once while those of `slow` keep their nodes: freed nodes must
// go back to `quick` rather than pile up on `slow` (plain round-robin would give `slow` 3
// of 4 nodes here).
TEST_F(ControllerTest, NodesFreedByShortTrialsGoToTheSweepHoldingFewer) {
  std::string quick = Submit(SpecYaml("{max_total_trials: 50, max_concurrent_trials: 4}"));
  std::string slow = Submit(SpecYaml("{max_total_trials: 50, max_concurrent_trials: 4}"));
  std::vector<std::string> nodes = {Node(), Node(), Node(), Node()};
  std::map<std::string, std::optional<LeaseGrant>> held;
  for (const std::string& n : nodes) {
    held[n] = Acquire(n);
    ASSERT_TRUE(held[n]);
  }
  for (int round = 0; round < 5; ++round) {
    std::vector<std::string> freed;
    for (const std::string& n : nodes) {
      if (held[n]->ref.sweep_id != quick) continue;
      ASSERT_TRUE(Report(held[n]->ref, 0.5).ok());
      ASSERT_TRUE(Complete(held[n]->ref).ok());
      freed.push_back(n);
    }
    for (const std::string& n : freed) {
      held[n] = Acquire(n);
      ASSERT_TRUE(held[n]);
    }
    std::map<std::string, int> holding;
    for (const std::string& n : nodes) holding[held[n]->ref.sweep_id]++;
    EXPECT_EQ(holding[quick], 2) << "round " << round;
    EXPECT_EQ(holding[slow], 2) << "round " << round;
  }
}

// A sweep limited to one trial at a time keeps to it; the other sweep gets the rest.
TEST_F(ControllerTest, ANarrowSweepLeavesTheOtherNodesToTheWideOne) {
  std::string narrow = Submit(SpecYaml("{max_total_trials: 10, max_concurrent_trials: 1}"));
  std::string wide = Submit(SpecYaml("{max_total_trials: 10, max_concurrent_trials: 4}"));
  std::map<std::string, int> per_sweep;
  for (int i = 0; i < 4; ++i) {
    auto g = Acquire(Node());
    ASSERT_TRUE(g);
    per_sweep[g->ref.sweep_id]++;
  }
  EXPECT_EQ(per_sweep[narrow], 1);
  EXPECT_EQ(per_sweep[wide], 3);
  auto fifth = Acquire(Node());
  ASSERT_TRUE(fifth);
  EXPECT_EQ(fifth->ref.sweep_id, wide) << "the narrow sweep is at its limit";
  EXPECT_FALSE(Acquire(Node())) << "both sweeps are at their limit";
}

TEST_F(ControllerTest, ComputeStatusShowsDesiredNodesAndWhatEachNodeRuns) {
  auto provider = std::make_shared<CountingProvider>();
  controller_->SetNodeProvider("local", provider);
  std::string a = Submit(SpecYaml("{max_total_trials: 5, max_concurrent_trials: 2}"));
  std::string b = Submit(SpecYaml("{max_total_trials: 5, max_concurrent_trials: 1}"));
  controller_->Tick();
  std::string busy = Node(), idle = Node();
  auto g = Acquire(busy);
  ASSERT_TRUE(g);
  auto status = controller_->GetComputeStatus("cpu-cluster");
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->desired_nodes, 3);  // 2 for a + 1 for b, under max_nodes 4
  EXPECT_EQ(status->provider_nodes, 3);
  ASSERT_EQ(status->nodes.size(), 2u);
  for (const NodeStatus& n : status->nodes) {
    if (n.node.node_id == busy) {
      EXPECT_EQ(n.node.state, "busy");
      EXPECT_EQ(n.sweep_id, g->ref.sweep_id);
      EXPECT_EQ(n.trial_id, g->ref.trial_id);
    } else {
      EXPECT_EQ(n.node.node_id, idle);
      EXPECT_EQ(n.node.state, "idle");
      EXPECT_EQ(n.sweep_id, "");
    }
  }
  EXPECT_TRUE(absl::IsNotFound(controller_->GetComputeStatus("nope").status()));

  // The decisions say why: what waits in which sweep, and the node counts.
  std::string target, up;
  for (const core::Event& e : Events(a)) {
    if (e.kind == "scale_target") target = e.message;
    if (e.kind == "scale_up") up = e.message;
  }
  EXPECT_THAT(target, HasSubstr("compute cpu-cluster: desired nodes 0 -> 3 (min 0, max 4)"));
  EXPECT_THAT(target, HasSubstr("5 trials waiting in " + a + " (0 running, at most 2 at once)"));
  EXPECT_THAT(target, HasSubstr("5 trials waiting in " + b + " (0 running, at most 1 at once)"));
  EXPECT_THAT(up, HasSubstr("compute cpu-cluster: 0 -> 3 nodes (desired 3, max 4): 5 trials"));
}

TEST_F(ControllerTest, ScaleDownSaysWhyTheNodeGoes) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 1}"));
  std::string n1 = Node();
  auto g = Acquire(n1);
  ASSERT_TRUE(g);
  ASSERT_TRUE(Report(g->ref, 0.5).ok());
  ASSERT_TRUE(Complete(g->ref).ok());
  for (int i = 0; i < 6; ++i) {  // the node keeps polling, so it is idle, not gone
    clock_.Advance(20'000);
    ASSERT_TRUE(controller_->AcquireTrial(n1, 0).ok());
  }
  controller_->Tick();
  std::string down;
  for (const core::Event& e : Events("")) {
    if (e.kind == "scale_down") down = e.message;
  }
  EXPECT_THAT(down, HasSubstr("compute cpu-cluster: node " + n1 +
                              " idle for 120s (limit 120s); "
                              "1 -> 0 nodes (desired 0, min 0): no trials waiting"));
}

}  // namespace
}  // namespace sweep::controller::testing

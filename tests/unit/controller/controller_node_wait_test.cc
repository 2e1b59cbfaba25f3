// Sweeps never hang silently: a sweep whose target cannot get a single node ends `failed`
// after node_wait_timeout, with the last reason (controller.h, autoscaler.h).
#include <memory>
#include <string>

#include "controller_test_util.h"
#include "gmock/gmock.h"

namespace sweep::controller {
namespace {

using testing::ControllerTest;
using ::testing::HasSubstr;
using testing::SpecYaml;

// Every start fails the way sbatch does for a size no node of the partition fits.
class RefusingProvider : public NodeProvider {
 public:
  absl::StatusOr<std::string> StartNode(const core::ComputeTarget&) override {
    ++starts;
    return absl::FailedPreconditionError(
        "sbatch: error: Memory specification can not be satisfied");
  }
  int64_t LiveNodes(const std::string&) override { return 0; }
  void StopAll() override {}
  int starts = 0;
};

// Runs the housekeeping every second of fake time, for `seconds`.
void TickFor(Controller& c, core::FakeClock& clock, int seconds) {
  for (int i = 0; i < seconds; ++i) {
    clock.Advance(1'000);
    c.Tick();
  }
}

class NodeWaitTest : public ControllerTest {};

TEST_F(NodeWaitTest, ASweepThatGetsNoNodeFailsAfterTenMinutesWithTheLastReason) {
  auto provider = std::make_shared<RefusingProvider>();
  controller_->SetNodeProvider("local", provider);
  std::string sweep = Submit(SpecYaml("{max_total_trials: 3}"));
  controller_->Tick();
  TickFor(*controller_, clock_, 599);
  EXPECT_EQ(GetSweep(sweep).state, core::SweepState::kRunning) << "not before 10 minutes";
  TickFor(*controller_, clock_, 1);
  core::Sweep ended = GetSweep(sweep);
  EXPECT_EQ(ended.state, core::SweepState::kFailed);
  EXPECT_THAT(ended.status_message,
              HasSubstr("no node of compute 'cpu-cluster' registered for 600 s "
                        "(limits.node_wait_timeout): the last start failed: sbatch: error: "
                        "Memory specification can not be satisfied"));
  EXPECT_EQ(CountEvents(sweep, "node_wait_timeout"), 1);
  EXPECT_EQ(CountEvents(sweep, "sweep_failed"), 1);
  EXPECT_EQ(controller_->WaitForSweep(sweep, 0).value(), core::SweepState::kFailed);
  // The failing starts stop with it.
  int starts = provider->starts;
  TickFor(*controller_, clock_, 60);
  EXPECT_EQ(provider->starts, starts);
}

TEST_F(NodeWaitTest, TheSpecAndTheControllerOptionSetTheLimit) {
  auto provider = std::make_shared<RefusingProvider>();
  controller_->SetNodeProvider("local", provider);
  std::string quick = Submit(SpecYaml("{max_total_trials: 3, node_wait_timeout: 30}"));
  std::string patient = Submit(SpecYaml("{max_total_trials: 3, node_wait_timeout: 0}"));
  std::string by_default = Submit(SpecYaml("{max_total_trials: 3}"));
  controller_->Tick();
  TickFor(*controller_, clock_, 30);
  EXPECT_EQ(GetSweep(quick).state, core::SweepState::kFailed);
  EXPECT_THAT(GetSweep(quick).status_message, HasSubstr("registered for 30 s"));
  EXPECT_EQ(GetSweep(by_default).state, core::SweepState::kRunning);
  TickFor(*controller_, clock_, 3600);
  EXPECT_EQ(GetSweep(by_default).state, core::SweepState::kFailed);
  EXPECT_EQ(GetSweep(patient).state, core::SweepState::kRunning) << "0 waits for ever";

  // A controller started with another default (sweep server --node-wait-seconds).
  options_.node_wait_timeout_ms = 5'000;
  Restart();
  controller_->SetNodeProvider("local", provider);
  std::string short_default = Submit(SpecYaml("{max_total_trials: 3}"));
  controller_->Tick();
  TickFor(*controller_, clock_, 5);
  EXPECT_EQ(GetSweep(short_default).state, core::SweepState::kFailed);
  EXPECT_EQ(GetSweep(patient).state, core::SweepState::kRunning);
}

TEST_F(NodeWaitTest, ANodeThatRegistersEndsTheWait) {
  auto provider = std::make_shared<RefusingProvider>();
  controller_->SetNodeProvider("local", provider);
  std::string sweep = Submit(SpecYaml("{max_total_trials: 3, node_wait_timeout: 60}"));
  controller_->Tick();
  TickFor(*controller_, clock_, 50);
  std::string node = Node();  // started by hand, say
  auto grant = Acquire(node);
  ASSERT_TRUE(grant);
  TickFor(*controller_, clock_, 20);
  EXPECT_EQ(GetSweep(sweep).state, core::SweepState::kRunning);
  EXPECT_EQ(CountEvents(sweep, "node_wait_timeout"), 0);
}

TEST_F(NodeWaitTest, WorkersStartedByHandAreWaitedForForEver) {
  // No provider for the target: nothing to time out.
  std::string sweep = Submit(SpecYaml("{max_total_trials: 3, node_wait_timeout: 1}"));
  TickFor(*controller_, clock_, 120);
  EXPECT_EQ(GetSweep(sweep).state, core::SweepState::kRunning);
}

}  // namespace
}  // namespace sweep::controller

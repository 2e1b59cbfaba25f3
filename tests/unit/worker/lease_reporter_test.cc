// The reporter of one attempt on its own (worker/lease_reporter.h).
#include "worker/lease_reporter.h"

#include <atomic>
#include <vector>

#include "gtest/gtest.h"
#include "tests/unit/worker/fakes.h"

namespace sweep::worker {
namespace {

// Issue 11, fault 5: past 100,000 unsent points the worker dropped the oldest (a trial
// printing 200,000 steps kept its last 50,500). Now none is dropped however many wait:
// the reader is held back instead (WaitForRoom), and every point goes out once, numbered.
TEST(LeaseReporterTest, UnsentPointsPastTheBoundAreKeptAndSentOnceInOrder) {
  WorkerOptions options;
  options.compute = "cpu";
  testing::FakeClient client;
  testing::FakeLauncher launcher;
  core::FakeClock clock;
  WorkerDeps deps;
  deps.client = &client;
  deps.launcher = &launcher;
  deps.clock = &clock;
  std::atomic<bool> stop{false};
  AgentContext ctx(options, deps, &stop);
  LeaseGrant lease;
  lease.ref = {"node-1", "sw-1", 1, 1, 101};
  LeaseReporter reporter(ctx, lease);

  // The controller is not asked meanwhile, as while it restarts: all of it stays unsent.
  constexpr int kPoints = 100'010;
  std::vector<ParsedMetric> parsed(kPoints);
  for (int i = 0; i < kPoints; ++i) parsed[i] = {"loss", 1.0 / (i + 1), i};
  reporter.AddPoints(std::move(parsed));
  reporter.StopWaiting();
  reporter.WaitForRoom();  // returns at once once stopping: the reader may drain the pipe

  Completion completion;
  completion.outcome = Outcome::kSucceeded;
  ASSERT_EQ(reporter.Complete(std::move(completion)), AttemptEnd::kDone);
  std::vector<core::MetricPoint> sent;
  for (const auto& report : client.reports()) sent.insert(sent.end(), report.begin(), report.end());
  const std::vector<Completion> completions = client.completions();  // a copy: keep it
  ASSERT_EQ(completions.size(), 1u);
  sent.insert(sent.end(), completions[0].points.begin(), completions[0].points.end());
  ASSERT_EQ(sent.size(), static_cast<size_t>(kPoints)) << "none dropped";
  for (int i = 0; i < kPoints; ++i) {
    ASSERT_EQ(sent[i].step, i);
    ASSERT_EQ(sent[i].seq, i + 1) << "numbered in print order";
  }
}

}  // namespace
}  // namespace sweep::worker

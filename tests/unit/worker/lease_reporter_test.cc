// The reporter of one attempt on its own (worker/lease_reporter.h).
#include "worker/lease_reporter.h"

#include <atomic>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/unit/worker/fakes.h"

namespace sweep::worker {
namespace {

// One attempt's context on fakes: the controller's client, a launcher and a clock.
class LeaseReporterTest : public ::testing::Test {
 protected:
  static WorkerOptions Options() {
    WorkerOptions options;
    options.compute = "cpu";
    return options;
  }
  WorkerDeps Deps() {
    WorkerDeps deps;
    deps.client = &client_;
    deps.launcher = &launcher_;
    deps.clock = &clock_;
    return deps;
  }

  const WorkerOptions options_ = Options();
  testing::FakeClient client_;
  testing::FakeLauncher launcher_;
  core::FakeClock clock_;
  const WorkerDeps deps_ = Deps();
  std::atomic<bool> stop_{false};
  AgentContext ctx_{options_, deps_, &stop_};
};

// Issue 11, fault 5: past 100,000 unsent points the worker dropped the oldest (a trial
// printing 200,000 steps kept its last 50,500). Now none is dropped however many wait:
// the reader is held back instead (WaitForRoom), and every point goes out once, numbered.
TEST_F(LeaseReporterTest, UnsentPointsPastTheBoundAreKeptAndSentOnceInOrder) {
  LeaseGrant lease;
  lease.ref = {"node-1", "sw-1", 1, 1, 101};
  LeaseReporter reporter(ctx_, lease);

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
  for (const auto& report : client_.reports())
    sent.insert(sent.end(), report.begin(), report.end());
  const std::vector<Completion> completions = client_.completions();  // a copy: keep it
  ASSERT_EQ(completions.size(), 1u);
  sent.insert(sent.end(), completions[0].points.begin(), completions[0].points.end());
  ASSERT_EQ(sent.size(), static_cast<size_t>(kPoints)) << "none dropped";
  for (int i = 0; i < kPoints; ++i) {
    ASSERT_EQ(sent[i].step, i);
    ASSERT_EQ(sent[i].seq, i + 1) << "numbered in print order";
  }
}

// Queued points carry a name index, not a string: each point still goes out under its own
// name and the lease's sweep, trial and attempt, also after the table of names is emptied
// (many distinct names, all sent) and when a report is put back after a failure.
TEST_F(LeaseReporterTest, EveryPointKeepsItsNameAndLease) {
  LeaseGrant lease;
  lease.ref = {"node-1", "sw-1", 7, 2, 101};
  LeaseReporter reporter(ctx_, lease);

  std::vector<ParsedMetric> parsed;
  for (int i = 0; i < 5000; ++i) parsed.push_back({absl::StrCat("m", i), 1.0 * i, i});
  reporter.AddPoints(std::move(parsed));
  int calls = 0;
  client_.on_report = [&](const std::vector<core::MetricPoint>&) -> absl::StatusOr<DirectiveReply> {
    if (++calls == 1) return absl::UnavailableError("controller restarting");
    return DirectiveReply{};
  };
  std::string reason;
  ASSERT_EQ(reporter.Renew(&reason), RenewResult::kContinue);  // fails: put back
  clock_.Advance(60'000);
  ASSERT_EQ(reporter.Renew(&reason), RenewResult::kContinue);
  ASSERT_EQ(calls, 2);
  reporter.AddPoints({{"loss", 0.5, 1}, {"m7", 7.5, 2}});
  Completion completion;
  completion.outcome = Outcome::kSucceeded;
  ASSERT_EQ(reporter.Complete(std::move(completion)), AttemptEnd::kDone);

  const std::vector<std::vector<core::MetricPoint>> reports = client_.reports();
  ASSERT_EQ(reports.size(), 2u);
  std::vector<core::MetricPoint> sent = reports[1];  // the first was refused
  const std::vector<Completion> completions = client_.completions();
  ASSERT_EQ(completions.size(), 1u);
  sent.insert(sent.end(), completions[0].points.begin(), completions[0].points.end());
  ASSERT_EQ(sent.size(), 5002u);
  for (int i = 0; i < 5000; ++i) {
    ASSERT_EQ(sent[i].name, absl::StrCat("m", i));
    ASSERT_EQ(sent[i].value, 1.0 * i);
  }
  EXPECT_EQ(sent[5000].name, "loss");
  EXPECT_EQ(sent[5001].name, "m7");
  EXPECT_EQ(sent[5001].value, 7.5);
  for (size_t i = 0; i < sent.size(); ++i) {
    ASSERT_EQ(sent[i].sweep_id, "sw-1");
    ASSERT_EQ(sent[i].trial_id, 7);
    ASSERT_EQ(sent[i].attempt, 2);
    ASSERT_EQ(sent[i].seq, static_cast<int64_t>(i + 1));
  }
}

}  // namespace
}  // namespace sweep::worker

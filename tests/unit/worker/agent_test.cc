// The agent loop against a scripted controller, fake processes and a fake clock.
#include "worker/agent.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/fault_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_dir.h"
#include "tests/unit/worker/fakes.h"

namespace sweep::worker {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using testing::FakeClient;
using testing::FakeLauncher;
using testing::FakeProcessState;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Polls `done` every millisecond, up to a deadline far beyond any scheduling delay.
template <typename Pred>
void WaitUntil(Pred done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

MATCHER_P3(Point, name, value, step, "") {
  return arg.name == name && arg.value == value && arg.step == step;
}

LeaseGrant MakeLease(int64_t trial = 1) {
  LeaseGrant lease;
  lease.ref = {"node-1", "sw-1", trial, 1, static_cast<uint64_t>(100 + trial)};
  lease.argv = {"train"};
  lease.env = {{"AZUREML_SWEEP_lr", "0.1"}};
  lease.primary_metric = "accuracy";
  lease.stop_grace_ms = 50;
  return lease;
}

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("agent-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    options_.compute = "cpu";
    options_.work_dir = dir_.string();
    options_.poll_interval_ms = 5;
    options_.heartbeat_interval_ms = 1'000;
    options_.metrics_flush_ms = 200;
  }
  void TearDown() override { fs::remove_all(dir_); }

  WorkerResult Run() {
    WorkerDeps deps;
    deps.client = &client_;
    deps.launcher = &launcher_;
    deps.clock = &clock_;
    return RunWorkerWith(options_, deps, &stop_);
  }

  FakeProcessState* Current() { return launcher_.launched().back().get(); }

  fs::path dir_;
  WorkerOptions options_;
  FakeClient client_;
  FakeLauncher launcher_;
  core::FakeClock clock_;
  std::atomic<bool> stop_{false};
};

TEST_F(AgentTest, SucceededTrialSendsUnreportedPointsWithCompletion) {
  client_.QueueLease(MakeLease());
  client_.QueueShutdown();
  launcher_.on_launch = [](FakeProcessState* p) {
    p->Stdout("epoch=1 accuracy=0.5");
    p->Exit({0, 0});
  };
  WorkerResult result = Run();
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.message, "the controller asked this node to shut down");
  EXPECT_THAT(client_.calls(), ElementsAre("Register", "AcquireTrial", "CompleteTrial",
                                           "AcquireTrial", "Deregister"));
  auto completions = client_.completions();
  ASSERT_EQ(completions.size(), 1u);
  EXPECT_EQ(completions[0].outcome, Outcome::kSucceeded);
  EXPECT_EQ(completions[0].error, "");
  EXPECT_THAT(completions[0].points, ElementsAre(Point("accuracy", 0.5, 1)));
  EXPECT_EQ(completions[0].points[0].timestamp_ms, clock_.NowMillis());
}

// Issue 12: the next lease comes with the completion; no AcquireTrial in between.
TEST_F(AgentTest, TheNextLeaseComesWithTheCompletion) {
  client_.serve_next_with_completion = true;
  for (int64_t trial : {1, 2}) client_.QueueLease(MakeLease(trial));
  client_.QueueShutdown();
  launcher_.on_launch = [](FakeProcessState* p) { p->Exit({0, 0}); };
  EXPECT_EQ(Run().message, "the controller asked this node to shut down");
  EXPECT_THAT(client_.calls(), ElementsAre("Register", "AcquireTrial", "CompleteTrialAndAcquire",
                                           "CompleteTrialAndAcquire", "Deregister"));
  EXPECT_EQ(launcher_.launched().size(), 2u);
}

TEST_F(AgentTest, AShellCommandRunsWithShWhereBashIsAbsent) {
  LeaseGrant with_bash = MakeLease();
  with_bash.shell = true;
  with_bash.argv = {"/bin/bash", "-c", "cd src && train"};
  LeaseGrant without_bash = with_bash;
  without_bash.ref.attempt = 2;
  without_bash.argv[0] = (dir_ / "no-such-bash").string();  // a node without bash
  LeaseGrant direct = without_bash;
  direct.ref.attempt = 3;
  direct.shell = false;  // a direct command is never rewritten
  client_.QueueLease(with_bash);
  client_.QueueLease(without_bash);
  client_.QueueLease(direct);
  client_.QueueShutdown();
  launcher_.on_launch = [](FakeProcessState* p) { p->Exit({0, 0}); };
  ASSERT_EQ(Run().exit_code, 0);
  ASSERT_EQ(launcher_.launched().size(), 3u);
  EXPECT_THAT(launcher_.launched()[0]->spec.argv,
              ElementsAre("/bin/bash", "-c", "cd src && train"));
  EXPECT_THAT(launcher_.launched()[1]->spec.argv, ElementsAre("/bin/sh", "-c", "cd src && train"));
  EXPECT_EQ(launcher_.launched()[2]->spec.argv, direct.argv);
}

TEST_F(AgentTest, RegistersWithComputeAndUsesAssignedNodeId) {
  options_.node_id = "wanted";
  client_.on_register = [](const NodeRegistration&) {
    return Registered{"assigned-9", 1'000, 30'000};
  };
  client_.QueueShutdown();
  EXPECT_EQ(Run().exit_code, 0);
  auto requests = client_.register_requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].node_id, "wanted");
  EXPECT_EQ(requests[0].compute, "cpu");
  EXPECT_EQ(requests[0].pid, ::getpid());
  EXPECT_FALSE(requests[0].version.empty());
  EXPECT_THAT(client_.acquire_nodes(), ElementsAre("assigned-9"));
}

TEST_F(AgentTest, AttemptDirectoryEnvironmentAndLogs) {
  LeaseGrant lease = MakeLease();
  client_.QueueLease(lease);
  client_.QueueShutdown();
  bool outputs_at_launch = false;
  launcher_.on_launch = [&](FakeProcessState* p) {
    outputs_at_launch = fs::is_directory(p->spec.working_dir + "/outputs");
    p->Exit({0, 0});
  };
  ASSERT_EQ(Run().exit_code, 0);
  const LaunchSpec& spec = launcher_.launched()[0]->spec;
  fs::path attempt = dir_ / "attempts" / "sw-1-1-1-101";
  EXPECT_EQ(spec.working_dir, attempt.string());
  EXPECT_EQ(spec.argv, lease.argv);
  EXPECT_EQ(spec.stdout_log, (attempt / "stdout.log").string());
  EXPECT_EQ(spec.stderr_log, (attempt / "stderr.log").string());
  EXPECT_EQ(spec.env.at("SWEEP_METRICS_FILE"), (attempt / "metrics.jsonl").string());
  EXPECT_EQ(spec.env.at("SWEEP_OUTPUTS_DIR"), (attempt / "outputs").string());
  EXPECT_EQ(spec.env.at("AZUREML_SWEEP_lr"), "0.1");
  // outputs/ was there for the trial; once uploaded it is removed with the code copy
  // (issue 11), and the logs stay.
  EXPECT_TRUE(outputs_at_launch);
  EXPECT_FALSE(fs::exists(attempt / "outputs"));
}

TEST_F(AgentTest, MetricsFilePointsAreReadToTheEnd) {
  client_.QueueLease(MakeLease());
  client_.QueueShutdown();
  launcher_.on_launch = [](FakeProcessState* p) {
    std::ofstream(p->spec.env.at("SWEEP_METRICS_FILE"))
        << "{\"name\": \"accuracy\", \"value\": 0.7, \"step\": 2}\n{\"loss\": 0.1}";
    p->Exit({0, 0});
  };
  ASSERT_EQ(Run().exit_code, 0);
  auto completions = client_.completions();
  ASSERT_EQ(completions.size(), 1u);
  EXPECT_THAT(completions[0].points,
              ElementsAre(Point("accuracy", 0.7, 2), Point("loss", 0.1, -1)));
}

TEST_F(AgentTest, FailedTrialCarriesExitCodeAndStderrTail) {
  client_.QueueLease(MakeLease());
  client_.QueueShutdown();
  launcher_.on_launch = [](FakeProcessState* p) {
    for (int i = 1; i <= 25; ++i) p->Stderr("line " + std::to_string(i));
    p->Exit({2, 0});
  };
  ASSERT_EQ(Run().exit_code, 0);
  auto completions = client_.completions();
  ASSERT_EQ(completions.size(), 1u);
  EXPECT_EQ(completions[0].outcome, Outcome::kFailed);
  EXPECT_EQ(completions[0].exit_code, 2);
  std::string expected = "exit code 2; last lines of stderr:";
  for (int i = 6; i <= 25; ++i) expected += "\nline " + std::to_string(i);
  EXPECT_EQ(completions[0].error, expected);
}

TEST_F(AgentTest, LaunchFailureIsAFailedCompletion) {
  client_.QueueLease(MakeLease());
  client_.QueueShutdown();
  launcher_.launch_error =
      absl::FailedPreconditionError("cannot run 'xyz': No such file or directory");
  ASSERT_EQ(Run().exit_code, 0);
  auto completions = client_.completions();
  ASSERT_EQ(completions.size(), 1u);
  EXPECT_EQ(completions[0].outcome, Outcome::kFailed);
  EXPECT_EQ(completions[0].error, "cannot run 'xyz': No such file or directory");
}

TEST_F(AgentTest, UnfetchableSnapshotIsAFailedCompletion) {
  LeaseGrant lease = MakeLease();
  lease.snapshot_digest = std::string(64, 'b');  // the fake controller stores no snapshot
  client_.QueueLease(lease);
  client_.QueueShutdown();
  ASSERT_EQ(Run().exit_code, 0);
  EXPECT_TRUE(launcher_.launched().empty());
  auto completions = client_.completions();
  ASSERT_EQ(completions.size(), 1u);
  EXPECT_EQ(completions[0].outcome, Outcome::kFailed);
  EXPECT_THAT(completions[0].error, HasSubstr("cannot fetch the code snapshot"));
  EXPECT_THAT(completions[0].error, HasSubstr("is not stored"));
}

TEST_F(AgentTest, FirstHeartbeatAtStartThenEveryInterval) {
  client_.QueueLease(MakeLease());
  client_.QueueShutdown();
  launcher_.on_launch = [](FakeProcessState*) {};
  int heartbeats = 0;
  client_.on_heartbeat = [&](const LeaseRef& ref) -> absl::StatusOr<DirectiveReply> {
    EXPECT_EQ(ref.fencing_token, 101u);
    if (++heartbeats == 3) {
      Current()->Exit({0, 0});
    } else {
      clock_.Advance(options_.heartbeat_interval_ms);
    }
    return DirectiveReply{};
  };
  ASSERT_EQ(Run().exit_code, 0);
  EXPECT_EQ(heartbeats, 3);
  EXPECT_THAT(client_.calls(),
              ElementsAre("Register", "AcquireTrial", "Heartbeat", "Heartbeat", "Heartbeat",
                          "CompleteTrial", "AcquireTrial", "Deregister"));
}

TEST_F(AgentTest, HeartbeatIntervalFromRegistration) {
  options_.heartbeat_interval_ms = 0;
  client_.on_register = [](const NodeRegistration&) { return Registered{"node-1", 5'000, 30'000}; };
  client_.QueueLease(MakeLease());
  client_.QueueShutdown();
  launcher_.on_launch = [](FakeProcessState*) {};
  int heartbeats = 0;
  int64_t first_heartbeat_ms = 0;
  std::thread advancer;
  client_.on_heartbeat = [&](const LeaseRef&) -> absl::StatusOr<DirectiveReply> {
    ++heartbeats;
    if (heartbeats == 1) {
      first_heartbeat_ms = clock_.NowMillis();
      clock_.Advance(4'999);  // not yet due: the next renewal waits for 5 s
      FakeProcessState* process = Current();
      const int waits = process->wait_calls();
      advancer = std::thread([this, process, waits] {
        // Two more polls of the process: the agent has looked at the clock at 4999 ms
        // after this heartbeat at least once (and must not have renewed then).
        WaitUntil([&] { return process->wait_calls() >= waits + 2; });
        clock_.Advance(1);
      });
    } else {
      EXPECT_GE(clock_.NowMillis() - first_heartbeat_ms, 5'000) << "renewed before 5 s";
      Current()->Exit({0, 0});
    }
    return DirectiveReply{};
  };
  ASSERT_EQ(Run().exit_code, 0);
  advancer.join();
  EXPECT_EQ(heartbeats, 2);
}

TEST_F(AgentTest, PointsAreBatchedByTime) {
  client_.QueueLease(MakeLease());
  client_.QueueShutdown();
  launcher_.on_launch = [](FakeProcessState* p) { p->Stdout("accuracy=0.1"); };
  client_.on_heartbeat = [&](const LeaseRef&) -> absl::StatusOr<DirectiveReply> {
    // The point is younger than the flush window: only a heartbeat goes out now.
    clock_.Advance(options_.metrics_flush_ms);
    return DirectiveReply{};
  };
  client_.on_report = [&](const std::vector<core::MetricPoint>&) -> absl::StatusOr<DirectiveReply> {
    Current()->Exit({0, 0});
    return DirectiveReply{};
  };
  ASSERT_EQ(Run().exit_code, 0);
  EXPECT_THAT(client_.calls(), ElementsAre("Register", "AcquireTrial", "Heartbeat", "ReportMetrics",
                                           "CompleteTrial", "AcquireTrial", "Deregister"));
  auto reports = client_.reports();
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_THAT(reports[0], ElementsAre(Point("accuracy", 0.1, -1)));
  EXPECT_THAT(client_.completions()[0].points, IsEmpty());
}

TEST_F(AgentTest, PointsAreFlushedAtOneHundred) {
  client_.QueueLease(MakeLease());
  client_.QueueShutdown();
  launcher_.on_launch = [](FakeProcessState* p) {
    for (int i = 0; i < 150; ++i) p->Stdout("step=" + std::to_string(i) + " loss=1");
  };
  client_.on_report = [&](const std::vector<core::MetricPoint>&) -> absl::StatusOr<DirectiveReply> {
    Current()->Exit({0, 0});
    return DirectiveReply{};
  };
  ASSERT_EQ(Run().exit_code, 0);
  auto reports = client_.reports();
  ASSERT_EQ(reports.size(), 1u);  // the clock never moved: the count triggered it
  ASSERT_EQ(reports[0].size(), 150u);
  EXPECT_EQ(reports[0][149].step, 149);
  EXPECT_EQ(client_.calls()[2], "ReportMetrics");  // a report renews, no heartbeat needed
}

TEST_F(AgentTest, TransientReportFailureResendsThePoints) {
  client_.QueueLease(MakeLease());
  client_.QueueShutdown();
  launcher_.on_launch = [&](FakeProcessState* p) {
    p->Stdout("accuracy=0.3");
    clock_.Advance(options_.metrics_flush_ms);
  };
  client_.on_heartbeat = [](const LeaseRef&) -> absl::StatusOr<DirectiveReply> {
    return DirectiveReply{};
  };
  int reports = 0;
  client_.on_report = [&](const std::vector<core::MetricPoint>&) -> absl::StatusOr<DirectiveReply> {
    if (++reports == 1) {
      clock_.Advance(10'000);  // past the backoff
      return absl::UnavailableError("connection refused");
    }
    Current()->Exit({0, 0});
    return DirectiveReply{};
  };
  ASSERT_EQ(Run().exit_code, 0);
  auto sent = client_.reports();
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_THAT(sent[0], ElementsAre(Point("accuracy", 0.3, -1)));
  EXPECT_THAT(sent[1], ElementsAre(Point("accuracy", 0.3, -1)));
}

TEST_F(AgentTest, StopDirectiveTerminatesAndCompletesStopped) {
  client_.QueueLease(MakeLease());
  client_.QueueShutdown();
  launcher_.on_launch = [](FakeProcessState* p) { p->Stdout("accuracy=0.2"); };
  client_.on_heartbeat = [](const LeaseRef&) -> absl::StatusOr<DirectiveReply> {
    return DirectiveReply{Directive::kStop, 0, "early termination (bandit)"};
  };
  ASSERT_EQ(Run().exit_code, 0);
  EXPECT_THAT(Current()->signals_received(), ElementsAre(SIGTERM));
  auto completions = client_.completions();
  ASSERT_EQ(completions.size(), 1u);
  EXPECT_EQ(completions[0].outcome, Outcome::kStopped);
  EXPECT_EQ(completions[0].error, "early termination (bandit)");
  EXPECT_EQ(completions[0].signal, SIGTERM);
  EXPECT_THAT(completions[0].points, ElementsAre(Point("accuracy", 0.2, -1)));
}

TEST_F(AgentTest, StopDirectiveKillsAfterGraceWhenSigtermIgnored) {
  client_.QueueLease(MakeLease());
  client_.QueueShutdown();
  launcher_.on_launch = [](FakeProcessState* p) { p->exit_on_sigterm = false; };
  client_.on_heartbeat = [](const LeaseRef&) -> absl::StatusOr<DirectiveReply> {
    return DirectiveReply{Directive::kStop, 0, ""};
  };
  ASSERT_EQ(Run().exit_code, 0);
  EXPECT_THAT(Current()->signals_received(), ElementsAre(SIGTERM, SIGKILL));
  auto completions = client_.completions();
  ASSERT_EQ(completions.size(), 1u);
  EXPECT_EQ(completions[0].outcome, Outcome::kStopped);
  EXPECT_EQ(completions[0].error, "stopped by the controller");
  EXPECT_EQ(completions[0].signal, SIGKILL);
}

TEST_F(AgentTest, WorkerGraceAppliesWhenLeaseHasNone) {
  LeaseGrant lease = MakeLease();
  lease.stop_grace_ms = 0;
  options_.default_stop_grace_ms = 30;
  client_.QueueLease(lease);
  client_.QueueShutdown();
  launcher_.on_launch = [](FakeProcessState* p) { p->exit_on_sigterm = false; };
  client_.on_heartbeat = [](const LeaseRef&) -> absl::StatusOr<DirectiveReply> {
    return DirectiveReply{Directive::kStop, 0, "canceled"};
  };
  ASSERT_EQ(Run().exit_code, 0);
  EXPECT_THAT(Current()->signals_received(), ElementsAre(SIGTERM, SIGKILL));
}

TEST_F(AgentTest, LargeBacklogGoesAheadInReportsBeforeCompletion) {
  client_.QueueLease(MakeLease());
  client_.QueueShutdown();
  launcher_.on_launch = [](FakeProcessState* p) {
    for (int i = 0; i < 25'000; ++i) p->Stdout("step=" + std::to_string(i) + " loss=1");
    p->Exit({0, 0});
  };
  ASSERT_EQ(Run().exit_code, 0);
  auto reports = client_.reports();
  ASSERT_EQ(reports.size(), 2u);
  // Reports are as large as the controller takes (core::kMaxPointsPerReport).
  EXPECT_EQ(reports[0].size(), 10'000u);
  EXPECT_EQ(reports[1].size(), 10'000u);
  EXPECT_EQ(reports[1][0].step, 10'000);
  auto completions = client_.completions();
  ASSERT_EQ(completions.size(), 1u);
  ASSERT_EQ(completions[0].points.size(), 5'000u);
  EXPECT_EQ(completions[0].points[0].step, 20'000);
}

// Fault 5 of issue 11 (this test asserted the dropping before): the trial's output is read
// no faster than reports go out (backpressure); every point arrives once, in order, numbered.
TEST_F(AgentTest, AFastTrialIsSlowedNotTruncated) {
  client_.QueueLease(MakeLease());
  client_.QueueShutdown();
  constexpr int kLines = 100'010;
  std::thread writer;
  launcher_.on_launch = [&](FakeProcessState* p) {
    // The trial's output comes from the reader thread, as with a real process.
    writer = std::thread([p] {
      for (int i = 0; i < kLines; ++i) p->Stdout("step=" + std::to_string(i) + " loss=1");
      p->Exit({0, 0});
    });
  };
  ASSERT_EQ(Run().exit_code, 0);
  writer.join();
  std::vector<core::MetricPoint> got;
  for (const auto& report : client_.reports()) got.insert(got.end(), report.begin(), report.end());
  const auto completions = client_.completions();
  ASSERT_EQ(completions.size(), 1u);
  for (const auto& p : completions[0].points) got.push_back(p);
  ASSERT_EQ(got.size(), static_cast<size_t>(kLines)) << "none dropped";
  for (int i = 0; i < kLines; ++i) {
    ASSERT_EQ(got[i].step, i);
    ASSERT_EQ(got[i].seq, i + 1) << "numbered in print order";
  }
}

TEST_F(AgentTest, StopDirectiveOnReport) {
  client_.QueueLease(MakeLease());
  client_.QueueShutdown();
  launcher_.on_launch = [&](FakeProcessState* p) {
    p->Stdout("accuracy=0.2");
    clock_.Advance(options_.metrics_flush_ms);
  };
  client_.on_heartbeat = [](const LeaseRef&) -> absl::StatusOr<DirectiveReply> {
    return DirectiveReply{};
  };
  client_.on_report = [](const std::vector<core::MetricPoint>&) -> absl::StatusOr<DirectiveReply> {
    return DirectiveReply{Directive::kStop, 0, "sweep canceled"};
  };
  ASSERT_EQ(Run().exit_code, 0);
  auto completions = client_.completions();
  ASSERT_EQ(completions.size(), 1u);
  EXPECT_EQ(completions[0].outcome, Outcome::kStopped);
  EXPECT_EQ(completions[0].error, "sweep canceled");
  EXPECT_THAT(completions[0].points, IsEmpty());  // already reported
}

TEST_F(AgentTest, LocalTrialTimeoutStops) {
  LeaseGrant lease = MakeLease();
  lease.trial_timeout_ms = 60'000;
  client_.QueueLease(lease);
  client_.QueueShutdown();
  launcher_.on_launch = [](FakeProcessState*) {};
  client_.on_heartbeat = [&](const LeaseRef&) -> absl::StatusOr<DirectiveReply> {
    clock_.Advance(60'000);
    return DirectiveReply{};
  };
  ASSERT_EQ(Run().exit_code, 0);
  EXPECT_THAT(Current()->signals_received(), ElementsAre(SIGTERM));
  auto completions = client_.completions();
  ASSERT_EQ(completions.size(), 1u);
  EXPECT_EQ(completions[0].outcome, Outcome::kStopped);
  EXPECT_EQ(completions[0].error, "trial timeout");
}

TEST_F(AgentTest, StaleFencingTokenAbandonsTheAttempt) {
  client_.QueueLease(MakeLease(1));
  client_.QueueLease(MakeLease(2));
  client_.QueueShutdown();
  launcher_.on_launch = [](FakeProcessState* p) {
    if (p->spec.env.at("SWEEP_TRIAL_ID") == "2") p->Exit({0, 0});
  };
  client_.on_heartbeat = [](const LeaseRef& ref) -> absl::StatusOr<DirectiveReply> {
    return absl::FailedPreconditionError("stale fencing token " +
                                         std::to_string(ref.fencing_token));
  };
  ASSERT_EQ(Run().exit_code, 0);
  auto launched = launcher_.launched();
  ASSERT_EQ(launched.size(), 2u);
  EXPECT_THAT(launched[0]->signals_received(), ElementsAre(SIGKILL));
  EXPECT_THAT(client_.calls(), ElementsAre("Register", "AcquireTrial", "Heartbeat", "AcquireTrial",
                                           "CompleteTrial", "AcquireTrial", "Deregister"));
  ASSERT_EQ(client_.completions().size(), 1u);  // only trial 2's
}

TEST_F(AgentTest, StaleTokenOnCompletionIsNotRetried) {
  client_.QueueLease(MakeLease());
  client_.QueueShutdown();
  launcher_.on_launch = [](FakeProcessState* p) { p->Exit({0, 0}); };
  client_.on_complete = [](const Completion&) -> absl::StatusOr<std::string> {
    return absl::FailedPreconditionError("stale fencing token");
  };
  ASSERT_EQ(Run().exit_code, 0);
  EXPECT_EQ(client_.completions().size(), 1u);
}

TEST_F(AgentTest, CompletionRetriedWhileUnavailable) {
  client_.QueueLease(MakeLease());
  client_.QueueShutdown();
  launcher_.on_launch = [](FakeProcessState* p) { p->Exit({0, 0}); };
  int attempts = 0;
  client_.on_complete = [&](const Completion&) -> absl::StatusOr<std::string> {
    if (++attempts < 3) return absl::UnavailableError("connection refused");
    return std::string("completed");
  };
  ASSERT_EQ(Run().exit_code, 0);
  EXPECT_EQ(attempts, 3);
}

TEST_F(AgentTest, CompletionGivesUpWhenUnreachableTooLong) {
  options_.unreachable_timeout_ms = 60'000;
  client_.QueueLease(MakeLease());
  launcher_.on_launch = [](FakeProcessState* p) { p->Exit({0, 0}); };
  client_.on_complete = [&](const Completion&) -> absl::StatusOr<std::string> {
    clock_.Advance(30'000);
    return absl::UnavailableError("connection refused");
  };
  WorkerResult result = Run();
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.message, HasSubstr("has been unreachable for 60 s: connection refused"));
}

TEST_F(AgentTest, RegisterRetriesWhileUnavailable) {
  int attempts = 0;
  client_.on_register = [&](const NodeRegistration&) -> absl::StatusOr<Registered> {
    if (++attempts < 3) return absl::UnavailableError("connection refused");
    return Registered{"node-1", 1'000, 30'000};
  };
  client_.QueueShutdown();
  EXPECT_EQ(Run().exit_code, 0);
  EXPECT_EQ(attempts, 3);
}

TEST_F(AgentTest, RegisterGivesUpAfterUnreachableTimeout) {
  options_.server = "10.0.0.1:5000";
  client_.on_register = [&](const NodeRegistration&) -> absl::StatusOr<Registered> {
    clock_.Advance(20'000);
    return absl::UnavailableError("failed to connect to all addresses");
  };
  WorkerResult result = Run();
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.message,
            "the controller at 10.0.0.1:5000 has been unreachable for 60 s: failed to connect "
            "to all addresses");
}

TEST_F(AgentTest, WrongTokenExitsAtOnce) {
  options_.server = "127.0.0.1:1";
  client_.on_register = [](const NodeRegistration&) -> absl::StatusOr<Registered> {
    return absl::UnauthenticatedError("invalid token");
  };
  WorkerResult result = Run();
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.message,
            "the controller at 127.0.0.1:1 rejected the workspace token (invalid token); check "
            "the token given to the worker");
  EXPECT_THAT(client_.calls(), ElementsAre("Register"));
}

TEST_F(AgentTest, RegistrationRefusedForOtherReasons) {
  client_.on_register = [](const NodeRegistration&) -> absl::StatusOr<Registered> {
    return absl::NotFoundError("no compute target named 'cpu'");
  };
  WorkerResult result = Run();
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.message,
            "the controller refused to register this node: no compute target named 'cpu'");
}

TEST_F(AgentTest, UnknownNodeRegistersAgainWithSameId) {
  client_.QueueAcquire(absl::NotFoundError("unknown node node-1"));
  client_.QueueShutdown();
  EXPECT_EQ(Run().exit_code, 0);
  auto requests = client_.register_requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[1].node_id, "node-1");
}

TEST_F(AgentTest, AcquireRetriesTransientErrors) {
  client_.QueueAcquire(absl::UnavailableError("down"));
  client_.QueueAcquire(absl::DeadlineExceededError("slow"));
  client_.QueueShutdown();
  EXPECT_EQ(Run().exit_code, 0);
  EXPECT_THAT(client_.calls(), ElementsAre("Register", "AcquireTrial", "AcquireTrial",
                                           "AcquireTrial", "Deregister"));
}

TEST_F(AgentTest, ExitsAfterMaxIdlePolls) {
  options_.max_idle_polls = 3;
  for (int i = 0; i < 5; ++i) client_.QueueAcquire(AcquireResult{});
  WorkerResult result = Run();
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.message, "no work after 3 polls");
  EXPECT_THAT(client_.calls(), ElementsAre("Register", "AcquireTrial", "AcquireTrial",
                                           "AcquireTrial", "Deregister"));
}

TEST_F(AgentTest, StopFlagInterruptsTheLongPoll) {
  std::thread stopper([this] {
    // Once the long poll is under way (the fake would block it for 10 s).
    WaitUntil([this] {
      std::vector<std::string> calls = client_.calls();
      return std::find(calls.begin(), calls.end(), "AcquireTrial") != calls.end();
    });
    stop_ = true;
  });
  WorkerResult result = Run();
  stopper.join();
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.message, "worker stopped by signal");
  EXPECT_THAT(client_.calls(), ElementsAre("Register", "AcquireTrial", "Deregister"));
}

// SIGTERM (Slurm's preemption / scancel) ends the attempt as STOPPED without a directive,
// carrying its pending points; the controller records it as preempted. (Changed on
// purpose: the worker used to deregister without completing.)
TEST_F(AgentTest, StopFlagStopsTheTrialCompletesItStoppedAndDeregisters) {
  client_.QueueLease(MakeLease());
  launcher_.on_launch = [this](FakeProcessState* p) {
    p->Stdout("accuracy=0.4");
    stop_ = true;
  };
  WorkerResult result = Run();
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.message, "worker stopped by signal");
  EXPECT_THAT(Current()->signals_received(), ElementsAre(SIGTERM));
  auto completions = client_.completions();
  ASSERT_EQ(completions.size(), 1u);
  EXPECT_EQ(completions[0].outcome, Outcome::kStopped);
  EXPECT_THAT(completions[0].error, HasSubstr("stopped by a signal (preempted"));
  EXPECT_THAT(completions[0].points, ElementsAre(Point("accuracy", 0.4, -1)));
  auto calls = client_.calls();
  ASSERT_GE(calls.size(), 2u);
  EXPECT_EQ(calls[calls.size() - 2], "CompleteTrial");
  EXPECT_EQ(calls.back(), "Deregister");
}

// Slurm signals every process of a node job: the trial may die of the SIGTERM before the
// worker notices its own. That trial was interrupted, not failed.
TEST_F(AgentTest, TrialKilledAlongsideTheWorkersStopSignalIsInterruptedNotFailed) {
  client_.QueueLease(MakeLease());
  launcher_.on_launch = [this](FakeProcessState* p) {
    p->Exit({-1, SIGTERM});
    stop_ = true;
  };
  WorkerResult result = Run();
  EXPECT_EQ(result.exit_code, 0);
  auto completions = client_.completions();
  ASSERT_EQ(completions.size(), 1u);
  EXPECT_EQ(completions[0].outcome, Outcome::kStopped);
  EXPECT_EQ(completions[0].signal, SIGTERM);
  EXPECT_THAT(completions[0].error, HasSubstr("stopped by a signal (preempted"));
  EXPECT_EQ(client_.calls().back(), "Deregister");
}

TEST_F(AgentTest, RejectedTokenDuringAttemptKillsTrialAndExits) {
  client_.QueueLease(MakeLease());
  launcher_.on_launch = [](FakeProcessState*) {};
  client_.on_heartbeat = [](const LeaseRef&) -> absl::StatusOr<DirectiveReply> {
    return absl::UnauthenticatedError("token revoked");
  };
  WorkerResult result = Run();
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.message, HasSubstr("rejected the workspace token (token revoked)"));
  EXPECT_THAT(Current()->signals_received(), ElementsAre(SIGKILL));
}

TEST_F(AgentTest, UnreachableDuringAttemptKillsTrialAndExits) {
  options_.unreachable_timeout_ms = 60'000;
  client_.QueueLease(MakeLease());
  launcher_.on_launch = [](FakeProcessState*) {};
  client_.on_heartbeat = [&](const LeaseRef&) -> absl::StatusOr<DirectiveReply> {
    clock_.Advance(30'000);
    return absl::UnavailableError("connection refused");
  };
  WorkerResult result = Run();
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.message, HasSubstr("unreachable for 60 s"));
  EXPECT_THAT(Current()->signals_received(), ElementsAre(SIGKILL));
}

TEST_F(AgentTest, AReadOnlyWorkDirFailsTheAttemptWithTheReasonAndTheWorkerGoesOn) {
  fs::create_directories(dir_);
  core::FaultEnv faults(core::Env::Default());
  faults.MakeReadOnly((dir_ / "attempts").string());
  client_.QueueLease(MakeLease());
  client_.QueueShutdown();
  WorkerDeps deps;
  deps.client = &client_;
  deps.launcher = &launcher_;
  deps.clock = &clock_;
  deps.env = &faults;
  WorkerResult result = RunWorkerWith(options_, deps, &stop_);
  EXPECT_EQ(result.exit_code, 0) << result.message;
  EXPECT_TRUE(launcher_.launched().empty());
  auto completions = client_.completions();
  ASSERT_EQ(completions.size(), 1u);
  EXPECT_EQ(completions[0].outcome, Outcome::kFailed);
  EXPECT_EQ(completions[0].exit_code, -1);
  EXPECT_THAT(completions[0].error, HasSubstr("cannot create attempt directory"));
  EXPECT_THAT(completions[0].error, HasSubstr("Read-only file system"));
}

TEST_F(AgentTest, UncreatableWorkDirExits) {
  fs::create_directories(dir_);
  std::ofstream(dir_ / "file") << "x";
  options_.work_dir = (dir_ / "file" / "sub").string();
  WorkerResult result = Run();
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.message, HasSubstr("cannot create work directory"));
  EXPECT_TRUE(client_.calls().empty());
}

TEST_F(AgentTest, ATemporaryWorkDirIsRemovedWhenTheWorkerExits) {
  ::sweep::testutil::TestDir tmp("agent-tmpdir");
  const char* old_tmpdir = std::getenv("TMPDIR");
  const std::string saved = old_tmpdir == nullptr ? "" : old_tmpdir;
  ::setenv("TMPDIR", tmp.str().c_str(), 1);
  options_.work_dir.clear();
  client_.QueueLease(MakeLease());
  client_.QueueShutdown();
  std::string attempt_dir;
  launcher_.on_launch = [&](FakeProcessState* p) {
    attempt_dir = p->spec.working_dir;
    p->Stdout("accuracy=0.5");
    p->Exit({0, 0});
  };
  WorkerResult result = Run();
  if (old_tmpdir == nullptr) {
    ::unsetenv("TMPDIR");
  } else {
    ::setenv("TMPDIR", saved.c_str(), 1);
  }
  EXPECT_EQ(result.exit_code, 0) << result.message;
  EXPECT_EQ(attempt_dir.rfind(tmp.str() + "/sweep-worker-", 0), 0u) << attempt_dir;
  EXPECT_TRUE(fs::is_empty(tmp.path())) << "the worker left its temporary work dir";
}

TEST(ReadTokenFileTest, TrimsAndReportsErrors) {
  ::sweep::testutil::TestDir test_dir("token");
  const fs::path& dir = test_dir.path();
  std::ofstream(dir / "token") << "  s3cret\n";
  auto token = ReadTokenFile((dir / "token").string());
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(*token, "s3cret");

  std::ofstream(dir / "empty") << "\n";
  auto empty = ReadTokenFile((dir / "empty").string());
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().message(), "token file '" + (dir / "empty").string() + "' is empty");

  auto missing = ReadTokenFile((dir / "missing").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "cannot read token file '" + (dir / "missing").string() +
                                            "': No such file or directory");
}

TEST(InstallStopSignalHandlersTest, SigtermSetsTheFlag) {
  std::atomic<bool>* stop = InstallStopSignalHandlers();
  EXPECT_EQ(stop, InstallStopSignalHandlers());
  stop->store(false);
  ::raise(SIGTERM);
  EXPECT_TRUE(stop->load());
  stop->store(false);
  signal(SIGTERM, SIG_DFL);
  signal(SIGINT, SIG_DFL);
}

}  // namespace
}  // namespace sweep::worker

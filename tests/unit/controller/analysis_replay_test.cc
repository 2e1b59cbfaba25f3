// Offline replay of early-termination policies over hand-made finished sweeps.
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "controller/analysis.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policies/replay.h"
#include "replay_test_util.h"
#include "store/store.h"

namespace sweep::controller {
namespace {

using policies::FormatReplayReport;
using policies::ReplayEvent;
using policies::ReplayEvents;
using policies::ReplayReportToJson;

using core::EarlyTermination;
using core::PolicyType;
using core::TrialState;
using ::testing::HasSubstr;
using testing::SweepBuilder;

EarlyTermination BanditAmount(double amount, int64_t delay) {
  EarlyTermination s;
  s.type = PolicyType::kBandit;
  s.slack_amount = amount;
  s.delay_evaluation = delay;
  return s;
}

class ReplaySweepTest : public ::testing::Test {
 protected:
  std::unique_ptr<store::Store> store_ = store::NewInMemoryStore();
};

// Four trials run one after the other (concurrency 1).
void FourSequentialTrials(store::Store* store, const std::vector<double>& third) {
  SweepBuilder(store, "sw-seq")
      .Trial(1, {0.5, 0.7, 0.8, 0.85}, 1000)
      .Trial(2, {0.3, 0.4, 0.45, 0.5}, 2000)
      .Trial(3, third, 3000)
      .Trial(4, {0.55, 0.66, 0.7, 0.72}, 4000)
      .Commit();
}

TEST_F(ReplaySweepTest, BanditStopsHandComputedTrialsAndCountsSavings) {
  FourSequentialTrials(store_.get(), {0.6, 0.75, 0.82, 0.9});
  auto report = ReplaySweep(store_.get(), "sw-seq", BanditAmount(0.1, 2));
  ASSERT_TRUE(report.ok()) << report.status();
  // Trial 2 at interval 2: best so far 0.4 < 0.7-0.1. Trial 4 at interval 3: best so
  // far 0.7 < 0.82-0.1. Trial 3 is the best at every interval from 2 on.
  ASSERT_EQ(report->stopped.size(), 2u);
  EXPECT_EQ(report->stopped[0].trial_id, 2);
  EXPECT_EQ(report->stopped[0].stopped_at, 2);
  EXPECT_EQ(report->stopped[0].recorded_intervals, 4);
  EXPECT_EQ(report->stopped[0].intervals_saved, 2);
  EXPECT_THAT(report->stopped[0].explanation,
              HasSubstr("stopped at interval 2: best so far 0.4 < 0.6 = 0.7-0.1"));
  EXPECT_EQ(report->stopped[1].trial_id, 4);
  EXPECT_EQ(report->stopped[1].stopped_at, 3);
  EXPECT_EQ(report->stopped[1].intervals_saved, 1);
  EXPECT_EQ(report->sweep_id, "sw-seq");
  EXPECT_EQ(report->trials, 4);
  EXPECT_EQ(report->decisions, 3 + 1 + 3 + 2);  // intervals 2-4, except after a stop
  EXPECT_EQ(report->intervals_without_policy, 16);
  EXPECT_EQ(report->intervals_with_policy, 13);
  EXPECT_DOUBLE_EQ(report->fraction_saved, 3.0 / 16);
  EXPECT_EQ(report->best_trial, 3);
  EXPECT_DOUBLE_EQ(*report->best_value, 0.9);
  EXPECT_TRUE(report->best_survives);
  EXPECT_EQ(report->best_trial_with_policy, 3);
  EXPECT_DOUBLE_EQ(*report->best_value_with_policy, 0.9);
}

TEST_F(ReplaySweepTest, LateBloomerBestTrialDoesNotSurvive) {
  FourSequentialTrials(store_.get(), {0.3, 0.35, 0.9, 0.95});
  auto report = ReplaySweep(store_.get(), "sw-seq", BanditAmount(0.1, 2));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->best_trial, 3);
  EXPECT_DOUBLE_EQ(*report->best_value, 0.95);
  EXPECT_FALSE(report->best_survives);  // 0.35 < 0.7-0.1 at interval 2
  EXPECT_EQ(report->best_trial_with_policy, 1);
  EXPECT_DOUBLE_EQ(*report->best_value_with_policy, 0.85);
  EXPECT_THAT(FormatReplayReport(*report),
              HasSubstr("best trial without the policy: 3 (accuracy=0.95), STOPPED by the "
                        "policy\nbest trial under the policy: 1 (accuracy=0.85)\n"));
}

TEST_F(ReplaySweepTest, ReplaysInRecordedTimeOrderNotTrialOrder) {
  // Trial 2 reported interval 1 before trial 1 did, so it was alone at interval 1.
  SweepBuilder(store_.get(), "sw-par")
      .Point(1, 1, 1, 0.9, 200)
      .Point(1, 1, 2, 0.9, 300)
      .Point(2, 1, 1, 0.5, 100)
      .Point(2, 1, 2, 0.95, 400)
      .TrialRecord(1, TrialState::kCompleted, 0.9, 2, 310)
      .TrialRecord(2, TrialState::kCompleted, 0.95, 2, 410)
      .Commit();
  auto report = ReplaySweep(store_.get(), "sw-par", BanditAmount(0.1, 0));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->stopped.empty());
  EXPECT_EQ(report->decisions, 4);

  // Trial-major order would have stopped trial 2 at interval 1 (0.5 < 0.9-0.1).
  SweepBuilder(store_.get(), "sw-seq2")
      .Trial(1, {0.9, 0.9}, 100)
      .Trial(2, {0.5, 0.95}, 200)
      .Commit();
  auto sequential = ReplaySweep(store_.get(), "sw-seq2", BanditAmount(0.1, 0));
  ASSERT_TRUE(sequential.ok());
  ASSERT_EQ(sequential->stopped.size(), 1u);
  EXPECT_EQ(sequential->stopped[0].trial_id, 2);
  EXPECT_FALSE(sequential->best_survives);
}

TEST_F(ReplaySweepTest, NewAttemptRestartsTheCurve) {
  // Trial 1's first attempt reported 0.9 and was lost; its second attempt restarted.
  SweepBuilder(store_.get(), "sw-retry")
      .Point(1, 1, 1, 0.9, 100)
      .Point(1, 2, 1, 0.5, 200)
      .Point(1, 2, 2, 0.6, 300)
      .Point(2, 1, 1, 0.5, 400)
      .Point(2, 1, 1, 123.0, 400, "loss")  // not the primary metric: ignored
      .TrialRecord(1, TrialState::kCompleted, 0.6, 2, 310)
      .TrialRecord(2, TrialState::kCompleted, 0.5, 1, 410)
      .Commit();
  auto report = ReplaySweep(store_.get(), "sw-retry", BanditAmount(0.1, 0));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->stopped.empty());  // 0.5 is compared with 0.5, not the lost 0.9
  EXPECT_EQ(report->intervals_without_policy, 4);
  EXPECT_EQ(report->best_trial, 1);
}

TEST_F(ReplaySweepTest, APreemptedAttemptLeavesTheStatisticsWhenItEnds) {
  // Trial 1's attempt 1 reported 0.9 and was preempted at t=150, before trial 2 reported
  // 0.5 at t=200; trial 1's attempt 2 reported only later. Live, the controller forgot the
  // 0.9 at the preemption, so 0.5 was the best at interval 1.
  SweepBuilder(store_.get(), "sw-preempt")
      .Point(1, 1, 1, 0.9, 100)
      .Point(2, 1, 1, 0.5, 200)
      .Point(1, 2, 1, 0.6, 300)
      .TrialRecord(1, TrialState::kCompleted, 0.6, 1, 310)
      .TrialRecord(2, TrialState::kCompleted, 0.5, 1, 210)
      .Commit();
  store::WriteBatch attempts;
  for (auto [trial, attempt, state, ended] :
       {std::tuple{1, 1, core::AttemptState::kPreempted, 150},
        std::tuple{1, 2, core::AttemptState::kSucceeded, 310},
        std::tuple{2, 1, core::AttemptState::kSucceeded, 210}}) {
    core::Attempt a;
    a.sweep_id = "sw-preempt";
    a.trial_id = trial;
    a.attempt = attempt;
    a.node_id = "slurm-1";
    a.fencing_token = static_cast<uint64_t>(trial * 10 + attempt);
    a.state = state;
    a.ended_ms = ended;
    attempts.attempts.push_back(a);
  }
  ASSERT_TRUE(store_->Commit(attempts).ok());
  auto report = ReplaySweep(store_.get(), "sw-preempt", BanditAmount(0.1, 0));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->stopped.empty());  // without the preempted 0.9, 0.5 is no laggard
}

TEST_F(ReplaySweepTest, TrialsEndWhereTheirRecordingEnds) {
  // Four trials finished before the fifth reports: with exclude_finished_jobs they no
  // longer count, so the fifth is alone and never truncated.
  EarlyTermination truncation;
  truncation.type = PolicyType::kTruncationSelection;
  truncation.truncation_percentage = 20;
  SweepBuilder b(store_.get(), "sw-trunc");
  for (int t = 1; t <= 4; ++t) b.Trial(t, {0.9, 0.9}, 1000 * t);
  b.Trial(5, {0.1, 0.2}, 6000).Commit();
  auto kept = ReplaySweep(store_.get(), "sw-trunc", truncation);
  ASSERT_TRUE(kept.ok()) << kept.status();
  ASSERT_EQ(kept->stopped.size(), 1u);
  EXPECT_EQ(kept->stopped[0].trial_id, 5);
  EXPECT_EQ(kept->stopped[0].stopped_at, 1);
  truncation.exclude_finished_jobs = true;
  auto excluded = ReplaySweep(store_.get(), "sw-trunc", truncation);
  ASSERT_TRUE(excluded.ok());
  EXPECT_TRUE(excluded->stopped.empty());
}

TEST_F(ReplaySweepTest, OnlyCompletedTrialsCanBeBestAndRecordedFinalValuesWin) {
  SweepBuilder(store_.get(), "sw-best")
      .Goal(core::Goal::kMinimize)
      .Trial(1, {0.5, 0.4}, 100, TrialState::kFailed)  // failed: never the best
      .Trial(2, {0.9, 0.6}, 200, TrialState::kCompleted, /*final_value=*/0.55)
      .Trial(3, {0.8, 0.7}, 300, TrialState::kEarlyTerminated)
      .Commit();
  EarlyTermination none;
  auto report = ReplaySweep(store_.get(), "sw-best", none);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->best_trial, 2);
  EXPECT_DOUBLE_EQ(*report->best_value, 0.55);
  EXPECT_TRUE(report->stopped.empty());
  EXPECT_EQ(report->decisions, 0);
  EXPECT_DOUBLE_EQ(report->fraction_saved, 0.0);
  EXPECT_EQ(report->policy, "no early-termination policy");
}

TEST_F(ReplaySweepTest, Errors) {
  SweepBuilder(store_.get(), "sw-live").State(core::SweepState::kRunning).Commit();
  auto running = ReplaySweep(store_.get(), "sw-live", BanditAmount(0.1, 0));
  EXPECT_EQ(running.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(running.status().message(),
            "sweep 'sw-live' is still running; replay needs a finished sweep (wait for it or "
            "cancel it)");

  auto missing = ReplaySweep(store_.get(), "sw-nope", BanditAmount(0.1, 0));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("sw-nope"));

  EarlyTermination bad;
  bad.type = PolicyType::kBandit;
  auto invalid = ReplaySweep(store_.get(), "sw-live", bad);
  EXPECT_EQ(invalid.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(invalid.status().message(),
            "early_termination: bandit needs slack_factor (a ratio) or slack_amount (an absolute "
            "distance)");
}

TEST_F(ReplaySweepTest, SweepsRecordedWithoutObjectiveReadItFromTheirSpec) {
  auto without_objective = [&](const std::string& id, const std::string& yaml) {
    SweepBuilder(store_.get(), id).Trial(1, {0.5, 0.4}, 100).Trial(2, {0.3, 0.2}, 200).Commit();
    // Overwrite the sweep record with one that has no objective, as older versions wrote.
    core::Sweep sweep;
    sweep.id = id;
    sweep.state = core::SweepState::kCompleted;
    sweep.spec_yaml = yaml;
    store::WriteBatch batch;
    batch.sweeps.push_back(sweep);
    ASSERT_TRUE(store_->Commit(batch).ok());
  };
  without_objective("sw-old", testing::SpecYaml("", "minimize"));
  auto report = ReplaySweep(store_.get(), "sw-old", EarlyTermination{});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->objective.primary_metric, "accuracy");
  EXPECT_EQ(report->objective.goal, core::Goal::kMinimize);
  EXPECT_EQ(report->best_trial, 2);

  without_objective("sw-broken", "type: sweep\n");
  auto broken = ReplaySweep(store_.get(), "sw-broken", EarlyTermination{});
  EXPECT_EQ(broken.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(broken.status().message()),
              HasSubstr("sweep 'sw-broken' records no primary metric, and its spec could not be "
                        "read back: "));
}

TEST(ReplayEventsTest, AggregationBestAndNonFiniteFinals) {
  core::Objective objective;
  objective.primary_metric = "accuracy";
  objective.aggregation = core::Aggregation::kBest;
  auto report_of = [](int64_t trial, double value) {
    ReplayEvent e;
    e.trial_id = trial;
    e.value = value;
    return e;
  };
  auto end_of = [](int64_t trial) {
    ReplayEvent e;
    e.kind = ReplayEvent::Kind::kEnd;
    e.trial_id = trial;
    e.end_state = TrialState::kCompleted;
    return e;
  };
  std::vector<ReplayEvent> events = {report_of(1, 0.9), report_of(1, 0.7),          end_of(1),
                                     report_of(2, 0.8), report_of(2, std::nan("")), end_of(2)};
  auto report = ReplayEvents(events, EarlyTermination{}, objective);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->best_trial, 1);  // best of its curve, 0.9, not its last 0.7
  EXPECT_DOUBLE_EQ(*report->best_value, 0.9);

  objective.aggregation = core::Aggregation::kLast;
  report = ReplayEvents(events, EarlyTermination{}, objective);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->best_trial, 2);  // its last finite value 0.8 (the NaN is skipped) > 0.7
  EXPECT_DOUBLE_EQ(*report->best_value, 0.8);

  // A trial with no finite value at all is never a candidate.
  std::vector<ReplayEvent> nan_only = {report_of(1, std::nan("")), end_of(1)};
  report = ReplayEvents(nan_only, EarlyTermination{}, objective);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->best_trial, std::nullopt);
  EXPECT_EQ(report->trials, 1);

  report = ReplayEvents({}, EarlyTermination{}, objective);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->best_trial, std::nullopt);
  EXPECT_TRUE(report->best_survives);
  EXPECT_THAT(FormatReplayReport(*report),
              HasSubstr("best trial without the policy: none (no completed trial)"));
}

TEST_F(ReplaySweepTest, JsonAndTextForms) {
  FourSequentialTrials(store_.get(), {0.6, 0.75, 0.82, 0.9});
  auto report = ReplaySweep(store_.get(), "sw-seq", BanditAmount(0.1, 2));
  ASSERT_TRUE(report.ok());
  nlohmann::json j = ReplayReportToJson(*report);
  EXPECT_EQ(j["sweep_id"], "sw-seq");
  EXPECT_EQ(j["policy"], "bandit (slack_amount 0.1, evaluation_interval 1, delay_evaluation 2)");
  EXPECT_EQ(j["primary_metric"], "accuracy");
  EXPECT_EQ(j["goal"], "maximize");
  EXPECT_EQ(j["intervals_without_policy"], 16);
  EXPECT_EQ(j["intervals_with_policy"], 13);
  EXPECT_DOUBLE_EQ(j["fraction_saved"].get<double>(), 3.0 / 16);
  EXPECT_EQ(j["best"]["trial_id"], 3);
  EXPECT_EQ(j["best"]["survives"], true);
  EXPECT_EQ(j["best_with_policy"]["trial_id"], 3);
  ASSERT_EQ(j["stopped"].size(), 2u);
  EXPECT_EQ(j["stopped"][0]["trial_id"], 2);
  EXPECT_EQ(j["stopped"][0]["stopped_at"], 2);
  EXPECT_EQ(j["stopped"][0]["intervals_saved"], 2);
  EXPECT_EQ(j["stopped"][1]["recorded_intervals"], 4);

  const std::string text = FormatReplayReport(*report);
  EXPECT_THAT(text, HasSubstr("replay of sweep sw-seq (maximize accuracy) with bandit "
                              "(slack_amount 0.1, evaluation_interval 1, delay_evaluation 2)\n"));
  EXPECT_THAT(text, HasSubstr("intervals: 16 without the policy, 13 with it (18.8% saved)\n"));
  EXPECT_THAT(text, HasSubstr("best trial without the policy: 3 (accuracy=0.9), survives the "
                              "policy\n"));
  EXPECT_THAT(text, HasSubstr("  trial 2: saved 2 of 4 intervals; stopped at interval 2: "));
}

}  // namespace
}  // namespace sweep::controller

// `sweep explain`: the recorded early-termination story of one trial.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "controller/analysis.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policies/early_termination.h"
#include "policies/replay.h"
#include "replay_test_util.h"
#include "store/store.h"

namespace sweep::controller {
namespace {

using policies::ExplainReportToJson;
using policies::FormatExplainReport;

using core::TrialState;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::SpecYaml;
using testing::SweepBuilder;

class ExplainTrialTest : public ::testing::Test {
 protected:
  std::unique_ptr<store::Store> store_ = store::NewInMemoryStore();
};

TEST_F(ExplainTrialTest, ListsTheDecisionsTheLivePolicyMade) {
  // Run a real policy the way the controller does and store what it returns.
  core::EarlyTermination settings;
  settings.type = core::PolicyType::kBandit;
  settings.slack_factor = 0.2;
  settings.delay_evaluation = 2;
  auto policy = policies::MakeEarlyTerminationPolicy(settings, core::Goal::kMaximize);
  ASSERT_TRUE(policy.ok());
  SweepBuilder b(store_.get(), "sw-x");
  b.Spec(SpecYaml("{type: bandit, slack_factor: 0.2, delay_evaluation: 2}", "maximize"));
  b.TrialRecord(1, TrialState::kCompleted, 0.8, 3, 0);
  b.TrialRecord(2, TrialState::kEarlyTerminated, 0.64, 3, 0, "stopped by bandit");
  for (const auto& [trial, curve] : std::vector<std::pair<int64_t, std::vector<double>>>{
           {1, {0.5, 0.65, 0.8}}, {2, {0.6, 0.62, 0.64, 0.9}}}) {
    for (size_t i = 0; i < curve.size(); ++i) {
      std::optional<core::Decision> d = (*policy)->OnReport(trial, i + 1, curve[i]);
      if (!d) continue;
      b.Decision(*d);
      if (d->stop) break;
    }
  }
  b.Commit();

  auto report = ExplainTrial(store_.get(), "sw-x", 2);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(report->lines,
              ElementsAre("interval 2: continues (best so far 0.62 >= 0.5417 = 0.65/(1+0.2), "
                          "where 0.65 is the best of 2 trials at interval 2)",
                          "interval 3: stopped: best so far 0.64 < 0.6667 = 0.8/(1+0.2), where "
                          "0.8 is the best of 2 trials at interval 3"));
  EXPECT_EQ(report->policy, "bandit (slack_factor 0.2, evaluation_interval 1, delay_evaluation 2)");
  ASSERT_EQ(report->decisions.size(), 2u);
  EXPECT_TRUE(report->decisions[1].stop);
  EXPECT_EQ(report->state, TrialState::kEarlyTerminated);
  EXPECT_EQ(FormatExplainReport(*report),
            "trial 2 of sweep sw-x: early_terminated (stopped by bandit); policy: bandit "
            "(slack_factor 0.2, evaluation_interval 1, delay_evaluation 2)\n"
            "interval 2: continues (best so far 0.62 >= 0.5417 = 0.65/(1+0.2), where 0.65 is "
            "the best of 2 trials at interval 2)\n"
            "interval 3: stopped: best so far 0.64 < 0.6667 = 0.8/(1+0.2), where 0.8 is the "
            "best of 2 trials at interval 3\n");

  nlohmann::json j = ExplainReportToJson(*report);
  EXPECT_EQ(j["sweep_id"], "sw-x");
  EXPECT_EQ(j["trial_id"], 2);
  EXPECT_EQ(j["state"], "early_terminated");
  EXPECT_EQ(j["reason"], "stopped by bandit");
  EXPECT_EQ(j["intervals"], 3);
  ASSERT_EQ(j["lines"].size(), 2u);
  ASSERT_EQ(j["decisions"].size(), 2u);
  EXPECT_EQ(j["decisions"][1]["interval"], 3);
  EXPECT_EQ(j["decisions"][1]["stop"], true);
  EXPECT_DOUBLE_EQ(j["decisions"][1]["value"].get<double>(), 0.64);
  EXPECT_DOUBLE_EQ(j["decisions"][1]["reference"].get<double>(), 0.8);
  EXPECT_DOUBLE_EQ(j["decisions"][1]["threshold"].get<double>(), 0.8 / 1.2);
  EXPECT_EQ(j["decisions"][1]["explanation"],
            "stopped at interval 3: best so far 0.64 < 0.6667 = 0.8/(1+0.2), where 0.8 is the "
            "best of 2 trials at interval 3");
}

TEST_F(ExplainTrialTest, NoPolicy) {
  SweepBuilder(store_.get(), "sw-none")
      .Spec(SpecYaml("", "maximize"))
      .Trial(1, {0.5, 0.6}, 100)
      .Commit();
  auto report = ExplainTrial(store_.get(), "sw-none", 1);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(report->lines, ElementsAre("no early-termination policy"));
  EXPECT_EQ(report->policy, "no early-termination policy");
}

TEST_F(ExplainTrialTest, NeverEvaluatedSaysWhy) {
  SweepBuilder(store_.get(), "sw-delay")
      .Spec(SpecYaml("{type: median_stopping, delay_evaluation: 5}", "maximize"))
      .Trial(1, {0.5, 0.6, 0.7}, 100)
      .Trial(2, {0.5}, 200)
      .Commit();
  auto three = ExplainTrial(store_.get(), "sw-delay", 1);
  ASSERT_TRUE(three.ok()) << three.status();
  EXPECT_THAT(three->lines, ElementsAre("never evaluated (delay_evaluation 5 not reached: the "
                                        "trial reported 3 intervals)"));
  auto one = ExplainTrial(store_.get(), "sw-delay", 2);
  ASSERT_TRUE(one.ok());
  EXPECT_THAT(one->lines, ElementsAre("never evaluated (delay_evaluation 5 not reached: the "
                                      "trial reported 1 interval)"));

  SweepBuilder(store_.get(), "sw-every4")
      .Spec(SpecYaml("{type: median_stopping, evaluation_interval: 4}", "minimize"))
      .Trial(1, {0.5, 0.6, 0.7}, 100)
      .Trial(2, {0.5, 0.6, 0.7, 0.8}, 200)
      .Commit();
  auto early = ExplainTrial(store_.get(), "sw-every4", 1);
  ASSERT_TRUE(early.ok()) << early.status();
  EXPECT_THAT(early->lines, ElementsAre("never evaluated (its first evaluation would be at "
                                        "interval 4; the trial reported 3 intervals)"));
  auto missing = ExplainTrial(store_.get(), "sw-every4", 2);
  ASSERT_TRUE(missing.ok());
  EXPECT_THAT(missing->lines,
              ElementsAre("never evaluated: no decision was recorded although the trial "
                          "reported 4 intervals and the first evaluation is at interval 4"));
}

TEST_F(ExplainTrialTest, UnreadableSpecStillListsDecisions) {
  core::Decision d;
  d.trial_id = 1;
  d.interval = 2;
  d.policy = "bandit";
  d.stop = true;
  d.explanation =
      "stopped at interval 2: best so far 0.1 < 0.5 = 0.6-0.1, where 0.6 is the "
      "best of 2 trials at interval 2";
  SweepBuilder(store_.get(), "sw-gone")
      .Spec("type: sweep\ntrial:\n  code: ./no-such-dir\n", "/nonexistent/spec.yml")
      .Trial(1, {0.1, 0.1}, 100, TrialState::kEarlyTerminated)
      .Trial(2, {0.1}, 200)
      .Decision(d)
      .Commit();
  auto listed = ExplainTrial(store_.get(), "sw-gone", 1);
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_THAT(listed->lines, ElementsAre("interval 2: stopped: best so far 0.1 < 0.5 = 0.6-0.1, "
                                         "where 0.6 is the best of 2 trials at interval 2"));
  EXPECT_THAT(listed->policy, HasSubstr("unknown (the sweep's spec could not be read back: "));
  auto unknown = ExplainTrial(store_.get(), "sw-gone", 2);
  ASSERT_TRUE(unknown.ok());
  ASSERT_EQ(unknown->lines.size(), 1u);
  EXPECT_THAT(unknown->lines[0],
              HasSubstr("no decisions recorded (the sweep's spec could not be read back to say "
                        "why: /nonexistent/spec.yml:"));
}

TEST_F(ExplainTrialTest, UnknownSweepOrTrial) {
  SweepBuilder(store_.get(), "sw-one").Spec(SpecYaml("", "maximize")).Commit();
  auto sweep = ExplainTrial(store_.get(), "sw-nope", 1);
  EXPECT_EQ(sweep.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(sweep.status().message()), HasSubstr("sw-nope"));
  auto trial = ExplainTrial(store_.get(), "sw-one", 7);
  EXPECT_EQ(trial.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(trial.status().message()), HasSubstr("trial 7"));
}

}  // namespace
}  // namespace sweep::controller

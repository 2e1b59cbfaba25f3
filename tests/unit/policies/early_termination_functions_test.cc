// Schedule arithmetic and descriptions of early-termination policies, and what the policy
// factory does with settings nobody validated (the rules are spec/early_termination.h's).
#include <limits>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "policies/early_termination.h"

namespace sweep::policies {
namespace {

using core::EarlyTermination;
using core::PolicyType;
using ::testing::HasSubstr;

EarlyTermination Of(PolicyType type) {
  EarlyTermination s;
  s.type = type;
  return s;
}

TEST(EarlyTerminationFunctionsTest, NoneMakesNoPolicy) {
  auto policy = MakeEarlyTerminationPolicy(Of(PolicyType::kNone), core::Goal::kMaximize);
  ASSERT_TRUE(policy.ok());
  EXPECT_EQ(*policy, nullptr);
  EXPECT_EQ(FirstEvaluationInterval(Of(PolicyType::kNone)), std::nullopt);
  EXPECT_FALSE(IsEvaluationInterval(Of(PolicyType::kNone), 1));
  EXPECT_EQ(DescribeEarlyTermination(Of(PolicyType::kNone)), "no early-termination policy");
}

TEST(EarlyTerminationFunctionsTest, FactoryRefusesSettingsItCannotRun) {
  EarlyTermination bandit = Of(PolicyType::kBandit);  // no slack
  EarlyTermination median = Of(PolicyType::kMedianStopping);
  median.evaluation_interval = 0;
  EarlyTermination truncation = Of(PolicyType::kTruncationSelection);  // percentage 0
  EarlyTermination asha = Of(PolicyType::kAsha);                       // max_interval 0
  for (const EarlyTermination& s : {bandit, median, truncation, asha}) {
    auto policy = MakeEarlyTerminationPolicy(s, core::Goal::kMaximize);
    ASSERT_FALSE(policy.ok()) << core::PolicyTypeName(s.type);
    EXPECT_EQ(policy.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(policy.status().message()),
                HasSubstr("not validated (spec::ValidateEarlyTermination"));
  }
  EXPECT_EQ(AshaRungs(asha), std::vector<int64_t>{});
  EXPECT_EQ(AshaRungs(Of(PolicyType::kBandit)), std::vector<int64_t>{});
  asha.max_interval = 27;
  asha.reduction_factor = 1.0000000001;  // a ladder too long to build
  EXPECT_EQ(AshaRungs(asha), std::vector<int64_t>{});
  EXPECT_FALSE(MakeEarlyTerminationPolicy(asha, core::Goal::kMaximize).ok());
}

TEST(EarlyTerminationFunctionsTest, FirstEvaluationIntervalArithmetic) {
  EarlyTermination s = Of(PolicyType::kBandit);
  s.slack_factor = 0.1;
  EXPECT_EQ(FirstEvaluationInterval(s), 1);  // delay 0, every interval
  s.delay_evaluation = 5;
  EXPECT_EQ(FirstEvaluationInterval(s), 5);  // Azure: "starting at evaluation interval 5"
  s.evaluation_interval = 2;
  EXPECT_EQ(FirstEvaluationInterval(s), 6);
  s.delay_evaluation = 4;
  EXPECT_EQ(FirstEvaluationInterval(s), 4);
  s.delay_evaluation = 0;
  s.evaluation_interval = 3;
  EXPECT_EQ(FirstEvaluationInterval(s), 3);
  EXPECT_TRUE(IsEvaluationInterval(s, 3));
  EXPECT_FALSE(IsEvaluationInterval(s, 4));
  EXPECT_TRUE(IsEvaluationInterval(s, 9));
  EXPECT_FALSE(IsEvaluationInterval(s, 0));
}

TEST(EarlyTerminationFunctionsTest, Descriptions) {
  EarlyTermination b = Of(PolicyType::kBandit);
  b.slack_factor = 0.2;
  b.delay_evaluation = 5;
  EXPECT_EQ(DescribeEarlyTermination(b),
            "bandit (slack_factor 0.2, evaluation_interval 1, delay_evaluation 5)");
  EarlyTermination t = Of(PolicyType::kTruncationSelection);
  t.truncation_percentage = 20;
  t.exclude_finished_jobs = true;
  EXPECT_EQ(DescribeEarlyTermination(t),
            "truncation_selection (truncation_percentage 20, exclude_finished_jobs true, "
            "evaluation_interval 1, delay_evaluation 0)");
  EarlyTermination a = Of(PolicyType::kAsha);
  a.max_interval = 50;
  EXPECT_EQ(DescribeEarlyTermination(a),
            "asha (reduction_factor 3, min_interval 1, max_interval 50, delay_evaluation 0)");
  EXPECT_THAT(DescribeEarlyTermination(Of(PolicyType::kMedianStopping)),
              HasSubstr("median_stopping (evaluation_interval 1"));
  EXPECT_STREQ(core::PolicyTypeName(PolicyType::kTruncationSelection), "truncation_selection");
}

TEST(EarlyTerminationFunctionsTest, DecisionReasonStripsTheVerdictPrefix) {
  core::Decision d;
  d.interval = 6;
  d.explanation = "stopped at interval 6: best so far 0.61 < 0.6667";
  EXPECT_EQ(DecisionReason(d), "best so far 0.61 < 0.6667");
  d.explanation = "something recorded by hand";
  EXPECT_EQ(DecisionReason(d), "something recorded by hand");
}

}  // namespace
}  // namespace sweep::policies

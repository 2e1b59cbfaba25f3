// Settings validation, schedule arithmetic and descriptions of early-termination policies.
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

void ExpectInvalid(const EarlyTermination& s, const std::string& message) {
  absl::Status status = ValidateEarlyTermination(s);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << message;
  EXPECT_EQ(status.message(), message);
  auto policy = MakeEarlyTerminationPolicy(s, core::Goal::kMaximize);
  ASSERT_FALSE(policy.ok());
  EXPECT_EQ(policy.status().message(), message);
}

TEST(EarlyTerminationValidationTest, NoneMakesNoPolicy) {
  auto policy = MakeEarlyTerminationPolicy(Of(PolicyType::kNone), core::Goal::kMaximize);
  ASSERT_TRUE(policy.ok());
  EXPECT_EQ(*policy, nullptr);
  EXPECT_EQ(FirstEvaluationInterval(Of(PolicyType::kNone)), std::nullopt);
  EXPECT_FALSE(IsEvaluationInterval(Of(PolicyType::kNone), 1));
  EXPECT_EQ(DescribeEarlyTermination(Of(PolicyType::kNone)), "no early-termination policy");
}

TEST(EarlyTerminationValidationTest, BanditNeedsExactlyOneNonNegativeSlack) {
  EarlyTermination s = Of(PolicyType::kBandit);
  ExpectInvalid(s,
                "early_termination: bandit needs exactly one of slack_factor and slack_amount, "
                "got neither");
  s.slack_factor = 0.1;
  s.slack_amount = 0.2;
  ExpectInvalid(s,
                "early_termination: bandit needs exactly one of slack_factor and slack_amount, "
                "got both");
  s.slack_amount.reset();
  s.slack_factor = -0.5;
  ExpectInvalid(s, "early_termination: slack_factor must be a finite number >= 0, got -0.5");
  s.slack_factor.reset();
  s.slack_amount = std::numeric_limits<double>::quiet_NaN();
  ExpectInvalid(s, "early_termination: slack_amount must be a finite number >= 0, got nan");
  s.slack_amount = 0.0;
  EXPECT_TRUE(ValidateEarlyTermination(s).ok());
}

TEST(EarlyTerminationValidationTest, SlackOnlyForBandit) {
  EarlyTermination s = Of(PolicyType::kMedianStopping);
  s.slack_factor = 0.1;
  ExpectInvalid(s,
                "early_termination: slack_factor applies only to the bandit policy, not "
                "median_stopping");
  s.slack_factor.reset();
  s.slack_amount = 0.1;
  ExpectInvalid(s,
                "early_termination: slack_amount applies only to the bandit policy, not "
                "median_stopping");
}

TEST(EarlyTerminationValidationTest, IntervalAndDelayBounds) {
  EarlyTermination s = Of(PolicyType::kMedianStopping);
  s.evaluation_interval = 0;
  ExpectInvalid(s, "early_termination: evaluation_interval must be >= 1, got 0");
  s.evaluation_interval = 1;
  s.delay_evaluation = -1;
  ExpectInvalid(s, "early_termination: delay_evaluation must be >= 0, got -1");
}

TEST(EarlyTerminationValidationTest, TruncationPercentageBetween1And99) {
  EarlyTermination s = Of(PolicyType::kTruncationSelection);
  ExpectInvalid(s, "early_termination: truncation_percentage must be between 1 and 99, got 0");
  s.truncation_percentage = 100;
  ExpectInvalid(s, "early_termination: truncation_percentage must be between 1 and 99, got 100");
  s.truncation_percentage = 99;
  EXPECT_TRUE(ValidateEarlyTermination(s).ok());
}

TEST(EarlyTerminationValidationTest, AshaSettings) {
  EarlyTermination s = Of(PolicyType::kAsha);
  s.max_interval = 0;
  ExpectInvalid(s,
                "early_termination: asha needs max_interval (the length of a full trial, in "
                "intervals) greater than min_interval 1, got 0");
  s.max_interval = 27;
  s.reduction_factor = 1;
  ExpectInvalid(s, "early_termination: reduction_factor must be a number > 1, got 1");
  s.reduction_factor = 1.0000000001;
  ExpectInvalid(s,
                "early_termination: reduction_factor 1.0000000001 is too close to 1 for "
                "max_interval 27");
  s.reduction_factor = 3;
  s.min_interval = 0;
  ExpectInvalid(s, "early_termination: min_interval must be >= 1, got 0");
  s.min_interval = 1;
  s.evaluation_interval = 2;
  ExpectInvalid(s,
                "early_termination: asha evaluates at its rungs (min_interval * "
                "reduction_factor^k), so evaluation_interval must be 1, got 2");
  s.evaluation_interval = 1;
  EXPECT_TRUE(ValidateEarlyTermination(s).ok());
  EXPECT_EQ(AshaRungs(Of(PolicyType::kBandit)), std::vector<int64_t>{});
}

TEST(EarlyTerminationValidationTest, FirstEvaluationIntervalArithmetic) {
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

TEST(EarlyTerminationValidationTest, Descriptions) {
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

TEST(EarlyTerminationValidationTest, DecisionReasonStripsTheVerdictPrefix) {
  core::Decision d;
  d.interval = 6;
  d.explanation = "stopped at interval 6: best so far 0.61 < 0.6667";
  EXPECT_EQ(DecisionReason(d), "best so far 0.61 < 0.6667");
  d.explanation = "something recorded by hand";
  EXPECT_EQ(DecisionReason(d), "something recorded by hand");
}

}  // namespace
}  // namespace sweep::policies

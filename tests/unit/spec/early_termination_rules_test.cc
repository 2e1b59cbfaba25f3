// The rules of early-termination settings (spec/early_termination.h): the struct
// validator, and the spec parser reporting the same rules with their locations.
#include <limits>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spec/early_termination.h"
#include "spec/spec.h"

namespace sweep::spec {
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
}

TEST(EarlyTerminationRulesTest, NoneIsAlwaysValid) {
  EarlyTermination s = Of(PolicyType::kNone);
  s.evaluation_interval = 0;
  EXPECT_TRUE(ValidateEarlyTermination(s).ok());
  EXPECT_TRUE(EarlyTerminationRuleErrors(s).empty());
}

TEST(EarlyTerminationRulesTest, BanditNeedsExactlyOnePositiveSlack) {
  EarlyTermination s = Of(PolicyType::kBandit);
  ExpectInvalid(s,
                "early_termination: bandit needs slack_factor (a ratio) or slack_amount (an "
                "absolute distance)");
  s.slack_factor = 0.1;
  s.slack_amount = 0.2;
  ExpectInvalid(s, "early_termination: give either slack_factor or slack_amount, not both");
  s.slack_amount.reset();
  s.slack_factor = -0.5;
  ExpectInvalid(s, "early_termination.slack_factor: must be greater than 0, got -0.5");
  s.slack_factor.reset();
  s.slack_amount = std::numeric_limits<double>::quiet_NaN();
  ExpectInvalid(s, "early_termination.slack_amount: must be a finite number, got nan");
  // Azure ML's rule (0 means "not given" there); the policy code used to accept 0.
  s.slack_amount = 0.0;
  ExpectInvalid(s, "early_termination.slack_amount: must be greater than 0, got 0");
  s.slack_amount = 0.05;
  EXPECT_TRUE(ValidateEarlyTermination(s).ok());
}

TEST(EarlyTerminationRulesTest, SlackOnlyForBandit) {
  EarlyTermination s = Of(PolicyType::kMedianStopping);
  s.slack_factor = 0.1;
  ExpectInvalid(s, "early_termination: 'slack_factor' is not a setting of median_stopping");
  s.slack_factor.reset();
  s.slack_amount = 0.1;
  ExpectInvalid(s, "early_termination: 'slack_amount' is not a setting of median_stopping");
}

TEST(EarlyTerminationRulesTest, IntervalAndDelayBounds) {
  EarlyTermination s = Of(PolicyType::kMedianStopping);
  s.evaluation_interval = 0;
  ExpectInvalid(s, "early_termination.evaluation_interval: must be a positive integer, got 0");
  s.evaluation_interval = 1;
  s.delay_evaluation = -1;
  ExpectInvalid(s, "early_termination.delay_evaluation: must not be negative, got -1");
}

TEST(EarlyTerminationRulesTest, TruncationPercentageBetween1And99) {
  EarlyTermination s = Of(PolicyType::kTruncationSelection);
  ExpectInvalid(s, "early_termination.truncation_percentage: must be from 1 to 99, got 0");
  s.truncation_percentage = 100;
  ExpectInvalid(s, "early_termination.truncation_percentage: must be from 1 to 99, got 100");
  s.truncation_percentage = 99;
  EXPECT_TRUE(ValidateEarlyTermination(s).ok());
}

TEST(EarlyTerminationRulesTest, AshaSettings) {
  EarlyTermination s = Of(PolicyType::kAsha);
  s.max_interval = 0;
  ExpectInvalid(s, "early_termination.max_interval: must be greater than min_interval (0 <= 1)");
  s.max_interval = 27;
  s.reduction_factor = 1;
  ExpectInvalid(s, "early_termination.reduction_factor: must be greater than 1, got 1");
  s.reduction_factor = 1.0000000001;
  ExpectInvalid(s,
                "early_termination.reduction_factor: 1.0000000001 is too close to 1 for "
                "max_interval 27");
  s.reduction_factor = 3;
  s.min_interval = 0;
  ExpectInvalid(s, "early_termination.min_interval: must be a positive integer, got 0");
  s.min_interval = 1;
  s.evaluation_interval = 2;
  ExpectInvalid(s,
                "early_termination.evaluation_interval: must be 1 for asha, which evaluates at "
                "its rungs (min_interval * reduction_factor^k), got 2");
  s.evaluation_interval = 1;
  EXPECT_TRUE(ValidateEarlyTermination(s).ok());
}

TEST(EarlyTerminationRulesTest, EveryBrokenRuleIsListed) {
  EarlyTermination s = Of(PolicyType::kAsha);
  s.delay_evaluation = -1;
  s.reduction_factor = 0.5;
  std::vector<PolicyRuleError> errors = EarlyTerminationRuleErrors(s);
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[0].key, "delay_evaluation");
  EXPECT_EQ(errors[1].key, "reduction_factor");
  EXPECT_EQ(errors[2].key, "max_interval");
}

// The spec parser applies the same rules, at the key that breaks them.
class SpecRulesTest : public ::testing::Test {
 protected:
  std::string SpecError(const std::string& early_termination) {
    const std::string yaml =
        "type: sweep\ntrial: {command: train}\ncompute: cpu-cluster\n"
        "search_space: {x: {type: uniform, min_value: 0, max_value: 1}}\n"
        "objective: {primary_metric: acc, goal: maximize}\n"
        "early_termination: " +
        early_termination + "\n";
    absl::StatusOr<SweepSpec> spec = ParseSpec(yaml, "spec.yml", "");
    return spec.ok() ? "ok" : std::string(spec.status().message());
  }
};

TEST_F(SpecRulesTest, SameRulesWithLocations) {
  EXPECT_EQ(SpecError("{type: bandit, slack_amount: 0}"),
            "spec.yml:6:49: early_termination.slack_amount: must be greater than 0, got 0");
  EXPECT_EQ(SpecError("{type: asha, max_interval: 27, evaluation_interval: 2}"),
            "spec.yml:6:72: early_termination.evaluation_interval: must be 1 for asha, which "
            "evaluates at its rungs (min_interval * reduction_factor^k), got 2");
  EXPECT_EQ(SpecError("{type: asha, max_interval: 27, reduction_factor: 1.0000000001}"),
            "spec.yml:6:69: early_termination.reduction_factor: 1.0000000001 is too close to 1 "
            "for max_interval 27");
  EXPECT_EQ(SpecError("truncation_selection"),
            "spec.yml:6:20: early_termination: missing required key 'truncation_percentage' "
            "(an integer from 1 to 99)");
  EXPECT_EQ(SpecError("{type: asha, min_interval: 0}"),
            "spec.yml:6:20: early_termination: missing required key 'max_interval' (the interval "
            "a trial may reach at most)\n"
            "spec.yml:6:47: early_termination.min_interval: must be a positive integer, got 0");
  EXPECT_EQ(SpecError("{type: bandit, slack_factor: 0.1, delay_evaluation: x}"),
            "spec.yml:6:72: early_termination.delay_evaluation: must be an integer, got the "
            "string 'x'");
  EXPECT_EQ(SpecError("{type: bandit, slack_factor: 0.1, delay_evaluation: 3}"), "ok");
}

}  // namespace
}  // namespace sweep::spec

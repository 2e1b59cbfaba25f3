#include "spec/early_termination.h"

#include <cmath>
#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "core/search_space.h"

namespace sweep::spec {
namespace {

using core::PolicyType;

std::string Number(double v) { return core::ParamValueToString(v); }

// "must be greater than BOUND" for a finite number.
std::optional<std::string> AboveBound(double v, double bound) {
  if (!std::isfinite(v)) return absl::StrCat("must be a finite number, got ", Number(v));
  if (v <= bound) return absl::StrCat("must be greater than ", Number(bound), ", got ", Number(v));
  return std::nullopt;
}

void CheckBandit(const core::EarlyTermination& s, std::vector<PolicyRuleError>& errors) {
  if (s.slack_factor && s.slack_amount) {
    errors.push_back({"slack_amount", false, "give either slack_factor or slack_amount, not both"});
  } else if (!s.slack_factor && !s.slack_amount) {
    errors.push_back(
        {"", false, "bandit needs slack_factor (a ratio) or slack_amount (an absolute distance)"});
  } else if (auto why = AboveBound(s.slack_factor ? *s.slack_factor : *s.slack_amount, 0)) {
    errors.push_back({s.slack_factor ? "slack_factor" : "slack_amount", true, *why});
  }
}

void CheckAsha(const core::EarlyTermination& s, std::vector<PolicyRuleError>& errors) {
  const size_t before = errors.size();
  if (auto why = AboveBound(s.reduction_factor, 1))
    errors.push_back({"reduction_factor", true, *why});
  if (s.min_interval < 1) {
    errors.push_back(
        {"min_interval", true, absl::StrCat("must be a positive integer, got ", s.min_interval)});
  }
  if (s.max_interval <= s.min_interval) {
    errors.push_back({"max_interval", true,
                      absl::StrCat("must be greater than min_interval (", s.max_interval,
                                   " <= ", s.min_interval, ")")});
  }
  if (errors.size() == before && !core::AshaRungLadder(s)) {
    errors.push_back({"reduction_factor", true,
                      absl::StrCat(Number(s.reduction_factor),
                                   " is too close to 1 for max_interval ", s.max_interval)});
  }
}

}  // namespace

const std::vector<PolicySetting>& PolicySettings(PolicyType type) {
  static const auto* kSettings = new std::map<PolicyType, std::vector<PolicySetting>>{
      {PolicyType::kNone, {}},
      {PolicyType::kBandit,
       {{"slack_factor", "a ratio"}, {"slack_amount", "an absolute distance"}}},
      {PolicyType::kMedianStopping, {}},
      {PolicyType::kTruncationSelection,
       {{"truncation_percentage", "an integer from 1 to 99"},
        {"exclude_finished_jobs", "true or false"}}},
      {PolicyType::kAsha,
       {{"reduction_factor", "a number greater than 1"},
        {"min_interval", "the first rung"},
        {"max_interval", "the interval a trial may reach at most"}}},
  };
  return kSettings->at(type);
}

std::string NotASettingOf(absl::string_view key, PolicyType type) {
  return absl::StrCat("'", key, "' is not a setting of ", core::PolicyTypeName(type));
}

std::vector<PolicyRuleError> EarlyTerminationRuleErrors(const core::EarlyTermination& s) {
  std::vector<PolicyRuleError> errors;
  if (s.type == PolicyType::kNone) return errors;
  if (s.evaluation_interval < 1) {
    errors.push_back({"evaluation_interval", true,
                      absl::StrCat("must be a positive integer, got ", s.evaluation_interval)});
  } else if (s.type == PolicyType::kAsha && s.evaluation_interval != 1) {
    errors.push_back({"evaluation_interval", true,
                      absl::StrCat("must be 1 for asha, which evaluates at its rungs "
                                   "(min_interval * reduction_factor^k), got ",
                                   s.evaluation_interval)});
  }
  if (s.delay_evaluation < 0) {
    errors.push_back(
        {"delay_evaluation", true, absl::StrCat("must not be negative, got ", s.delay_evaluation)});
  }
  if (s.type != PolicyType::kBandit) {
    if (s.slack_factor)
      errors.push_back({"slack_factor", false, NotASettingOf("slack_factor", s.type)});
    if (s.slack_amount)
      errors.push_back({"slack_amount", false, NotASettingOf("slack_amount", s.type)});
  }
  switch (s.type) {
    case PolicyType::kBandit:
      CheckBandit(s, errors);
      break;
    case PolicyType::kTruncationSelection:
      if (s.truncation_percentage < 1 || s.truncation_percentage > 99) {
        errors.push_back({"truncation_percentage", true,
                          absl::StrCat("must be from 1 to 99, got ", s.truncation_percentage)});
      }
      break;
    case PolicyType::kAsha:
      CheckAsha(s, errors);
      break;
    case PolicyType::kNone:
    case PolicyType::kMedianStopping:
      break;
  }
  return errors;
}

absl::Status ValidateEarlyTermination(const core::EarlyTermination& settings) {
  std::vector<PolicyRuleError> errors = EarlyTerminationRuleErrors(settings);
  if (errors.empty()) return absl::OkStatus();
  const PolicyRuleError& e = errors.front();
  return absl::InvalidArgumentError(absl::StrCat("early_termination", e.about_value ? "." : "",
                                                 e.about_value ? e.key : "", ": ", e.message));
}

}  // namespace sweep::spec

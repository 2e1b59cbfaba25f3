// The rules early-termination settings must follow: the only validation of policies.
// The spec parser (spec.h) reports what they reject with file:line:col;
// ValidateEarlyTermination reports it for settings built elsewhere (`sweep replay` flags,
// tests). policies/early_termination.h runs settings only once they pass.
//
// Where Azure ML and the old policy checks disagreed, Azure ML's rule holds: a bandit
// slack_factor or slack_amount must be greater than 0 (Azure treats 0 as "not given").
//
// Thread safety: free functions, no shared state.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/policy_settings.h"

namespace sweep::spec {

// A setting a policy type takes, besides type, evaluation_interval and delay_evaluation
// (which every type but none takes), and what it is, for messages.
struct PolicySetting {
  const char* key;
  const char* what;  // e.g. "an integer from 1 to 99"
};
const std::vector<PolicySetting>& PolicySettings(core::PolicyType type);

// "'KEY' is not a setting of TYPE".
std::string NotASettingOf(absl::string_view key, core::PolicyType type);

// One broken rule.
struct PolicyRuleError {
  std::string key;  // the setting at fault; "" for the policy as a whole
  // true: the value of `key` is wrong (reported as early_termination.KEY); false: the
  // combination of settings is (reported as early_termination, at `key` if there is one).
  bool about_value = true;
  std::string message;  // e.g. "must be greater than 0, got 0"
};

// Every rule `settings` breaks, in a fixed order; empty when they are valid. kNone is
// always valid. A required setting left at its default (truncation_percentage 0,
// max_interval 0) breaks the rule of its value.
std::vector<PolicyRuleError> EarlyTerminationRuleErrors(const core::EarlyTermination& settings);

// OK, or InvalidArgument with the first broken rule: "early_termination.KEY: message" or
// "early_termination: message".
absl::Status ValidateEarlyTermination(const core::EarlyTermination& settings);

}  // namespace sweep::spec

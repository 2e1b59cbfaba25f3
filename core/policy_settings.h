// The settings of an early-termination policy, as a validated spec holds them
// (spec/spec.h parses and validates them; policies/early_termination.h runs them).
#pragma once

#include <cstdint>
#include <optional>

namespace sweep::core {

enum class PolicyType { kNone, kBandit, kMedianStopping, kTruncationSelection, kAsha };
// "none", "bandit", "median_stopping", "truncation_selection", "asha".
const char* PolicyTypeName(PolicyType t);

struct EarlyTermination {
  PolicyType type = PolicyType::kNone;
  int64_t evaluation_interval = 1;
  int64_t delay_evaluation = 0;
  // bandit: exactly one of these
  std::optional<double> slack_factor;
  std::optional<double> slack_amount;
  // truncation_selection
  int64_t truncation_percentage = 0;
  bool exclude_finished_jobs = false;
  // asha (extension)
  double reduction_factor = 3;
  int64_t min_interval = 1;
  int64_t max_interval = 0;  // required for asha
};

}  // namespace sweep::core

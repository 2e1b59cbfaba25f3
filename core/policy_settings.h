// The settings of an early-termination policy, as a validated spec holds them
// (spec/early_termination.h holds the rules they must follow; policies/ runs them).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

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

// ASHA's rungs (whatever `settings.type` says): round(min_interval * reduction_factor^k)
// for k = 0, 1, ..., ascending, distinct and below max_interval. nullopt when they are
// not defined: reduction_factor not a finite number > 1, min_interval < 1, max_interval
// <= min_interval, or a ladder over kMaxAshaRungSteps steps long (reduction_factor
// absurdly close to 1).
inline constexpr int kMaxAshaRungSteps = 100'000;
std::optional<std::vector<int64_t>> AshaRungLadder(const EarlyTermination& settings);

}  // namespace sweep::core

#include "core/policy_settings.h"

#include <cmath>

namespace sweep::core {

const char* PolicyTypeName(PolicyType t) {
  switch (t) {
    case PolicyType::kNone:
      return "none";
    case PolicyType::kBandit:
      return "bandit";
    case PolicyType::kMedianStopping:
      return "median_stopping";
    case PolicyType::kTruncationSelection:
      return "truncation_selection";
    case PolicyType::kAsha:
      return "asha";
  }
  return "?";
}

std::optional<std::vector<int64_t>> AshaRungLadder(const EarlyTermination& s) {
  if (!std::isfinite(s.reduction_factor) || s.reduction_factor <= 1 || s.min_interval < 1 ||
      s.max_interval <= s.min_interval) {
    return std::nullopt;
  }
  std::vector<int64_t> rungs;
  for (int k = 0;; ++k) {
    if (k >= kMaxAshaRungSteps) return std::nullopt;
    const double x = static_cast<double>(s.min_interval) * std::pow(s.reduction_factor, k);
    if (x >= static_cast<double>(s.max_interval)) break;
    const int64_t r = std::llround(x);
    if (r >= s.max_interval) break;
    if (rungs.empty() || r > rungs.back()) rungs.push_back(r);
  }
  return rungs;
}

}  // namespace sweep::core

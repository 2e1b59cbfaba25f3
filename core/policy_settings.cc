#include "core/policy_settings.h"

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

}  // namespace sweep::core

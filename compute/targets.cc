#include "compute/targets.h"

#include "compute/slurm_provider.h"
#include "core/compute_target.h"

namespace sweep::compute {

absl::Status ValidateTarget(const core::ComputeTarget& target) {
  if (absl::Status s = core::ValidateComputeTarget(target); !s.ok()) return s;
  if (target.type == "amlcompute" && target.provider == "slurm") {
    return ValidateSlurmSettings(target);
  }
  return absl::OkStatus();
}

}  // namespace sweep::compute

// Whether a compute target's settings are complete and consistent, for every provider.
#pragma once

#include "absl/status/status.h"
#include "core/types.h"

namespace sweep::compute {

// core::ValidateComputeTarget (the support matrix, names, node counts), then the
// provider's own settings: a slurm target's partition, vm_size and priority
// (ValidateSlurmSettings). Whether the cluster knows the partition is CheckSlurmTarget's
// job. InvalidArgument naming the target and how to fix it.
absl::Status ValidateTarget(const core::ComputeTarget& target);

}  // namespace sweep::compute

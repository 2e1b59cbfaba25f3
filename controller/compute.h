// Compute target rules from the Azure ML support matrix: sweeps run only on persistent
// `amlcompute` clusters and attached `remotevm` machines.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "core/types.h"

namespace sweep::controller {

// 2-16 characters, letters, digits and '-', starting with a letter.
// InvalidArgument with the reason otherwise.
absl::Status ValidateComputeName(const std::string& name);

// Checks type/provider/node counts/priority. Types `local`, `databricks`, `adla`,
// `hdinsight` are refused with a message explaining that sweeps need a persistent
// target and how to create one. Slurm targets also get ValidateSlurmSettings
// (slurm_provider.h); whether the cluster knows their partition is CheckSlurmTarget's job.
absl::Status ValidateComputeTarget(const core::ComputeTarget& target);

}  // namespace sweep::controller

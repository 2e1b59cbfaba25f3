// Compute target rules from the Azure ML support matrix: sweeps run only on persistent
// `amlcompute` clusters and attached `remotevm` machines.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "core/types.h"

namespace sweep::core {

// 2-16 characters, letters, digits and '-', starting with a letter.
// InvalidArgument with the reason otherwise.
absl::Status ValidateComputeName(const std::string& name);

// Checks type/provider/node counts/priority. Types `local`, `databricks`, `adla`,
// `hdinsight` are refused with a message explaining that sweeps need a persistent
// target and how to create one. A provider's own settings are compute::ValidateTarget's
// (compute/targets.h) to check.
absl::Status ValidateComputeTarget(const core::ComputeTarget& target);

}  // namespace sweep::core

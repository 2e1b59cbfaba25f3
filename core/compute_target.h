// Compute target rules from the Azure ML support matrix: sweeps run only on persistent
// `amlcompute` clusters and attached `remotevm` machines.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/types.h"
#include "nlohmann/json.hpp"

namespace sweep::core {

// 2-16 characters, letters, digits and '-', starting with a letter.
// InvalidArgument with the reason otherwise.
absl::Status ValidateComputeName(const std::string& name);

// Checks type/provider/node counts/priority. Types `local`, `databricks`, `adla`,
// `hdinsight` are refused with a message explaining that sweeps need a persistent
// target and how to create one. A provider's own settings are compute::ValidateTarget's
// (compute/targets.h) to check.
absl::Status ValidateComputeTarget(const core::ComputeTarget& target);

// A target's provider settings (properties_json; "" is the empty object), for the
// providers to read their own keys from. InvalidArgument naming the target when they are
// not JSON ("compute 'N': properties are not valid JSON: ...") or not an object
// ("compute 'N': properties must be a JSON object (got '...')").
absl::StatusOr<nlohmann::json> ParseTargetProperties(const core::ComputeTarget& target);

// Sets each key of `updates` (an object) in target.properties_json, removing those whose
// value is null and keeping every other key. Unreadable properties start over empty.
void MergeTargetProperties(const nlohmann::json& updates, core::ComputeTarget& target);

}  // namespace sweep::core

#include "core/compute_target.h"

#include <cctype>
#include <exception>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace sweep::core {
namespace {

constexpr int64_t kMaxNodesCap = 10'000;

// Shown whenever a target cannot host sweeps, so the user knows what to do instead.
std::string HowToCreate(const std::string& name) {
  return absl::StrCat("create a persistent target instead, e.g. `sweep compute create ",
                      name.empty() ? "cpu-cluster" : name,
                      " --type amlcompute --min-nodes 0 --max-nodes 4`");
}

}  // namespace

absl::Status ValidateComputeName(const std::string& name) {
  if (name.size() < 2 || name.size() > 16) {
    return absl::InvalidArgumentError(absl::StrCat(
        "compute name '", name, "' must be 2-16 characters long (it has ", name.size(), ")"));
  }
  if (!std::isalpha(static_cast<unsigned char>(name[0]))) {
    return absl::InvalidArgumentError(
        absl::StrCat("compute name '", name, "' must start with a letter"));
  }
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') {
      return absl::InvalidArgumentError(absl::StrCat(
          "compute name '", name, "' may contain only letters, digits and '-' (found '",
          std::string(1, c), "')"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateComputeTarget(const core::ComputeTarget& target) {
  if (absl::Status s = ValidateComputeName(target.name); !s.ok()) return s;
  const std::string& n = target.name;
  const std::string& type = target.type;
  if (type == "local") {
    return absl::InvalidArgumentError(
        absl::StrCat("compute '", n,
                     "': type 'local' runs on the submitting machine only and is not a persistent "
                     "target; hyperparameter sweeps run only on amlcompute clusters and attached "
                     "remotevm targets; ",
                     HowToCreate(n)));
  }
  if (type == "databricks" || type == "adla" || type == "hdinsight") {
    return absl::InvalidArgumentError(absl::StrCat(
        "compute '", n, "': type '", type,
        "' does not support hyperparameter sweeps (they run only on persistent amlcompute "
        "clusters and attached remotevm targets); ",
        HowToCreate(n)));
  }
  if (type != "amlcompute" && type != "remotevm") {
    return absl::InvalidArgumentError(absl::StrCat("compute '", n, "': unknown type '", type,
                                                   "' (expected amlcompute or remotevm)"));
  }
  if (type == "amlcompute") {
    if (target.provider != "local" && target.provider != "slurm") {
      return absl::InvalidArgumentError(absl::StrCat("compute '", n, "': unknown node provider '",
                                                     target.provider,
                                                     "' for amlcompute (expected local or slurm)"));
    }
  } else if (target.provider != "ssh") {
    return absl::InvalidArgumentError(
        absl::StrCat("compute '", n,
                     "': remotevm targets are reached over SSH, so the "
                     "provider must be 'ssh' (got '",
                     target.provider, "')"));
  }
  if (target.min_nodes < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("compute '", n, "': min_nodes must be >= 0 (got ", target.min_nodes, ")"));
  }
  if (target.max_nodes < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("compute '", n, "': max_nodes must be >= 1 (got ", target.max_nodes, ")"));
  }
  if (target.max_nodes > kMaxNodesCap) {
    return absl::InvalidArgumentError(absl::StrCat(
        "compute '", n, "': max_nodes must be <= ", kMaxNodesCap, " (got ", target.max_nodes, ")"));
  }
  if (target.min_nodes > target.max_nodes) {
    return absl::InvalidArgumentError(
        absl::StrCat("compute '", n, "': min_nodes (", target.min_nodes,
                     ") must not exceed max_nodes (", target.max_nodes, ")"));
  }
  if (target.vm_priority != "dedicated" && target.vm_priority != "lowpriority") {
    return absl::InvalidArgumentError(
        absl::StrCat("compute '", n, "': vm_priority must be dedicated or lowpriority (got '",
                     target.vm_priority, "')"));
  }
  if (target.idle_seconds_before_scaledown < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("compute '", n, "': idle_seconds_before_scaledown must be >= 0 (got ",
                     target.idle_seconds_before_scaledown, ")"));
  }
  return ParseTargetProperties(target).status();
}

absl::StatusOr<nlohmann::json> ParseTargetProperties(const core::ComputeTarget& target) {
  nlohmann::json props;
  try {
    props = nlohmann::json::parse(target.properties_json.empty() ? "{}" : target.properties_json);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("compute '", target.name, "': properties are not valid JSON: ", e.what()));
  }
  if (!props.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat("compute '", target.name,
                                                   "': properties must be a JSON object (got '",
                                                   target.properties_json, "')"));
  }
  return props;
}

void MergeTargetProperties(const nlohmann::json& updates, core::ComputeTarget& target) {
  nlohmann::json props = ParseTargetProperties(target).value_or(nlohmann::json::object());
  for (const auto& [key, value] : updates.items()) {
    if (value.is_null()) {
      props.erase(key);
    } else {
      props[key] = value;
    }
  }
  target.properties_json = props.dump();
}

}  // namespace sweep::core

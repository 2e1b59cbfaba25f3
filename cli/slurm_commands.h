// Slurm-backed amlcompute targets in the CLI: the `sweep compute create|update` flags
// that set a target's Slurm settings, and the node provider `sweep run` attaches for
// `--provider slurm` targets. (The check against the running cluster is the admin's:
// compute/target_provisioner.h.)
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "cli/cli11_fwd.h"
#include "controller/controller.h"
#include "core/env.h"
#include "core/types.h"

namespace sweep::cli {

struct SlurmArgs {
  std::optional<std::string> partition;
  std::optional<std::string> account;
  std::optional<std::string> qos;
  std::optional<std::string> lowpriority_partition;
  std::optional<std::string> lowpriority_qos;
  bool any() const {
    return partition || account || qos || lowpriority_partition || lowpriority_qos;
  }
};

// --partition, --account, --qos, --lowpriority-partition, --lowpriority-qos.
void AddSlurmFlags(CLI::App* cmd, SlurmArgs& args);

// Merges the given flags into target.properties_json (an empty value clears a setting).
// InvalidArgument when flags are given for a target whose provider is not slurm.
absl::Status ApplySlurmArgs(const SlurmArgs& args, core::ComputeTarget& target);

// The node provider for `slurm` targets of a controller serving `workspace_dir` at
// `bound_address` (what the gRPC server bound; a wildcard host is replaced by this
// host's name, so nodes on other machines can dial it). Ended node jobs are reported
// to controller->NodeGone; `controller` must outlive the provider's StopAll.
std::shared_ptr<controller::NodeProvider> MakeSlurmNodeProvider(
    controller::Controller* controller, const std::string& workspace_dir,
    const std::string& token_path, const std::string& binary, const std::string& bound_address,
    core::Env* env, const std::string& tls_ca_file = "");

}  // namespace sweep::cli

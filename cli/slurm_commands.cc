#include "cli/slurm_commands.h"

#include <unistd.h>

#include <filesystem>

#include "CLI/CLI.hpp"
#include "compute/slurm_provider.h"

namespace sweep::cli {

void AddSlurmFlags(CLI::App* cmd, SlurmArgs& args) {
  cmd->add_option("--partition", args.partition,
                  "Slurm partition node jobs run in (--provider slurm)");
  cmd->add_option("--account", args.account, "Slurm account charged for node jobs");
  cmd->add_option("--qos", args.qos, "Slurm QOS of node jobs");
  cmd->add_option("--lowpriority-partition", args.lowpriority_partition,
                  "Preemptible partition used when --vm-priority lowpriority");
  cmd->add_option("--lowpriority-qos", args.lowpriority_qos,
                  "Preemptible QOS used when --vm-priority lowpriority");
}

absl::Status ApplySlurmArgs(const SlurmArgs& args, core::ComputeTarget& target) {
  if (!args.any()) return absl::OkStatus();
  if (target.provider != "slurm") {
    return absl::InvalidArgumentError(
        "compute '" + target.name +
        "': --partition, --account, --qos, "
        "--lowpriority-partition and --lowpriority-qos apply only to Slurm targets "
        "(--type amlcompute --provider slurm); this one uses provider '" +
        target.provider + "'");
  }
  absl::StatusOr<compute::SlurmSettings> settings = compute::ParseSlurmSettings(target);
  if (!settings.ok()) return settings.status();
  if (args.partition) settings->partition = *args.partition;
  if (args.account) settings->account = *args.account;
  if (args.qos) settings->qos = *args.qos;
  if (args.lowpriority_partition) settings->lowpriority_partition = *args.lowpriority_partition;
  if (args.lowpriority_qos) settings->lowpriority_qos = *args.lowpriority_qos;
  compute::StoreSlurmSettings(*settings, target);
  return absl::OkStatus();
}

std::shared_ptr<controller::NodeProvider> MakeSlurmNodeProvider(
    controller::Controller* controller, const std::string& workspace_dir,
    const std::string& token_path, const std::string& binary, const std::string& bound_address,
    core::Env* env, const std::string& tls_ca_file) {
  namespace fs = std::filesystem;
  size_t colon = bound_address.rfind(':');
  std::string host = bound_address.substr(0, colon);
  if (host == "0.0.0.0" || host == "[::]" || host == "::" || host.empty()) {
    char name[256] = {};
    host = gethostname(name, sizeof name - 1) == 0 ? name : "127.0.0.1";
  }
  const std::string dir = fs::absolute(workspace_dir).lexically_normal().string();
  compute::SlurmNodeProviderOptions options;
  options.binary = binary;
  options.server_address = host + ":" + bound_address.substr(colon + 1);
  options.token_file = fs::absolute(token_path).lexically_normal().string();
  options.log_dir = dir + "/logs";
  options.work_dir = dir + "/nodes";
  options.env = env;
  if (!tls_ca_file.empty()) {
    options.tls_ca_file = fs::absolute(tls_ca_file).lexically_normal().string();
  }
  options.on_node_gone = [controller](const std::string& node_id, const std::string& reason) {
    // NotFound: the job ended before its worker registered; nothing to end.
    controller->NodeGone(node_id, reason).IgnoreError();
  };
  return std::make_shared<compute::SlurmNodeProvider>(std::move(options));
}

}  // namespace sweep::cli

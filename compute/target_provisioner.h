// compute/'s side of the workspace's admin use cases (workspace/admin.h): what a target's
// node provider must check or do before the target is stored.
//
// - slurm targets: their settings (ValidateSlurmSettings) and the running cluster
//   (CheckSlurmTarget: partitions, QOS, account).
// - remote VMs: the credentials are kept in the workspace (remote_vm.h layout), the VM is
//   logged into with those copies under the workspace's known_hosts, `<sweep_path>
//   --version` must answer, and then an unknown host key is trusted (accept-new).
//
// Used by the process that writes the workspace: the CLI holding the workspace lock, or
// the controller serving it (handed to it by cli/serve.cc).
// Thread safety: thread-safe.
#pragma once

#include <memory>
#include <string>

#include "compute/slurm_provider.h"
#include "workspace/admin.h"

namespace sweep::compute {

// The provisioner for the workspace at `workspace_dir`; Slurm commands run through
// `runner` (null: PosixCommandRunner()).
std::shared_ptr<workspace::TargetProvisioner> NewTargetProvisioner(
    const std::string& workspace_dir, std::shared_ptr<CommandRunner> runner = nullptr);

}  // namespace sweep::compute

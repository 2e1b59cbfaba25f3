// `sweep compute attach NAME --type remotevm ...`: attaches a machine reached over SSH
// (workspace/admin.h, compute/target_provisioner.h).
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

#include "cli/cli11_fwd.h"
#include "cli/context.h"
#include "core/types.h"

namespace sweep::cli {

struct AttachArgs {
  std::string name;
  std::string type = "remotevm";
  std::string address;
  int ssh_port = 22;
  std::string username;
  std::string password_file;
  std::string private_key_file;
  std::string passphrase_file;
  std::string sweep_path = "sweep";
  int64_t workers_per_node = 1;
  std::string work_dir;
};

// Reads the credential files and hands the request to the workspace's admin (cli/admin.h),
// which logs into the VM (known-hosts policy accept-new), runs `<sweep-path> --version`
// there, keeps the credentials in the workspace and stores the target. Nothing is kept
// when any step fails. Exit 2 for bad input (arguments, credentials the server rejects,
// unreadable files), 1 for an unreachable VM, a changed host key, or sweep missing on the
// VM.
int CmdComputeAttach(const GlobalOptions& options, const AttachArgs& args);

// Adds `attach` under `compute_cmd`; its callback sets `action`.
void AddAttachCommand(CLI::App* compute_cmd, GlobalOptions& g, AttachArgs& args,
                      std::function<int()>& action);

// The SSH lines of `compute show` for a remotevm target (names the auth kind only).
void PrintRemoteVm(std::ostream& out, const core::ComputeTarget& target);

}  // namespace sweep::cli

// `sweep compute attach NAME --type remotevm ...`: attaches a machine reached over SSH
// (controller/remote_vm.h, controller/ssh_session.h).
#pragma once

#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

#include "CLI/CLI.hpp"
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

// Connects (known-hosts policy accept-new), logs in, runs `<sweep-path> --version` on the
// VM, then copies the credentials into the workspace and stores the target. Nothing is
// written when any step fails. Exit 2 for bad input (arguments, credentials the server
// rejects, unreadable files), 1 for an unreachable VM, a changed host key, or sweep
// missing on the VM.
int CmdComputeAttach(const GlobalOptions& options, const AttachArgs& args);

// Adds `attach` under `compute_cmd`; its callback sets `action`.
void AddAttachCommand(CLI::App* compute_cmd, GlobalOptions& g, AttachArgs& args,
                      std::function<int()>& action);

// The SSH lines of `compute show` for a remotevm target (names the auth kind only).
void PrintRemoteVm(std::ostream& out, const core::ComputeTarget& target);

}  // namespace sweep::cli

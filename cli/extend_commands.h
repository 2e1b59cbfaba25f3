// `sweep enqueue`: configurations the user gives a sweep; `sweep extend`: more trials for
// an ended sweep; and the routing every command that changes a sweep shares (`sweep
// cancel` too).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "cli/cli11_fwd.h"
#include "cli/context.h"
#include "cli/run_command.h"
#include "controller/controller.h"

namespace sweep::cli {

// Makes a change to the sweep `sweep_id` (a full id) where it can be made: through the
// --server, through the controller serving the workspace, else in this process under the
// workspace lock (waiting up to 30 s for another command that changes the workspace), with
// a controller loaded from the store. `role` names this command in the lock.
absl::Status ChangeSweep(const GlobalOptions& options, const workspace::Workspace* ws,
                         const std::string& role,
                         const std::function<absl::Status(const std::string& address,
                                                          const std::string& token)>& via_server,
                         const std::function<absl::Status(controller::Controller& ctrl)>& locally);

struct EnqueueArgs {
  std::string sweep_id;
  std::vector<std::string> params;  // NAME=VALUE
};
void AddEnqueueOptions(CLI::App* cmd, EnqueueArgs& args);
int CmdEnqueue(const GlobalOptions& options, const EnqueueArgs& args);

struct ExtendArgs {
  std::string sweep_id;
  controller::ExtendRequest request;
  RunArgs run;  // how the controller runs when this command runs it (no spec)
};
void AddExtendOptions(CLI::App* cmd, ExtendArgs& args);
// With --server, or when a controller serves the workspace, asks it and returns (the
// sweep runs there: `sweep watch` follows it); otherwise runs the extension to its end
// here like `sweep run`. Exit 0 when it completed, 1 failed/canceled, 2 bad input.
int CmdExtend(const GlobalOptions& options, const ExtendArgs& args);

}  // namespace sweep::cli

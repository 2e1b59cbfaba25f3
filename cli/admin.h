// Who makes a command's change to the workspace (workspace/admin.h), so that sweep.db has
// one writer: the `sweep server` of --server; else the controller serving the workspace
// (its admin rpcs, at the address it recorded in the workspace lock); else this process,
// under the workspace lock. A controller that starts between that choice and the change
// is found when the lock is taken, and the change goes to it instead.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "cli/context.h"
#include "workspace/admin.h"

namespace sweep::cli {

// `command` names this process in the workspace lock ("sweep compute create").
// InvalidArgument for a malformed --server or an unreadable token file.
absl::StatusOr<std::unique_ptr<workspace::WorkspaceAdmin>> OpenAdmin(const GlobalOptions& options,
                                                                     const std::string& command);

}  // namespace sweep::cli

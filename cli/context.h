// Shared plumbing of the CLI commands: global options, workspace opening, sweep id
// resolution, and status -> exit code mapping (0 ok, 1 runtime failure, 2 usage or
// invalid input).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "controller/workspace.h"
#include "core/types.h"

namespace sweep::cli {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

struct GlobalOptions {
  std::string workspace;  // --workspace / SWEEP_WORKSPACE / ./.sweep
  bool json = false;
  bool csv = false;
};

// The workspace dir the user chose (or the default).
std::string WorkspaceDir(const GlobalOptions& options);

// Opens the workspace for reading; NotFound names the directory and says how to make one.
absl::StatusOr<std::unique_ptr<controller::Workspace>> OpenForQuery(
    const GlobalOptions& options);

// Accepts a full sweep id or a unique prefix of one ("sw-3fa").
absl::StatusOr<core::Sweep> ResolveSweep(store::Store* store, const std::string& id_or_prefix);

// A sweep and its trials, read for a query command (the workspace stays open).
struct SweepSnapshot {
  std::unique_ptr<controller::Workspace> workspace;
  core::Sweep sweep;
  std::vector<core::Trial> trials;
};
absl::StatusOr<SweepSnapshot> LoadSweep(const GlobalOptions& options,
                                        const std::string& id_or_prefix);

// Prints "sweep: error: <message>" to stderr and returns the exit code for the status:
// InvalidArgument -> 2, anything else -> 1.
int ReportError(const absl::Status& status);

}  // namespace sweep::cli

#include "cli/context.h"

#include <filesystem>
#include <iostream>

#include "core/status.h"

namespace sweep::cli {

std::string WorkspaceDir(const GlobalOptions& options) {
  return options.workspace.empty() ? controller::DefaultWorkspaceDir() : options.workspace;
}

absl::StatusOr<std::unique_ptr<controller::Workspace>> OpenForQuery(
    const GlobalOptions& options) {
  return controller::Workspace::OpenReadOnly(WorkspaceDir(options));
}

absl::StatusOr<core::Sweep> ResolveSweep(store::Store* store, const std::string& id_or_prefix) {
  if (id_or_prefix.empty()) return absl::InvalidArgumentError("a sweep id is required");
  auto exact = store->GetSweep(id_or_prefix);
  if (exact.ok() || !absl::IsNotFound(exact.status())) return exact;
  auto sweeps = store->ListSweeps();
  if (!sweeps.ok()) return sweeps.status();
  std::optional<core::Sweep> match;
  for (const core::Sweep& s : *sweeps) {
    if (s.id.rfind(id_or_prefix, 0) != 0) continue;
    if (match) {
      return absl::InvalidArgumentError("sweep id '" + id_or_prefix +
                                        "' is ambiguous: it matches " + match->id + " and " +
                                        s.id);
    }
    match = s;
  }
  if (!match) {
    return absl::NotFoundError("no sweep '" + id_or_prefix +
                               "' in this workspace (`sweep ls` lists them)");
  }
  return *match;
}

absl::StatusOr<SweepSnapshot> LoadSweep(const GlobalOptions& options,
                                        const std::string& id_or_prefix) {
  SweepSnapshot snapshot;
  ASSIGN_OR_RETURN(snapshot.workspace, OpenForQuery(options));
  store::Store* store = snapshot.workspace->store();
  ASSIGN_OR_RETURN(snapshot.sweep, ResolveSweep(store, id_or_prefix));
  ASSIGN_OR_RETURN(snapshot.trials, store->ListTrials(snapshot.sweep.id));
  return snapshot;
}

int ReportError(const absl::Status& status) {
  std::cerr << "sweep: error: " << status.message() << "\n";
  return status.code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
}

}  // namespace sweep::cli

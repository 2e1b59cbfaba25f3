#include "cli/context.h"

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "cli/serve.h"
#include "core/status.h"
#include "rpc/admin_client.h"
#include "worker/agent.h"
#include "workspace/warm_start.h"

namespace sweep::cli {

std::string WorkspaceDir(const GlobalOptions& options) {
  return options.workspace.empty() ? workspace::DefaultWorkspaceDir() : options.workspace;
}

absl::StatusOr<std::string> ReadServerToken(const GlobalOptions& options) {
  std::string path = options.token_file;
  if (path.empty()) {
    const char* env = std::getenv("SWEEP_TOKEN_FILE");
    path = env != nullptr && *env != '\0' ? env : WorkspaceDir(options) + "/token";
  }
  absl::StatusOr<std::string> token = worker::ReadTokenFile(path);
  if (!token.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(token.status().message(),
                     "; copy the token file of the server's workspace here and pass it with "
                     "--token-file (or SWEEP_TOKEN_FILE)"));
  }
  return token;
}

absl::StatusOr<std::unique_ptr<QuerySource>> OpenForQuery(const GlobalOptions& options,
                                                          bool create) {
  auto source = std::make_unique<QuerySource>();
  if (!options.server.empty()) {
    RETURN_IF_ERROR(CheckAddress("--server", options.server, /*allow_port_zero=*/false));
    ASSIGN_OR_RETURN(std::string token, ReadServerToken(options));
    source->remote = rpc::NewRemoteStore(options.server, token);
  } else if (create) {
    ASSIGN_OR_RETURN(source->workspace, workspace::Workspace::OpenOrCreate(WorkspaceDir(options)));
  } else {
    ASSIGN_OR_RETURN(source->workspace, workspace::Workspace::OpenReadOnly(WorkspaceDir(options)));
  }
  return source;
}

absl::StatusOr<core::Sweep> ResolveSweep(store::Store* store, const std::string& id_or_prefix) {
  return workspace::FindSweep(store, id_or_prefix);
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

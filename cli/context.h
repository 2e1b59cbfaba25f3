// Shared plumbing of the CLI commands: global options, workspace opening, sweep id
// resolution, and status -> exit code mapping (0 ok, 1 runtime failure, 2 usage or
// invalid input).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/types.h"
#include "workspace/workspace.h"

namespace sweep::cli {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

struct GlobalOptions {
  std::string workspace;  // --workspace / SWEEP_WORKSPACE / ./.sweep
  bool json = false;
  bool csv = false;
  // Query and submit commands: `--server ADDR` talks to a `sweep server` instead of
  // reading the workspace; `--token-file F` holds its token.
  std::string server;
  std::string token_file;
  // TLS (docs/server.md): --tls-ca (or $SWEEP_TLS_CA) verifies a TLS controller, for
  // clients and `sweep worker`; --tls-cert/--tls-key make `sweep run|server` serve TLS.
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
};

// The workspace dir the user chose (or the default).
std::string WorkspaceDir(const GlobalOptions& options);

// The token sent to a server: the file named by --token-file, else $SWEEP_TOKEN_FILE,
// else <workspace>/token. InvalidArgument naming the file when it cannot be read.
absl::StatusOr<std::string> ReadServerToken(const GlobalOptions& options);

// Where a query command reads: the workspace's store, or with --server the server's
// (a read-only RemoteStore). store() is valid as long as this lives.
struct QuerySource {
  std::unique_ptr<workspace::Workspace> workspace;  // null with --server
  std::unique_ptr<store::Store> remote;             // set with --server
  store::Store* store() const { return remote ? remote.get() : workspace->store(); }
};

// Opens the workspace for reading (creating it first if `create`), or connects to
// options.server. NotFound names the directory and says how to make one;
// InvalidArgument for a malformed --server address or an unreadable token file.
absl::StatusOr<std::unique_ptr<QuerySource>> OpenForQuery(const GlobalOptions& options,
                                                          bool create = false);

// Accepts a full sweep id or a unique prefix of one ("sw-3fa").
absl::StatusOr<core::Sweep> ResolveSweep(store::Store* store, const std::string& id_or_prefix);

// A sweep and its trials, read for a query command (the workspace stays open).
struct SweepSnapshot {
  std::unique_ptr<QuerySource> workspace;
  core::Sweep sweep;
  std::vector<core::Trial> trials;
};
absl::StatusOr<SweepSnapshot> LoadSweep(const GlobalOptions& options,
                                        const std::string& id_or_prefix);

// Prints "sweep: error: <message>" to stderr and returns the exit code for the status:
// InvalidArgument -> 2, anything else -> 1.
int ReportError(const absl::Status& status);

}  // namespace sweep::cli

// A workspace directory: sweep.db, snapshots/, artifacts/, the auth token, and the
// address of the controller currently serving it.
//
//   <dir>/sweep.db         SQLite store, created mode 0600 (the directory: 0700)
//   <dir>/token            random auth token, mode 0600
//   <dir>/controller.json  {"address": "127.0.0.1:PORT", "pid": N} while a controller runs
//   <dir>/controller.lock  the workspace lock of its one writer (workspace_lock.h)
//
// Files, the clock and randomness go through the Env given to Open (not owned; it must
// outlive the Workspace). SQLite does its own I/O.
//
// Thread safety: immutable after Open, except the controller file helpers.
#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "core/env.h"
#include "store/store.h"

namespace sweep::workspace {

// Default workspace dir: $SWEEP_WORKSPACE, else ./.sweep.
std::string DefaultWorkspaceDir();

// Creates the workspace directory (with parents) if missing; a directory it creates is
// mode 0700 (it holds the token and every trial's code and outputs). An existing one is left
// as it is. The errno status of the failure, naming the directory.
absl::Status CreateWorkspaceDir(core::Env* env, const std::string& dir);

struct ControllerAddress {
  std::string address;
  int64_t pid = 0;
};

class Workspace {
 public:
  // Creates the directory, token and database if missing (and the default
  // `cpu-cluster` target: amlcompute, provider local, min 0, max = cores).
  static absl::StatusOr<std::unique_ptr<Workspace>> OpenOrCreate(
      const std::string& dir, core::Env* env = core::Env::Default());
  // Read-only, for query commands: NotFound (naming the dir) if there is no workspace.
  static absl::StatusOr<std::unique_ptr<Workspace>> OpenReadOnly(
      const std::string& dir, core::Env* env = core::Env::Default());

  const std::string& dir() const { return dir_; }
  core::Env* env() const { return env_; }
  store::Store* store() const { return store_.get(); }
  const std::string& token() const { return token_; }
  std::string token_path() const { return dir_ + "/token"; }

  // The key node secrets are derived from (rpc/grpc_service.h): <dir>/node.key, random,
  // mode 0600, created on first use; it never leaves this host.
  absl::StatusOr<std::string> NodeKey() const;

  // controller.json; the running controller writes it and removes it on exit.
  absl::Status WriteControllerAddress(const ControllerAddress& address) const;
  void RemoveControllerAddress() const;
  // nullopt if absent or its pid is no longer alive.
  std::optional<ControllerAddress> ReadControllerAddress() const;

 private:
  Workspace(std::string dir, core::Env* env, std::unique_ptr<store::Store> store, std::string token)
      : dir_(std::move(dir)), env_(env), store_(std::move(store)), token_(std::move(token)) {}
  std::string dir_;
  core::Env* env_;
  std::unique_ptr<store::Store> store_;
  std::string token_;
};

}  // namespace sweep::workspace

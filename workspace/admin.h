// Changes a user makes to a workspace (`sweep compute create|update|delete|attach`,
// `sweep environment create`, `sweep models register`): the use cases, and WorkspaceAdmin,
// the interface the CLI makes them through.
//
// sweep.db has one writer at a time (workspace_lock.h), so there are two admins:
// - the local one (NewLocalAdmin): this process, holding the workspace lock while it
//   changes the workspace; for when no controller serves it;
// - the remote one (rpc/admin_client.h): the admin rpcs of the controller that serves the
//   workspace, which runs these same use cases (StoreAdmin) serialised with its own state
//   (controller/admin.h).
//
// The steps that need a node provider's system (does the Slurm cluster know the partition,
// can the VM be logged into) need compute/, which workspace/ may not use: the use cases
// call them through TargetProvisioner (compute/target_provisioner.h implements it).
//
// Every change that succeeds is recorded as a workspace-level event (sweep_id ""):
// compute_created, compute_updated, compute_deleted, compute_attached,
// environment_created, model_registered.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/clock.h"
#include "core/types.h"
#include "store/store.h"
#include "workspace/registry.h"
#include "workspace/workspace_lock.h"

namespace sweep::workspace {

enum class PutMode { kCreate, kUpdate };

// AttachRemoteVm's request: the VM, how to log in, and what the target runs there.
// The credentials are the bytes of the user's files; they are kept in the workspace
// (0600) and never logged nor put into a status message.
struct RemoteVmRequest {
  std::string name = {};
  std::string address = {};  // host name or IP address
  int64_t port = 22;
  std::string username = {};
  std::optional<std::string> password = {};  // exactly one of password and private_key
  std::optional<std::string> private_key = {};
  std::optional<std::string> passphrase = {};  // decrypts private_key
  // What error messages call each credential (the user's file, say); "" = its stored copy.
  std::string password_source = {};
  std::string private_key_source = {};
  std::string passphrase_source = {};
  std::string sweep_path = "sweep";  // the sweep binary on the VM
  std::string work_dir = {};         // "" = ~/.sweep-remote/<name> on the VM
  int64_t workers_per_node = 1;
};

// An attached VM, and what attaching it found.
struct AttachedRemoteVm {
  core::ComputeTarget target = {};        // as stored
  std::string endpoint = {};              // "user@host:port"
  std::string host_key_fingerprint = {};  // "SHA256:..."
  bool host_key_added = false;        // the host was unknown; its key is now in known_hosts_file
  std::string known_hosts_file = {};  // in the workspace of the process that attached it
  std::string remote_version = {};    // what `sweep --version` printed on the VM
};

// The provider-specific steps of the use cases. Implementations are thread-safe.
class TargetProvisioner {
 public:
  virtual ~TargetProvisioner() = default;
  // The provider's checks of a target about to be stored: its own settings, and whether
  // the provider's system knows them (a Slurm cluster's partitions). OK for providers
  // without any. InvalidArgument / FailedPrecondition naming the target.
  virtual absl::Status CheckTarget(const core::ComputeTarget& target) = 0;
  // Keeps the request's credentials in the workspace, logs into the VM with them (an
  // unknown host key is trusted once the VM proved to run sweep: accept-new), and returns
  // the remotevm target to store (created_ms unset). The request is already validated.
  // On error nothing is kept and no host is trusted.
  virtual absl::StatusOr<AttachedRemoteVm> AttachRemoteVm(const RemoteVmRequest& request) = 0;
  // Forgets what was kept for target `name` (its credentials); nothing to forget is fine.
  virtual void ForgetTarget(const std::string& name) = 0;
};

// Makes the changes; see the file comment for the implementations. Thread-safe.
// Errors carry user-facing messages: InvalidArgument for a bad request (exit 2 in the
// CLI), NotFound / AlreadyExists / FailedPrecondition as each method says.
class WorkspaceAdmin {
 public:
  virtual ~WorkspaceAdmin() = default;

  // Reads of the workspace being changed (to complete a request, e.g. the target an
  // update starts from). Only for reading; valid as long as the admin lives.
  virtual absl::StatusOr<store::Store*> reader() = 0;

  // kCreate: stores a new target (AlreadyExists when the name is taken; InvalidArgument
  // for a remotevm target: those are attached). kUpdate: replaces a stored one, keeping
  // its creation time (NotFound for an unknown name; InvalidArgument when a remotevm
  // target's node counts change). InvalidArgument for a target that cannot host sweeps
  // (core::ValidateComputeTarget), then the provisioner's checks. Returns what was stored.
  virtual absl::StatusOr<core::ComputeTarget> PutComputeTarget(const core::ComputeTarget& target,
                                                               PutMode mode) = 0;
  // Deletes a target and what was kept for it (credentials). NotFound for an unknown
  // name; FailedPrecondition naming the sweep while a running sweep uses it.
  virtual absl::Status DeleteComputeTarget(const std::string& name) = 0;
  // Attaches a VM as a remotevm target. InvalidArgument naming the bad field (name,
  // address, port, username, credentials, workers per node, sweep path); AlreadyExists
  // for a taken name; then the errors of logging in (compute/ssh_session.h) and of
  // checking that sweep runs on the VM (FailedPrecondition).
  virtual absl::StatusOr<AttachedRemoteVm> AttachRemoteVm(const RemoteVmRequest& request) = 0;
  // workspace::CreateEnvironment (registry.h) with the current time.
  virtual absl::StatusOr<CreatedEnvironment> CreateEnvironment(
      const core::Environment& definition) = 0;
  // workspace::RegisterModel (registry.h); request.sweep_id is a full sweep id.
  virtual absl::StatusOr<core::Model> RegisterModel(const ModelRequest& request) = 0;
};

// The use cases over a store this process writes: the lock holder's, or the serving
// controller's. Thread-safe when the store is; callers serialise changes of one target.
class StoreAdmin : public WorkspaceAdmin {
 public:
  // Members default to {} so designated initializers may leave some out.
  struct Options {
    std::string workspace_dir = {};
    // Null: targets get only the static checks, and remote VMs cannot be attached
    // (FailedPrecondition).
    std::shared_ptr<TargetProvisioner> provisioner = {};
    core::Clock* clock = core::SystemClock::Default();
    // Records a change's event; null: committed to the store.
    std::function<void(const core::Event&)> record = {};
    // Sweeps that use a target beyond the running ones the store lists (a controller's
    // sweeps whose last attempts are still stopping); null: none.
    std::function<std::vector<std::string>(const std::string& compute)> also_using = {};
    // Told about a stored (target set) or deleted (null) target after the commit.
    std::function<void(const std::string& name, const core::ComputeTarget* target)> target_changed =
        {};
  };
  // `open` returns the store to use, opening it on first use; it is called only after a
  // request passed the checks that need no workspace, so a refused request creates none.
  StoreAdmin(std::function<absl::StatusOr<store::Store*>()> open, Options options);

  absl::StatusOr<store::Store*> reader() override { return open_(); }
  absl::StatusOr<core::ComputeTarget> PutComputeTarget(const core::ComputeTarget& target,
                                                       PutMode mode) override;
  absl::Status DeleteComputeTarget(const std::string& name) override;
  absl::StatusOr<AttachedRemoteVm> AttachRemoteVm(const RemoteVmRequest& request) override;
  absl::StatusOr<CreatedEnvironment> CreateEnvironment(
      const core::Environment& definition) override;
  absl::StatusOr<core::Model> RegisterModel(const ModelRequest& request) override;

 private:
  void Record(store::Store* store, const std::string& kind, const std::string& message);
  void Changed(const std::string& name, const core::ComputeTarget* target) const;

  const std::function<absl::StatusOr<store::Store*>()> open_;
  const Options options_;
  TargetProvisioner& provisioner_;
};

// The local admin of the workspace at `dir`, for when no controller serves it. It takes
// the workspace lock and opens (creating) the workspace when a request first needs it, and
// holds the lock until it is destroyed; it waits while another command holds the lock
// (workspace_lock.h). When a controller turns out to hold it (one started after this
// admin was chosen), each call returns ServedByController's status and changes nothing.
// `command` names this process in the lock ("sweep compute create").
std::unique_ptr<WorkspaceAdmin> NewLocalAdmin(const std::string& dir, const std::string& command,
                                              std::shared_ptr<TargetProvisioner> provisioner);

// FailedPrecondition saying that a controller (`holder`) serves the workspace at `dir`,
// carrying its address for ServingAddress.
absl::Status ServedByController(const std::string& dir, const LockHolder& holder);
// The address of ServedByController's status; nullopt for any other status.
std::optional<std::string> ServingAddress(const absl::Status& status);

}  // namespace sweep::workspace

#include "workspace/admin.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "core/compute_target.h"
#include "core/status.h"
#include "workspace/workspace.h"

namespace sweep::workspace {
namespace {

constexpr int64_t kMaxWorkersPerNode = 256;
// A credential file is a password, a key or a passphrase: a few KiB at most.
constexpr size_t kMaxCredentialBytes = 64 << 10;
// How long a local change waits for another command, or a starting controller, to be done.
constexpr int64_t kLockWaitMs = 30'000;
constexpr char kServedByUrl[] = "type.sweep/served-by-controller";

// Without a provisioner: only the static checks; nothing to attach with, nothing kept.
class StaticProvisioner final : public TargetProvisioner {
 public:
  absl::Status CheckTarget(const core::ComputeTarget&) override { return absl::OkStatus(); }
  absl::StatusOr<AttachedRemoteVm> AttachRemoteVm(const RemoteVmRequest& request) override {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot attach '", request.name, "': this process has no SSH provider to log into VMs"));
  }
  void ForgetTarget(const std::string&) override {}
};

TargetProvisioner& NoProvisioner() {
  static StaticProvisioner* const provisioner = new StaticProvisioner();  // stateless
  return *provisioner;
}

absl::Status ValidateAttach(const RemoteVmRequest& r) {
  RETURN_IF_ERROR(core::ValidateComputeName(r.name));
  if (r.address.empty()) {
    return absl::InvalidArgumentError("--address must name the VM (host name or IP address)");
  }
  if (r.port < 1 || r.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--ssh-port must be 1-65535 (got ", r.port, ")"));
  }
  if (r.username.empty()) return absl::InvalidArgumentError("--username must not be empty");
  if (r.password.has_value() == r.private_key.has_value()) {
    return absl::InvalidArgumentError(
        "pass exactly one of --password-file F or --private-key-file F to log into the VM");
  }
  if (r.passphrase && !r.private_key) {
    return absl::InvalidArgumentError(
        "--private-key-passphrase-file needs --private-key-file (it decrypts that key)");
  }
  for (const auto& [secret, what] :
       {std::pair{&r.password, "password"}, std::pair{&r.private_key, "private key"},
        std::pair{&r.passphrase, "passphrase"}}) {
    if (*secret && (*secret)->size() > kMaxCredentialBytes) {
      return absl::InvalidArgumentError(absl::StrCat("the ", what, " is ", (*secret)->size(),
                                                     " bytes; at most ", kMaxCredentialBytes,
                                                     " are accepted"));
    }
  }
  if (r.workers_per_node < 1 || r.workers_per_node > kMaxWorkersPerNode) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--workers-per-node must be 1-", kMaxWorkersPerNode, " (got ", r.workers_per_node, ")"));
  }
  if (r.sweep_path.empty()) return absl::InvalidArgumentError("--sweep-path must not be empty");
  return absl::OkStatus();
}

std::string Summary(const core::ComputeTarget& t) {
  return absl::StrCat(t.name, " (", t.type, ", provider ", t.provider, ", ", t.min_nodes, "-",
                      t.max_nodes, " nodes)");
}

// The local admin: takes the workspace lock and opens the workspace on first use.
class LocalAdmin final : public StoreAdmin {
 public:
  LocalAdmin(const std::string& dir, const std::string& command,
             std::shared_ptr<TargetProvisioner> provisioner)
      : StoreAdmin([this] { return Open(); },
                   Options{.workspace_dir = dir, .provisioner = std::move(provisioner)}),
        dir_(dir),
        command_(command) {}

 private:
  absl::StatusOr<store::Store*> Open() {
    std::lock_guard<std::mutex> guard(mu_);
    if (!lock_) {
      const auto deadline =
          std::chrono::steady_clock::now() + std::chrono::milliseconds(kLockWaitMs);
      const LockHolder me{.pid = ::getpid(), .role = command_};
      while (true) {
        ASSIGN_OR_RETURN(LockAttempt attempt, WorkspaceLock::Acquire(dir_, me, kLockWaitMs));
        if (attempt.lock) {
          lock_ = std::move(attempt.lock);
          break;
        }
        if (!attempt.holder.address.empty()) return ServedByController(dir_, attempt.holder);
        // A controller still starting: it says where it serves in a moment.
        if (std::chrono::steady_clock::now() >= deadline) {
          return absl::FailedPreconditionError(
              absl::StrCat("workspace ", dir_, " is held by a controller (",
                           attempt.holder.Describe(), ") that has not started serving after ",
                           kLockWaitMs / 1000, " s; try again when it serves"));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    if (!workspace_) {
      ASSIGN_OR_RETURN(workspace_, Workspace::OpenOrCreate(dir_));
    }
    return workspace_->store();
  }

  const std::string dir_;
  const std::string command_;
  std::mutex mu_;
  std::unique_ptr<WorkspaceLock> lock_;   // held from the first Open on
  std::unique_ptr<Workspace> workspace_;  // destroyed before the lock is released
};

}  // namespace

StoreAdmin::StoreAdmin(std::function<absl::StatusOr<store::Store*>()> open, Options options)
    : open_(std::move(open)),
      options_(std::move(options)),
      provisioner_(options_.provisioner ? *options_.provisioner : NoProvisioner()) {}

absl::StatusOr<core::ComputeTarget> StoreAdmin::PutComputeTarget(const core::ComputeTarget& in,
                                                                 PutMode mode) {
  core::ComputeTarget target = in;
  RETURN_IF_ERROR(core::ValidateComputeName(target.name));
  store::Store* store = nullptr;
  if (mode == PutMode::kCreate && target.type == "remotevm") {
    return absl::InvalidArgumentError(absl::StrCat(
        "remotevm targets are attached, not created: `sweep compute attach ", target.name,
        " --type remotevm --address HOST --username USER (--password-file F | "
        "--private-key-file F)`"));
  }
  if (mode == PutMode::kUpdate) {
    ASSIGN_OR_RETURN(store, open_());
    absl::StatusOr<core::ComputeTarget> stored = store->GetCompute(target.name);
    if (absl::IsNotFound(stored.status())) {
      return absl::NotFoundError(absl::StrCat("compute target '", target.name,
                                              "' not found (`sweep compute list` lists them)"));
    }
    if (!stored.ok()) return stored.status();
    if (stored->type == "remotevm" &&
        (stored->min_nodes != target.min_nodes || stored->max_nodes != target.max_nodes)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "remotevm target '", target.name,
          "' runs the workers given by --workers-per-node when it was attached; delete it and "
          "attach it again to change that"));
    }
    target.created_ms = stored->created_ms;
  }
  // Everything that needs no workspace first: a refused target creates none.
  RETURN_IF_ERROR(core::ValidateComputeTarget(target));
  RETURN_IF_ERROR(provisioner_.CheckTarget(target));
  if (mode == PutMode::kCreate) {
    ASSIGN_OR_RETURN(store, open_());
    if (store->GetCompute(target.name).ok()) {
      return absl::AlreadyExistsError(absl::StrCat("compute target '", target.name,
                                                   "' already exists; change it with `sweep "
                                                   "compute update ",
                                                   target.name, " ...`"));
    }
    target.created_ms = options_.clock->NowMillis();
  }
  RETURN_IF_ERROR(store->Commit({.computes = {target}}));
  Record(store, mode == PutMode::kCreate ? "compute_created" : "compute_updated", Summary(target));
  Changed(target.name, &target);
  return target;
}

absl::Status StoreAdmin::DeleteComputeTarget(const std::string& name) {
  ASSIGN_OR_RETURN(store::Store * store, open_());
  absl::StatusOr<core::ComputeTarget> stored = store->GetCompute(name);
  if (absl::IsNotFound(stored.status())) {
    return absl::NotFoundError(absl::StrCat("compute target '", name, "' not found"));
  }
  if (!stored.ok()) return stored.status();
  ASSIGN_OR_RETURN(std::vector<core::Sweep> sweeps, store->ListSweeps());
  for (const core::Sweep& s : sweeps) {
    if (s.compute == name && s.state == core::SweepState::kRunning) {
      return absl::FailedPreconditionError(
          absl::StrCat("compute target '", name, "' is used by running sweep ", s.id,
                       "; cancel it first (`sweep cancel ", s.id, "`)"));
    }
  }
  if (options_.also_using) {
    std::vector<std::string> users = options_.also_using(name);
    if (!users.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("compute target '", name, "' is still used by sweep ", users.front(),
                       ", whose last trials are stopping; try again in a moment"));
    }
  }
  RETURN_IF_ERROR(store->Commit({.deleted_computes = {name}}));
  provisioner_.ForgetTarget(name);
  Record(store, "compute_deleted", name);
  Changed(name, nullptr);
  return absl::OkStatus();
}

absl::StatusOr<AttachedRemoteVm> StoreAdmin::AttachRemoteVm(const RemoteVmRequest& request) {
  RETURN_IF_ERROR(ValidateAttach(request));
  ASSIGN_OR_RETURN(store::Store * store, open_());
  if (store->GetCompute(request.name).ok()) {
    return absl::AlreadyExistsError(
        absl::StrCat("compute target '", request.name,
                     "' already exists; delete it first (`sweep compute delete ", request.name,
                     "`) to attach it again"));
  }
  ASSIGN_OR_RETURN(AttachedRemoteVm attached, provisioner_.AttachRemoteVm(request));
  attached.target.created_ms = options_.clock->NowMillis();
  absl::Status status = core::ValidateComputeTarget(attached.target);
  if (status.ok()) status = store->Commit({.computes = {attached.target}});
  if (!status.ok()) {
    provisioner_.ForgetTarget(request.name);
    return status;
  }
  Record(store, "compute_attached",
         absl::StrCat(request.name, " (remotevm, ", attached.endpoint, ", ",
                      request.workers_per_node, " worker(s))"));
  Changed(request.name, &attached.target);
  return attached;
}

absl::StatusOr<CreatedEnvironment> StoreAdmin::CreateEnvironment(
    const core::Environment& definition) {
  ASSIGN_OR_RETURN(store::Store * store, open_());
  ASSIGN_OR_RETURN(CreatedEnvironment created,
                   workspace::CreateEnvironment(store, definition, options_.clock->NowMillis()));
  if (created.created) {
    Record(store, "environment_created",
           absl::StrCat(created.environment.name, " version ", created.environment.version));
  }
  return created;
}

absl::StatusOr<core::Model> StoreAdmin::RegisterModel(const ModelRequest& request) {
  ASSIGN_OR_RETURN(store::Store * store, open_());
  ASSIGN_OR_RETURN(core::Model model,
                   workspace::RegisterModel(store, options_.workspace_dir, request,
                                            options_.clock->NowMillis()));
  Record(store, "model_registered",
         absl::StrCat(model.name, " version ", model.version, " from trial ", model.trial_id,
                      " of sweep ", model.sweep_id));
  return model;
}

void StoreAdmin::Record(store::Store* store, const std::string& kind, const std::string& message) {
  core::Event event;
  event.kind = kind;
  event.message = message;
  event.timestamp_ms = options_.clock->NowMillis();
  // The change itself is durable by now; a lost record of it is not worth failing for.
  if (options_.record) {
    options_.record(event);
  } else {
    store->Commit({.events = {event}}).IgnoreError();
  }
}

void StoreAdmin::Changed(const std::string& name, const core::ComputeTarget* target) const {
  if (options_.target_changed) options_.target_changed(name, target);
}

std::unique_ptr<WorkspaceAdmin> NewLocalAdmin(const std::string& dir, const std::string& command,
                                              std::shared_ptr<TargetProvisioner> provisioner) {
  return std::make_unique<LocalAdmin>(dir, command, std::move(provisioner));
}

absl::Status ServedByController(const std::string& dir, const LockHolder& holder) {
  absl::Status status = absl::FailedPreconditionError(
      absl::StrCat("workspace ", dir, " is served by a controller (", holder.Describe(), ")"));
  status.SetPayload(kServedByUrl, absl::Cord(holder.address));
  return status;
}

std::optional<std::string> ServingAddress(const absl::Status& status) {
  auto payload = status.GetPayload(kServedByUrl);
  if (!payload) return std::nullopt;
  return std::string(*payload);
}

}  // namespace sweep::workspace

#include "controller/admin.h"

#include <utility>

namespace sweep::controller {

ControllerAdmin::ControllerAdmin(store::Store* store, const ControllerOptions& options, Hooks hooks)
    : admin_([store]() -> absl::StatusOr<store::Store*> { return store; },
             workspace::StoreAdmin::Options{.workspace_dir = options.workspace_dir,
                                            .provisioner = options.provisioner,
                                            .clock = options.clock,
                                            .record = std::move(hooks.record),
                                            .also_using = std::move(hooks.also_using),
                                            .target_changed = std::move(hooks.target_changed)}) {}

std::shared_lock<std::shared_mutex> ControllerAdmin::HoldTargets() {
  return std::shared_lock<std::shared_mutex>(targets_mu_);
}

absl::StatusOr<core::ComputeTarget> ControllerAdmin::PutComputeTarget(
    const core::ComputeTarget& target, workspace::PutMode mode) {
  std::lock_guard<std::mutex> changes(changes_mu_);
  std::unique_lock<std::shared_mutex> targets(targets_mu_);
  return admin_.PutComputeTarget(target, mode);
}

absl::Status ControllerAdmin::DeleteComputeTarget(const std::string& name) {
  std::lock_guard<std::mutex> changes(changes_mu_);
  std::unique_lock<std::shared_mutex> targets(targets_mu_);
  return admin_.DeleteComputeTarget(name);
}

absl::StatusOr<workspace::AttachedRemoteVm> ControllerAdmin::AttachRemoteVm(
    const workspace::RemoteVmRequest& request) {
  // A new target no sweep can use yet: submissions need not wait for the SSH handshake.
  std::lock_guard<std::mutex> changes(changes_mu_);
  return admin_.AttachRemoteVm(request);
}

absl::StatusOr<workspace::CreatedEnvironment> ControllerAdmin::CreateEnvironment(
    const core::Environment& definition) {
  // Versions are claimed by the store's insert; nothing of the controller's state changes.
  return admin_.CreateEnvironment(definition);
}

absl::StatusOr<core::Model> ControllerAdmin::RegisterModel(const workspace::ModelRequest& request) {
  // The registry serialises registrations of a name (a file lock), also with the
  // controller's own register_model.
  return admin_.RegisterModel(request);
}

}  // namespace sweep::controller

// The Controller's admin methods (controller.h, "Admin"): the workspace use cases of
// workspace/admin.h (StoreAdmin) run by the controller that serves the workspace, on its
// store, serialised with its own state:
// - changes of targets run one at a time;
// - a target is not put or deleted while a sweep is being submitted: SubmitSweep holds
//   HoldTargets() from reading its target until the sweep is recorded, so a delete sees
//   every sweep that got past that read (durable, `running`) and refuses;
// - Hooks::also_using adds the sweeps whose last attempts are still stopping;
// - Hooks::target_changed tells the autoscaler about a stored or deleted target at once;
// - Hooks::record commits each change's event through the controller's own commits, so
//   its event listener (the server's log) sees it.
//
// Lock order: HoldTargets / the target locks are taken before the controller's own mutex,
// never while holding it; the hooks may take it.
// Thread safety: thread-safe.
#pragma once

#include <mutex>
#include <shared_mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "controller/controller.h"
#include "workspace/admin.h"

namespace sweep::controller {

class ControllerAdmin {
 public:
  struct Hooks {
    std::function<void(const core::Event&)> record;
    std::function<std::vector<std::string>(const std::string& compute)> also_using;
    std::function<void(const std::string& name, const core::ComputeTarget* target)> target_changed;
  };
  // `store` (not owned) is the controller's; options.workspace_dir and options.provisioner
  // as in ControllerOptions.
  ControllerAdmin(store::Store* store, const ControllerOptions& options, Hooks hooks);

  // Held (shared) by SubmitSweep; PutComputeTarget and DeleteComputeTarget wait for it.
  std::shared_lock<std::shared_mutex> HoldTargets();

  absl::StatusOr<core::ComputeTarget> PutComputeTarget(const core::ComputeTarget& target,
                                                       workspace::PutMode mode);
  absl::Status DeleteComputeTarget(const std::string& name);
  absl::StatusOr<workspace::AttachedRemoteVm> AttachRemoteVm(
      const workspace::RemoteVmRequest& request);
  absl::StatusOr<workspace::CreatedEnvironment> CreateEnvironment(
      const core::Environment& definition);
  absl::StatusOr<core::Model> RegisterModel(const workspace::ModelRequest& request);

 private:
  std::mutex changes_mu_;         // one target change at a time (an attach takes seconds)
  std::shared_mutex targets_mu_;  // exclusive: a put or delete; shared: a submission
  workspace::StoreAdmin admin_;
};

}  // namespace sweep::controller

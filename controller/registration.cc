#include "controller/registration.h"

#include "absl/strings/str_cat.h"
#include "controller/controller_impl.h"
#include "workspace/registry.h"

namespace sweep::controller {

std::vector<PendingRegistration> PendingRegistrations(const State& state) {
  std::vector<PendingRegistration> pending;
  for (const auto& [id, s] : state.sweeps) {
    if (s->register_pending && s->end_seq > 0) {
      pending.push_back({id, s->spec.register_model, s->end_seq});
    }
  }
  return pending;
}

core::Event RegisterSweepModel(store::Store* store, const std::string& workspace_dir,
                               const PendingRegistration& pending, int64_t now_ms, core::Env* env) {
  absl::StatusOr<core::Model> model =
      workspace_dir.empty()
          ? absl::FailedPreconditionError("this controller has no workspace directory")
          : workspace::RegisterModel(
                store, workspace_dir,
                workspace::ModelRequest{.name = pending.model, .sweep_id = pending.sweep_id},
                now_ms, env);
  if (!model.ok()) {
    return NewEvent(pending.sweep_id, 0, "model_registration_failed",
                    absl::StrCat("model ", pending.model, ": ", model.status().message()), now_ms);
  }
  return NewEvent(pending.sweep_id, model->trial_id, "model_registered",
                  absl::StrCat("model ", model->name, " version ", model->version, " from trial ",
                               model->trial_id),
                  now_ms);
}

bool ControllerImpl::NodeIsClaimed(const std::string& node_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = state_.nodes.find(node_id);
  return it != state_.nodes.end() && (it->second.node.state != "gone" || it->second.lease);
}

}  // namespace sweep::controller

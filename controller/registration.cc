#include "controller/registration.h"

#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "controller/controller_impl.h"
#include "core/objective.h"
#include "workspace/registry.h"

namespace sweep::controller {

std::vector<PendingRegistration> PendingRegistrations(const State& state) {
  std::vector<PendingRegistration> pending;
  for (const auto& [id, s] : state.sweeps) {
    if (s->register_pending && s->end_seq > 0) {
      pending.push_back({id, s->spec.register_model, s->end_seq});
    }
  }
  for (const auto& [sweep_id, model] : state.recovered_registrations) {
    pending.push_back({sweep_id, model, /*end_seq=*/0});  // the end is durable already
  }
  return pending;
}

namespace {

// The version of `name` that already holds the sweep's best trial (an extended sweep whose
// best did not change), if any.
std::optional<core::Model> SameBestRegistered(store::Store* store,
                                              const PendingRegistration& pending) {
  absl::StatusOr<core::Sweep> sweep = store->GetSweep(pending.sweep_id);
  absl::StatusOr<std::vector<core::Trial>> trials = store->ListTrials(pending.sweep_id);
  absl::StatusOr<std::vector<core::Model>> models = store->ListModels();
  if (!sweep.ok() || !trials.ok() || !models.ok()) return std::nullopt;
  std::optional<core::Trial> best = core::BestTrial(*sweep, *trials, /*completed_only=*/true);
  if (!best) return std::nullopt;
  std::optional<core::Model> found;
  for (const core::Model& m : *models) {  // by version: the last match is the newest
    if (m.name == pending.model && m.sweep_id == pending.sweep_id) found = m;
  }
  if (found && found->trial_id == best->trial_id) return found;
  return std::nullopt;
}

}  // namespace

core::Event RegisterSweepModel(store::Store* store, const std::string& workspace_dir,
                               const PendingRegistration& pending, int64_t now_ms, core::Env* env) {
  if (std::optional<core::Model> same = SameBestRegistered(store, pending)) {
    return NewEvent(
        pending.sweep_id, same->trial_id, "model_unchanged",
        absl::StrCat("model ", same->name, " version ", same->version,
                     " already holds the best trial ", same->trial_id, "; no new version"),
        now_ms);
  }
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

// register_model (controller.h, "Semantics"): when a sweep with `register_model: {name}`
// ends completed, its best completed trial is registered (workspace/registry.h) once the
// end is durable, and an event records the outcome; the sweep's state never changes.
//
// Thread safety: PendingRegistrations requires ControllerImpl's mu_; RegisterSweepModel
// must run without it (it reads the store and copies files).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "controller/state.h"
#include "core/env.h"
#include "core/types.h"
#include "store/store.h"

namespace sweep::controller {

struct PendingRegistration {
  std::string sweep_id;
  std::string model;     // the name to register under
  uint64_t end_seq = 0;  // wait for this commit before reading the sweep's trials
};

// Sweeps whose end is queued and whose model is still to be registered, and those recovery
// found with their registration not done (State::recovered_registrations).
std::vector<PendingRegistration> PendingRegistrations(const State& state);

// Registers the sweep's best completed trial as the next version of the model and returns
// the event to commit: "model_registered" naming the version, or
// "model_registration_failed" with the reason (also without a workspace directory).
// When a version of the model from this sweep already holds its best trial (an extension
// that did not improve on it), nothing is registered: "model_unchanged" names that version.
core::Event RegisterSweepModel(store::Store* store, const std::string& workspace_dir,
                               const PendingRegistration& pending, int64_t now_ms, core::Env* env);

}  // namespace sweep::controller

// What a sweep learns from beyond its own trials: the warm-start trials of earlier sweeps
// (workspace/warm_start.h), and the earlier trials of a sweep that is extended
// (Controller::ExtendSweep, extension.cc).
//
// Thread safety: none; a SweepRec not yet shared, or ControllerImpl's mu_ (state.h).
#pragma once

#include <string>

#include "controller/controller.h"
#include "controller/state.h"
#include "workspace/warm_start.h"

namespace sweep::controller {

// Puts the warm-start trials at the front of s.history (s.warm counts them). Requires a
// sweep with no trial yet.
void SeedWarmStart(SweepRec& s, const workspace::WarmStart& warm);

// InvalidArgument naming the limit when an extension's request is unusable on its own.
absl::Status CheckExtendRequest(const ExtendRequest& request);

// The `sweep_extended` event's text.
std::string ExtendedMessage(const SweepRec& s, int64_t trials_before);

}  // namespace sweep::controller

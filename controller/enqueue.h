// Trials whose configuration the user gave (spec initial_points, `sweep enqueue`): they
// join the sweep's queue of pending trials, so they run before any sampled one, and the
// sampler's history, so it avoids and learns from them like from its own.
//
// Thread safety: none; requires ControllerImpl's mu_ (state.h).
#pragma once

#include <cstdint>

#include "controller/state.h"
#include "core/search_space.h"

namespace sweep::controller {

// Creates the next trial of `s` with `point` (already checked against the space), origin
// "enqueued", pending and queued after the trials already waiting; records it and a
// `trial_enqueued` event in `txn`. The caller checks that `s` runs and has room.
TrialRec& EnqueuePoint(Txn& txn, SweepRec& s, core::Config point, int64_t now);

}  // namespace sweep::controller

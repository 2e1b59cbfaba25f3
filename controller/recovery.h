// Loading after a restart: rebuilds the controller's memory (state.h) from the store. Nodes
// not gone come back idle with a full silence window; each running sweep is resumed with
// its trials, latest attempts, curves, early-termination state and pending stops, its live
// attempts get their grants back (so their nodes can re-acquire them), and leases that ran
// out while no controller was up are expired. A sweep that cannot be resumed (its spec no
// longer parses, its environment is gone, ...) is ended failed "cannot resume after
// restart: ...". A sweep that ended while attempts were still stopping is not reloaded:
// those attempts end `stopped` (their trials, if not ended, `canceled`), so nothing stays
// running in the store. A completed sweep whose register_model has no outcome event yet is
// queued in State::recovered_registrations (the controller died before registering).
//
// Thread safety: requires ControllerImpl's mu_ (it runs once, before the controller is
// shared). Ownership: borrows everything in RecoveryContext for the call.
#pragma once

#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "controller/lifecycle.h"
#include "controller/scheduler.h"
#include "controller/state.h"
#include "store/store.h"
#include "workspace/snapshot_store.h"

namespace sweep::controller {

struct RecoveryContext {
  store::Store* store = nullptr;
  // Freezes trial.code of sweeps submitted before snapshots existed; null without a
  // workspace.
  workspace::SnapshotStore* snapshots = nullptr;
  int64_t snapshot_max_bytes = 0;
  State* state = nullptr;
  Lifecycle* lifecycle = nullptr;
  Scheduler* scheduler = nullptr;
};

// Loads the fencing counter, the nodes and the running sweeps into *context.state, and
// records in `txn` what resuming changed. Store errors are passed through (the controller
// cannot start); a sweep that cannot resume is not an error.
absl::Status Recover(const RecoveryContext& context, Txn& txn, int64_t now);

// An ended sweep as a record ready to run again (`sweep extend`): spec, sampler, warm start,
// trials, the policy's statistics of every earlier curve, counters and best value; nothing
// is put into *context.state. FailedPrecondition with the reason when it cannot be loaded
// (its spec no longer parses, its environment is gone, a trial has not ended); other
// errors are the store's. `txn` may get rows to commit with the sweep.
absl::StatusOr<std::unique_ptr<SweepRec>> LoadEndedSweep(const RecoveryContext& context, Txn& txn,
                                                         const core::Sweep& sweep, int64_t now);

}  // namespace sweep::controller

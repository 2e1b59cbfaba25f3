// The life cycle of sweeps, trials and attempts in the controller's memory: opening a
// sweep, taking metric reports in, ending attempts (completion, interruption, lease
// expiry), ending trials, and ending sweeps with their counts. Every transition records the
// rows it changed and its events in the Txn; nothing here touches the store. The rules
// are those stated in controller.h ("Semantics").
//
// A sweep that ends by cancel or timeout ends at once, its running trials are marked
// canceled, and their attempts "drain": heartbeats get STOP until the worker completes or
// the lease expires.
//
// Thread safety: none; every method requires ControllerImpl's mu_ (state.h).
// Ownership: Lifecycle refers to a State that must outlive it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "controller/state.h"
#include "core/lease.h"

namespace sweep::controller {

// Prepares a new or resumed sweep from s.spec, s.sweep.id and s.sweep.created_ms: seed,
// sampler, early-termination policy and limits. A non-OK status (the sampler's or the
// policy's) leaves `s` unusable.
absl::Status OpenSweep(SweepRec& s);
// The sweep's limits (max_total, max_concurrent, deadline, trial timeout) from its spec,
// overridden by what its latest `sweep extend` set (a timeout counts from its start).
void ApplyLimits(SweepRec& s);

// InvalidArgument naming the point when a metric point has no name.
absl::Status CheckPoints(const std::vector<core::MetricPoint>& points);

// An attempt that ended without a verdict on its trial; the trial runs again unless its
// retries or attempts are used up (then it fails) or a stop was asked (then the stop
// decides its state).
struct Interruption {
  // kLost, kPreempted, kStopped or kInterrupted (lost to the controller's own restart).
  core::AttemptState state = core::AttemptState::kLost;
  std::string why;                                       // the attempt's error and the retry reason
  std::string event_kind;                                // e.g. "attempt_lost"
  std::string event_message;                             // its message
  bool count_retry = false;  // lost attempts count against max_retries, others do not
};

class Lifecycle {
 public:
  explicit Lifecycle(State& state) : state_(state) {}

  // Records the points of the attempt: primary-metric reports become intervals, move the
  // trial's value and go through the early-termination policy (a stop is requested, and
  // the decision recorded). A numbered point (seq > 0) at or below the highest number
  // stored for the attempt is skipped: it came again in a re-sent report.
  void IngestPoints(Txn& txn, SweepRec& s, TrialRec& t,
                    const std::vector<core::MetricPoint>& points, int64_t now);

  // The worker finished the trial's live attempt with `completion` (controller.h,
  // CompleteTrial): ends the attempt, and the trial unless it runs again.
  void Complete(Txn& txn, SweepRec& s, TrialRec& t, const core::Completion& completion,
                int64_t now);
  // True when `completion` is the one that ended the trial's attempt (a retried rpc).
  static bool SameCompletion(const TrialRec& t, const core::Completion& completion);

  void Interrupt(Txn& txn, SweepRec& s, TrialRec& t, const Interruption& interruption, int64_t now);
  // Attempts of `s` whose lease ran out are lost ("lease of node N expired" + `when`) and
  // charged to max_retries, unless the controller's restart lost them: a non-empty `when`
  // (expired while no controller was up) or a lease inherited at the restart and never
  // renewed since; those end kInterrupted, uncharged, with an "attempt_interrupted" event.
  void ExpireLeases(Txn& txn, SweepRec& s, const std::string& when, int64_t now);
  // The sweep's timeout ends it (true); trials past trial_timeout are asked to stop.
  bool EnforceTimeouts(Txn& txn, SweepRec& s, int64_t now);

  void EndAttempt(Txn& txn, SweepRec& s, TrialRec& t, core::AttemptState state,
                  const std::string& error, int64_t now);
  // Ends a non-terminal trial in `state`; may end the sweep.
  void EndTrial(Txn& txn, SweepRec& s, TrialRec& t, core::TrialState state,
                const std::string& reason, int64_t now);
  // Ends a running sweep when every trial is terminal and no more can be created.
  void MaybeEndSweep(Txn& txn, SweepRec& s, int64_t now);
  // Cancel or timeout: ends the sweep at once with its pending and running trials.
  void StopSweep(Txn& txn, SweepRec& s, core::SweepState state, const std::string& message,
                 int64_t now);

 private:
  void RequeueOrEnd(Txn& txn, SweepRec& s, TrialRec& t, bool count_retry, const std::string& why,
                    int64_t now);
  // The attempt ended normally: completed, failed or stopped as its outcome says.
  void JudgeTrial(Txn& txn, SweepRec& s, TrialRec& t, core::Outcome outcome,
                  const std::string& error, int64_t now);
  void EndTrialByStopReason(Txn& txn, SweepRec& s, TrialRec& t, int64_t now);
  void RecordBest(Txn& txn, SweepRec& s, const TrialRec& t, int64_t now);
  void EndSweep(Txn& txn, SweepRec& s, core::SweepState state, const std::string& message,
                int64_t now);
  void ReleaseNode(Txn& txn, const std::string& node_id, int64_t now);
  static void ReleaseGrantIfDone(TrialRec& t);

  State& state_;
};

}  // namespace sweep::controller

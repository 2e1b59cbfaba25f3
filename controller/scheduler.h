// Leases and fair share: which trial a node asking for work gets, the attempt and grant a
// lease starts, and which live attempt a LeaseRef names (fencing).
//
// Trials are created lazily, when a node asks and a sweep of its compute has room
// (controller.h, "Semantics"). Several sweeps on one target share its nodes fairly: the
// sweep holding the fewest leases goes first, round-robin among equals.
//
// Thread safety: none; every method requires ControllerImpl's mu_ (state.h).
// Ownership: refers to a State and a Lifecycle that must outlive it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "controller/controller.h"
#include "controller/lifecycle.h"
#include "controller/state.h"
#include "core/lease.h"

namespace sweep::controller {

// FailedPrecondition: the attempt `ref` names already ended in `state`.
absl::Status AttemptEndedError(const LeaseRef& ref, core::AttemptState state);

class Scheduler {
 public:
  // Uses options.lease_duration_ms, stop_grace_ms and artifact_max_bytes.
  Scheduler(State& state, Lifecycle& lifecycle, const ControllerOptions& options)
      : state_(state), lifecycle_(lifecycle), options_(options) {}

  // The grant of the live attempt `node` holds (AcquireTrial is idempotent per node), or
  // nullopt after dropping a lease that is no longer live.
  std::optional<LeaseGrant> CurrentLease(NodeRec& node);
  // A new lease for `node` from the running sweeps of its compute, fairly shared; nullopt
  // when none has room or work. May end sweeps (sampler exhausted or failed).
  std::optional<LeaseGrant> TryLease(Txn& txn, NodeRec& node, int64_t now);
  // Nothing runs and nothing is queued: asks the sampler now whether anything is left,
  // so a finished grid ends the sweep even when no node is polling.
  void ProbeSampler(Txn& txn, SweepRec& s, int64_t now);
  // Builds the trial's argv and env once. InvalidArgument when the command cannot be built.
  absl::Status EnsureGrant(SweepRec& s, TrialRec& t) const;

  // The sweep and trial whose current attempt `ref` names, with its fencing token and
  // node; PermissionDenied when the attempt is leased to another node, FailedPrecondition
  // ("stale lease: ...") otherwise.
  absl::StatusOr<std::pair<SweepRec*, TrialRec*>> FindLease(const LeaseRef& ref);
  // FindLease, and FailedPrecondition when the attempt already ended.
  absl::StatusOr<std::pair<SweepRec*, TrialRec*>> FindLiveLease(const LeaseRef& ref);
  // A heartbeat or report renewed the lease.
  void Renew(Txn& txn, TrialRec& t, int64_t now);
  // STOP when the trial ended or a stop was asked, else CONTINUE.
  static DirectiveReply DirectiveFor(const TrialRec& t);

 private:
  std::optional<LeaseGrant> TryLeaseFrom(Txn& txn, SweepRec& s, NodeRec& node, int64_t now);
  // The next configuration: the proposal made ahead when still valid, else the sampler's.
  // nullopt when the sampler is exhausted or failed (recorded in `s` with an event).
  std::optional<core::Config> NextConfig(Txn& txn, SweepRec& s, int64_t now);
  std::optional<core::Config> Sample(Txn& txn, SweepRec& s, int64_t now);
  TrialRec& NewTrial(SweepRec& s, core::Config config, int64_t now);
  // Starts an attempt of `t` on `node`; nullopt (the trial failed) when its command
  // cannot be built.
  std::optional<LeaseGrant> Lease(Txn& txn, SweepRec& s, TrialRec& t, NodeRec& node, int64_t now);
  void StartAttempt(Txn& txn, SweepRec& s, TrialRec& t, NodeRec& node, int64_t now);
  static LeaseGrant GrantFor(const TrialRec& t);

  State& state_;
  Lifecycle& lifecycle_;
  const ControllerOptions options_;
  std::map<std::string, size_t> cursor_;  // compute -> round-robin position
};

}  // namespace sweep::controller

// The controller's in-memory records: running sweeps (and ended ones still draining), their
// trials and latest attempts, and the registered nodes, as the parts of the controller
// share them (lifecycle.h, scheduler.h, autoscaler.h, recovery.h, registration.h). A Txn
// collects what one call changed, to be committed as one batch (commit_queue.h).
//
// Per-call work is O(1) in the number of trials: per-sweep counters, a retry queue, a set
// of trials with live attempts, and the sampler's History kept up to date incrementally.
//
// Thread safety: none. ControllerImpl's mu_ guards a State and every record in it; every
// function here and in the parts that takes a State, a record or a Txn requires mu_.
// Ownership: State owns its SweepRecs; their addresses are stable while they are in
// `sweeps`, so a Txn may point at one until it is flushed.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/lease.h"
#include "core/objective.h"
#include "core/types.h"
#include "policies/early_termination.h"
#include "samplers/sampler.h"
#include "spec/spec.h"
#include "store/store.h"

namespace sweep::controller {

// Why the controller asked a trial to stop; decides the trial's final state.
enum class StopReason { kNone, kEarlyTerminated, kTrialTimeout, kCanceled };

struct TrialRec {
  core::Trial trial;
  bool has_attempt = false;
  core::Attempt attempt;         // the latest attempt
  core::RunningAggregate value;  // the primary metric of the latest attempt
  StopReason stop = StopReason::kNone;
  std::string stop_message;
  // argv/env/params of the trial, built on first lease (Scheduler::EnsureGrant).
  std::shared_ptr<const core::LeaseGrant> grant;
  // The highest metric point number (MetricPoint::seq) stored for attempt seq_attempt:
  // a re-sent report's points are not stored twice.
  int32_t seq_attempt = 0;
  int64_t seq_stored = 0;
  // The live attempt's lease came from the store at a restart and its node has not renewed
  // it with this controller yet: if it runs out, the restart lost it (kInterrupted).
  bool inherited = false;
  int32_t interrupted = 0;  // attempts that ended kInterrupted (not charged to max_retries)
};

struct SweepRec {
  core::Sweep sweep;
  spec::SweepSpec spec;
  uint64_t seed = 0;
  std::unique_ptr<samplers::Sampler> sampler;
  std::unique_ptr<policies::EarlyTerminationPolicy> policy;  // null: no early termination
  // The sampler's history: the warm-start trials (workspace/warm_start.h), then one
  // observation per trial of the sweep (trial i at warm + i - 1).
  samplers::History history;
  size_t warm = 0;
  std::string warm_start_summary;  // the `warm_start` event's text, at submission
  std::deque<TrialRec> trials;     // trials[i] is trial i+1; deque keeps references stable
  // Pending trials that run before new ones: retries (the last attempt was lost) and
  // enqueued points (controller/enqueue.h), first come first served.
  std::deque<int64_t> retry_queue;
  std::set<int64_t> live;  // trials with a non-terminal attempt
  int64_t active = 0;      // non-terminal trials with a non-terminal attempt
  int64_t max_total = 0;
  int64_t max_concurrent = 0;
  int64_t deadline_ms = 0;  // 0: no sweep timeout
  int64_t trial_timeout_ms = 0;
  bool exhausted = false;  // the sampler said it has nothing more
  std::string sampler_error;
  std::optional<core::Config> proposal;  // asked ahead while idle (Scheduler::ProbeSampler)
  size_t proposal_for = 0;               // history size the proposal was made for
  int64_t completed = 0, failed = 0, early_terminated = 0, canceled = 0;
  std::optional<double> best_value;
  int64_t best_trial = 0;
  uint64_t end_seq = 0;                          // commit sequence that made the end durable
  std::optional<core::Environment> environment;  // resolved at submission
  // register_model: set when the sweep completes, cleared once the outcome event is
  // committed (WaitForSweep waits for it).
  bool register_pending = false;

  int64_t Created() const { return static_cast<int64_t>(trials.size()); }
  // Trials that could start now: queued retries plus trials it may still create.
  int64_t Startable() const {
    int64_t fresh = exhausted ? 0 : std::max<int64_t>(0, max_total - Created());
    return static_cast<int64_t>(retry_queue.size()) + fresh;
  }
  samplers::Observation& Observed(const TrialRec& t) {
    return history.trials[warm + t.trial.trial_id - 1];
  }
  // Counts a trial that ended in `state` (completed, failed, early_terminated, canceled).
  void CountEnd(core::TrialState state);
};

struct NodeRec {
  core::Node node;
  std::optional<std::pair<std::string, int64_t>> lease;  // (sweep, trial) it holds
  int64_t idle_since_ms = 0;
  bool told_shutdown = false;
};

core::Event NewEvent(const std::string& sweep_id, int64_t trial_id, const std::string& kind,
                     const std::string& message, int64_t now);

// What one call changed: the rows to commit and what to wake up afterwards.
struct Txn {
  store::WriteBatch batch;
  bool wake_pollers = false;            // a lease may be available: wake long polls
  std::vector<SweepRec*> ended_sweeps;  // their end_seq is set when the batch is queued

  void AddEvent(const std::string& sweep_id, int64_t trial_id, const std::string& kind,
                const std::string& message, int64_t now) {
    batch.events.push_back(NewEvent(sweep_id, trial_id, kind, message, now));
  }
  void PutTrial(const TrialRec& t) { batch.trials.push_back(t.trial); }
  void PutAttempt(const TrialRec& t) { batch.attempts.push_back(t.attempt); }
  void PutNode(const NodeRec& n) { batch.nodes.push_back(n.node); }
};

struct State {
  std::map<std::string, std::unique_ptr<SweepRec>> sweeps;  // by id
  // compute -> its running sweeps, oldest first: the fair-share and scaling order.
  std::map<std::string, std::vector<std::string>> running;
  std::map<std::string, NodeRec> nodes;  // by node id
  uint64_t fencing = 0;                  // the last fencing token handed out
  // (sweep id, model name) of completed sweeps found at recovery with their register_model
  // not done (the controller died first): registered like a sweep that just completed.
  std::vector<std::pair<std::string, std::string>> recovered_registrations;

  // Takes a running sweep in, last in its compute's order.
  SweepRec& AddRunning(std::unique_ptr<SweepRec> sweep);
  // The sweep ended: it no longer takes part in leasing and scaling.
  void RemoveRunning(const SweepRec& sweep);
  // The sweep and trial of the live attempt `node` holds; {nullptr, nullptr} when it
  // holds none (no lease, or the attempt ended or moved to another node).
  std::pair<SweepRec*, TrialRec*> LiveAttemptOf(const NodeRec& node);
};

}  // namespace sweep::controller

#include "controller/lifecycle.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/limits.h"
#include "core/status.h"
#include "core/utf8.h"

namespace sweep::controller {
namespace {

using core::AttemptState;
using core::Outcome;
using core::SweepState;
using core::TrialState;

// Preempted and released attempts do not count against max_retries; this many of them
// beyond max_retries + 1 attempts fail the trial, so a trial cannot loop forever.
constexpr int32_t kMaxUncountedAttempts = 20;

std::string FormatValue(double v) { return core::ParamValueToString(core::ParamValue(v)); }

samplers::Algorithm ToAlgorithm(const spec::Sampling& s) {
  switch (s.algorithm) {
    case spec::SamplingAlgorithm::kGrid:
      return samplers::Algorithm::kGrid;
    case spec::SamplingAlgorithm::kBayesian:
      return samplers::Algorithm::kBayesian;
    case spec::SamplingAlgorithm::kTpe:
      return samplers::Algorithm::kTpe;
    case spec::SamplingAlgorithm::kRandom:
      break;
  }
  return s.rule == spec::RandomRule::kSobol ? samplers::Algorithm::kSobol
                                            : samplers::Algorithm::kRandom;
}

// The seed of a sweep whose spec gave none: the 48 bits of its random id. The id is
// persisted, so a restarted controller derives the same seed and the same sequence.
uint64_t SeedFromId(const std::string& id) {
  uint64_t seed = 0;
  for (char c : id.substr(3)) {
    seed <<= 4;
    if (c >= '0' && c <= '9') seed |= static_cast<uint64_t>(c - '0');
    if (c >= 'a' && c <= 'f') seed |= static_cast<uint64_t>(c - 'a' + 10);
  }
  return seed;
}

AttemptState AttemptStateOf(Outcome outcome) {
  switch (outcome) {
    case Outcome::kSucceeded:
      return AttemptState::kSucceeded;
    case Outcome::kFailed:
      return AttemptState::kFailed;
    case Outcome::kStopped:
      break;
  }
  return AttemptState::kStopped;
}

// The attempt's error: a failure names its exit code or signal.
std::string CompletionError(const core::Completion& c) {
  if (c.outcome != Outcome::kFailed || (c.exit_code == 0 && c.signal == 0 && !c.error.empty())) {
    return c.error;
  }
  std::string how = c.signal != 0 ? absl::StrCat("killed by signal ", c.signal)
                                  : absl::StrCat("exited with code ", c.exit_code);
  return c.error.empty() ? how : absl::StrCat(how, ": ", c.error);
}

std::string Counts(const SweepRec& s) {
  std::string out =
      absl::StrCat(s.Created(), " trials: ", s.completed, " completed, ", s.failed, " failed, ",
                   s.early_terminated, " early terminated, ", s.canceled, " canceled");
  if (s.best_value) {
    absl::StrAppend(&out, "; best ", s.spec.objective.primary_metric, " ",
                    FormatValue(*s.best_value), " (trial ", s.best_trial, ")");
  }
  return out;
}

}  // namespace

absl::Status OpenSweep(SweepRec& s) {
  const spec::SweepSpec& spec = s.spec;
  s.seed = spec.sampling.seed ? *spec.sampling.seed : SeedFromId(s.sweep.id);
  samplers::SamplerOptions options;
  options.goal = spec.objective.goal;
  options.seed = s.seed;
  ASSIGN_OR_RETURN(s.sampler,
                   samplers::MakeSampler(ToAlgorithm(spec.sampling), spec.search_space, options));
  ASSIGN_OR_RETURN(
      s.policy, policies::MakeEarlyTerminationPolicy(spec.early_termination, spec.objective.goal));
  ApplyLimits(s);
  return absl::OkStatus();
}

void ApplyLimits(SweepRec& s) {
  const spec::Limits& limits = s.spec.limits;
  const core::Sweep& sw = s.sweep;  // an extension's limits win over the spec's
  s.max_total = sw.max_total_trials > 0 ? sw.max_total_trials : limits.max_total_trials;
  const int64_t concurrent =
      sw.max_concurrent_trials > 0 ? sw.max_concurrent_trials : limits.max_concurrent_trials;
  s.max_concurrent = concurrent > 0 ? std::min(concurrent, s.max_total) : s.max_total;
  const int64_t timeout_s = sw.timeout_s > 0 ? sw.timeout_s : limits.timeout_s;
  const int64_t start_ms = sw.extended_ms > 0 ? sw.extended_ms : sw.created_ms;
  s.deadline_ms = timeout_s > 0 ? start_ms + timeout_s * 1000 : 0;
  s.trial_timeout_ms = limits.trial_timeout_s * 1000;
}

absl::Status CheckPoints(const std::vector<core::MetricPoint>& points) {
  if (points.size() > core::kMaxPointsPerReport) {
    return absl::InvalidArgumentError(absl::StrCat("a report holds ", points.size(),
                                                   " metric points; at most ",
                                                   core::kMaxPointsPerReport, " are allowed"));
  }
  for (size_t i = 0; i < points.size(); ++i) {
    const std::string& name = points[i].name;
    if (name.empty() || name.size() > core::kMaxNameBytes || !core::IsValidUtf8(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("metric point ", i + 1, " of ", points.size(), " has ",
                       name.empty() ? "an empty name"
                       : name.size() > core::kMaxNameBytes
                           ? absl::StrCat("a name of ", name.size(), " bytes (at most ",
                                          core::kMaxNameBytes, ")")
                           : absl::StrCat("a name that is ", core::DescribeInvalidUtf8(name))));
    }
  }
  return absl::OkStatus();
}

void Lifecycle::IngestPoints(Txn& txn, SweepRec& s, TrialRec& t,
                             const std::vector<core::MetricPoint>& points, int64_t now) {
  const core::Objective& objective = s.spec.objective;
  bool trial_changed = false;
  if (t.seq_attempt != t.attempt.attempt) {
    t.seq_attempt = t.attempt.attempt;
    t.seq_stored = 0;
  }
  txn.batch.metrics.reserve(txn.batch.metrics.size() + points.size());
  for (const core::MetricPoint& in : points) {
    if (in.seq > 0) {
      if (in.seq <= t.seq_stored) continue;  // stored before: the report was re-sent
      t.seq_stored = in.seq;
    }
    core::MetricPoint p = in;
    p.seq = 0;
    p.sweep_id = s.sweep.id;
    p.trial_id = t.trial.trial_id;
    p.attempt = t.attempt.attempt;
    p.interval = 0;
    if (p.timestamp_ms <= 0) p.timestamp_ms = now;
    if (p.name == objective.primary_metric) {
      p.interval = ++t.trial.intervals;
      trial_changed = true;
      if (std::isfinite(p.value)) {
        t.value.Add(objective.goal, p.value);
        t.trial.final_value = t.value.Value(objective.aggregation);
      }
      if (s.policy && !core::IsTerminal(t.trial.state)) {
        std::optional<core::Decision> d = s.policy->OnReport(t.trial.trial_id, p.interval, p.value);
        if (d) {
          d->sweep_id = s.sweep.id;
          d->trial_id = t.trial.trial_id;
          d->timestamp_ms = now;
          if (d->stop && t.stop == StopReason::kNone) {
            t.stop = StopReason::kEarlyTerminated;
            t.stop_message = d->explanation;
            txn.AddEvent(s.sweep.id, t.trial.trial_id, "trial_stop_requested",
                         absl::StrCat("early termination: ", d->explanation), now);
          }
          txn.batch.decisions.push_back(std::move(*d));
        }
      }
    }
    txn.batch.metrics.push_back(std::move(p));
  }
  if (trial_changed) {
    txn.PutTrial(t);
    s.Observed(t).intervals = t.trial.intervals;
  }
}

bool Lifecycle::SameCompletion(const TrialRec& t, const core::Completion& completion) {
  return t.attempt.state == AttemptStateOf(completion.outcome) ||
         (completion.outcome == Outcome::kStopped && t.attempt.state == AttemptState::kPreempted);
}

void Lifecycle::Complete(Txn& txn, SweepRec& s, TrialRec& t, const core::Completion& completion,
                         int64_t now) {
  IngestPoints(txn, s, t, completion.points, now);
  t.attempt.exit_code = completion.exit_code;
  const std::string error = CompletionError(completion);
  const bool trial_was_terminal = core::IsTerminal(t.trial.state);
  if (completion.outcome == Outcome::kStopped && !trial_was_terminal &&
      t.stop == StopReason::kNone) {
    // Stopped without being asked to (e.g. the worker enforced trial_timeout itself, or
    // was interrupted): a timeout fails the trial; anything else is a preemption.
    bool timed_out = s.trial_timeout_ms > 0 && now - t.attempt.started_ms >= s.trial_timeout_ms;
    if (!timed_out) {
      const std::string why = error.empty() ? "stopped by the worker" : error;
      Interrupt(
          txn, s, t,
          {AttemptState::kPreempted, why, "attempt_preempted",
           absl::StrCat("attempt ", t.attempt.attempt, " on node ", t.attempt.node_id, ": ", why),
           /*count_retry=*/false},
          now);
      return;
    }
    t.stop = StopReason::kTrialTimeout;
    t.stop_message = absl::StrCat("trial timeout (", s.trial_timeout_ms / 1000, "s) reached");
  }
  EndAttempt(txn, s, t, AttemptStateOf(completion.outcome), error, now);
  if (!trial_was_terminal) JudgeTrial(txn, s, t, completion.outcome, error, now);
}

void Lifecycle::JudgeTrial(Txn& txn, SweepRec& s, TrialRec& t, Outcome outcome,
                           const std::string& error, int64_t now) {
  const std::string& primary = s.spec.objective.primary_metric;
  switch (outcome) {
    case Outcome::kSucceeded:
      if (t.value.Value(s.spec.objective.aggregation)) {
        EndTrial(txn, s, t, TrialState::kCompleted, "", now);
      } else if (t.trial.intervals > 0) {
        EndTrial(txn, s, t, TrialState::kFailed,
                 absl::StrCat("exited 0 but reported primary metric '", primary,
                              "' only as non-finite values"),
                 now);
      } else {
        EndTrial(txn, s, t, TrialState::kFailed,
                 absl::StrCat("exited 0 but never reported primary metric '", primary, "'"), now);
      }
      return;
    case Outcome::kFailed:
      if (t.stop != StopReason::kNone) {
        // It died from our stop signal: the stop decides the outcome.
        EndTrialByStopReason(txn, s, t, now);
      } else {
        EndTrial(txn, s, t, TrialState::kFailed, error, now);
      }
      return;
    case Outcome::kStopped:
      EndTrialByStopReason(txn, s, t, now);
      return;
  }
}

void Lifecycle::Interrupt(Txn& txn, SweepRec& s, TrialRec& t, const Interruption& interruption,
                          int64_t now) {
  EndAttempt(txn, s, t, interruption.state, interruption.why, now);
  if (interruption.state == AttemptState::kInterrupted) t.interrupted += 1;
  txn.AddEvent(s.sweep.id, t.trial.trial_id, interruption.event_kind, interruption.event_message,
               now);
  RequeueOrEnd(txn, s, t, interruption.count_retry, interruption.why, now);
}

void Lifecycle::ExpireLeases(Txn& txn, SweepRec& s, const std::string& when, int64_t now) {
  for (int64_t tid : std::vector<int64_t>(s.live.begin(), s.live.end())) {
    TrialRec& t = s.trials[tid - 1];
    if (t.attempt.expires_ms > now) continue;
    // Ran out while no controller was up, or inherited at a restart and never renewed
    // since: the restart lost it (a controller's local workers die with it), not the node.
    const bool restart = !when.empty() || t.inherited;
    std::string why =
        absl::StrCat("lease of node ", t.attempt.node_id, " expired",
                     !when.empty() ? when
                     : t.inherited ? " after the controller restarted, before the node renewed it"
                                   : "");
    if (restart) absl::StrAppend(&why, " (not counted against max_retries)");
    Interrupt(txn, s, t,
              {restart ? AttemptState::kInterrupted : AttemptState::kLost, why,
               restart ? "attempt_interrupted" : "attempt_lost",
               absl::StrCat("attempt ", t.attempt.attempt, ": ", why), /*count_retry=*/!restart},
              now);
  }
}

bool Lifecycle::EnforceTimeouts(Txn& txn, SweepRec& s, int64_t now) {
  if (s.deadline_ms > 0 && now >= s.deadline_ms) {
    SweepState end = s.completed > 0 ? SweepState::kCompleted : SweepState::kFailed;
    const int64_t timeout_s = s.sweep.timeout_s > 0 ? s.sweep.timeout_s : s.spec.limits.timeout_s;
    StopSweep(txn, s, end, absl::StrCat("timeout reached (", timeout_s, "s)"), now);
    return true;
  }
  if (s.trial_timeout_ms <= 0) return false;
  for (int64_t tid : s.live) {
    TrialRec& t = s.trials[tid - 1];
    if (t.stop != StopReason::kNone || core::IsTerminal(t.trial.state)) continue;
    if (now - t.attempt.started_ms < s.trial_timeout_ms) continue;
    t.stop = StopReason::kTrialTimeout;
    t.stop_message = absl::StrCat("trial timeout (", s.spec.limits.trial_timeout_s, "s) reached");
    txn.AddEvent(s.sweep.id, tid, "trial_stop_requested", t.stop_message, now);
  }
  return false;
}

void Lifecycle::ReleaseNode(Txn& txn, const std::string& node_id, int64_t now) {
  auto it = state_.nodes.find(node_id);
  if (it == state_.nodes.end()) return;
  NodeRec& n = it->second;
  n.lease.reset();
  if (n.node.state != "gone") n.node.state = "idle";
  n.idle_since_ms = now;
  txn.PutNode(n);
}

void Lifecycle::EndAttempt(Txn& txn, SweepRec& s, TrialRec& t, AttemptState state,
                           const std::string& error, int64_t now) {
  t.attempt.state = state;
  t.attempt.ended_ms = now;
  if (!error.empty()) t.attempt.error = error;
  txn.PutAttempt(t);
  s.live.erase(t.trial.trial_id);
  if (!core::IsTerminal(t.trial.state)) s.active -= 1;
  ReleaseNode(txn, t.attempt.node_id, now);
  txn.wake_pollers = true;
  ReleaseGrantIfDone(t);
}

// A trial that ended, with no attempt left running, is never leased again: its grant (the
// command, environment and parameters, about a kilobyte) is dropped, so a sweep of 100,000
// trials does not keep 100,000 of them.
void Lifecycle::ReleaseGrantIfDone(TrialRec& t) {
  if (core::IsTerminal(t.trial.state) && (!t.has_attempt || core::IsTerminal(t.attempt.state))) {
    t.grant.reset();
  }
}

void Lifecycle::RequeueOrEnd(Txn& txn, SweepRec& s, TrialRec& t, bool count_retry,
                             const std::string& why, int64_t now) {
  if (core::IsTerminal(t.trial.state)) return;  // a drained attempt of an ended trial
  if (t.stop != StopReason::kNone) {
    EndTrialByStopReason(txn, s, t, now);
    return;
  }
  if (s.policy) s.policy->ForgetCurve(t.trial.trial_id);
  t.trial.intervals = 0;
  t.trial.final_value.reset();
  t.value = {};
  if (count_retry) t.trial.retries += 1;
  const auto max_retries = s.spec.limits.max_retries;
  if (t.trial.retries > max_retries) {
    EndTrial(txn, s, t, TrialState::kFailed,
             absl::StrCat("node lost ", t.trial.retries, " times (max_retries ", max_retries,
                          "); last: ", why),
             now);
    return;
  }
  // Attempts the controller's own restarts lost do not count here either: restarts are
  // bounded by whoever restarts it, not by the trial.
  const int64_t max_attempts = max_retries + 1 + kMaxUncountedAttempts;
  if (t.trial.attempts - t.interrupted >= max_attempts) {
    EndTrial(txn, s, t, TrialState::kFailed,
             absl::StrCat("interrupted ", t.trial.attempts,
                          " times (preempted, lost or released; at most ", max_attempts,
                          " attempts); last: ", why),
             now);
    return;
  }
  t.trial.state = TrialState::kPending;
  s.Observed(t).state = TrialState::kPending;
  s.Observed(t).intervals = 0;
  s.retry_queue.push_back(t.trial.trial_id);
  txn.PutTrial(t);
  txn.wake_pollers = true;
}

void Lifecycle::EndTrialByStopReason(Txn& txn, SweepRec& s, TrialRec& t, int64_t now) {
  switch (t.stop) {
    case StopReason::kEarlyTerminated:
      EndTrial(txn, s, t, TrialState::kEarlyTerminated, t.stop_message, now);
      return;
    case StopReason::kTrialTimeout:
      EndTrial(txn, s, t, TrialState::kFailed, t.stop_message, now);
      return;
    case StopReason::kCanceled:
    case StopReason::kNone:
      EndTrial(txn, s, t, TrialState::kCanceled, t.stop_message, now);
      return;
  }
}

void Lifecycle::EndTrial(Txn& txn, SweepRec& s, TrialRec& t, TrialState state,
                         const std::string& reason, int64_t now) {
  if (core::IsTerminal(t.trial.state)) return;
  if (t.has_attempt && !core::IsTerminal(t.attempt.state)) s.active -= 1;
  t.trial.state = state;
  t.trial.reason = reason;
  t.trial.ended_ms = now;
  if (state == TrialState::kCompleted || state == TrialState::kEarlyTerminated) {
    t.trial.final_value = t.value.Value(s.spec.objective.aggregation);
  }
  s.CountEnd(state);
  if (s.policy) s.policy->OnTrialEnded(t.trial.trial_id, state);
  samplers::Observation& obs = s.Observed(t);
  obs.state = state;
  obs.value = t.trial.final_value;
  obs.intervals = t.trial.intervals;
  txn.PutTrial(t);

  const std::string message = state == TrialState::kCompleted
                                  ? absl::StrCat(s.spec.objective.primary_metric, " ",
                                                 FormatValue(t.trial.final_value.value_or(NAN)),
                                                 " after ", t.trial.intervals, " intervals")
                                  : reason;
  txn.AddEvent(s.sweep.id, t.trial.trial_id, absl::StrCat("trial_", core::TrialStateName(state)),
               message, now);
  if (state == TrialState::kCompleted && t.trial.final_value) RecordBest(txn, s, t, now);
  txn.wake_pollers = true;
  ReleaseGrantIfDone(t);
  MaybeEndSweep(txn, s, now);
}

void Lifecycle::RecordBest(Txn& txn, SweepRec& s, const TrialRec& t, int64_t now) {
  const double v = *t.trial.final_value;
  if (!core::Improves(s.spec.objective.goal, v, s.best_value)) return;
  std::string was = s.best_value ? absl::StrCat(" (was ", FormatValue(*s.best_value), " by trial ",
                                                s.best_trial, ")")
                                 : std::string();
  s.best_value = v;
  s.best_trial = t.trial.trial_id;
  txn.AddEvent(s.sweep.id, t.trial.trial_id, "best_improved",
               absl::StrCat("trial ", t.trial.trial_id, ": ", s.spec.objective.primary_metric, " ",
                            FormatValue(v), was),
               now);
}

void Lifecycle::MaybeEndSweep(Txn& txn, SweepRec& s, int64_t now) {
  if (s.sweep.state != SweepState::kRunning) return;
  if (s.active > 0 || !s.retry_queue.empty()) return;
  if (!s.exhausted && s.Created() < s.max_total) return;
  if (!s.sampler_error.empty()) {
    EndSweep(txn, s, SweepState::kFailed,
             absl::StrCat("sampler failed: ", s.sampler_error, "; ", Counts(s)), now);
  } else if (s.Created() > 0 && s.failed == s.Created()) {
    EndSweep(txn, s, SweepState::kFailed, absl::StrCat("every trial failed; ", Counts(s)), now);
  } else {
    EndSweep(txn, s, SweepState::kCompleted, Counts(s), now);
  }
}

void Lifecycle::StopSweep(Txn& txn, SweepRec& s, SweepState state, const std::string& message,
                          int64_t now) {
  // Mark it ended first so the trial ends below do not re-enter MaybeEndSweep's logic.
  SweepState was = s.sweep.state;
  s.sweep.state = state;
  std::deque<int64_t> pending;
  pending.swap(s.retry_queue);
  for (int64_t id : pending) {
    EndTrial(txn, s, s.trials[id - 1], TrialState::kCanceled, message, now);
  }
  for (int64_t id : std::vector<int64_t>(s.live.begin(), s.live.end())) {
    TrialRec& t = s.trials[id - 1];
    if (core::IsTerminal(t.trial.state)) continue;
    t.stop = StopReason::kCanceled;
    t.stop_message = message;
    EndTrial(txn, s, t, TrialState::kCanceled, message, now);
  }
  s.sweep.state = was;
  EndSweep(txn, s, state, absl::StrCat(message, "; ", Counts(s)), now);
}

void Lifecycle::EndSweep(Txn& txn, SweepRec& s, SweepState state, const std::string& message,
                         int64_t now) {
  if (s.sweep.state != SweepState::kRunning) return;
  s.sweep.state = state;
  s.sweep.status_message = message;
  s.sweep.ended_ms = now;
  s.proposal.reset();
  txn.batch.sweeps.push_back(s.sweep);
  txn.AddEvent(s.sweep.id, 0, absl::StrCat("sweep_", core::SweepStateName(state)), message, now);
  s.register_pending = state == SweepState::kCompleted && !s.spec.register_model.empty();
  state_.RemoveRunning(s);
  txn.ended_sweeps.push_back(&s);
  txn.wake_pollers = true;
}

}  // namespace sweep::controller

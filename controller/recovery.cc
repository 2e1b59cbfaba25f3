#include "controller/recovery.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "controller/extension.h"
#include "core/status.h"
#include "spdlog/spdlog.h"
#include "workspace/registry.h"
#include "workspace/warm_start.h"

namespace sweep::controller {
namespace {

using core::AttemptState;
using core::SweepState;
using core::TrialState;

// What the store holds about one sweep's progress.
struct Records {
  std::vector<core::Trial> trials;
  std::vector<core::Attempt> attempts;
  std::vector<core::MetricPoint> points;  // of the primary metric
  std::vector<core::Decision> decisions;
};

// Ends a sweep that cannot be resumed.
void FailSweep(Txn& txn, const core::Sweep& sweep, const absl::Status& why, int64_t now) {
  core::Sweep ended = sweep;
  ended.state = SweepState::kFailed;
  ended.status_message = absl::StrCat("cannot resume after restart: ", why.message());
  ended.ended_ms = now;
  txn.batch.sweeps.push_back(ended);
  txn.AddEvent(sweep.id, 0, "sweep_failed", ended.status_message, now);
  spdlog::warn("sweep {}: {}", sweep.id, ended.status_message);
}

// The sweep's record with its spec, environment, sampler and policy again. A non-OK
// status says why it cannot resume.
absl::StatusOr<std::unique_ptr<SweepRec>> Reopen(const RecoveryContext& context, Txn& txn,
                                                 const core::Sweep& sweep) {
  auto s = std::make_unique<SweepRec>();
  s->sweep = sweep;
  std::string base_dir = sweep.spec_path.empty()
                             ? std::string()
                             : std::filesystem::path(sweep.spec_path).parent_path().string();
  absl::StatusOr<spec::SweepSpec> parsed =
      spec::ParseSpec(sweep.spec_yaml, sweep.spec_path, base_dir);
  if (!parsed.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the spec no longer parses: ", parsed.status().message()));
  }
  s->spec = std::move(*parsed);
  s->spec.path = sweep.spec_path;
  if (!sweep.environment.empty()) {
    // The version resolved at submission, not whatever @latest means now.
    absl::StatusOr<core::Environment> environment =
        workspace::ResolveEnvironment(context.store, "azureml:" + sweep.environment);
    if (!environment.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("its environment is gone: ", environment.status().message()));
    }
    s->environment = std::move(*environment);
  }
  if (absl::Status opened = OpenSweep(*s); !opened.ok()) {
    return absl::FailedPreconditionError(opened.message());
  }
  if (!sweep.warm_start.empty()) {
    // The same trials as at submission: those that had ended by then.
    absl::StatusOr<workspace::WarmStart> warm =
        workspace::CollectWarmStart(context.store, s->spec, sweep.warm_start, sweep.created_ms);
    if (!warm.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("its warm start fails: ", warm.status().message()));
    }
    SeedWarmStart(*s, *warm);
  }
  if (s->sweep.snapshot_digest.empty() && !s->spec.trial.code.empty() && context.snapshots) {
    // Submitted before snapshots existed (its trials read the live directory): freeze the
    // code now, so its remaining trials share one snapshot like any other sweep.
    absl::StatusOr<std::string> digest =
        context.snapshots->Create(s->spec.trial.code, context.snapshot_max_bytes);
    if (!digest.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot snapshot trial.code: ", digest.status().message()));
    }
    s->sweep.snapshot_digest = *digest;
    txn.batch.sweeps.push_back(s->sweep);
  }
  return s;
}

absl::StatusOr<Records> ReadRecords(store::Store* store, const SweepRec& s) {
  const std::string& id = s.sweep.id;
  Records r;
  ASSIGN_OR_RETURN(r.trials, store->ListTrials(id));
  ASSIGN_OR_RETURN(r.attempts, store->ListAttempts(id, std::nullopt));
  store::MetricFilter filter;
  filter.sweep_id = id;
  filter.name = s.spec.objective.primary_metric;
  ASSIGN_OR_RETURN(r.points, store->ListMetrics(filter));
  ASSIGN_OR_RETURN(r.decisions, store->ListDecisions(id, std::nullopt));
  return r;
}

// Trials, the sampler's history and each trial's latest attempt. A non-OK status says
// why the sweep cannot resume.
absl::Status RebuildTrials(SweepRec& s, const Records& records) {
  for (size_t i = 0; i < records.trials.size(); ++i) {
    const core::Trial& trial = records.trials[i];
    if (trial.trial_id != static_cast<int64_t>(i) + 1) {
      return absl::FailedPreconditionError(absl::StrCat("trial ids are not consecutive (expected ",
                                                        i + 1, ", found ", trial.trial_id, ")"));
    }
    TrialRec& t = s.trials.emplace_back();
    t.trial = trial;
    samplers::Observation obs;
    obs.config = t.trial.config;
    obs.state = t.trial.state;
    obs.value = core::IsTerminal(t.trial.state) ? t.trial.final_value : std::nullopt;
    obs.intervals = t.trial.intervals;
    s.history.trials.push_back(std::move(obs));
  }
  for (const core::Attempt& a : records.attempts) {
    if (a.trial_id < 1 || a.trial_id > s.Created()) continue;
    TrialRec& t = s.trials[a.trial_id - 1];
    if (a.state == AttemptState::kInterrupted) t.interrupted += 1;
    if (!t.has_attempt || a.attempt >= t.attempt.attempt) {
      t.attempt = a;
      t.has_attempt = true;
    }
  }
  return absl::OkStatus();
}

// Curves of the current attempts, and the policy state: replays every primary-metric
// report and trial end in time order, as the policy saw them live (no new decisions are
// recorded).
void ReplayCurves(SweepRec& s, const std::vector<core::MetricPoint>& points) {
  struct Replay {
    int64_t time;
    int kind;  // 0 report, 1 trial end
    const core::MetricPoint* point;
    int64_t trial_id;
  };
  std::vector<Replay> replay;
  for (const core::MetricPoint& p : points) {
    if (p.trial_id < 1 || p.trial_id > s.Created() || p.interval < 1) continue;
    replay.push_back({p.timestamp_ms, 0, &p, p.trial_id});
  }
  for (const TrialRec& t : s.trials) {
    if (core::IsTerminal(t.trial.state)) {
      replay.push_back({t.trial.ended_ms, 1, nullptr, t.trial.trial_id});
    }
  }
  std::stable_sort(replay.begin(), replay.end(), [](const Replay& a, const Replay& b) {
    if (a.time != b.time) return a.time < b.time;
    return a.kind < b.kind;
  });
  std::map<int64_t, int32_t> curve_attempt;  // trial -> attempt of its last reported curve
  for (const Replay& r : replay) {
    TrialRec& t = s.trials[r.trial_id - 1];
    if (r.kind == 1) {
      if (s.policy) s.policy->OnTrialEnded(r.trial_id, t.trial.state);
      continue;
    }
    const core::MetricPoint& p = *r.point;
    auto [it, inserted] = curve_attempt.emplace(r.trial_id, p.attempt);
    if (!inserted && it->second != p.attempt) {
      if (s.policy) s.policy->ForgetCurve(r.trial_id);
      it->second = p.attempt;
    }
    if (s.policy) s.policy->OnReport(r.trial_id, p.interval, p.value);
    if (t.has_attempt && p.attempt == t.attempt.attempt) {
      t.value.Add(s.spec.objective.goal, p.value);
    }
  }
  // A trial whose last reported curve belongs to an earlier attempt, or to an attempt
  // that ended while the trial did not, had that curve forgotten live (lost / preempted /
  // released attempt): forget it here too.
  if (!s.policy) return;
  for (const auto& [trial_id, attempt] : curve_attempt) {
    const TrialRec& t = s.trials[trial_id - 1];
    if (!core::IsTerminal(t.trial.state) &&
        (!t.has_attempt || t.attempt.attempt != attempt || core::IsTerminal(t.attempt.state))) {
      s.policy->ForgetCurve(trial_id);
    }
  }
}

// Stops the policy asked for during the current attempts, still to be delivered.
void RestoreStops(SweepRec& s, const std::vector<core::Decision>& decisions) {
  for (const core::Decision& d : decisions) {
    if (!d.stop || d.trial_id < 1 || d.trial_id > s.Created()) continue;
    TrialRec& t = s.trials[d.trial_id - 1];
    if (core::IsTerminal(t.trial.state) || !t.has_attempt) continue;
    if (d.timestamp_ms >= t.attempt.started_ms && t.stop == StopReason::kNone) {
      t.stop = StopReason::kEarlyTerminated;
      t.stop_message = d.explanation;
    }
  }
}

// A running trial's live attempt: its node holds the lease again.
void RestoreLease(State& state, SweepRec& s, TrialRec& t, int64_t now) {
  s.live.insert(t.trial.trial_id);
  s.active += 1;
  t.inherited = true;
  NodeRec& n = state.nodes[t.attempt.node_id];
  if (n.node.node_id.empty()) {
    n.node.node_id = t.attempt.node_id;
    n.node.compute = s.sweep.compute;
    n.node.registered_ms = now;
  }
  n.lease = std::make_pair(s.sweep.id, t.trial.trial_id);
  n.node.state = "busy";
  n.node.last_seen_ms = now;
}

// Counters, the best value, the retry queue and the live attempts' leases.
void RestoreCounters(State& state, Txn& txn, SweepRec& s, int64_t now) {
  for (TrialRec& t : s.trials) {
    const TrialState trial_state = t.trial.state;
    if (core::IsTerminal(trial_state)) {
      s.CountEnd(trial_state);
      if (trial_state == TrialState::kCompleted && t.trial.final_value &&
          core::Improves(s.spec.objective.goal, *t.trial.final_value, s.best_value)) {
        s.best_value = t.trial.final_value;
        s.best_trial = t.trial.trial_id;
      }
    } else if (trial_state == TrialState::kPending) {
      s.retry_queue.push_back(t.trial.trial_id);
    } else if (t.has_attempt && !core::IsTerminal(t.attempt.state)) {
      RestoreLease(state, s, t, now);
    } else {
      // Running without a live attempt (cannot happen with atomic batches, but be safe):
      // retry it.
      t.trial.state = TrialState::kPending;
      s.Observed(t).state = TrialState::kPending;
      s.retry_queue.push_back(t.trial.trial_id);
      txn.PutTrial(t);
    }
  }
}

// How many points each live attempt has stored: its workers number points 1, 2, 3... and
// the controller stores each once, in order, so the count is the highest number stored and
// a report re-sent to the restarted controller is not stored twice.
absl::Status RestoreMetricNumbers(store::Store* store, SweepRec& s) {
  for (int64_t tid : s.live) {
    TrialRec& t = s.trials[tid - 1];
    store::MetricFilter filter;
    filter.sweep_id = s.sweep.id;
    filter.trial_id = tid;
    ASSIGN_OR_RETURN(std::vector<core::MetricPoint> points, store->ListMetrics(filter));
    t.seq_attempt = t.attempt.attempt;
    t.seq_stored = std::count_if(points.begin(), points.end(), [&](const core::MetricPoint& p) {
      return p.attempt == t.attempt.attempt;
    });
  }
  return absl::OkStatus();
}

// Grants (argv/env) of the live attempts, so their nodes can re-acquire them.
void RegrantLive(const RecoveryContext& context, Txn& txn, SweepRec& s, int64_t now) {
  for (int64_t tid : std::vector<int64_t>(s.live.begin(), s.live.end())) {
    TrialRec& t = s.trials[tid - 1];
    if (absl::Status st = context.scheduler->EnsureGrant(s, t); !st.ok()) {
      context.lifecycle->EndAttempt(txn, s, t, AttemptState::kFailed, std::string(st.message()),
                                    now);
      context.lifecycle->EndTrial(txn, s, t, TrialState::kFailed,
                                  absl::StrCat("cannot build the trial command: ", st.message()),
                                  now);
    }
  }
}

// The sweep's record with its trials, curves and policy state. FailedPrecondition: it
// cannot be loaded (why); other errors are the store's.
absl::StatusOr<std::unique_ptr<SweepRec>> LoadSweep(const RecoveryContext& context, Txn& txn,
                                                    const core::Sweep& sweep) {
  absl::StatusOr<std::unique_ptr<SweepRec>> reopened = Reopen(context, txn, sweep);
  if (!reopened.ok()) return reopened.status();
  SweepRec& s = **reopened;
  ASSIGN_OR_RETURN(Records records, ReadRecords(context.store, s));
  RETURN_IF_ERROR(RebuildTrials(s, records));
  ReplayCurves(s, records.points);
  RestoreStops(s, records.decisions);
  return reopened;
}

absl::Status ResumeSweep(const RecoveryContext& context, Txn& txn, const core::Sweep& sweep,
                         int64_t now) {
  absl::StatusOr<std::unique_ptr<SweepRec>> reopened = LoadSweep(context, txn, sweep);
  if (absl::IsFailedPrecondition(reopened.status())) {
    FailSweep(txn, sweep, reopened.status(), now);
    return absl::OkStatus();
  }
  if (!reopened.ok()) return reopened.status();
  SweepRec& s = **reopened;
  RestoreCounters(*context.state, txn, s, now);
  RETURN_IF_ERROR(RestoreMetricNumbers(context.store, s));
  context.state->AddRunning(*std::move(reopened));
  RegrantLive(context, txn, s, now);
  context.lifecycle->ExpireLeases(txn, s, " while the controller was down", now);
  txn.AddEvent(s.sweep.id, 0, "sweep_resumed",
               absl::StrCat("controller restarted; ", s.Created(), " trials so far, ", s.active,
                            " running, ", s.retry_queue.size(), " to retry"),
               now);
  context.lifecycle->MaybeEndSweep(txn, s, now);
  return absl::OkStatus();
}

// A completed sweep whose register_model was not done (no outcome event): the controller
// died between committing the end and registering. Queued for RegisterModels.
absl::Status FindUnregisteredModel(const RecoveryContext& context, const core::Sweep& sweep) {
  if (sweep.state != SweepState::kCompleted ||
      sweep.spec_yaml.find("register_model") == std::string::npos) {
    return absl::OkStatus();
  }
  std::string base_dir = sweep.spec_path.empty()
                             ? std::string()
                             : std::filesystem::path(sweep.spec_path).parent_path().string();
  absl::StatusOr<spec::SweepSpec> parsed =
      spec::ParseSpec(sweep.spec_yaml, sweep.spec_path, base_dir);
  if (!parsed.ok() || parsed->register_model.empty()) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::vector<core::Event> events, context.store->ListEvents(sweep.id));
  for (const core::Event& e : events) {
    if (e.kind == "model_registered" || e.kind == "model_registration_failed") {
      return absl::OkStatus();
    }
  }
  context.state->recovered_registrations.emplace_back(sweep.id, parsed->register_model);
  return absl::OkStatus();
}

// An ended sweep whose last attempts were still stopping when the controller died: no one
// serves their leases any more, so they end here, `stopped`, and a trial not yet ended is
// canceled. The node's next call under such a lease is refused and it kills the trial.
absl::Status EndDrainingAttempts(const RecoveryContext& context, Txn& txn, const core::Sweep& sweep,
                                 int64_t now) {
  ASSIGN_OR_RETURN(std::vector<core::Attempt> attempts,
                   context.store->ListAttempts(sweep.id, std::nullopt));
  for (core::Attempt& a : attempts) {
    if (core::IsTerminal(a.state)) continue;
    const std::string why = absl::StrCat("the controller restarted after sweep ", sweep.id,
                                         " ended, while this attempt was stopping");
    a.state = AttemptState::kStopped;
    a.ended_ms = now;
    a.error = why;
    txn.batch.attempts.push_back(a);
    ASSIGN_OR_RETURN(core::Trial trial, context.store->GetTrial(sweep.id, a.trial_id));
    if (!core::IsTerminal(trial.state)) {
      trial.state = TrialState::kCanceled;
      trial.reason = why;
      trial.ended_ms = now;
      txn.batch.trials.push_back(trial);
    }
    txn.AddEvent(sweep.id, a.trial_id, "attempt_stopped", why, now);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SweepRec>> LoadEndedSweep(const RecoveryContext& context, Txn& txn,
                                                         const core::Sweep& sweep, int64_t now) {
  ASSIGN_OR_RETURN(std::unique_ptr<SweepRec> s, LoadSweep(context, txn, sweep));
  State scratch;  // an ended sweep holds no lease; nothing may reach the live state
  RestoreCounters(scratch, txn, *s, now);
  if (!s->retry_queue.empty() || s->active > 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("sweep ", sweep.id, " still has trials that did not end"));
  }
  return s;
}

absl::Status Recover(const RecoveryContext& context, Txn& txn, int64_t now) {
  State& state = *context.state;
  ASSIGN_OR_RETURN(state.fencing, context.store->MaxFencingToken());
  ASSIGN_OR_RETURN(std::vector<core::Node> nodes, context.store->ListNodes());
  for (core::Node& n : nodes) {
    if (n.state == "gone") continue;
    NodeRec& rec = state.nodes[n.node_id];
    rec.node = std::move(n);
    rec.node.state = "idle";
    rec.node.last_seen_ms = now;  // give it a full silence window to come back
    rec.idle_since_ms = now;
  }
  ASSIGN_OR_RETURN(std::vector<core::Sweep> sweeps, context.store->ListSweeps());
  std::reverse(sweeps.begin(), sweeps.end());  // oldest first: round-robin order
  for (const core::Sweep& sweep : sweeps) {
    if (sweep.state != SweepState::kRunning) {
      RETURN_IF_ERROR(EndDrainingAttempts(context, txn, sweep, now));
      RETURN_IF_ERROR(FindUnregisteredModel(context, sweep));
      continue;
    }
    RETURN_IF_ERROR(ResumeSweep(context, txn, sweep, now));
  }
  return absl::OkStatus();
}

}  // namespace sweep::controller

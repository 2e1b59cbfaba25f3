#include "controller/scheduler.h"

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "nlohmann/json.hpp"

namespace sweep::controller {

using core::AttemptState;
using core::SweepState;
using core::TrialState;

absl::Status AttemptEndedError(const LeaseRef& ref, AttemptState state) {
  return absl::FailedPreconditionError(absl::StrCat("stale lease: trial ", ref.trial_id,
                                                    " attempt ", ref.attempt, " already ended (",
                                                    core::AttemptStateName(state), ")"));
}

std::optional<LeaseGrant> Scheduler::CurrentLease(NodeRec& node) {
  if (!node.lease) return std::nullopt;
  auto [s, t] = state_.LiveAttemptOf(node);
  if (t != nullptr && t->grant) return GrantFor(*t);
  node.lease.reset();
  return std::nullopt;
}

std::optional<LeaseGrant> Scheduler::TryLease(Txn& txn, NodeRec& node, int64_t now) {
  auto it = state_.running.find(node.node.compute);
  if (it == state_.running.end() || it->second.empty()) return std::nullopt;
  // Copy: a sweep may end (and leave the list) while we look.
  std::vector<std::string> list = it->second;
  size_t& cursor = cursor_[node.node.compute];
  // Fair share of the target's nodes: the sweep holding the fewest leases goes first, so
  // a sweep with long trials cannot take over nodes freed by one with short trials;
  // among equals, round-robin from the cursor.
  std::vector<size_t> order(list.size());
  for (size_t k = 0; k < list.size(); ++k) order[k] = (cursor + k) % list.size();
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    return state_.sweeps.at(list[x])->active < state_.sweeps.at(list[y])->active;
  });
  for (size_t idx : order) {
    SweepRec& s = *state_.sweeps.at(list[idx]);
    std::optional<LeaseGrant> grant = TryLeaseFrom(txn, s, node, now);
    if (grant) {
      cursor = idx + 1;
      return grant;
    }
  }
  return std::nullopt;
}

std::optional<LeaseGrant> Scheduler::TryLeaseFrom(Txn& txn, SweepRec& s, NodeRec& node,
                                                  int64_t now) {
  while (s.sweep.state == SweepState::kRunning && s.active < s.max_concurrent) {
    if (!s.retry_queue.empty()) {
      int64_t id = s.retry_queue.front();
      s.retry_queue.pop_front();
      TrialRec& t = s.trials[id - 1];
      if (core::IsTerminal(t.trial.state)) continue;
      if (std::optional<LeaseGrant> grant = Lease(txn, s, t, node, now)) return grant;
      continue;
    }
    if (s.exhausted || s.Created() >= s.max_total) return std::nullopt;
    std::optional<core::Config> config = NextConfig(txn, s, now);
    if (!config) {
      lifecycle_.MaybeEndSweep(txn, s, now);
      return std::nullopt;
    }
    TrialRec& t = NewTrial(s, std::move(*config), now);
    if (std::optional<LeaseGrant> grant = Lease(txn, s, t, node, now)) return grant;
  }
  return std::nullopt;
}

std::optional<core::Config> Scheduler::NextConfig(Txn& txn, SweepRec& s, int64_t now) {
  std::optional<core::Config> config;
  if (s.proposal && s.proposal_for == s.history.trials.size()) config = std::move(s.proposal);
  s.proposal.reset();
  if (config) return config;
  return Sample(txn, s, now);
}

std::optional<core::Config> Scheduler::Sample(Txn& txn, SweepRec& s, int64_t now) {
  absl::StatusOr<std::optional<core::Config>> next = s.sampler->Next(s.history);
  if (!next.ok()) {
    s.exhausted = true;
    s.sampler_error = std::string(next.status().message());
    txn.AddEvent(s.sweep.id, 0, "sampler_failed", s.sampler_error, now);
    return std::nullopt;
  }
  if (!next->has_value()) {
    s.exhausted = true;
    txn.AddEvent(
        s.sweep.id, 0, "search_space_exhausted",
        absl::StrCat("the sampler has no new configuration after ", s.Created(), " trials"), now);
  }
  return std::move(*next);
}

void Scheduler::ProbeSampler(Txn& txn, SweepRec& s, int64_t now) {
  // With nothing running the history cannot change before the proposal is used, so the
  // sequence of configurations is unchanged.
  if (s.sweep.state != SweepState::kRunning || s.active > 0 || !s.retry_queue.empty() ||
      s.exhausted || s.Created() >= s.max_total || s.proposal) {
    return;
  }
  if (std::optional<core::Config> config = Sample(txn, s, now)) {
    s.proposal = std::move(config);
    s.proposal_for = s.history.trials.size();
  }
  lifecycle_.MaybeEndSweep(txn, s, now);
}

TrialRec& Scheduler::NewTrial(SweepRec& s, core::Config config, int64_t now) {
  TrialRec& t = s.trials.emplace_back();
  t.trial.sweep_id = s.sweep.id;
  t.trial.trial_id = s.Created();
  t.trial.config = std::move(config);
  t.trial.state = TrialState::kPending;
  t.trial.created_ms = now;
  if (s.sweep.extension > 0) t.trial.origin = absl::StrCat("extension ", s.sweep.extension);
  samplers::Observation obs;
  obs.config = t.trial.config;
  obs.state = TrialState::kPending;
  s.history.trials.push_back(std::move(obs));
  return t;
}

std::optional<LeaseGrant> Scheduler::Lease(Txn& txn, SweepRec& s, TrialRec& t, NodeRec& node,
                                           int64_t now) {
  if (absl::Status st = EnsureGrant(s, t); !st.ok()) {
    lifecycle_.EndTrial(txn, s, t, TrialState::kFailed,
                        absl::StrCat("cannot build the trial command: ", st.message()), now);
    return std::nullopt;
  }
  StartAttempt(txn, s, t, node, now);
  return GrantFor(t);
}

absl::Status Scheduler::EnsureGrant(SweepRec& s, TrialRec& t) const {
  if (t.grant) return absl::OkStatus();
  ASSIGN_OR_RETURN(spec::TrialCommand command, spec::BuildTrialCommand(s.spec, t.trial.config));
  auto g = std::make_shared<LeaseGrant>();
  g->argv = std::move(command.argv);
  g->shell = command.shell;
  // The spec's own variables first: Sweep's below win over them.
  for (const auto& [name, value] : s.spec.trial.environment_variables) {
    g->env.emplace_back(name, value);
  }
  std::string params = core::ConfigToJson(t.trial.config)
                           .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  for (const auto& [name, value] : t.trial.config) {
    g->env.emplace_back("AZUREML_SWEEP_" + name, core::ParamValueToString(value));
  }
  g->env.emplace_back("SWEEP_PARAMS", params);
  g->env.emplace_back("SWEEP_ID", s.sweep.id);
  g->env.emplace_back("SWEEP_NAME", s.sweep.name);
  g->env.emplace_back("SWEEP_TRIAL_ID", std::to_string(t.trial.trial_id));
  g->env.emplace_back("SWEEP_PRIMARY_METRIC", s.spec.objective.primary_metric);
  g->params_json = std::move(params);
  g->primary_metric = s.spec.objective.primary_metric;
  g->trial_timeout_ms = s.trial_timeout_ms;
  g->stop_grace_ms = options_.stop_grace_ms;
  g->snapshot_digest = s.sweep.snapshot_digest;
  g->artifact_max_bytes = options_.artifact_max_bytes;
  g->environment = s.environment;
  t.grant = std::move(g);
  return absl::OkStatus();
}

LeaseGrant Scheduler::GrantFor(const TrialRec& t) {
  LeaseGrant g = *t.grant;
  g.ref.node_id = t.attempt.node_id;
  g.ref.sweep_id = t.trial.sweep_id;
  g.ref.trial_id = t.trial.trial_id;
  g.ref.attempt = t.attempt.attempt;
  g.ref.fencing_token = t.attempt.fencing_token;
  g.expires_at_ms = t.attempt.expires_ms;
  g.env.emplace_back("SWEEP_ATTEMPT", std::to_string(t.attempt.attempt));
  return g;
}

void Scheduler::StartAttempt(Txn& txn, SweepRec& s, TrialRec& t, NodeRec& node, int64_t now) {
  t.trial.attempts += 1;
  t.has_attempt = true;
  t.attempt = core::Attempt();
  t.attempt.sweep_id = s.sweep.id;
  t.attempt.trial_id = t.trial.trial_id;
  t.attempt.attempt = t.trial.attempts;
  t.attempt.node_id = node.node.node_id;
  t.attempt.fencing_token = ++state_.fencing;
  t.attempt.state = AttemptState::kLeased;
  t.attempt.started_ms = now;
  t.attempt.expires_ms = now + options_.lease_duration_ms;
  t.trial.intervals = 0;
  t.trial.final_value.reset();
  t.value = {};
  t.trial.state = TrialState::kRunning;
  if (t.trial.started_ms == 0) t.trial.started_ms = now;
  s.Observed(t).state = TrialState::kRunning;
  s.Observed(t).intervals = 0;
  s.live.insert(t.trial.trial_id);
  s.active += 1;
  node.lease = std::make_pair(s.sweep.id, t.trial.trial_id);
  node.node.state = "busy";
  node.node.last_seen_ms = now;
  node.told_shutdown = false;
  txn.PutTrial(t);
  txn.PutAttempt(t);
  txn.PutNode(node);
  txn.AddEvent(s.sweep.id, t.trial.trial_id, "trial_started",
               absl::StrCat("attempt ", t.attempt.attempt, " on node ", node.node.node_id, ": ",
                            t.grant ? t.grant->params_json : std::string()),
               now);
}

absl::StatusOr<std::pair<SweepRec*, TrialRec*>> Scheduler::FindLease(const LeaseRef& ref) {
  auto it = state_.sweeps.find(ref.sweep_id);
  if (it == state_.sweeps.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("stale lease: sweep '", ref.sweep_id, "' is not active on this controller"));
  }
  SweepRec& s = *it->second;
  if (ref.trial_id < 1 || ref.trial_id > s.Created()) {
    return absl::FailedPreconditionError(
        absl::StrCat("stale lease: sweep ", ref.sweep_id, " has no trial ", ref.trial_id));
  }
  TrialRec& t = s.trials[ref.trial_id - 1];
  if (!t.has_attempt || t.attempt.attempt != ref.attempt) {
    return absl::FailedPreconditionError(
        absl::StrCat("stale lease: trial ", ref.trial_id, " of ", ref.sweep_id, " is on attempt ",
                     t.has_attempt ? t.attempt.attempt : 0, ", not ", ref.attempt));
  }
  if (t.attempt.node_id != ref.node_id) {
    // Another node's lease: refused whatever the token (rpc/grpc_service.h has checked
    // that the caller is ref.node_id).
    return absl::PermissionDeniedError(absl::StrCat("trial ", ref.trial_id, " attempt ",
                                                    ref.attempt, " is leased to node ",
                                                    t.attempt.node_id, ", not ", ref.node_id));
  }
  if (t.attempt.fencing_token != ref.fencing_token) {
    return absl::FailedPreconditionError(absl::StrCat(
        "stale lease: fencing token ", ref.fencing_token, " is not the current one for trial ",
        ref.trial_id, " attempt ", ref.attempt, " of ", ref.sweep_id));
  }
  return std::make_pair(&s, &t);
}

absl::StatusOr<std::pair<SweepRec*, TrialRec*>> Scheduler::FindLiveLease(const LeaseRef& ref) {
  ASSIGN_OR_RETURN(auto found, FindLease(ref));
  if (core::IsTerminal(found.second->attempt.state)) {
    return AttemptEndedError(ref, found.second->attempt.state);
  }
  return found;
}

void Scheduler::Renew(Txn& txn, TrialRec& t, int64_t now) {
  t.attempt.expires_ms = now + options_.lease_duration_ms;
  t.inherited = false;
  if (t.attempt.state == AttemptState::kLeased) t.attempt.state = AttemptState::kRunning;
  txn.PutAttempt(t);
  auto n = state_.nodes.find(t.attempt.node_id);
  if (n != state_.nodes.end()) n->second.node.last_seen_ms = now;
}

DirectiveReply Scheduler::DirectiveFor(const TrialRec& t) {
  DirectiveReply reply;
  reply.expires_at_ms = t.attempt.expires_ms;
  if (core::IsTerminal(t.trial.state) || t.stop != StopReason::kNone) {
    reply.directive = Directive::kStop;
    reply.reason = t.stop_message.empty() ? t.trial.reason : t.stop_message;
  }
  return reply;
}

}  // namespace sweep::controller

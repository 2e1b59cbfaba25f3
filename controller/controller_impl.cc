// The Controller facade: validation, locking and durability around the parts
// (controller_impl.h lists them).
#include "controller/controller_impl.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "controller/enqueue.h"
#include "controller/extension.h"
#include "controller/input_checks.h"
#include "controller/recovery.h"
#include "controller/registration.h"
#include "core/status.h"
#include "workspace/artifact_store.h"
#include "workspace/artifact_upload.h"
#include "workspace/registry.h"
#include "workspace/warm_start.h"

namespace sweep::controller {
namespace {

using core::AttemptState;
using core::SweepState;
using core::TrialState;

// Ended sweeps stay in memory this long after their last attempt ended, so late or
// retried calls about them (a repeated CompleteTrial) still get their answer; then they
// are dropped, keeping a long-running server's memory bounded.
constexpr int64_t kKeepEndedSweepMs = 10 * 60 * 1000;

// `chars` hex digits from the kernel's CSPRNG; a seeded generator when that fails (ids
// need to be unique, not secret).
std::string RandomHex(core::Env* env, size_t chars) {
  static constexpr char kHex[] = "0123456789abcdef";
  absl::StatusOr<std::string> bytes = env->RandomBytes((chars + 1) / 2);
  std::string out;
  if (bytes.ok()) {
    for (unsigned char b : *bytes) {
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 15]);
    }
  } else {
    static std::mutex mu;
    static std::mt19937_64 rng{std::random_device{}()};
    std::lock_guard<std::mutex> lock(mu);
    while (out.size() < chars) out.push_back(kHex[rng() & 15]);
  }
  out.resize(chars);
  return out;
}

std::string AlgorithmName(const spec::Sampling& s) {
  if (s.algorithm == spec::SamplingAlgorithm::kRandom && s.rule == spec::RandomRule::kSobol) {
    return "sobol";
  }
  return spec::SamplingAlgorithmName(s.algorithm);
}

// The spec can run on this workspace's target; user-facing errors otherwise.
absl::Status CheckSubmission(store::Store* store, const spec::SweepSpec& spec) {
  absl::StatusOr<core::ComputeTarget> target = store->GetCompute(spec.compute);
  if (absl::IsNotFound(target.status())) {
    return absl::NotFoundError(absl::StrCat(
        "compute target '", spec.compute, "' not found; create it with `sweep compute create ",
        spec.compute, " --type amlcompute --min-nodes 0 --max-nodes 4`"));
  }
  if (!target.ok()) return target.status();
  if (target->type != "amlcompute" && target->type != "remotevm") {
    return absl::InvalidArgumentError(absl::StrCat(
        "compute target '", spec.compute, "' has type '", target->type,
        "': hyperparameter sweeps run only on persistent amlcompute clusters and attached "
        "remotevm targets, not on run-based or local compute; create one with `sweep "
        "compute create NAME --type amlcompute --min-nodes 0 --max-nodes 4`"));
  }
  if (spec.limits.max_total_trials < 1) {
    return absl::InvalidArgumentError(absl::StrCat("limits.max_total_trials must be >= 1 (got ",
                                                   spec.limits.max_total_trials, ")"));
  }
  if (spec.limits.max_concurrent_trials < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "limits.max_concurrent_trials must be >= 0 (got ", spec.limits.max_concurrent_trials, ")"));
  }
  if (spec.objective.primary_metric.empty()) {
    return absl::InvalidArgumentError("objective.primary_metric is required");
  }
  return absl::OkStatus();
}

absl::Status NotRunHere(const std::string& sweep_id) {
  return absl::FailedPreconditionError(
      absl::StrCat("sweep ", sweep_id, " is not run by this controller"));
}

std::string SubmittedMessage(const SweepRec& s) {
  const core::Sweep& sw = s.sweep;
  return absl::StrCat("compute ", sw.compute, ", sampling ", sw.sampling_algorithm, " (seed ",
                      s.seed, "), max_total_trials ", s.max_total, ", max_concurrent_trials ",
                      s.max_concurrent, ", early termination ",
                      core::PolicyTypeName(s.spec.early_termination.type),
                      sw.snapshot_digest.empty()
                          ? std::string()
                          : absl::StrCat(", code snapshot ", sw.snapshot_digest.substr(0, 12)));
}

}  // namespace

ControllerImpl::ControllerImpl(store::Store* store, ControllerOptions options)
    : store_(store),
      options_(options),
      clock_(options.clock),
      snapshots_(options.workspace_dir.empty() ? nullptr
                                               : std::make_unique<workspace::SnapshotStore>(
                                                     options.workspace_dir, options.env)),
      commits_([store](const store::WriteBatch& batch) { return store->Commit(batch); }),
      scheduler_(state_, lifecycle_, options_),
      admin_(store, options_, AdminHooks()) {
  autoscaler_.SetNodeWaitTimeout(options_.node_wait_timeout_ms);
}

ControllerAdmin::Hooks ControllerImpl::AdminHooks() {
  ControllerAdmin::Hooks hooks;
  hooks.record = [this](const core::Event& event) {
    std::unique_lock<std::mutex> lock(mu_);
    Txn txn;
    txn.batch.events.push_back(event);
    Finish(txn, lock).IgnoreError();
  };
  hooks.also_using = [this](const std::string& compute) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> ids;
    for (const auto& [id, s] : state_.sweeps) {
      if (s->sweep.compute == compute && !s->live.empty()) ids.push_back(id);
    }
    return ids;
  };
  hooks.target_changed = [this](const std::string& name, const core::ComputeTarget* target) {
    std::lock_guard<std::mutex> lock(mu_);
    autoscaler_.UpdateTarget(name, target);
  };
  return hooks;
}

absl::StatusOr<std::unique_ptr<Controller>> Controller::Create(store::Store* store,
                                                               ControllerOptions options) {
  if (store == nullptr) return absl::InvalidArgumentError("Controller::Create: store is null");
  // Leases expire by a clock a wall-clock step does not move (core/clock.h).
  if (options.clock == nullptr) options.clock = core::MonotonicWallClock::Default();
  if (options.lease_duration_ms <= 0 || options.heartbeat_interval_ms <= 0 ||
      options.max_acquire_wait_ms < 0 || options.tick_interval_ms <= 0) {
    return absl::InvalidArgumentError(
        "Controller::Create: lease_duration_ms, heartbeat_interval_ms and tick_interval_ms "
        "must be > 0 and max_acquire_wait_ms >= 0");
  }
  auto impl = std::make_unique<ControllerImpl>(store, options);
  RETURN_IF_ERROR(impl->Load());
  return std::unique_ptr<Controller>(std::move(impl));
}

absl::Status ControllerImpl::Load() {
  ASSIGN_OR_RETURN(std::vector<core::ComputeTarget> targets, store_->ListComputes());
  std::unique_lock<std::mutex> lock(mu_);
  autoscaler_.SetTargets(std::move(targets));
  Txn txn;
  RETURN_IF_ERROR(Recover({.store = store_,
                           .snapshots = snapshots_.get(),
                           .snapshot_max_bytes = options_.snapshot_max_bytes,
                           .state = &state_,
                           .lifecycle = &lifecycle_,
                           .scheduler = &scheduler_},
                          txn, clock_->NowMillis()));
  return Finish(txn, lock);
}

// ---------------------------------------------------------------------------
// Durability

uint64_t ControllerImpl::Flush(Txn& txn) {
  uint64_t seq = commits_.Enqueue(txn.batch);
  for (SweepRec* s : txn.ended_sweeps) s->end_seq = seq;
  if (!txn.ended_sweeps.empty()) state_cv_.notify_all();
  if (txn.wake_pollers) work_cv_.notify_all();
  txn.ended_sweeps.clear();
  txn.wake_pollers = false;
  return seq;
}

absl::Status ControllerImpl::Finish(Txn& txn, std::unique_lock<std::mutex>& lock) {
  uint64_t seq = Flush(txn);
  lock.unlock();
  return commits_.WaitDurable(seq);
}

// ---------------------------------------------------------------------------
// Sweeps

void ControllerImpl::SetNodeProvider(const std::string& provider_name,
                                     std::shared_ptr<NodeProvider> provider) {
  std::lock_guard<std::mutex> lock(mu_);
  autoscaler_.SetProvider(provider_name, std::move(provider));
}

void ControllerImpl::SetEventListener(std::function<void(const core::Event&)> listener) {
  commits_.SetListener(std::move(listener));
}

absl::StatusOr<std::unique_ptr<SweepRec>> ControllerImpl::NewSweep(const spec::SweepSpec& spec,
                                                                   const std::string& spec_yaml) {
  RETURN_IF_ERROR(CheckSubmission(store_, spec));
  std::optional<core::Environment> environment;
  if (!spec.trial.environment.empty()) {
    ASSIGN_OR_RETURN(environment, workspace::ResolveEnvironment(store_, spec.trial.environment));
  }
  std::optional<workspace::WarmStart> warm;
  if (!spec.warm_start_sweeps.empty()) {
    ASSIGN_OR_RETURN(
        warm, workspace::CollectWarmStart(store_, spec, spec.warm_start_sweeps, std::nullopt));
  }
  // Snapshot first (file I/O, no lock): a sweep is never recorded without its code.
  std::string snapshot_digest;
  if (!spec.trial.code.empty()) {
    if (!snapshots_) {
      return absl::FailedPreconditionError(
          "trial.code needs a workspace to store its snapshot in; this controller has none");
    }
    ASSIGN_OR_RETURN(snapshot_digest,
                     snapshots_->Create(spec.trial.code, options_.snapshot_max_bytes));
  }

  auto s = std::make_unique<SweepRec>();
  s->spec = spec;
  s->environment = environment;
  core::Sweep& sw = s->sweep;
  {
    std::lock_guard<std::mutex> lock(mu_);
    do {
      sw.id = "sw-" + RandomHex(options_.env, 12);
    } while (state_.sweeps.count(sw.id) > 0 || store_->GetSweep(sw.id).ok());
  }
  sw.created_ms = clock_->NowMillis();
  RETURN_IF_ERROR(OpenSweep(*s));
  if (warm) {
    SeedWarmStart(*s, *warm);
    sw.warm_start = warm->sweep_ids;
    s->warm_start_summary = workspace::DescribeWarmStart(*warm);
  }
  sw.name = spec.display_name;
  if (sw.name.empty() && !spec.path.empty()) {
    sw.name = std::filesystem::path(spec.path).stem().string();
  }
  if (sw.name.empty()) sw.name = sw.id;
  sw.spec_yaml = spec_yaml;
  sw.spec_path = spec.path;
  sw.compute = spec.compute;
  sw.objective = spec.objective;
  sw.sampling_algorithm = AlgorithmName(spec.sampling);
  sw.max_total_trials = spec.limits.max_total_trials;
  sw.state = SweepState::kRunning;
  sw.snapshot_digest = snapshot_digest;
  if (environment) sw.environment = absl::StrCat(environment->name, "@", environment->version);
  return s;
}

absl::StatusOr<std::string> ControllerImpl::SubmitSweep(const spec::SweepSpec& spec,
                                                        const std::string& spec_yaml) {
  RETURN_IF_ERROR(commits_.Broken());
  const auto targets_held = admin_.HoldTargets();  // no target deleted under a submission
  ASSIGN_OR_RETURN(std::unique_ptr<SweepRec> s, NewSweep(spec, spec_yaml));
  std::unique_lock<std::mutex> lock(mu_);
  if (shutdown_) return absl::UnavailableError("the controller is shutting down");
  Txn txn;
  txn.batch.sweeps.push_back(s->sweep);
  txn.AddEvent(s->sweep.id, 0, "sweep_submitted", SubmittedMessage(*s), s->sweep.created_ms);
  if (!s->warm_start_summary.empty()) {
    txn.AddEvent(s->sweep.id, 0, "warm_start", s->warm_start_summary, s->sweep.created_ms);
  }
  SweepRec& added = state_.AddRunning(std::move(s));
  for (const core::Config& point : spec.initial_points) {
    EnqueuePoint(txn, added, point, added.sweep.created_ms);
  }
  std::string id = added.sweep.id;
  txn.wake_pollers = true;
  RETURN_IF_ERROR(Finish(txn, lock));
  return id;
}

absl::StatusOr<core::Sweep> ControllerImpl::StoredSweep(const std::string& sweep_id) {
  absl::StatusOr<core::Sweep> stored = store_->GetSweep(sweep_id);
  if (absl::IsNotFound(stored.status())) {
    return absl::NotFoundError(absl::StrCat("no sweep '", sweep_id, "'"));
  }
  return stored;
}

absl::Status ControllerImpl::CancelSweep(const std::string& sweep_id) {
  RETURN_IF_ERROR(commits_.Broken());
  std::unique_lock<std::mutex> lock(mu_);
  auto it = state_.sweeps.find(sweep_id);
  if (it == state_.sweeps.end()) {
    lock.unlock();
    ASSIGN_OR_RETURN(core::Sweep stored, StoredSweep(sweep_id));
    if (core::IsTerminal(stored.state)) {
      return absl::FailedPreconditionError(absl::StrCat("sweep ", sweep_id, " already ended (",
                                                        core::SweepStateName(stored.state), ")"));
    }
    return NotRunHere(sweep_id);
  }
  SweepRec& s = *it->second;
  if (s.sweep.state != SweepState::kRunning) {
    return absl::FailedPreconditionError(absl::StrCat("sweep ", sweep_id, " already ended (",
                                                      core::SweepStateName(s.sweep.state), ")"));
  }
  Txn txn;
  lifecycle_.StopSweep(txn, s, SweepState::kCanceled, "canceled by user", clock_->NowMillis());
  return Finish(txn, lock);
}

absl::StatusOr<core::SweepState> ControllerImpl::WaitForSweep(const std::string& sweep_id,
                                                              int64_t timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(std::max<int64_t>(0, timeout_ms));
  // Ended durably, with its model registration (if any) recorded.
  auto settled = [](const SweepRec& s) {
    return s.sweep.state != SweepState::kRunning && s.end_seq > 0 && !s.register_pending;
  };
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    RETURN_IF_ERROR(commits_.Broken());  // a sweep that cannot be saved never ends
    auto it = state_.sweeps.find(sweep_id);
    if (it == state_.sweeps.end()) {
      lock.unlock();
      ASSIGN_OR_RETURN(core::Sweep stored, StoredSweep(sweep_id));
      if (core::IsTerminal(stored.state)) return stored.state;
      return NotRunHere(sweep_id);
    }
    SweepRec& s = *it->second;
    if (settled(s)) {
      SweepState state = s.sweep.state;
      uint64_t seq = s.end_seq;
      lock.unlock();
      RETURN_IF_ERROR(commits_.WaitDurable(seq));
      return state;
    }
    if (shutdown_) {
      return absl::CancelledError(
          absl::StrCat("the controller shut down while sweep ", sweep_id, " was running"));
    }
    if (state_cv_.wait_until(lock, deadline) == std::cv_status::timeout &&
        std::chrono::steady_clock::now() >= deadline) {
      auto again = state_.sweeps.find(sweep_id);
      if (again != state_.sweeps.end() && settled(*again->second)) continue;
      return absl::DeadlineExceededError(
          absl::StrCat("sweep ", sweep_id, " still running after ", timeout_ms, " ms"));
    }
  }
}

// ---------------------------------------------------------------------------
// Nodes and leases

absl::StatusOr<Registered> ControllerImpl::Register(const NodeRegistration& registration) {
  RETURN_IF_ERROR(commits_.Broken());
  RETURN_IF_ERROR(CheckRegistration(registration));
  if (registration.compute.empty()) {
    return absl::InvalidArgumentError("register: compute is required");
  }
  absl::StatusOr<core::ComputeTarget> target = store_->GetCompute(registration.compute);
  if (absl::IsNotFound(target.status())) {
    return absl::NotFoundError(absl::StrCat("compute target '", registration.compute,
                                            "' not found; create it with `sweep compute create ",
                                            registration.compute, "`"));
  }
  if (!target.ok()) return target.status();
  std::unique_lock<std::mutex> lock(mu_);
  const int64_t now = clock_->NowMillis();
  std::string id = registration.node_id;
  if (id.empty()) {
    do {
      id = "node-" + RandomHex(options_.env, 10);
    } while (state_.nodes.count(id) > 0);
  }
  NodeRec& n = state_.nodes[id];
  if (n.node.node_id.empty()) {
    n.node.node_id = id;
    n.node.registered_ms = now;
  } else if (n.node.compute != registration.compute && n.lease) {
    return absl::FailedPreconditionError(
        absl::StrCat("node ", id, " holds a lease on compute ", n.node.compute,
                     "; it cannot re-register for ", registration.compute));
  }
  n.node.compute = registration.compute;
  n.node.hostname = registration.hostname;
  n.node.pid = registration.pid;
  n.node.state = n.lease ? "busy" : "idle";
  n.node.last_seen_ms = now;
  n.told_shutdown = false;
  if (!n.lease) n.idle_since_ms = now;
  Txn txn;
  txn.PutNode(n);
  RETURN_IF_ERROR(Finish(txn, lock));
  Registered r;
  r.node_id = id;
  r.heartbeat_interval_ms = options_.heartbeat_interval_ms;
  r.lease_duration_ms = options_.lease_duration_ms;
  return r;
}

absl::StatusOr<AcquireResult> ControllerImpl::AcquireTrial(const std::string& node_id,
                                                           int64_t wait_ms) {
  RETURN_IF_ERROR(commits_.Broken());
  const auto deadline =
      std::chrono::steady_clock::now() +
      std::chrono::milliseconds(std::clamp<int64_t>(wait_ms, 0, options_.max_acquire_wait_ms));
  std::unique_lock<std::mutex> lock(mu_);
  Txn txn;
  absl::StatusOr<AcquireResult> result = AcquireLocked(node_id, deadline, txn, lock);
  RETURN_IF_ERROR(Finish(txn, lock));
  return result;
}

absl::StatusOr<AcquireResult> ControllerImpl::AcquireLocked(
    const std::string& node_id, std::chrono::steady_clock::time_point deadline, Txn& txn,
    std::unique_lock<std::mutex>& lock) {
  AcquireResult result;
  while (true) {
    auto it = state_.nodes.find(node_id);
    if (it == state_.nodes.end()) {
      return absl::NotFoundError(
          absl::StrCat("unknown node '", node_id, "'; register before acquiring trials"));
    }
    NodeRec& node = it->second;
    const int64_t now = clock_->NowMillis();
    node.node.last_seen_ms = now;
    if (node.node.state == "gone" && !node.told_shutdown) {
      node.node.state = "idle";  // marked gone for silence, but it is back
      node.idle_since_ms = now;
      txn.PutNode(node);
    }
    if (shutdown_) {
      result.shutdown = true;
      break;
    }
    result.lease = scheduler_.CurrentLease(node);
    if (!result.lease) result.lease = scheduler_.TryLease(txn, node, now);
    if (result.lease) break;
    if (node.told_shutdown) {
      result.shutdown = true;
      if (node.node.state != "gone") {  // recorded once, however often it asks again
        node.node.state = "gone";
        txn.PutNode(node);
        txn.AddEvent("", 0, "node_scaled_down",
                     absl::StrCat("compute ", node.node.compute, ": node ", node_id,
                                  " told to shut down after being idle"),
                     now);
      }
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    // Changes made while looking (e.g. "search space exhausted") are queued now; the
    // caller's final wait covers them.
    Flush(txn);
    work_cv_.wait_until(lock, deadline);
  }
  return result;
}

absl::StatusOr<DirectiveReply> ControllerImpl::Heartbeat(const LeaseRef& lease) {
  RETURN_IF_ERROR(commits_.Broken());
  std::unique_lock<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(auto found, scheduler_.FindLiveLease(lease));
  TrialRec& t = *found.second;
  Txn txn;
  scheduler_.Renew(txn, t, clock_->NowMillis());
  DirectiveReply reply = Scheduler::DirectiveFor(t);
  RETURN_IF_ERROR(Finish(txn, lock));
  return reply;
}

absl::StatusOr<DirectiveReply> ControllerImpl::ReportMetrics(
    const LeaseRef& lease, const std::vector<core::MetricPoint>& points) {
  RETURN_IF_ERROR(commits_.Broken());
  RETURN_IF_ERROR(CheckPoints(points));
  std::unique_lock<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(auto found, scheduler_.FindLiveLease(lease));
  auto [s, t] = found;
  Txn txn;
  const int64_t now = clock_->NowMillis();
  scheduler_.Renew(txn, *t, now);
  lifecycle_.IngestPoints(txn, *s, *t, points, now);
  DirectiveReply reply = Scheduler::DirectiveFor(*t);
  RETURN_IF_ERROR(Finish(txn, lock));
  return reply;
}

absl::StatusOr<core::TrialState> ControllerImpl::CompleteTrial(const LeaseRef& lease,
                                                               const Completion& completion) {
  RETURN_IF_ERROR(commits_.Broken());
  RETURN_IF_ERROR(CheckPoints(completion.points));
  RETURN_IF_ERROR(CheckCompletionText(completion));
  std::unique_lock<std::mutex> lock(mu_);
  Txn txn;
  ASSIGN_OR_RETURN(TrialState state, CompleteLocked(lease, completion, txn));
  RETURN_IF_ERROR(Finish(txn, lock));
  return state;
}

absl::StatusOr<Controller::CompletedAndNext> ControllerImpl::CompleteTrialAndAcquire(
    const LeaseRef& lease, const Completion& completion) {
  RETURN_IF_ERROR(commits_.Broken());
  RETURN_IF_ERROR(CheckPoints(completion.points));
  RETURN_IF_ERROR(CheckCompletionText(completion));
  std::unique_lock<std::mutex> lock(mu_);
  Txn txn;
  CompletedAndNext out;
  ASSIGN_OR_RETURN(out.state, CompleteLocked(lease, completion, txn));
  // The completion and the next lease share one commit; neither is answered before it.
  absl::StatusOr<AcquireResult> next =
      AcquireLocked(lease.node_id, std::chrono::steady_clock::now(), txn, lock);
  if (next.ok()) out.next = *std::move(next);
  RETURN_IF_ERROR(Finish(txn, lock));
  return out;
}

absl::StatusOr<core::TrialState> ControllerImpl::CompleteLocked(const LeaseRef& lease,
                                                                const Completion& completion,
                                                                Txn& txn) {
  ASSIGN_OR_RETURN(auto found, scheduler_.FindLease(lease));
  auto [s, t] = found;
  if (core::IsTerminal(t->attempt.state)) {
    // The same completion again (a retried rpc) gets the same answer, once the first one
    // is durable; nothing more is written.
    if (!Lifecycle::SameCompletion(*t, completion)) {
      return AttemptEndedError(lease, t->attempt.state);
    }
  } else {
    lifecycle_.Complete(txn, *s, *t, completion, clock_->NowMillis());
  }
  return t->trial.state;
}

absl::Status ControllerImpl::Deregister(const std::string& node_id) {
  return EndNode(node_id,
                 {AttemptState::kStopped, "node deregistered", "attempt_released", "",
                  /*count_retry=*/false},
                 [&](int32_t attempt) {
                   return absl::StrCat("node ", node_id, " left; attempt ", attempt,
                                       " released without counting as a failure");
                 });
}

absl::Status ControllerImpl::NodeGone(const std::string& node_id, const std::string& reason) {
  const std::string why = absl::StrCat("node ", node_id, " ended: ", reason);
  return EndNode(node_id, {AttemptState::kPreempted, why, "attempt_preempted", "", false},
                 [&](int32_t attempt) { return absl::StrCat("attempt ", attempt, ": ", why); });
}

absl::Status ControllerImpl::EndNode(const std::string& node_id, Interruption interruption,
                                     const std::function<std::string(int32_t)>& event_message) {
  RETURN_IF_ERROR(commits_.Broken());
  std::unique_lock<std::mutex> lock(mu_);
  auto it = state_.nodes.find(node_id);
  if (it == state_.nodes.end()) {
    return absl::NotFoundError(absl::StrCat("unknown node '", node_id, "'"));
  }
  NodeRec& node = it->second;
  const int64_t now = clock_->NowMillis();
  Txn txn;
  if (auto [s, t] = state_.LiveAttemptOf(node); t != nullptr) {
    interruption.event_message = event_message(t->attempt.attempt);
    lifecycle_.Interrupt(txn, *s, *t, interruption, now);
  }
  node.lease.reset();
  if (node.node.state != "gone") {
    node.node.state = "gone";
    node.node.last_seen_ms = now;
    txn.PutNode(node);
  }
  return Finish(txn, lock);
}

// ---------------------------------------------------------------------------
// Snapshots and artifacts

absl::StatusOr<std::string> ControllerImpl::LiveAttemptDir(const LeaseRef& ref) {
  RETURN_IF_ERROR(scheduler_.FindLiveLease(ref).status());
  return workspace::ArtifactAttemptDir(options_.workspace_dir, ref.sweep_id, ref.trial_id,
                                       ref.attempt);
}

absl::StatusOr<BlobChunk> ControllerImpl::FetchSnapshot(const std::string& digest,
                                                        const std::string& blob, int64_t offset,
                                                        int64_t max_bytes) {
  constexpr int64_t kMaxChunk = 1 << 20;
  if (!snapshots_) {
    return absl::FailedPreconditionError("this controller has no workspace holding snapshots");
  }
  return snapshots_->ReadChunk(digest, blob, offset,
                               max_bytes > 0 ? std::min(max_bytes, kMaxChunk) : kMaxChunk);
}

absl::Status ControllerImpl::UploadArtifact(const LeaseRef& lease, const ArtifactChunk& chunk) {
  RETURN_IF_ERROR(commits_.Broken());
  if (options_.workspace_dir.empty()) {
    return absl::FailedPreconditionError("this controller has no workspace to store artifacts");
  }
  std::string dir;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(dir, LiveAttemptDir(lease));
  }
  // Written outside mu_: the upload area is private to this attempt and is published only
  // by CommitArtifacts, which checks the lease again.
  return workspace::ReceiveArtifactChunk(dir, chunk, options_.artifact_max_bytes, options_.env);
}

absl::StatusOr<int64_t> ControllerImpl::CommitArtifacts(const LeaseRef& lease, int64_t file_count) {
  RETURN_IF_ERROR(commits_.Broken());
  if (options_.workspace_dir.empty()) {
    return absl::FailedPreconditionError("this controller has no workspace to store artifacts");
  }
  std::string dir;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ASSIGN_OR_RETURN(dir, LiveAttemptDir(lease));
  }
  // Hashing (up to the artifact limit) outside mu_: other nodes' calls go on meanwhile.
  ASSIGN_OR_RETURN(workspace::ArtifactManifest manifest,
                   workspace::ScanStagedArtifacts(dir, options_.env));
  // The publication under mu_, so the lease cannot expire between the check and it.
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(dir, LiveAttemptDir(lease));
  return workspace::PublishScannedArtifacts(dir, file_count, manifest, options_.env);
}

// ---------------------------------------------------------------------------
// Housekeeping

void ControllerImpl::Tick() {
  if (!commits_.Broken().ok()) return;
  // Targets can be created by other processes (`sweep compute create`); re-read them.
  absl::StatusOr<std::vector<core::ComputeTarget>> targets = store_->ListComputes();
  std::unique_lock<std::mutex> lock(mu_);
  if (targets.ok()) autoscaler_.SetTargets(std::move(*targets));
  const int64_t now = clock_->NowMillis();
  Txn txn;
  ExpireAndTimeOut(txn, now);
  ForgetEndedSweeps(now);
  MarkSilentNodesGone(txn, now);
  std::vector<NodeWaitTimeout> timeouts;
  std::vector<Autoscaler::Start> starts;
  if (!shutdown_) {
    starts = autoscaler_.Plan(txn, state_, now, &timeouts);
    EndSweepsWithoutNodes(txn, timeouts, now);
  }
  Finish(txn, lock).IgnoreError();
  RegisterModels();
  StartNodes(std::move(starts));
}

void ControllerImpl::ExpireAndTimeOut(Txn& txn, int64_t now) {
  for (auto& [id, sp] : state_.sweeps) {
    SweepRec& s = *sp;
    lifecycle_.ExpireLeases(txn, s, "", now);
    if (s.sweep.state != SweepState::kRunning) continue;
    if (lifecycle_.EnforceTimeouts(txn, s, now)) continue;
    scheduler_.ProbeSampler(txn, s, now);
    lifecycle_.MaybeEndSweep(txn, s, now);
  }
}

void ControllerImpl::ForgetEndedSweeps(int64_t now) {
  for (auto it = state_.sweeps.begin(); it != state_.sweeps.end();) {
    const SweepRec& s = *it->second;
    if (s.sweep.state != SweepState::kRunning && s.live.empty() && s.end_seq > 0 &&
        !s.register_pending && now - s.sweep.ended_ms > kKeepEndedSweepMs) {
      it = state_.sweeps.erase(it);
    } else {
      ++it;
    }
  }
}

void ControllerImpl::MarkSilentNodesGone(Txn& txn, int64_t now) {
  // Nodes silent for longer than any poll or lease are gone.
  const int64_t silence = options_.max_acquire_wait_ms + options_.lease_duration_ms;
  for (auto& [id, n] : state_.nodes) {
    if (n.node.state == "gone" || n.lease) continue;
    if (now - n.node.last_seen_ms > silence) {
      n.node.state = "gone";
      txn.PutNode(n);
    }
  }
}

void ControllerImpl::EndSweepsWithoutNodes(Txn& txn, const std::vector<NodeWaitTimeout>& timeouts,
                                           int64_t now) {
  for (const NodeWaitTimeout& t : timeouts) {
    auto it = state_.sweeps.find(t.sweep_id);
    if (it == state_.sweeps.end() || it->second->sweep.state != SweepState::kRunning) continue;
    txn.AddEvent(t.sweep_id, 0, "node_wait_timeout", t.reason, now);
    lifecycle_.StopSweep(txn, *it->second, SweepState::kFailed, t.reason, now);
  }
}

void ControllerImpl::StartNodes(std::vector<Autoscaler::Start> starts) {
  if (starts.empty()) return;
  Txn txn;
  txn.batch.events = Autoscaler::StartNodes(starts, *clock_);
  std::unique_lock<std::mutex> lock(mu_);
  autoscaler_.Record(starts, clock_->NowMillis());
  Finish(txn, lock).IgnoreError();
}

void ControllerImpl::RegisterModels() {
  std::vector<PendingRegistration> pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending = PendingRegistrations(state_);
  }
  for (const PendingRegistration& p : pending) {
    // The registry reads the ended sweep's trials from the store.
    if (!commits_.WaitDurable(p.end_seq).ok()) return;  // broken: nothing more is committed
    core::Event event =
        RegisterSweepModel(store_, options_.workspace_dir, p, clock_->NowMillis(), options_.env);
    std::unique_lock<std::mutex> lock(mu_);
    Txn txn;
    txn.batch.events.push_back(std::move(event));
    auto it = state_.sweeps.find(p.sweep_id);
    if (it != state_.sweeps.end()) {
      it->second->register_pending = false;
      it->second->end_seq = Flush(txn);  // WaitForSweep waits for the event too
      state_cv_.notify_all();
    } else {
      // Recovered at start: no one waits for this sweep, so the event is made durable here.
      std::erase(state_.recovered_registrations, std::make_pair(p.sweep_id, p.model));
      if (!Finish(txn, lock).ok()) return;
    }
  }
}

void ControllerImpl::Start() {
  std::lock_guard<std::mutex> lock(ticker_mu_);
  if (ticker_.joinable() || ticker_stop_) return;
  ticker_ = std::thread([this] {
    std::unique_lock<std::mutex> l(ticker_mu_);
    while (!ticker_stop_) {
      l.unlock();
      Tick();
      l.lock();
      ticker_cv_.wait_for(l, std::chrono::milliseconds(options_.tick_interval_ms),
                          [this] { return ticker_stop_; });
    }
    l.unlock();
    // Before this thread ends: it started the local workers, which get SIGKILL when it ends
    // (PR_SET_PDEATHSIG), leaving their trials' children running and leases to expire.
    StopProviderNodes();
  });
}

void ControllerImpl::Shutdown() {
  if (shut_down_once_.exchange(true)) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutdown_ = true;  // from here no lease is granted and no node is started
  }
  work_cv_.notify_all();
  state_cv_.notify_all();
  bool ticking;
  {
    std::lock_guard<std::mutex> lock(ticker_mu_);
    ticker_stop_ = true;
    ticking = ticker_.joinable();
  }
  ticker_cv_.notify_all();
  ticking ? ticker_.join() : StopProviderNodes();  // the ticker stops the nodes on its way out
}

void ControllerImpl::StopProviderNodes() {
  std::vector<std::shared_ptr<NodeProvider>> providers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    providers = autoscaler_.Providers();
  }
  // Stopped workers report their attempts (committed, so a restart re-leases at once).
  for (auto& p : providers) p->StopAll();
}

absl::StatusOr<ComputeStatus> ControllerImpl::GetComputeStatus(const std::string& compute) {
  std::lock_guard<std::mutex> lock(mu_);
  return autoscaler_.Status(compute, state_);
}

}  // namespace sweep::controller

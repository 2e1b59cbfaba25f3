// The Controller: in-memory state of running sweeps, mirrored into the Store.
//
// Design notes (why it looks like this):
// - One mutex (mu_) guards all in-memory state. Every public call mutates state under
//   mu_, collects the rows it changed in a WriteBatch, enqueues the batch (still under
//   mu_, so batches are ordered like the mutations), releases mu_ and then waits until
//   the batch is durable before answering. Waiting uses group commit: whichever waiter
//   finds no commit in flight merges every pending batch into one Store::Commit, so
//   concurrent calls share one transaction (and one fsync).
// - If a commit fails, memory is ahead of the store; the controller then refuses every
//   further call (Internal) so nothing is acknowledged that is not durable. Restarting
//   reloads the durable state.
// - Per-call work is O(1) in the number of trials: per-sweep counters, a retry queue,
//   and a set of trials with live attempts. The sampler's History is kept up to date
//   incrementally and passed by reference.
// - A sweep that ends by cancel or timeout ends at once (durably), its running trials
//   are marked canceled, and their attempts "drain": heartbeats get STOP until the
//   worker completes or the lease expires.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "controller/admin.h"
#include "controller/controller.h"
#include "core/search_space.h"
#include "core/status.h"
#include "nlohmann/json.hpp"
#include "policies/early_termination.h"
#include "samplers/sampler.h"
#include "spdlog/spdlog.h"
#include "workspace/artifact_store.h"
#include "workspace/artifact_upload.h"
#include "workspace/registry.h"
#include "workspace/snapshot_store.h"

namespace sweep::controller {
namespace {

using core::AttemptState;
using core::SweepState;
using core::TrialState;

// Ended sweeps stay in memory this long after their last attempt ended, so late or
// retried calls about them (a repeated CompleteTrial) still get their answer; then they
// are dropped, keeping a long-running server's memory bounded.
constexpr int64_t kKeepEndedSweepMs = 10 * 60 * 1000;
// After a provider failed to start a node for a target, wait this long before retrying.
constexpr int64_t kStartRetryMs = 10'000;
// Preempted and released attempts do not count against max_retries; this many of them
// beyond max_retries + 1 attempts fail the trial, so a trial cannot loop forever.
constexpr int32_t kMaxUncountedAttempts = 20;

// Why the controller asked a trial to stop; decides the trial's final state.
enum class StopReason { kNone, kEarlyTerminated, kTrialTimeout, kCanceled };

std::string RandomHex(size_t chars) {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::lock_guard<std::mutex> lock(mu);
  std::string out;
  for (size_t i = 0; i < chars; ++i) out.push_back(kHex[rng() & 15]);
  return out;
}

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

std::string AlgorithmName(const spec::Sampling& s) {
  if (s.algorithm == spec::SamplingAlgorithm::kRandom && s.rule == spec::RandomRule::kSobol) {
    return "sobol";
  }
  return spec::SamplingAlgorithmName(s.algorithm);
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

struct TrialRec {
  core::Trial trial;
  bool has_attempt = false;
  core::Attempt attempt;  // the latest attempt
  // Primary metric of the latest attempt (finite values only).
  std::optional<double> last;
  std::optional<double> best;
  StopReason stop = StopReason::kNone;
  std::string stop_message;
  // argv/env/params of the trial, built on first lease.
  std::shared_ptr<const LeaseGrant> grant;
};

struct SweepRec {
  core::Sweep sweep;
  spec::SweepSpec spec;
  uint64_t seed = 0;
  std::unique_ptr<samplers::Sampler> sampler;
  std::unique_ptr<policies::EarlyTerminationPolicy> policy;
  samplers::History history;
  std::deque<TrialRec> trials;      // trials[i] is trial i+1; deque keeps references stable
  std::deque<int64_t> retry_queue;  // pending trials whose last attempt was lost
  std::set<int64_t> live;           // trials with a non-terminal attempt
  int64_t active = 0;               // non-terminal trials with a non-terminal attempt
  int64_t max_total = 0;
  int64_t max_concurrent = 0;
  int64_t deadline_ms = 0;  // 0: no sweep timeout
  int64_t trial_timeout_ms = 0;
  bool exhausted = false;  // the sampler said it has nothing more
  std::string sampler_error;
  std::optional<core::Config> proposal;  // asked ahead while idle (see Tick)
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
  int64_t Startable() const {
    int64_t fresh = exhausted ? 0 : std::max<int64_t>(0, max_total - Created());
    return static_cast<int64_t>(retry_queue.size()) + fresh;
  }
};

struct NodeRec {
  core::Node node;
  std::optional<std::pair<std::string, int64_t>> lease;  // (sweep, trial) it holds
  int64_t idle_since_ms = 0;
  bool told_shutdown = false;
};

// What one call changed: the rows to commit and what to wake up afterwards.
struct Txn {
  store::WriteBatch batch;
  bool wake_pollers = false;
  std::vector<SweepRec*> ended_sweeps;
};

struct ScaleAction {
  core::ComputeTarget target;
  std::shared_ptr<NodeProvider> provider;
  int64_t count = 0;
  std::string sweep_id;  // a sweep that asked for the nodes, for the event
  int64_t desired = 0;
  int64_t live = 0;      // nodes the provider had running before this action
  std::string reason;    // why these nodes are wanted, for the event
  bool restart = false;  // remotevm: replaces workers that exited while a sweep runs
};

class ControllerImpl final : public Controller {
 public:
  ControllerImpl(store::Store* store, ControllerOptions options)
      : store_(store),
        options_(options),
        clock_(options.clock),
        snapshots_(options.workspace_dir.empty()
                       ? nullptr
                       : std::make_unique<workspace::SnapshotStore>(options.workspace_dir)),
        admin_(store, options, AdminHooks()) {}
  ~ControllerImpl() override { Shutdown(); }

  absl::Status Load();

  void SetNodeProvider(const std::string& provider_name,
                       std::shared_ptr<NodeProvider> provider) override {
    std::lock_guard<std::mutex> lock(mu_);
    providers_[provider_name] = std::move(provider);
  }

  void SetEventListener(std::function<void(const core::Event&)> listener) override {
    std::lock_guard<std::mutex> lock(commit_mu_);
    listener_ = std::move(listener);
  }

  absl::StatusOr<std::string> SubmitSweep(const spec::SweepSpec& spec,
                                          const std::string& spec_yaml) override;
  absl::Status CancelSweep(const std::string& sweep_id) override;
  absl::StatusOr<Registered> Register(const NodeRegistration& registration) override;
  absl::StatusOr<AcquireResult> AcquireTrial(const std::string& node_id, int64_t wait_ms) override;
  absl::StatusOr<DirectiveReply> Heartbeat(const LeaseRef& lease) override;
  absl::StatusOr<DirectiveReply> ReportMetrics(
      const LeaseRef& lease, const std::vector<core::MetricPoint>& points) override;
  absl::StatusOr<core::TrialState> CompleteTrial(const LeaseRef& lease,
                                                 const Completion& completion) override;
  absl::Status Deregister(const std::string& node_id) override;
  absl::Status NodeGone(const std::string& node_id, const std::string& reason) override;
  // Deregister and NodeGone: the node's live attempt ends in `attempt_state` (reason
  // `why`, event `event_kind` with event_message(attempt)), its trial is requeued without
  // counting a retry, and the node is gone.
  absl::Status EndNode(const std::string& node_id, AttemptState attempt_state,
                       const std::string& event_kind, const std::string& why,
                       const std::function<std::string(int32_t)>& event_message);
  absl::StatusOr<BlobChunk> FetchSnapshot(const std::string& digest, const std::string& blob,
                                          int64_t offset, int64_t max_bytes) override;
  absl::Status UploadArtifact(const LeaseRef& lease, const ArtifactChunk& chunk) override;
  absl::StatusOr<int64_t> CommitArtifacts(const LeaseRef& lease, int64_t file_count) override;
  void Tick() override;
  void Start() override;
  void Shutdown() override;
  absl::StatusOr<core::SweepState> WaitForSweep(const std::string& sweep_id,
                                                int64_t timeout_ms) override;
  absl::StatusOr<ComputeStatus> GetComputeStatus(const std::string& compute) override;
  // Admin: the workspace use cases, serialised with this state (controller/admin.h).
  absl::StatusOr<core::ComputeTarget> PutComputeTarget(const core::ComputeTarget& target,
                                                       workspace::PutMode mode) override {
    return admin_.PutComputeTarget(target, mode);
  }
  absl::Status DeleteComputeTarget(const std::string& name) override {
    return admin_.DeleteComputeTarget(name);
  }
  absl::StatusOr<workspace::AttachedRemoteVm> AttachRemoteVm(
      const workspace::RemoteVmRequest& request) override {
    return admin_.AttachRemoteVm(request);
  }
  absl::StatusOr<workspace::CreatedEnvironment> CreateEnvironment(
      const core::Environment& definition) override {
    return admin_.CreateEnvironment(definition);
  }
  absl::StatusOr<core::Model> RegisterModel(const workspace::ModelRequest& request) override {
    return admin_.RegisterModel(request);
  }

 private:
  ControllerAdmin::Hooks AdminHooks();
  // --- durability (group commit) ---
  uint64_t Enqueue(Txn& txn);  // requires mu_
  absl::Status WaitDurable(uint64_t seq);
  absl::Status Broken();
  // Enqueues the changes and wakes whoever they concern, without waiting (requires mu_).
  uint64_t Flush(Txn& txn);
  // Flush, release `lock`, wait for durability.
  absl::Status Finish(Txn& txn, std::unique_lock<std::mutex>& lock);

  // --- mutations; all require mu_ ---
  void AddEvent(Txn& txn, const std::string& sweep_id, int64_t trial_id, const std::string& kind,
                const std::string& message, int64_t now);
  void PutTrial(Txn& txn, const TrialRec& t) { txn.batch.trials.push_back(t.trial); }
  void PutAttempt(Txn& txn, const TrialRec& t) { txn.batch.attempts.push_back(t.attempt); }
  void PutNode(Txn& txn, const NodeRec& n) { txn.batch.nodes.push_back(n.node); }

  absl::StatusOr<std::pair<SweepRec*, TrialRec*>> FindLease(const LeaseRef& ref);
  // FindLease, and FailedPrecondition when the attempt already ended.
  absl::StatusOr<std::pair<SweepRec*, TrialRec*>> FindLiveLease(const LeaseRef& ref);
  // FindLease, and the attempt must not have ended; returns its artifact directory.
  absl::StatusOr<std::string> LiveAttemptDir(const LeaseRef& ref);
  void Renew(Txn& txn, TrialRec& t, int64_t now);
  DirectiveReply DirectiveFor(const TrialRec& t) const;
  absl::Status CheckPoints(const std::vector<core::MetricPoint>& points) const;
  void IngestPoints(Txn& txn, SweepRec& s, TrialRec& t,
                    const std::vector<core::MetricPoint>& points, int64_t now);
  std::optional<double> Aggregate(const SweepRec& s, const TrialRec& t) const;

  std::optional<LeaseGrant> TryLease(Txn& txn, NodeRec& node, int64_t now);
  std::optional<LeaseGrant> TryLeaseFrom(Txn& txn, SweepRec& s, NodeRec& node, int64_t now);
  absl::Status EnsureGrant(SweepRec& s, TrialRec& t);
  LeaseGrant GrantFor(const TrialRec& t) const;
  void StartAttempt(Txn& txn, SweepRec& s, TrialRec& t, NodeRec& node, int64_t now);
  void EndAttempt(Txn& txn, SweepRec& s, TrialRec& t, AttemptState state, const std::string& error,
                  int64_t now);
  // The attempt ended without a verdict on the trial (lost, preempted, released).
  void RequeueOrEnd(Txn& txn, SweepRec& s, TrialRec& t, bool count_retry, const std::string& why,
                    int64_t now);
  void EndTrialByStopReason(Txn& txn, SweepRec& s, TrialRec& t, int64_t now);
  void EndTrial(Txn& txn, SweepRec& s, TrialRec& t, TrialState state, const std::string& reason,
                int64_t now);
  void MaybeEndSweep(Txn& txn, SweepRec& s, int64_t now);
  void StopSweep(Txn& txn, SweepRec& s, SweepState state, const std::string& message, int64_t now);
  void EndSweep(Txn& txn, SweepRec& s, SweepState state, const std::string& message, int64_t now);
  std::string Counts(const SweepRec& s) const;
  void ReleaseNode(Txn& txn, const std::string& node_id, int64_t now);
  void ProbeSampler(Txn& txn, SweepRec& s, int64_t now);
  // Registers the models of completed sweeps with register_model (outside mu_).
  void RegisterModels();
  std::vector<ScaleAction> PlanScaling(Txn& txn, int64_t now);

  // --- restart ---
  absl::Status LoadSweep(Txn& txn, const core::Sweep& sweep, int64_t now);

  store::Store* const store_;
  const ControllerOptions options_;
  core::Clock* const clock_;
  const std::unique_ptr<workspace::SnapshotStore> snapshots_;  // null without a workspace dir

  std::mutex mu_;
  std::condition_variable work_cv_;   // long polls wait here
  std::condition_variable state_cv_;  // WaitForSweep waits here
  std::map<std::string, std::unique_ptr<SweepRec>> sweeps_;
  std::map<std::string, std::vector<std::string>> rr_;  // compute -> running sweep ids
  std::map<std::string, size_t> rr_cursor_;
  std::map<std::string, NodeRec> nodes_;
  std::map<std::string, std::shared_ptr<NodeProvider>> providers_;
  std::map<std::string, core::ComputeTarget> targets_;  // refreshed by Tick
  std::map<std::string, int64_t> desired_;              // compute -> desired nodes at the last Tick
  // remotevm target -> workers started for its running sweeps; once that reaches the
  // target's count, further starts replace workers that exited.
  std::map<std::string, int64_t> remote_started_;
  // target -> no StartNode before this time, after its provider failed (an unreachable
  // VM would otherwise stall every tick and flood the events).
  std::map<std::string, int64_t> start_retry_ms_;
  uint64_t fencing_ = 0;
  bool shutdown_ = false;

  std::mutex commit_mu_;
  std::condition_variable commit_cv_;
  std::vector<store::WriteBatch> pending_;
  uint64_t next_seq_ = 0;
  uint64_t durable_seq_ = 0;
  bool committing_ = false;
  absl::Status broken_;
  std::function<void(const core::Event&)> listener_;

  std::mutex ticker_mu_;
  std::condition_variable ticker_cv_;
  bool ticker_stop_ = false;
  std::thread ticker_;
  std::atomic<bool> shut_down_once_{false};
  ControllerAdmin admin_;
};

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
    for (const auto& [id, s] : sweeps_) {
      if (s->sweep.compute == compute && !s->live.empty()) ids.push_back(id);
    }
    return ids;
  };
  hooks.target_changed = [this](const std::string& name, const core::ComputeTarget* target) {
    std::lock_guard<std::mutex> lock(mu_);
    if (target != nullptr) {
      targets_[name] = *target;
    } else {
      targets_.erase(name);
    }
  };
  return hooks;
}

// ---------------------------------------------------------------------------
// Durability

uint64_t ControllerImpl::Enqueue(Txn& txn) {
  std::lock_guard<std::mutex> lock(commit_mu_);
  if (!txn.batch.empty()) {
    pending_.push_back(std::move(txn.batch));
    txn.batch = store::WriteBatch();
    ++next_seq_;
  }
  // Even an empty change waits for everything before it: the answer may rest on it.
  return next_seq_;
}

absl::Status ControllerImpl::WaitDurable(uint64_t seq) {
  std::unique_lock<std::mutex> lock(commit_mu_);
  while (durable_seq_ < seq && broken_.ok()) {
    if (committing_) {
      commit_cv_.wait(lock);
      continue;
    }
    committing_ = true;
    std::vector<store::WriteBatch> batches;
    batches.swap(pending_);
    uint64_t upto = next_seq_;
    auto listener = listener_;
    lock.unlock();
    store::WriteBatch merged;
    if (batches.size() == 1) {
      merged = std::move(batches[0]);
    } else {
      for (store::WriteBatch& b : batches) merged.Append(std::move(b));
    }
    absl::Status status = store_->Commit(merged);
    if (status.ok() && listener) {
      for (const core::Event& e : merged.events) listener(e);
    }
    lock.lock();
    committing_ = false;
    if (status.ok()) {
      durable_seq_ = upto;
    } else {
      spdlog::error("store commit failed, controller stops accepting calls: {}", status.ToString());
      broken_ = absl::InternalError(
          absl::StrCat("the controller could not save its state (", status.message(),
                       "); restart it to resume from the last saved state"));
    }
    commit_cv_.notify_all();
  }
  if (durable_seq_ >= seq) return absl::OkStatus();
  return broken_;
}

absl::Status ControllerImpl::Broken() {
  std::lock_guard<std::mutex> lock(commit_mu_);
  return broken_;
}

uint64_t ControllerImpl::Flush(Txn& txn) {
  uint64_t seq = Enqueue(txn);
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
  return WaitDurable(seq);
}

// ---------------------------------------------------------------------------
// Small helpers

void ControllerImpl::AddEvent(Txn& txn, const std::string& sweep_id, int64_t trial_id,
                              const std::string& kind, const std::string& message, int64_t now) {
  core::Event e;
  e.sweep_id = sweep_id;
  e.trial_id = trial_id;
  e.kind = kind;
  e.message = message;
  e.timestamp_ms = now;
  txn.batch.events.push_back(std::move(e));
}

std::optional<double> ControllerImpl::Aggregate(const SweepRec& s, const TrialRec& t) const {
  return s.spec.objective.aggregation == core::Aggregation::kBest ? t.best : t.last;
}

absl::StatusOr<std::pair<SweepRec*, TrialRec*>> ControllerImpl::FindLease(const LeaseRef& ref) {
  auto it = sweeps_.find(ref.sweep_id);
  if (it == sweeps_.end()) {
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
  if (t.attempt.fencing_token != ref.fencing_token) {
    return absl::FailedPreconditionError(absl::StrCat(
        "stale lease: fencing token ", ref.fencing_token, " is not the current one for trial ",
        ref.trial_id, " attempt ", ref.attempt, " of ", ref.sweep_id));
  }
  if (t.attempt.node_id != ref.node_id) {
    return absl::FailedPreconditionError(
        absl::StrCat("stale lease: trial ", ref.trial_id, " attempt ", ref.attempt,
                     " is leased to node ", t.attempt.node_id, ", not ", ref.node_id));
  }
  return std::make_pair(&s, &t);
}

namespace {
absl::Status AttemptEndedError(const LeaseRef& ref, AttemptState state) {
  return absl::FailedPreconditionError(absl::StrCat("stale lease: trial ", ref.trial_id,
                                                    " attempt ", ref.attempt, " already ended (",
                                                    core::AttemptStateName(state), ")"));
}
}  // namespace

absl::StatusOr<std::pair<SweepRec*, TrialRec*>> ControllerImpl::FindLiveLease(const LeaseRef& ref) {
  ASSIGN_OR_RETURN(auto found, FindLease(ref));
  if (core::IsTerminal(found.second->attempt.state)) {
    return AttemptEndedError(ref, found.second->attempt.state);
  }
  return found;
}

void ControllerImpl::Renew(Txn& txn, TrialRec& t, int64_t now) {
  t.attempt.expires_ms = now + options_.lease_duration_ms;
  if (t.attempt.state == AttemptState::kLeased) t.attempt.state = AttemptState::kRunning;
  PutAttempt(txn, t);
  auto n = nodes_.find(t.attempt.node_id);
  if (n != nodes_.end()) n->second.node.last_seen_ms = now;
}

DirectiveReply ControllerImpl::DirectiveFor(const TrialRec& t) const {
  DirectiveReply reply;
  reply.expires_at_ms = t.attempt.expires_ms;
  if (core::IsTerminal(t.trial.state) || t.stop != StopReason::kNone) {
    reply.directive = Directive::kStop;
    reply.reason = t.stop_message.empty() ? t.trial.reason : t.stop_message;
  }
  return reply;
}

absl::Status ControllerImpl::CheckPoints(const std::vector<core::MetricPoint>& points) const {
  for (size_t i = 0; i < points.size(); ++i) {
    if (points[i].name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("metric point ", i + 1, " of ", points.size(), " has an empty name"));
    }
  }
  return absl::OkStatus();
}

void ControllerImpl::IngestPoints(Txn& txn, SweepRec& s, TrialRec& t,
                                  const std::vector<core::MetricPoint>& points, int64_t now) {
  const std::string& primary = s.spec.objective.primary_metric;
  const core::Goal goal = s.spec.objective.goal;
  bool trial_changed = false;
  for (const core::MetricPoint& in : points) {
    core::MetricPoint p = in;
    p.sweep_id = s.sweep.id;
    p.trial_id = t.trial.trial_id;
    p.attempt = t.attempt.attempt;
    p.interval = 0;
    if (p.timestamp_ms <= 0) p.timestamp_ms = now;
    if (p.name == primary) {
      p.interval = ++t.trial.intervals;
      trial_changed = true;
      if (std::isfinite(p.value)) {
        t.last = p.value;
        if (!t.best || core::Better(goal, p.value, *t.best)) t.best = p.value;
        t.trial.final_value = Aggregate(s, t);
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
            AddEvent(txn, s.sweep.id, t.trial.trial_id, "trial_stop_requested",
                     absl::StrCat("early termination: ", d->explanation), now);
          }
          txn.batch.decisions.push_back(std::move(*d));
        }
      }
    }
    txn.batch.metrics.push_back(std::move(p));
  }
  if (trial_changed) {
    PutTrial(txn, t);
    s.history.trials[t.trial.trial_id - 1].intervals = t.trial.intervals;
  }
}

std::string ControllerImpl::Counts(const SweepRec& s) const {
  std::string out =
      absl::StrCat(s.Created(), " trials: ", s.completed, " completed, ", s.failed, " failed, ",
                   s.early_terminated, " early terminated, ", s.canceled, " canceled");
  if (s.best_value) {
    absl::StrAppend(&out, "; best ", s.spec.objective.primary_metric, " ",
                    FormatValue(*s.best_value), " (trial ", s.best_trial, ")");
  }
  return out;
}

// ---------------------------------------------------------------------------
// Trial / attempt life cycle

absl::Status ControllerImpl::EnsureGrant(SweepRec& s, TrialRec& t) {
  if (t.grant) return absl::OkStatus();
  absl::StatusOr<std::vector<std::string>> argv = spec::BuildArgv(s.spec, t.trial.config);
  if (!argv.ok()) return argv.status();
  auto g = std::make_shared<LeaseGrant>();
  g->argv = std::move(*argv);
  std::string params = core::ConfigToJson(t.trial.config).dump();
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

LeaseGrant ControllerImpl::GrantFor(const TrialRec& t) const {
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

void ControllerImpl::StartAttempt(Txn& txn, SweepRec& s, TrialRec& t, NodeRec& node, int64_t now) {
  t.trial.attempts += 1;
  t.has_attempt = true;
  t.attempt = core::Attempt();
  t.attempt.sweep_id = s.sweep.id;
  t.attempt.trial_id = t.trial.trial_id;
  t.attempt.attempt = t.trial.attempts;
  t.attempt.node_id = node.node.node_id;
  t.attempt.fencing_token = ++fencing_;
  t.attempt.state = AttemptState::kLeased;
  t.attempt.started_ms = now;
  t.attempt.expires_ms = now + options_.lease_duration_ms;
  t.trial.intervals = 0;
  t.trial.final_value.reset();
  t.last.reset();
  t.best.reset();
  t.trial.state = TrialState::kRunning;
  if (t.trial.started_ms == 0) t.trial.started_ms = now;
  s.history.trials[t.trial.trial_id - 1].state = TrialState::kRunning;
  s.history.trials[t.trial.trial_id - 1].intervals = 0;
  s.live.insert(t.trial.trial_id);
  s.active += 1;
  node.lease = std::make_pair(s.sweep.id, t.trial.trial_id);
  node.node.state = "busy";
  node.node.last_seen_ms = now;
  node.told_shutdown = false;
  PutTrial(txn, t);
  PutAttempt(txn, t);
  PutNode(txn, node);
  AddEvent(txn, s.sweep.id, t.trial.trial_id, "trial_started",
           absl::StrCat("attempt ", t.attempt.attempt, " on node ", node.node.node_id, ": ",
                        t.grant ? t.grant->params_json : std::string()),
           now);
}

void ControllerImpl::ReleaseNode(Txn& txn, const std::string& node_id, int64_t now) {
  auto it = nodes_.find(node_id);
  if (it == nodes_.end()) return;
  NodeRec& n = it->second;
  n.lease.reset();
  if (n.node.state != "gone") n.node.state = "idle";
  n.idle_since_ms = now;
  PutNode(txn, n);
}

void ControllerImpl::EndAttempt(Txn& txn, SweepRec& s, TrialRec& t, AttemptState state,
                                const std::string& error, int64_t now) {
  t.attempt.state = state;
  t.attempt.ended_ms = now;
  if (!error.empty()) t.attempt.error = error;
  PutAttempt(txn, t);
  s.live.erase(t.trial.trial_id);
  if (!core::IsTerminal(t.trial.state)) s.active -= 1;
  ReleaseNode(txn, t.attempt.node_id, now);
  txn.wake_pollers = true;
}

void ControllerImpl::RequeueOrEnd(Txn& txn, SweepRec& s, TrialRec& t, bool count_retry,
                                  const std::string& why, int64_t now) {
  if (core::IsTerminal(t.trial.state)) return;  // a drained attempt of an ended trial
  if (t.stop != StopReason::kNone) {
    EndTrialByStopReason(txn, s, t, now);
    return;
  }
  if (s.policy) s.policy->ForgetCurve(t.trial.trial_id);
  t.trial.intervals = 0;
  t.trial.final_value.reset();
  t.last.reset();
  t.best.reset();
  if (count_retry) t.trial.retries += 1;
  if (t.trial.retries > s.spec.limits.max_retries) {
    EndTrial(txn, s, t, TrialState::kFailed,
             absl::StrCat("node lost ", t.trial.retries, " times (max_retries ",
                          s.spec.limits.max_retries, "); last: ", why),
             now);
    return;
  }
  const int64_t max_attempts = s.spec.limits.max_retries + 1 + kMaxUncountedAttempts;
  if (t.trial.attempts >= max_attempts) {
    EndTrial(txn, s, t, TrialState::kFailed,
             absl::StrCat("interrupted ", t.trial.attempts,
                          " times (preempted, lost or "
                          "released; at most ",
                          max_attempts, " attempts); last: ", why),
             now);
    return;
  }
  t.trial.state = TrialState::kPending;
  s.history.trials[t.trial.trial_id - 1].state = TrialState::kPending;
  s.history.trials[t.trial.trial_id - 1].intervals = 0;
  s.retry_queue.push_back(t.trial.trial_id);
  PutTrial(txn, t);
  txn.wake_pollers = true;
}

void ControllerImpl::EndTrialByStopReason(Txn& txn, SweepRec& s, TrialRec& t, int64_t now) {
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

void ControllerImpl::EndTrial(Txn& txn, SweepRec& s, TrialRec& t, TrialState state,
                              const std::string& reason, int64_t now) {
  if (core::IsTerminal(t.trial.state)) return;
  if (t.has_attempt && !core::IsTerminal(t.attempt.state)) s.active -= 1;
  t.trial.state = state;
  t.trial.reason = reason;
  t.trial.ended_ms = now;
  if (state == TrialState::kCompleted || state == TrialState::kEarlyTerminated) {
    t.trial.final_value = Aggregate(s, t);
  }
  switch (state) {
    case TrialState::kCompleted:
      s.completed += 1;
      break;
    case TrialState::kFailed:
      s.failed += 1;
      break;
    case TrialState::kEarlyTerminated:
      s.early_terminated += 1;
      break;
    case TrialState::kCanceled:
      s.canceled += 1;
      break;
    default:
      break;
  }
  if (s.policy) s.policy->OnTrialEnded(t.trial.trial_id, state);
  samplers::Observation& obs = s.history.trials[t.trial.trial_id - 1];
  obs.state = state;
  obs.value = t.trial.final_value;
  obs.intervals = t.trial.intervals;
  PutTrial(txn, t);

  std::string message;
  switch (state) {
    case TrialState::kCompleted:
      message = absl::StrCat(s.spec.objective.primary_metric, " ",
                             FormatValue(t.trial.final_value.value_or(NAN)), " after ",
                             t.trial.intervals, " intervals");
      break;
    default:
      message = reason;
  }
  AddEvent(txn, s.sweep.id, t.trial.trial_id, absl::StrCat("trial_", core::TrialStateName(state)),
           message, now);
  if (state == TrialState::kCompleted && t.trial.final_value) {
    double v = *t.trial.final_value;
    if (!s.best_value || core::Better(s.spec.objective.goal, v, *s.best_value)) {
      std::string was = s.best_value ? absl::StrCat(" (was ", FormatValue(*s.best_value),
                                                    " by trial ", s.best_trial, ")")
                                     : std::string();
      s.best_value = v;
      s.best_trial = t.trial.trial_id;
      AddEvent(txn, s.sweep.id, t.trial.trial_id, "best_improved",
               absl::StrCat("trial ", t.trial.trial_id, ": ", s.spec.objective.primary_metric, " ",
                            FormatValue(v), was),
               now);
    }
  }
  txn.wake_pollers = true;
  MaybeEndSweep(txn, s, now);
}

void ControllerImpl::MaybeEndSweep(Txn& txn, SweepRec& s, int64_t now) {
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

void ControllerImpl::StopSweep(Txn& txn, SweepRec& s, SweepState state, const std::string& message,
                               int64_t now) {
  // Mark it ended first so the trial ends below do not re-enter MaybeEndSweep's logic.
  SweepState was = s.sweep.state;
  s.sweep.state = state;
  std::deque<int64_t> pending;
  pending.swap(s.retry_queue);
  for (int64_t id : pending) {
    TrialRec& t = s.trials[id - 1];
    EndTrial(txn, s, t, TrialState::kCanceled, message, now);
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

void ControllerImpl::EndSweep(Txn& txn, SweepRec& s, SweepState state, const std::string& message,
                              int64_t now) {
  if (s.sweep.state != SweepState::kRunning) return;
  s.sweep.state = state;
  s.sweep.status_message = message;
  s.sweep.ended_ms = now;
  s.proposal.reset();
  txn.batch.sweeps.push_back(s.sweep);
  AddEvent(txn, s.sweep.id, 0, absl::StrCat("sweep_", core::SweepStateName(state)), message, now);
  s.register_pending = state == SweepState::kCompleted && !s.spec.register_model.empty();
  auto& list = rr_[s.sweep.compute];
  list.erase(std::remove(list.begin(), list.end(), s.sweep.id), list.end());
  txn.ended_sweeps.push_back(&s);
  txn.wake_pollers = true;
}

// ---------------------------------------------------------------------------
// Leasing

std::optional<LeaseGrant> ControllerImpl::TryLease(Txn& txn, NodeRec& node, int64_t now) {
  auto it = rr_.find(node.node.compute);
  if (it == rr_.end() || it->second.empty()) return std::nullopt;
  // Copy: a sweep may end (and leave the list) while we look.
  std::vector<std::string> list = it->second;
  size_t& cursor = rr_cursor_[node.node.compute];
  // Fair share of the target's nodes: the sweep holding the fewest leases goes first, so
  // a sweep with long trials cannot take over nodes freed by one with short trials;
  // among equals, round-robin from the cursor.
  std::vector<size_t> order(list.size());
  for (size_t k = 0; k < list.size(); ++k) order[k] = (cursor + k) % list.size();
  std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) {
    return sweeps_.at(list[x])->active < sweeps_.at(list[y])->active;
  });
  for (size_t idx : order) {
    SweepRec& s = *sweeps_.at(list[idx]);
    std::optional<LeaseGrant> grant = TryLeaseFrom(txn, s, node, now);
    if (grant) {
      cursor = idx + 1;
      return grant;
    }
  }
  return std::nullopt;
}

std::optional<LeaseGrant> ControllerImpl::TryLeaseFrom(Txn& txn, SweepRec& s, NodeRec& node,
                                                       int64_t now) {
  while (s.sweep.state == SweepState::kRunning && s.active < s.max_concurrent) {
    if (!s.retry_queue.empty()) {
      int64_t id = s.retry_queue.front();
      s.retry_queue.pop_front();
      TrialRec& t = s.trials[id - 1];
      if (core::IsTerminal(t.trial.state)) continue;
      if (absl::Status st = EnsureGrant(s, t); !st.ok()) {
        EndTrial(txn, s, t, TrialState::kFailed,
                 absl::StrCat("cannot build the trial command: ", st.message()), now);
        continue;
      }
      StartAttempt(txn, s, t, node, now);
      return GrantFor(t);
    }
    if (s.exhausted || s.Created() >= s.max_total) return std::nullopt;
    std::optional<core::Config> config;
    if (s.proposal && s.proposal_for == s.history.trials.size()) {
      config = std::move(s.proposal);
      s.proposal.reset();
    } else {
      s.proposal.reset();
      absl::StatusOr<std::optional<core::Config>> next = s.sampler->Next(s.history);
      if (!next.ok()) {
        s.exhausted = true;
        s.sampler_error = std::string(next.status().message());
        AddEvent(txn, s.sweep.id, 0, "sampler_failed", s.sampler_error, now);
        MaybeEndSweep(txn, s, now);
        return std::nullopt;
      }
      config = std::move(*next);
    }
    if (!config) {
      s.exhausted = true;
      AddEvent(txn, s.sweep.id, 0, "search_space_exhausted",
               absl::StrCat("the sampler has no new configuration after ", s.Created(), " trials"),
               now);
      MaybeEndSweep(txn, s, now);
      return std::nullopt;
    }
    TrialRec& t = s.trials.emplace_back();
    t.trial.sweep_id = s.sweep.id;
    t.trial.trial_id = s.Created();
    t.trial.config = std::move(*config);
    t.trial.state = TrialState::kPending;
    t.trial.created_ms = now;
    samplers::Observation obs;
    obs.config = t.trial.config;
    obs.state = TrialState::kPending;
    s.history.trials.push_back(std::move(obs));
    if (absl::Status st = EnsureGrant(s, t); !st.ok()) {
      PutTrial(txn, t);
      EndTrial(txn, s, t, TrialState::kFailed,
               absl::StrCat("cannot build the trial command: ", st.message()), now);
      continue;
    }
    StartAttempt(txn, s, t, node, now);
    return GrantFor(t);
  }
  return std::nullopt;
}

void ControllerImpl::ProbeSampler(Txn& txn, SweepRec& s, int64_t now) {
  // Nothing runs and nothing is queued: ask the sampler now whether anything is left, so a
  // finished grid ends the sweep even when no node is polling. With nothing running the
  // history cannot change before the proposal is used, so the sequence is unchanged.
  if (s.sweep.state != SweepState::kRunning || s.active > 0 || !s.retry_queue.empty() ||
      s.exhausted || s.Created() >= s.max_total || s.proposal) {
    return;
  }
  absl::StatusOr<std::optional<core::Config>> next = s.sampler->Next(s.history);
  if (!next.ok()) {
    s.exhausted = true;
    s.sampler_error = std::string(next.status().message());
    AddEvent(txn, s.sweep.id, 0, "sampler_failed", s.sampler_error, now);
  } else if (!next->has_value()) {
    s.exhausted = true;
    AddEvent(txn, s.sweep.id, 0, "search_space_exhausted",
             absl::StrCat("the sampler has no new configuration after ", s.Created(), " trials"),
             now);
  } else {
    s.proposal = std::move(**next);
    s.proposal_for = s.history.trials.size();
  }
  MaybeEndSweep(txn, s, now);
}

// ---------------------------------------------------------------------------
// Public API

absl::StatusOr<std::string> ControllerImpl::SubmitSweep(const spec::SweepSpec& spec,
                                                        const std::string& spec_yaml) {
  RETURN_IF_ERROR(Broken());
  const auto targets_held = admin_.HoldTargets();  // no target deleted under a submission
  absl::StatusOr<core::ComputeTarget> target = store_->GetCompute(spec.compute);
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
  std::optional<core::Environment> environment;
  if (!spec.trial.environment.empty()) {
    ASSIGN_OR_RETURN(environment, workspace::ResolveEnvironment(store_, spec.trial.environment));
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
  {
    std::lock_guard<std::mutex> lock(mu_);
    do {
      s->sweep.id = "sw-" + RandomHex(12);
    } while (sweeps_.count(s->sweep.id) > 0 || store_->GetSweep(s->sweep.id).ok());
  }
  s->seed = spec.sampling.seed ? *spec.sampling.seed : SeedFromId(s->sweep.id);
  samplers::SamplerOptions sopts;
  sopts.goal = spec.objective.goal;
  sopts.seed = s->seed;
  ASSIGN_OR_RETURN(s->sampler,
                   samplers::MakeSampler(ToAlgorithm(spec.sampling), spec.search_space, sopts));
  ASSIGN_OR_RETURN(
      s->policy, policies::MakeEarlyTerminationPolicy(spec.early_termination, spec.objective.goal));

  const int64_t now = clock_->NowMillis();
  core::Sweep& sw = s->sweep;
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
  sw.created_ms = now;
  sw.snapshot_digest = snapshot_digest;
  if (environment) sw.environment = absl::StrCat(environment->name, "@", environment->version);
  s->max_total = spec.limits.max_total_trials;
  s->max_concurrent =
      spec.limits.max_concurrent_trials > 0 ? spec.limits.max_concurrent_trials : s->max_total;
  s->deadline_ms = spec.limits.timeout_s > 0 ? now + spec.limits.timeout_s * 1000 : 0;
  s->trial_timeout_ms = spec.limits.trial_timeout_s * 1000;

  std::unique_lock<std::mutex> lock(mu_);
  if (shutdown_) return absl::UnavailableError("the controller is shutting down");
  Txn txn;
  txn.batch.sweeps.push_back(sw);
  AddEvent(txn, sw.id, 0, "sweep_submitted",
           absl::StrCat("compute ", sw.compute, ", sampling ", sw.sampling_algorithm, " (seed ",
                        s->seed, "), max_total_trials ", s->max_total, ", max_concurrent_trials ",
                        s->max_concurrent, ", early termination ",
                        core::PolicyTypeName(spec.early_termination.type),
                        snapshot_digest.empty()
                            ? std::string()
                            : absl::StrCat(", code snapshot ", snapshot_digest.substr(0, 12))),
           now);
  std::string id = sw.id;
  rr_[sw.compute].push_back(id);
  sweeps_[id] = std::move(s);
  txn.wake_pollers = true;
  RETURN_IF_ERROR(Finish(txn, lock));
  return id;
}

absl::Status ControllerImpl::CancelSweep(const std::string& sweep_id) {
  RETURN_IF_ERROR(Broken());
  std::unique_lock<std::mutex> lock(mu_);
  auto it = sweeps_.find(sweep_id);
  if (it == sweeps_.end()) {
    lock.unlock();
    absl::StatusOr<core::Sweep> stored = store_->GetSweep(sweep_id);
    if (absl::IsNotFound(stored.status())) {
      return absl::NotFoundError(absl::StrCat("no sweep '", sweep_id, "'"));
    }
    if (!stored.ok()) return stored.status();
    if (core::IsTerminal(stored->state)) {
      return absl::FailedPreconditionError(absl::StrCat("sweep ", sweep_id, " already ended (",
                                                        core::SweepStateName(stored->state), ")"));
    }
    return absl::FailedPreconditionError(
        absl::StrCat("sweep ", sweep_id, " is not run by this controller"));
  }
  SweepRec& s = *it->second;
  if (s.sweep.state != SweepState::kRunning) {
    return absl::FailedPreconditionError(absl::StrCat("sweep ", sweep_id, " already ended (",
                                                      core::SweepStateName(s.sweep.state), ")"));
  }
  Txn txn;
  StopSweep(txn, s, SweepState::kCanceled, "canceled by user", clock_->NowMillis());
  return Finish(txn, lock);
}

absl::StatusOr<Registered> ControllerImpl::Register(const NodeRegistration& registration) {
  RETURN_IF_ERROR(Broken());
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
      id = "node-" + RandomHex(10);
    } while (nodes_.count(id) > 0);
  }
  NodeRec& n = nodes_[id];
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
  PutNode(txn, n);
  RETURN_IF_ERROR(Finish(txn, lock));
  Registered r;
  r.node_id = id;
  r.heartbeat_interval_ms = options_.heartbeat_interval_ms;
  r.lease_duration_ms = options_.lease_duration_ms;
  return r;
}

absl::StatusOr<AcquireResult> ControllerImpl::AcquireTrial(const std::string& node_id,
                                                           int64_t wait_ms) {
  RETURN_IF_ERROR(Broken());
  const auto deadline =
      std::chrono::steady_clock::now() +
      std::chrono::milliseconds(std::clamp<int64_t>(wait_ms, 0, options_.max_acquire_wait_ms));
  std::unique_lock<std::mutex> lock(mu_);
  Txn txn;
  AcquireResult result;
  while (true) {
    auto it = nodes_.find(node_id);
    if (it == nodes_.end()) {
      return absl::NotFoundError(
          absl::StrCat("unknown node '", node_id, "'; register before acquiring trials"));
    }
    NodeRec& node = it->second;
    const int64_t now = clock_->NowMillis();
    node.node.last_seen_ms = now;
    if (node.node.state == "gone" && !node.told_shutdown) {
      node.node.state = "idle";  // marked gone for silence, but it is back
      node.idle_since_ms = now;
      PutNode(txn, node);
    }
    if (shutdown_) {
      result.shutdown = true;
      break;
    }
    if (node.lease) {
      auto s = sweeps_.find(node.lease->first);
      if (s != sweeps_.end()) {
        TrialRec& t = s->second->trials[node.lease->second - 1];
        if (t.has_attempt && !core::IsTerminal(t.attempt.state) && t.attempt.node_id == node_id &&
            t.grant) {
          result.lease = GrantFor(t);
          break;
        }
      }
      node.lease.reset();
    }
    result.lease = TryLease(txn, node, now);
    if (result.lease) break;
    if (node.told_shutdown) {
      result.shutdown = true;
      if (node.node.state != "gone") {  // recorded once, however often it asks again
        node.node.state = "gone";
        PutNode(txn, node);
        AddEvent(txn, "", 0, "node_scaled_down",
                 absl::StrCat("compute ", node.node.compute, ": node ", node_id,
                              " told to shut down after being idle"),
                 now);
      }
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    // Changes made while looking (e.g. "search space exhausted") are queued now; the
    // final wait below covers them.
    Flush(txn);
    work_cv_.wait_until(lock, deadline);
  }
  RETURN_IF_ERROR(Finish(txn, lock));
  return result;
}

absl::StatusOr<DirectiveReply> ControllerImpl::Heartbeat(const LeaseRef& lease) {
  RETURN_IF_ERROR(Broken());
  std::unique_lock<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(auto found, FindLiveLease(lease));
  auto [s, t] = found;
  Txn txn;
  Renew(txn, *t, clock_->NowMillis());
  DirectiveReply reply = DirectiveFor(*t);
  RETURN_IF_ERROR(Finish(txn, lock));
  return reply;
}

absl::StatusOr<DirectiveReply> ControllerImpl::ReportMetrics(
    const LeaseRef& lease, const std::vector<core::MetricPoint>& points) {
  RETURN_IF_ERROR(Broken());
  RETURN_IF_ERROR(CheckPoints(points));
  std::unique_lock<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(auto found, FindLiveLease(lease));
  auto [s, t] = found;
  Txn txn;
  const int64_t now = clock_->NowMillis();
  Renew(txn, *t, now);
  IngestPoints(txn, *s, *t, points, now);
  DirectiveReply reply = DirectiveFor(*t);
  RETURN_IF_ERROR(Finish(txn, lock));
  return reply;
}

absl::StatusOr<core::TrialState> ControllerImpl::CompleteTrial(const LeaseRef& lease,
                                                               const Completion& completion) {
  RETURN_IF_ERROR(Broken());
  RETURN_IF_ERROR(CheckPoints(completion.points));
  std::unique_lock<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(auto found, FindLease(lease));
  auto [s, t] = found;
  AttemptState outcome_state = completion.outcome == Outcome::kSucceeded ? AttemptState::kSucceeded
                               : completion.outcome == Outcome::kFailed  ? AttemptState::kFailed
                                                                         : AttemptState::kStopped;
  if (core::IsTerminal(t->attempt.state)) {
    // The same completion again (a retried rpc) gets the same answer.
    bool same = t->attempt.state == outcome_state || (completion.outcome == Outcome::kStopped &&
                                                      t->attempt.state == AttemptState::kPreempted);
    if (same) {
      Txn txn;  // nothing to write, but wait until the first answer was durable
      TrialState state = t->trial.state;
      RETURN_IF_ERROR(Finish(txn, lock));
      return state;
    }
    return AttemptEndedError(lease, t->attempt.state);
  }
  Txn txn;
  const int64_t now = clock_->NowMillis();
  IngestPoints(txn, *s, *t, completion.points, now);
  t->attempt.exit_code = completion.exit_code;
  std::string error = completion.error;
  if (completion.outcome == Outcome::kFailed &&
      (completion.exit_code != 0 || completion.signal != 0 || error.empty())) {
    std::string how = completion.signal != 0
                          ? absl::StrCat("killed by signal ", completion.signal)
                          : absl::StrCat("exited with code ", completion.exit_code);
    error = error.empty() ? how : absl::StrCat(how, ": ", error);
  }
  const bool trial_was_terminal = core::IsTerminal(t->trial.state);
  if (completion.outcome == Outcome::kStopped && !trial_was_terminal &&
      t->stop == StopReason::kNone) {
    // Stopped without being asked to (e.g. the worker enforced trial_timeout itself, or
    // was interrupted): a timeout fails the trial; anything else is a preemption.
    bool timed_out = s->trial_timeout_ms > 0 && now - t->attempt.started_ms >= s->trial_timeout_ms;
    if (timed_out) {
      t->stop = StopReason::kTrialTimeout;
      t->stop_message = absl::StrCat("trial timeout (", s->trial_timeout_ms / 1000, "s) reached");
    } else {
      const std::string why = error.empty() ? "stopped by the worker" : error;
      EndAttempt(txn, *s, *t, AttemptState::kPreempted, why, now);
      AddEvent(
          txn, t->trial.sweep_id, t->trial.trial_id, "attempt_preempted",
          absl::StrCat("attempt ", t->attempt.attempt, " on node ", t->attempt.node_id, ": ", why),
          now);
      RequeueOrEnd(txn, *s, *t, /*count_retry=*/false, why, now);
      TrialState state = t->trial.state;
      RETURN_IF_ERROR(Finish(txn, lock));
      return state;
    }
  }
  EndAttempt(txn, *s, *t, outcome_state, error, now);
  if (!trial_was_terminal) {
    switch (completion.outcome) {
      case Outcome::kSucceeded:
        if (Aggregate(*s, *t)) {
          EndTrial(txn, *s, *t, TrialState::kCompleted, "", now);
        } else if (t->trial.intervals > 0) {
          EndTrial(txn, *s, *t, TrialState::kFailed,
                   absl::StrCat("exited 0 but reported primary metric '",
                                s->spec.objective.primary_metric, "' only as non-finite values"),
                   now);
        } else {
          EndTrial(txn, *s, *t, TrialState::kFailed,
                   absl::StrCat("exited 0 but never reported primary metric '",
                                s->spec.objective.primary_metric, "'"),
                   now);
        }
        break;
      case Outcome::kFailed:
        if (t->stop != StopReason::kNone) {
          // It died from our stop signal: the stop decides the outcome.
          EndTrialByStopReason(txn, *s, *t, now);
        } else {
          EndTrial(txn, *s, *t, TrialState::kFailed, error, now);
        }
        break;
      case Outcome::kStopped:
        EndTrialByStopReason(txn, *s, *t, now);
        break;
    }
  }
  TrialState state = t->trial.state;
  RETURN_IF_ERROR(Finish(txn, lock));
  return state;
}

absl::StatusOr<std::string> ControllerImpl::LiveAttemptDir(const LeaseRef& ref) {
  RETURN_IF_ERROR(FindLiveLease(ref).status());
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
  RETURN_IF_ERROR(Broken());
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
  return workspace::ReceiveArtifactChunk(dir, chunk, options_.artifact_max_bytes);
}

absl::StatusOr<int64_t> ControllerImpl::CommitArtifacts(const LeaseRef& lease, int64_t file_count) {
  RETURN_IF_ERROR(Broken());
  if (options_.workspace_dir.empty()) {
    return absl::FailedPreconditionError("this controller has no workspace to store artifacts");
  }
  // Under mu_ so the lease cannot expire between the check and the publication.
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(std::string dir, LiveAttemptDir(lease));
  return workspace::PublishArtifacts(dir, file_count);
}

absl::Status ControllerImpl::Deregister(const std::string& node_id) {
  return EndNode(node_id, AttemptState::kStopped, "attempt_released", "node deregistered",
                 [&](int32_t attempt) {
                   return absl::StrCat("node ", node_id, " left; attempt ", attempt,
                                       " released without counting as a failure");
                 });
}

absl::Status ControllerImpl::NodeGone(const std::string& node_id, const std::string& reason) {
  const std::string why = absl::StrCat("node ", node_id, " ended: ", reason);
  return EndNode(node_id, AttemptState::kPreempted, "attempt_preempted", why,
                 [&](int32_t attempt) { return absl::StrCat("attempt ", attempt, ": ", why); });
}

absl::Status ControllerImpl::EndNode(const std::string& node_id, AttemptState attempt_state,
                                     const std::string& event_kind, const std::string& why,
                                     const std::function<std::string(int32_t)>& event_message) {
  RETURN_IF_ERROR(Broken());
  std::unique_lock<std::mutex> lock(mu_);
  auto it = nodes_.find(node_id);
  if (it == nodes_.end()) {
    return absl::NotFoundError(absl::StrCat("unknown node '", node_id, "'"));
  }
  NodeRec& node = it->second;
  const int64_t now = clock_->NowMillis();
  Txn txn;
  if (node.lease) {
    auto s = sweeps_.find(node.lease->first);
    if (s != sweeps_.end()) {
      TrialRec& t = s->second->trials[node.lease->second - 1];
      if (t.has_attempt && !core::IsTerminal(t.attempt.state) && t.attempt.node_id == node_id) {
        EndAttempt(txn, *s->second, t, attempt_state, why, now);
        AddEvent(txn, t.trial.sweep_id, t.trial.trial_id, event_kind,
                 event_message(t.attempt.attempt), now);
        RequeueOrEnd(txn, *s->second, t, /*count_retry=*/false, why, now);
      }
    }
  }
  node.lease.reset();
  if (node.node.state != "gone") {
    node.node.state = "gone";
    node.node.last_seen_ms = now;
    PutNode(txn, node);
  }
  return Finish(txn, lock);
}

// ---------------------------------------------------------------------------
// Housekeeping

std::vector<ScaleAction> ControllerImpl::PlanScaling(Txn& txn, int64_t now) {
  std::vector<ScaleAction> actions;
  for (const auto& [name, target] : targets_) {
    if (target.type != "amlcompute" && target.type != "remotevm") continue;
    int64_t demand = 0;
    std::string first_sweep;
    std::string reason;  // the demand in words, for the scaling events
    auto rr = rr_.find(name);
    if (rr != rr_.end()) {
      for (const std::string& id : rr->second) {
        const SweepRec& s = *sweeps_.at(id);
        demand += std::min(s.max_concurrent, s.active + s.Startable());
        if (first_sweep.empty()) first_sweep = id;
        if (s.active + s.Startable() == 0) continue;
        absl::StrAppend(&reason, reason.empty() ? "" : "; ", s.Startable(), " trials waiting in ",
                        id, " (", s.active, " running, at most ", s.max_concurrent, " at once)");
      }
    }
    if (reason.empty()) reason = "no trials waiting";
    // A remotevm target keeps its fixed worker count (max_nodes, the workers per node)
    // alive while a sweep of it runs; a cluster follows the demand.
    const int64_t desired = target.type == "remotevm"
                                ? (first_sweep.empty() ? target.min_nodes : target.max_nodes)
                                : std::clamp(demand, target.min_nodes, target.max_nodes);
    if (target.type == "remotevm" && first_sweep.empty()) remote_started_.erase(name);
    auto last = desired_.try_emplace(name, 0).first;
    if (last->second != desired) {
      AddEvent(txn, first_sweep, 0, "scale_target",
               absl::StrCat("compute ", name, ": desired nodes ", last->second, " -> ", desired,
                            " (min ", target.min_nodes, ", max ", target.max_nodes, "): ", reason),
               now);
      last->second = desired;
    }

    // Scale down: idle nodes past the idle timeout while above what is needed.
    int64_t registered = 0;
    std::vector<NodeRec*> idle;
    for (auto& [id, n] : nodes_) {
      if (n.node.compute != name || n.node.state == "gone" || n.told_shutdown) continue;
      ++registered;
      if (!n.lease && now - n.idle_since_ms >= target.idle_seconds_before_scaledown * 1000) {
        idle.push_back(&n);
      }
    }
    int64_t surplus = registered - std::max(desired, target.min_nodes);
    for (size_t i = 0; i < idle.size() && surplus > 0; ++i, --surplus) {
      idle[i]->told_shutdown = true;
      AddEvent(txn, first_sweep, 0, "scale_down",
               absl::StrCat("compute ", name, ": node ", idle[i]->node.node_id, " idle for ",
                            (now - idle[i]->idle_since_ms) / 1000, "s (limit ",
                            target.idle_seconds_before_scaledown, "s); ", registered, " -> ",
                            registered - 1, " nodes (desired ", desired, ", min ", target.min_nodes,
                            "): ", reason),
               now);
      --registered;
      txn.wake_pollers = true;
    }

    auto p = providers_.find(target.provider);
    if (p == providers_.end() || !p->second) continue;
    if (auto retry = start_retry_ms_.find(name); retry != start_retry_ms_.end()) {
      if (now < retry->second) continue;
      start_retry_ms_.erase(retry);
    }
    int64_t live = p->second->LiveNodes(name);
    if (live < desired) {
      ScaleAction a;
      a.target = target;
      a.provider = p->second;
      a.count = desired - live;
      a.sweep_id = first_sweep;
      a.desired = desired;
      a.live = live;
      a.reason = reason;
      a.restart = target.type == "remotevm" && remote_started_[name] >= desired;
      actions.push_back(std::move(a));
    }
  }
  return actions;
}

void ControllerImpl::Tick() {
  if (!Broken().ok()) return;
  // Targets can be created by other processes (`sweep compute create`); re-read them.
  absl::StatusOr<std::vector<core::ComputeTarget>> targets = store_->ListComputes();
  std::unique_lock<std::mutex> lock(mu_);
  if (targets.ok()) {
    targets_.clear();
    for (core::ComputeTarget& t : *targets) targets_[t.name] = std::move(t);
  }
  const int64_t now = clock_->NowMillis();
  Txn txn;
  for (auto& [id, sp] : sweeps_) {
    SweepRec& s = *sp;
    for (int64_t tid : std::vector<int64_t>(s.live.begin(), s.live.end())) {
      TrialRec& t = s.trials[tid - 1];
      if (t.attempt.expires_ms > now) continue;
      std::string why = absl::StrCat("lease of node ", t.attempt.node_id, " expired");
      EndAttempt(txn, s, t, AttemptState::kLost, why, now);
      AddEvent(txn, s.sweep.id, tid, "attempt_lost",
               absl::StrCat("attempt ", t.attempt.attempt, ": ", why), now);
      RequeueOrEnd(txn, s, t, /*count_retry=*/true, why, now);
    }
    if (s.sweep.state != SweepState::kRunning) continue;
    if (s.deadline_ms > 0 && now >= s.deadline_ms) {
      int64_t timeout_s = s.spec.limits.timeout_s;
      SweepState end = s.completed > 0 ? SweepState::kCompleted : SweepState::kFailed;
      StopSweep(txn, s, end, absl::StrCat("timeout reached (", timeout_s, "s)"), now);
      continue;
    }
    if (s.trial_timeout_ms > 0) {
      for (int64_t tid : s.live) {
        TrialRec& t = s.trials[tid - 1];
        if (t.stop != StopReason::kNone || core::IsTerminal(t.trial.state)) continue;
        if (now - t.attempt.started_ms < s.trial_timeout_ms) continue;
        t.stop = StopReason::kTrialTimeout;
        t.stop_message =
            absl::StrCat("trial timeout (", s.spec.limits.trial_timeout_s, "s) reached");
        AddEvent(txn, s.sweep.id, tid, "trial_stop_requested", t.stop_message, now);
      }
    }
    ProbeSampler(txn, s, now);
    MaybeEndSweep(txn, s, now);
  }
  for (auto it = sweeps_.begin(); it != sweeps_.end();) {
    const SweepRec& s = *it->second;
    if (s.sweep.state != SweepState::kRunning && s.live.empty() && s.end_seq > 0 &&
        !s.register_pending && now - s.sweep.ended_ms > kKeepEndedSweepMs) {
      it = sweeps_.erase(it);
    } else {
      ++it;
    }
  }
  // Nodes silent for longer than any poll or lease are gone.
  const int64_t silence = options_.max_acquire_wait_ms + options_.lease_duration_ms;
  for (auto& [id, n] : nodes_) {
    if (n.node.state == "gone" || n.lease) continue;
    if (now - n.node.last_seen_ms > silence) {
      n.node.state = "gone";
      PutNode(txn, n);
    }
  }
  std::vector<ScaleAction> actions = PlanScaling(txn, now);
  Finish(txn, lock).IgnoreError();
  RegisterModels();

  // Start nodes outside the lock: it forks and may be slow.
  if (actions.empty()) return;
  Txn events;
  std::vector<int64_t> started(actions.size(), 0);
  std::vector<bool> failed(actions.size(), false);
  for (size_t k = 0; k < actions.size(); ++k) {
    const ScaleAction& a = actions[k];
    int64_t& n = started[k];
    std::string error;
    for (int64_t i = 0; i < a.count; ++i) {
      absl::StatusOr<std::string> handle = a.provider->StartNode(a.target);
      if (!handle.ok()) {
        error = std::string(handle.status().message());
        break;
      }
      ++n;
    }
    std::string message = a.restart ? absl::StrCat("compute ", a.target.name, ": ", a.count,
                                                   " worker(s) exited; restarted ", n, " of them")
                                    : absl::StrCat("compute ", a.target.name, ": ", a.live, " -> ",
                                                   a.live + n, " nodes (desired ", a.desired,
                                                   ", max ", a.target.max_nodes, "): ", a.reason);
    if (!error.empty()) {
      absl::StrAppend(&message, "; failed to start more: ", error, " (retrying in ",
                      kStartRetryMs / 1000, "s)");
      failed[k] = true;
    }
    const char* kind = !error.empty() ? "scale_up_failed"
                       : a.restart    ? "node_restarted"
                                      : "scale_up";
    AddEvent(events, a.sweep_id, 0, kind, message, clock_->NowMillis());
  }
  std::unique_lock<std::mutex> relock(mu_);
  const int64_t after = clock_->NowMillis();
  for (size_t k = 0; k < actions.size(); ++k) {
    const std::string& name = actions[k].target.name;
    if (actions[k].target.type == "remotevm") remote_started_[name] += started[k];
    if (failed[k]) start_retry_ms_[name] = after + kStartRetryMs;
  }
  Finish(events, relock).IgnoreError();
}

void ControllerImpl::RegisterModels() {
  struct Pending {
    std::string sweep_id, model;
    uint64_t end_seq;
  };
  std::vector<Pending> pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, s] : sweeps_) {
      if (s->register_pending && s->end_seq > 0) {
        pending.push_back({id, s->spec.register_model, s->end_seq});
      }
    }
  }
  for (const Pending& p : pending) {
    // The registry reads the ended sweep's trials from the store.
    absl::Status status = WaitDurable(p.end_seq);
    if (!status.ok()) return;  // the controller is broken; nothing more can be committed
    absl::StatusOr<core::Model> model =
        options_.workspace_dir.empty()
            ? absl::FailedPreconditionError("this controller has no workspace directory")
            : workspace::RegisterModel(
                  store_, options_.workspace_dir,
                  workspace::ModelRequest{.name = p.model, .sweep_id = p.sweep_id},
                  clock_->NowMillis());
    std::unique_lock<std::mutex> lock(mu_);
    Txn txn;
    if (model.ok()) {
      AddEvent(txn, p.sweep_id, model->trial_id, "model_registered",
               absl::StrCat("model ", model->name, " version ", model->version, " from trial ",
                            model->trial_id),
               clock_->NowMillis());
    } else {
      AddEvent(txn, p.sweep_id, 0, "model_registration_failed",
               absl::StrCat("model ", p.model, ": ", model.status().message()),
               clock_->NowMillis());
    }
    auto it = sweeps_.find(p.sweep_id);
    if (it != sweeps_.end()) {
      it->second->register_pending = false;
      it->second->end_seq = Flush(txn);  // WaitForSweep waits for the event too
      state_cv_.notify_all();
    } else {
      Flush(txn);
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
  });
}

void ControllerImpl::Shutdown() {
  if (shut_down_once_.exchange(true)) return;
  {
    std::lock_guard<std::mutex> lock(ticker_mu_);
    ticker_stop_ = true;
  }
  ticker_cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
  std::vector<std::shared_ptr<NodeProvider>> providers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutdown_ = true;
    for (auto& [name, p] : providers_) {
      if (p) providers.push_back(p);
    }
  }
  work_cv_.notify_all();
  state_cv_.notify_all();
  for (auto& p : providers) p->StopAll();
}

absl::StatusOr<ComputeStatus> ControllerImpl::GetComputeStatus(const std::string& compute) {
  std::lock_guard<std::mutex> lock(mu_);
  auto target = targets_.find(compute);
  if (target == targets_.end()) {
    return absl::NotFoundError(absl::StrCat("compute target '", compute, "' not found"));
  }
  ComputeStatus status;
  auto desired = desired_.find(compute);
  if (desired != desired_.end()) status.desired_nodes = desired->second;
  auto p = providers_.find(target->second.provider);
  if (p != providers_.end() && p->second) status.provider_nodes = p->second->LiveNodes(compute);
  for (const auto& [id, n] : nodes_) {
    if (n.node.compute != compute || n.node.state == "gone") continue;
    NodeStatus& out = status.nodes.emplace_back();
    out.node = n.node;
    if (n.lease) std::tie(out.sweep_id, out.trial_id) = *n.lease;
  }
  return status;
}

absl::StatusOr<core::SweepState> ControllerImpl::WaitForSweep(const std::string& sweep_id,
                                                              int64_t timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(std::max<int64_t>(0, timeout_ms));
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    auto it = sweeps_.find(sweep_id);
    if (it == sweeps_.end()) {
      lock.unlock();
      absl::StatusOr<core::Sweep> stored = store_->GetSweep(sweep_id);
      if (absl::IsNotFound(stored.status())) {
        return absl::NotFoundError(absl::StrCat("no sweep '", sweep_id, "'"));
      }
      if (!stored.ok()) return stored.status();
      if (core::IsTerminal(stored->state)) return stored->state;
      return absl::FailedPreconditionError(
          absl::StrCat("sweep ", sweep_id, " is not run by this controller"));
    }
    SweepRec& s = *it->second;
    if (s.sweep.state != SweepState::kRunning && s.end_seq > 0 && !s.register_pending) {
      SweepState state = s.sweep.state;
      uint64_t seq = s.end_seq;
      lock.unlock();
      RETURN_IF_ERROR(WaitDurable(seq));
      return state;
    }
    if (shutdown_) {
      return absl::CancelledError(
          absl::StrCat("the controller shut down while sweep ", sweep_id, " was running"));
    }
    if (state_cv_.wait_until(lock, deadline) == std::cv_status::timeout &&
        std::chrono::steady_clock::now() >= deadline) {
      auto again = sweeps_.find(sweep_id);
      if (again != sweeps_.end() && again->second->sweep.state != SweepState::kRunning &&
          again->second->end_seq > 0 && !again->second->register_pending) {
        continue;
      }
      return absl::DeadlineExceededError(
          absl::StrCat("sweep ", sweep_id, " still running after ", timeout_ms, " ms"));
    }
  }
}

// ---------------------------------------------------------------------------
// Restart

absl::Status ControllerImpl::LoadSweep(Txn& txn, const core::Sweep& sweep, int64_t now) {
  auto s = std::make_unique<SweepRec>();
  s->sweep = sweep;
  auto fail = [&](const std::string& why) {
    core::Sweep ended = sweep;
    ended.state = SweepState::kFailed;
    ended.status_message = absl::StrCat("cannot resume after restart: ", why);
    ended.ended_ms = now;
    txn.batch.sweeps.push_back(ended);
    AddEvent(txn, sweep.id, 0, "sweep_failed", ended.status_message, now);
    spdlog::warn("sweep {}: {}", sweep.id, ended.status_message);
    return absl::OkStatus();
  };
  std::string base_dir = sweep.spec_path.empty()
                             ? std::string()
                             : std::filesystem::path(sweep.spec_path).parent_path().string();
  absl::StatusOr<spec::SweepSpec> parsed =
      spec::ParseSpec(sweep.spec_yaml, sweep.spec_path, base_dir);
  if (!parsed.ok())
    return fail(absl::StrCat("the spec no longer parses: ", parsed.status().message()));
  s->spec = std::move(*parsed);
  s->spec.path = sweep.spec_path;
  if (!sweep.environment.empty()) {
    // The version resolved at submission, not whatever @latest means now.
    absl::StatusOr<core::Environment> environment =
        workspace::ResolveEnvironment(store_, "azureml:" + sweep.environment);
    if (!environment.ok()) {
      return fail(absl::StrCat("its environment is gone: ", environment.status().message()));
    }
    s->environment = std::move(*environment);
  }
  const spec::SweepSpec& spec = s->spec;
  s->seed = spec.sampling.seed ? *spec.sampling.seed : SeedFromId(sweep.id);
  samplers::SamplerOptions sopts;
  sopts.goal = spec.objective.goal;
  sopts.seed = s->seed;
  auto sampler = samplers::MakeSampler(ToAlgorithm(spec.sampling), spec.search_space, sopts);
  if (!sampler.ok()) return fail(std::string(sampler.status().message()));
  s->sampler = std::move(*sampler);
  auto policy = policies::MakeEarlyTerminationPolicy(spec.early_termination, spec.objective.goal);
  if (!policy.ok()) return fail(std::string(policy.status().message()));
  s->policy = std::move(*policy);
  s->max_total = spec.limits.max_total_trials;
  s->max_concurrent =
      spec.limits.max_concurrent_trials > 0 ? spec.limits.max_concurrent_trials : s->max_total;
  s->deadline_ms = spec.limits.timeout_s > 0 ? sweep.created_ms + spec.limits.timeout_s * 1000 : 0;
  s->trial_timeout_ms = spec.limits.trial_timeout_s * 1000;
  if (s->sweep.snapshot_digest.empty() && !spec.trial.code.empty() && snapshots_) {
    // Submitted before snapshots existed (its trials read the live directory): freeze the
    // code now, so its remaining trials share one snapshot like any other sweep.
    absl::StatusOr<std::string> digest =
        snapshots_->Create(spec.trial.code, options_.snapshot_max_bytes);
    if (!digest.ok()) {
      return fail(absl::StrCat("cannot snapshot trial.code: ", digest.status().message()));
    }
    s->sweep.snapshot_digest = *digest;
    txn.batch.sweeps.push_back(s->sweep);
  }

  ASSIGN_OR_RETURN(std::vector<core::Trial> trials, store_->ListTrials(sweep.id));
  ASSIGN_OR_RETURN(std::vector<core::Attempt> attempts,
                   store_->ListAttempts(sweep.id, std::nullopt));
  store::MetricFilter filter;
  filter.sweep_id = sweep.id;
  filter.name = spec.objective.primary_metric;
  ASSIGN_OR_RETURN(std::vector<core::MetricPoint> points, store_->ListMetrics(filter));
  ASSIGN_OR_RETURN(std::vector<core::Decision> decisions,
                   store_->ListDecisions(sweep.id, std::nullopt));

  for (size_t i = 0; i < trials.size(); ++i) {
    if (trials[i].trial_id != static_cast<int64_t>(i) + 1) {
      return fail(absl::StrCat("trial ids are not consecutive (expected ", i + 1, ", found ",
                               trials[i].trial_id, ")"));
    }
    TrialRec& t = s->trials.emplace_back();
    t.trial = trials[i];
    samplers::Observation obs;
    obs.config = t.trial.config;
    obs.state = t.trial.state;
    obs.value = core::IsTerminal(t.trial.state) ? t.trial.final_value : std::nullopt;
    obs.intervals = t.trial.intervals;
    s->history.trials.push_back(std::move(obs));
  }
  for (const core::Attempt& a : attempts) {
    if (a.trial_id < 1 || a.trial_id > s->Created()) continue;
    TrialRec& t = s->trials[a.trial_id - 1];
    if (!t.has_attempt || a.attempt >= t.attempt.attempt) {
      t.attempt = a;
      t.has_attempt = true;
    }
  }
  // Curves of the current attempts, and the policy state: replay every primary-metric
  // report and trial end in time order, as the policy saw them live (no new decisions
  // are recorded).
  struct Replay {
    int64_t time;
    int kind;  // 0 report, 1 trial end
    const core::MetricPoint* point;
    int64_t trial_id;
  };
  std::vector<Replay> replay;
  for (const core::MetricPoint& p : points) {
    if (p.trial_id < 1 || p.trial_id > s->Created() || p.interval < 1) continue;
    replay.push_back({p.timestamp_ms, 0, &p, p.trial_id});
  }
  for (const TrialRec& t : s->trials) {
    if (core::IsTerminal(t.trial.state))
      replay.push_back({t.trial.ended_ms, 1, nullptr, t.trial.trial_id});
  }
  std::stable_sort(replay.begin(), replay.end(), [](const Replay& a, const Replay& b) {
    if (a.time != b.time) return a.time < b.time;
    return a.kind < b.kind;
  });
  std::map<int64_t, int32_t> curve_attempt;
  for (const Replay& r : replay) {
    TrialRec& t = s->trials[r.trial_id - 1];
    if (r.kind == 1) {
      if (s->policy) s->policy->OnTrialEnded(r.trial_id, t.trial.state);
      continue;
    }
    const core::MetricPoint& p = *r.point;
    auto [it, inserted] = curve_attempt.emplace(r.trial_id, p.attempt);
    if (!inserted && it->second != p.attempt) {
      if (s->policy) s->policy->ForgetCurve(r.trial_id);
      it->second = p.attempt;
    }
    if (s->policy) s->policy->OnReport(r.trial_id, p.interval, p.value);
    if (t.has_attempt && p.attempt == t.attempt.attempt && std::isfinite(p.value)) {
      t.last = p.value;
      if (!t.best || core::Better(spec.objective.goal, p.value, *t.best)) t.best = p.value;
    }
  }
  // A trial whose last reported curve belongs to an earlier attempt, or to an attempt
  // that ended while the trial did not, had that curve forgotten live (lost / preempted /
  // released attempt): forget it here too.
  for (const auto& [trial_id, attempt] : curve_attempt) {
    const TrialRec& t = s->trials[trial_id - 1];
    if (s->policy && !core::IsTerminal(t.trial.state) &&
        (!t.has_attempt || t.attempt.attempt != attempt || core::IsTerminal(t.attempt.state))) {
      s->policy->ForgetCurve(trial_id);
    }
  }
  for (const core::Decision& d : decisions) {
    if (!d.stop || d.trial_id < 1 || d.trial_id > s->Created()) continue;
    TrialRec& t = s->trials[d.trial_id - 1];
    if (core::IsTerminal(t.trial.state) || !t.has_attempt) continue;
    if (d.timestamp_ms >= t.attempt.started_ms && t.stop == StopReason::kNone) {
      t.stop = StopReason::kEarlyTerminated;
      t.stop_message = d.explanation;
    }
  }
  // Counters, queues, leases.
  for (TrialRec& t : s->trials) {
    switch (t.trial.state) {
      case TrialState::kCompleted:
        s->completed += 1;
        if (t.trial.final_value &&
            (!s->best_value ||
             core::Better(spec.objective.goal, *t.trial.final_value, *s->best_value))) {
          s->best_value = t.trial.final_value;
          s->best_trial = t.trial.trial_id;
        }
        break;
      case TrialState::kFailed:
        s->failed += 1;
        break;
      case TrialState::kEarlyTerminated:
        s->early_terminated += 1;
        break;
      case TrialState::kCanceled:
        s->canceled += 1;
        break;
      case TrialState::kPending:
        s->retry_queue.push_back(t.trial.trial_id);
        break;
      case TrialState::kRunning:
        if (t.has_attempt && !core::IsTerminal(t.attempt.state)) {
          s->live.insert(t.trial.trial_id);
          s->active += 1;
          NodeRec& n = nodes_[t.attempt.node_id];
          if (n.node.node_id.empty()) {
            n.node.node_id = t.attempt.node_id;
            n.node.compute = sweep.compute;
            n.node.registered_ms = now;
          }
          n.lease = std::make_pair(sweep.id, t.trial.trial_id);
          n.node.state = "busy";
          n.node.last_seen_ms = now;
        } else {
          // No live attempt (cannot happen with atomic batches, but be safe): retry it.
          t.trial.state = TrialState::kPending;
          s->history.trials[t.trial.trial_id - 1].state = TrialState::kPending;
          s->retry_queue.push_back(t.trial.trial_id);
          PutTrial(txn, t);
        }
        break;
    }
  }
  SweepRec& ref = *s;
  rr_[sweep.compute].push_back(sweep.id);
  sweeps_[sweep.id] = std::move(s);
  // Grants (argv/env) are rebuilt for live attempts so their nodes can re-acquire them.
  for (int64_t tid : std::vector<int64_t>(ref.live.begin(), ref.live.end())) {
    TrialRec& t = ref.trials[tid - 1];
    if (absl::Status st = EnsureGrant(ref, t); !st.ok()) {
      EndAttempt(txn, ref, t, AttemptState::kFailed, std::string(st.message()), now);
      EndTrial(txn, ref, t, TrialState::kFailed,
               absl::StrCat("cannot build the trial command: ", st.message()), now);
    }
  }
  // Leases that ran out while no controller was up.
  for (int64_t tid : std::vector<int64_t>(ref.live.begin(), ref.live.end())) {
    TrialRec& t = ref.trials[tid - 1];
    if (t.attempt.expires_ms > now) continue;
    std::string why =
        absl::StrCat("lease of node ", t.attempt.node_id, " expired while the controller was down");
    EndAttempt(txn, ref, t, AttemptState::kLost, why, now);
    AddEvent(txn, ref.sweep.id, tid, "attempt_lost",
             absl::StrCat("attempt ", t.attempt.attempt, ": ", why), now);
    RequeueOrEnd(txn, ref, t, /*count_retry=*/true, why, now);
  }
  AddEvent(txn, ref.sweep.id, 0, "sweep_resumed",
           absl::StrCat("controller restarted; ", ref.Created(), " trials so far, ", ref.active,
                        " running, ", ref.retry_queue.size(), " to retry"),
           now);
  MaybeEndSweep(txn, ref, now);
  return absl::OkStatus();
}

absl::Status ControllerImpl::Load() {
  ASSIGN_OR_RETURN(fencing_, store_->MaxFencingToken());
  const int64_t now = clock_->NowMillis();
  ASSIGN_OR_RETURN(std::vector<core::Node> nodes, store_->ListNodes());
  for (core::Node& n : nodes) {
    if (n.state == "gone") continue;
    NodeRec& rec = nodes_[n.node_id];
    rec.node = std::move(n);
    rec.node.state = "idle";
    rec.node.last_seen_ms = now;  // give it a full silence window to come back
    rec.idle_since_ms = now;
  }
  ASSIGN_OR_RETURN(std::vector<core::ComputeTarget> targets, store_->ListComputes());
  for (core::ComputeTarget& t : targets) targets_[t.name] = std::move(t);
  ASSIGN_OR_RETURN(std::vector<core::Sweep> sweeps, store_->ListSweeps());
  std::reverse(sweeps.begin(), sweeps.end());  // oldest first: round-robin order
  std::unique_lock<std::mutex> lock(mu_);
  Txn txn;
  for (const core::Sweep& sweep : sweeps) {
    if (sweep.state != SweepState::kRunning) continue;
    RETURN_IF_ERROR(LoadSweep(txn, sweep, now));
  }
  return Finish(txn, lock);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Controller>> Controller::Create(store::Store* store,
                                                               ControllerOptions options) {
  if (store == nullptr) return absl::InvalidArgumentError("Controller::Create: store is null");
  if (options.clock == nullptr) options.clock = core::SystemClock::Default();
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

}  // namespace sweep::controller

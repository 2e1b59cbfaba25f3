// The Controller owns sweeps, trials, attempts and leases of one workspace. It takes
// and returns domain types and is testable without a network; grpc_service.h adapts
// it to the wire protocol.
//
// Durability: every state change is committed to the Store before the call that
// caused it returns; what a caller was told survives the process being killed.
// Fencing: each attempt gets a fencing token larger than any before it; a call
// carrying a token that is not the current attempt's gets FailedPrecondition and
// changes nothing; one naming a lease of another node gets PermissionDenied.
//
// Thread safety: all methods are thread-safe. AcquireTrial blocks up to its wait.
//
// Semantics (implementation: controller_impl.cc):
// - Sweep ids are "sw-" + 12 random hex digits. Without a seed in the spec, the sampler
//   seed is the 48-bit number those hex digits spell; it is recorded in the
//   sweep_submitted event, and a restarted controller derives the same one.
// - Trials are created lazily, when a node of the sweep's compute asks and the sweep has
//   room: leased+running < max_concurrent_trials and trials created < max_total_trials
//   (a retried trial is the same trial). Pending retries go first. Several sweeps on one
//   target share its nodes fairly: a node asking for work is offered to the sweep holding
//   the fewest leases first (round-robin among equals), each within its own
//   max_concurrent_trials.
// - A grant's env: AZUREML_SWEEP_<param> (value text) for each active parameter,
//   SWEEP_PARAMS (JSON object), SWEEP_ID, SWEEP_NAME (display name), SWEEP_TRIAL_ID,
//   SWEEP_ATTEMPT, SWEEP_PRIMARY_METRIC.
// - Intervals count primary-metric reports per attempt from 1; a new attempt starts
//   again at 1. Non-finite values count as intervals but never become the trial's value.
//   The trial's final_value follows the running aggregate (last or best) while it runs.
// - CompleteTrial: SUCCEEDED -> completed (or failed "exited 0 but never reported
//   primary metric 'M'"); FAILED -> failed "exited with code N: <error>" ("killed by
//   signal N: ..."); STOPPED after a STOP directive -> early_terminated / canceled /
//   failed "trial timeout (Ns) reached"; STOPPED without one -> the attempt counts as
//   preempted (the trial runs again). A FAILED outcome after a STOP counts as
//   stopped. The same completion sent again returns the same state.
// - Lease expiry: the attempt is lost and the trial retried; after max_retries lost
//   attempts the trial fails "node lost N times". Preempted attempts (a worker stopped
//   without a STOP directive, or NodeGone) and Deregister's released (`stopped`) ones
//   do not count against max_retries, but a trial gets at most max_retries + 21 attempts
//   in all: when its (max_retries + 21)th attempt is interrupted (preempted, lost or
//   released) it fails "interrupted N times". Each new attempt restarts the trial's
//   curve: an interrupted attempt's points stay stored but leave early-termination
//   statistics and the trial's value. A lease lost to the controller's own restart
//   (expired while none was up, or inherited at the restart and never renewed) ends
//   `interrupted` and counts toward neither limit.
// - A sweep ends `completed` when every trial is terminal and no more can be created
//   (max_total_trials reached or the sampler exhausted), `failed` when every trial
//   failed or the sampler errored; status_message has the counts and the best value.
//   Cancel ends it `canceled` at once; sweep timeout ends it at once, `completed` if any
//   trial completed, else `failed`, with "timeout reached (Ns)". Either way its pending
//   trials and running trials become `canceled` immediately, and the running attempts
//   drain: their heartbeats get STOP until the worker completes or the lease expires.
// - Autoscaling (Tick, amlcompute targets): desired nodes = clamp(sum over running sweeps
//   of min(max_concurrent, running + startable), min_nodes, max_nodes); the target's
//   NodeProvider starts nodes up to that. Idle nodes past idle_seconds_before_scaledown
//   get shutdown=true from AcquireTrial while more nodes than max(desired, min_nodes)
//   are registered. Scaling events belong to a running sweep of the target, else to
//   sweep_id "" (workspace-level).
// - remotevm targets (provider "ssh") keep max_nodes workers (the workers per node)
//   while a sweep of the target runs; a worker that exits is restarted at once, with a
//   node_restarted event.
// - When a provider fails to start a node (scale_up_failed event), the target is not
//   scaled up again for 10 s.
// - A sweep that cannot get a single node of its target (whose provider starts nodes)
//   for node_wait_timeout (the spec's limits.node_wait_timeout, else
//   options.node_wait_timeout_ms, default 10 min; 0 = for ever) ends `failed` at once,
//   like a timeout, with a node_wait_timeout event naming the last reason.
// - If a Store commit fails, memory may be ahead of the store: every later call fails
//   Internal until the controller is recreated from the store.
// - After Create(), sweeps that ended while attempts were still draining are not
//   reloaded; their workers get FailedPrecondition and stop the trial.
// - Environments: SubmitSweep resolves spec.trial.environment in the store (an unknown
//   name or version is NotFound naming it and how to create it; nothing is stored) and
//   keeps the resolved "NAME@VERSION" in Sweep::environment; every grant of the sweep
//   carries that version's definition, also after a restart.
// - register_model: when a sweep with `register_model: {name}` ends `completed`, the
//   background Tick registers its best completed trial (controller/registry.h) after the
//   end is durable, then commits a `model_registered` event naming the version or a
//   `model_registration_failed` event with the reason; the sweep's state never changes.
//   WaitForSweep returns only after that event. Needs options.workspace_dir. A crash
//   between the sweep's end and the event loses the registration (register by hand).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "compute/node_provider.h"
#include "core/clock.h"
#include "core/env.h"
#include "core/file_tree.h"
#include "core/lease.h"
#include "core/types.h"
#include "spec/spec.h"
#include "store/store.h"
#include "workspace/admin.h"

namespace sweep::controller {

struct ControllerOptions {
  // Leases and timeouts are measured with it: by default a clock a wall-clock step does not
  // move (core::MonotonicWallClock), so a step neither expires every lease nor keeps them.
  core::Clock* clock = core::MonotonicWallClock::Default();
  // Not owned. The workspace's files (snapshots, artifacts, models) and the random ids;
  // tests inject faults through it (core/fault_env.h).
  core::Env* env = core::Env::Default();
  int64_t lease_duration_ms = 30'000;     // a lease expires this long after its last renewal
  int64_t heartbeat_interval_ms = 5'000;  // what workers are told to use
  int64_t stop_grace_ms = 10'000;         // SIGTERM -> SIGKILL delay told to workers
  int64_t max_acquire_wait_ms = 30'000;   // cap on a long poll
  int64_t tick_interval_ms = 200;         // background housekeeping period
  // Where snapshots (<ws>/snapshots) and artifacts (<ws>/artifacts) live. Empty: a sweep
  // with trial.code is refused, and so are artifact uploads.
  std::string workspace_dir;
  int64_t snapshot_max_bytes = 300LL << 20;   // cap on a snapshot of trial.code
  int64_t artifact_max_bytes = 1024LL << 20;  // cap on one attempt's outputs/
  // A sweep whose target has not one registered node for this long, while its provider
  // should start them, ends `failed` with the last reason (autoscaler.h); the spec's
  // limits.node_wait_timeout overrides it per sweep. 0 = wait for ever.
  int64_t node_wait_timeout_ms = 600'000;
  // The provider steps of the admin methods (workspace/admin.h TargetProvisioner); null:
  // targets get only the static checks and remote VMs cannot be attached.
  std::shared_ptr<workspace::TargetProvisioner> provisioner;
};

using core::AcquireResult;
using core::ArtifactChunk;  // one chunk of one output file of an attempt
using core::BlobChunk;      // a piece of a snapshot blob (workspace/snapshot_store.h)
using core::Completion;
using core::Directive;
using core::DirectiveReply;
using core::LeaseGrant;
using core::LeaseRef;
using core::NodeRegistration;
using core::Outcome;
using core::Registered;

using compute::NodeProvider;

// `sweep extend`'s limits: 0 keeps what the sweep had (the spec's, or an earlier
// extension's).
struct ExtendRequest {
  int64_t max_total_trials = 0;
  int64_t timeout_s = 0;
  int64_t max_concurrent_trials = 0;
};

// A node of a compute target as the controller sees it now.
struct NodeStatus {
  core::Node node;
  std::string sweep_id;  // the lease it holds, when busy; "" when idle
  int64_t trial_id = 0;
};

// The autoscaling state of one compute target (`sweep compute show`).
struct ComputeStatus {
  int64_t desired_nodes = 0;      // what the autoscaler aims for (as of the last Tick)
  int64_t provider_nodes = 0;     // started by the target's node provider and still alive
  std::vector<NodeStatus> nodes;  // registered nodes not gone, by node id
};

class Controller {
 public:
  // Loads the workspace state from `store` (not owned, must outlive the controller),
  // expiring leases that ran out while no controller was up and resuming running sweeps.
  static absl::StatusOr<std::unique_ptr<Controller>> Create(store::Store* store,
                                                            ControllerOptions options);
  virtual ~Controller() = default;

  // Attaches the provider that creates nodes for targets of this provider name
  // ("local", "slurm", "ssh"). Without one, targets wait for workers started by hand.
  virtual void SetNodeProvider(const std::string& provider_name,
                               std::shared_ptr<NodeProvider> provider) = 0;

  // Called for every event committed (trial started/ended, best improved, sweep ended),
  // on the thread that committed it; must not call back into the controller.
  virtual void SetEventListener(std::function<void(const core::Event&)> listener) = 0;

  // Validates the target (exists, persistent, supports sweeps) and creates the sweep.
  // InvalidArgument/NotFound with a user-facing message when it cannot run.
  // `spec_yaml` must be the text `spec` was parsed from: a restarted controller re-parses
  // it (with base dir = the directory of spec.path) to resume the sweep.
  // The trial.code directory is snapshotted into the workspace first
  // (controller/snapshot_store.h, limit options.snapshot_max_bytes); InvalidArgument
  // naming the largest files when it is too big, and then nothing is stored.
  virtual absl::StatusOr<std::string> SubmitSweep(const spec::SweepSpec& spec,
                                                  const std::string& spec_yaml) = 0;
  virtual absl::Status CancelSweep(const std::string& sweep_id) = 0;

  virtual absl::StatusOr<Registered> Register(const NodeRegistration& registration) = 0;
  virtual absl::StatusOr<AcquireResult> AcquireTrial(const std::string& node_id,
                                                     int64_t wait_ms) = 0;
  virtual absl::StatusOr<DirectiveReply> Heartbeat(const LeaseRef& lease) = 0;
  virtual absl::StatusOr<DirectiveReply> ReportMetrics(
      const LeaseRef& lease, const std::vector<core::MetricPoint>& points) = 0;
  virtual absl::StatusOr<core::TrialState> CompleteTrial(const LeaseRef& lease,
                                                         const Completion& completion) = 0;
  virtual absl::Status Deregister(const std::string& node_id) = 0;
  // A node provider saw node `node_id` end (its job was preempted, cancelled or killed,
  // or it exited). Its running attempt, if any, becomes `preempted` at once (`reason`
  // goes into the attempt's error and an "attempt_preempted" event) and the trial
  // runs again elsewhere; the node is marked gone. Calling it again changes nothing.
  // NotFound for a node that never registered.
  virtual absl::Status NodeGone(const std::string& node_id, const std::string& reason) = 0;

  // Up to max_bytes (capped at 1 MiB) of a snapshot's manifest (blob "") or of a file it
  // lists. NotFound when the snapshot is not stored or does not list the blob,
  // OutOfRange for an offset past the end, FailedPrecondition without a workspace.
  virtual absl::StatusOr<BlobChunk> FetchSnapshot(const std::string& digest,
                                                  const std::string& blob, int64_t offset,
                                                  int64_t max_bytes) = 0;
  // Stores a chunk of an output file of the lease's attempt in its upload area (never
  // read until committed). FailedPrecondition for a stale lease or an ended attempt;
  // InvalidArgument naming the path for an unsafe path (absolute, '..', ...), a chunk out
  // of order or past the size limit; DataLoss when the chunk or the finished file does
  // not match its digest (nothing of it is kept; send it again).
  virtual absl::Status UploadArtifact(const LeaseRef& lease, const ArtifactChunk& chunk) = 0;
  // Publishes the attempt's uploaded files (controller/artifact_store.h layout, manifest
  // last) and returns their total size. FailedPrecondition for a stale lease (nothing is
  // published) or when fewer than file_count files arrived complete.
  virtual absl::StatusOr<int64_t> CommitArtifacts(const LeaseRef& lease, int64_t file_count) = 0;

  // Housekeeping: expires leases, enforces timeouts, scales node providers, ends sweeps.
  // Start() runs it on a background thread every tick_interval_ms; tests may call Tick().
  virtual void Tick() = 0;
  virtual void Start() = 0;
  // Stops the background thread, wakes long polls, stops provider nodes. Idempotent.
  virtual void Shutdown() = 0;

  // Blocks until the sweep is terminal or `timeout_ms` passes (then DeadlineExceeded).
  virtual absl::StatusOr<core::SweepState> WaitForSweep(const std::string& sweep_id,
                                                        int64_t timeout_ms) = 0;

  // Desired and live nodes of `compute`, and what each node runs. NotFound for a target
  // the controller does not know (Tick re-reads targets from the store).
  virtual absl::StatusOr<ComputeStatus> GetComputeStatus(const std::string& compute) = 0;

  // --- Admin: the workspace changes of workspace/admin.h WorkspaceAdmin (same contracts),
  // made by this controller (controller/admin.h): committed to its store, serialised with
  // its own state. A target is not deleted while a sweep of it runs, is being submitted
  // or still stops its last trials; a stored or deleted target is known to the autoscaler
  // at once. Each change commits its workspace-level event (the event listener sees it).
  virtual absl::StatusOr<core::ComputeTarget> PutComputeTarget(const core::ComputeTarget& target,
                                                               workspace::PutMode mode) = 0;
  virtual absl::Status DeleteComputeTarget(const std::string& name) = 0;
  virtual absl::StatusOr<workspace::AttachedRemoteVm> AttachRemoteVm(
      const workspace::RemoteVmRequest& request) = 0;
  virtual absl::StatusOr<workspace::CreatedEnvironment> CreateEnvironment(
      const core::Environment& definition) = 0;
  virtual absl::StatusOr<core::Model> RegisterModel(const workspace::ModelRequest& request) = 0;

  // Adds a trial with the configuration `params` ("NAME=VALUE" words, read and checked
  // against the sweep's space as spec/points.h says) to a running sweep: it runs before
  // any sampled trial (after retries and trials enqueued earlier) and counts against
  // max_total_trials. Commits the trial (origin "enqueued") and a `trial_enqueued` event;
  // returns its number. Spec `initial_points` are enqueued the same way at submission.
  // InvalidArgument naming the parameter (nothing stored); NotFound "no sweep 'ID'";
  // FailedPrecondition when the sweep ended, is not run here, or created all its trials.
  virtual absl::StatusOr<int64_t> EnqueueTrial(const std::string& sweep_id,
                                               const std::vector<std::string>& params) = 0;

  // OK while the controller can save its state. Once a commit failed for good (after the
  // retries of commit_queue.h) the Internal error every call now gets, naming the store's
  // reason: `sweep run` and `sweep server` end on it, and a restart resumes from the store.
  virtual absl::Status Health() { return absl::OkStatus(); }
  // Runs an ended (completed, failed or canceled) sweep again with more trials, on its own
  // spec and snapshot (`sweep extend`): up to request.max_total_trials in all, its
  // timeout (request's, else the spec's) counting from now. The sampler continues from the
  // whole history (its warm start included), the early-termination policy keeps every
  // earlier curve, new trials get origin "extension N"; when it completes, register_model
  // registers a new version only if the best trial changed (else a `model_unchanged`
  // event). Commits the sweep running again and a `sweep_extended` event; returns N.
  // InvalidArgument for bad limits (max_total_trials not above the trials it has, a
  // negative timeout or concurrency); NotFound "no sweep 'ID'"; FailedPrecondition when it
  // still runs or stops its last trials, its search space is exhausted, its compute
  // target is gone, or it cannot be loaded. Nothing is stored on error.
  virtual absl::StatusOr<int64_t> ExtendSweep(const std::string& sweep_id,
                                              const ExtendRequest& request) = 0;
  // Whether `node_id` is registered and live (not gone) or holds a lease: registering
  // again under that id must then prove it is the same node (rpc/grpc_service.h).
  virtual bool NodeIsClaimed(const std::string& node_id) = 0;
  // CompleteTrial, then, when it succeeded, AcquireTrial(lease.node_id, wait 0): the node's
  // next lease in the round trip that ends its attempt (one commit for both in
  // ControllerImpl). `next` is nullopt when the acquire failed (the worker then acquires as
  // usual); a non-OK status is the completion's, and then nothing was acquired.
  struct CompletedAndNext {
    core::TrialState state = core::TrialState::kPending;
    std::optional<AcquireResult> next;
  };
  virtual absl::StatusOr<CompletedAndNext> CompleteTrialAndAcquire(const LeaseRef& lease,
                                                                   const Completion& completion) {
    absl::StatusOr<core::TrialState> state = CompleteTrial(lease, completion);
    if (!state.ok()) return state.status();
    CompletedAndNext out;
    out.state = *state;
    if (absl::StatusOr<AcquireResult> next = AcquireTrial(lease.node_id, 0); next.ok()) {
      out.next = *std::move(next);
    }
    return out;
  }
};

}  // namespace sweep::controller

// The Controller owns sweeps, trials, attempts and leases of one workspace. It takes
// and returns domain types and is testable without a network; grpc_service.h adapts
// it to the wire protocol.
//
// Durability: every state change is committed to the Store before the call that
// caused it returns; what a caller was told survives the process being killed.
// Fencing: each attempt gets a fencing token larger than any before it; a call
// carrying a token that is not the current attempt's gets FailedPrecondition and
// changes nothing.
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
//   target are served round-robin.
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
//   preempted (a retry, like a lost lease). A FAILED outcome after a STOP counts as
//   stopped. The same completion sent again returns the same state.
// - Lease expiry: the attempt is lost and the trial retried; after max_retries lost or
//   preempted attempts the trial fails "node lost N times". Deregister releases a lease
//   as `stopped` without counting a retry.
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
#include "core/clock.h"
#include "core/types.h"
#include "spec/spec.h"
#include "store/store.h"

namespace sweep::controller {

struct ControllerOptions {
  core::Clock* clock = core::SystemClock::Default();
  int64_t lease_duration_ms = 30'000;     // a lease expires this long after its last renewal
  int64_t heartbeat_interval_ms = 5'000;  // what workers are told to use
  int64_t stop_grace_ms = 10'000;         // SIGTERM -> SIGKILL delay told to workers
  int64_t max_acquire_wait_ms = 30'000;   // cap on a long poll
  int64_t tick_interval_ms = 200;         // background housekeeping period
  std::string workspace_dir;              // where artifacts and models live; "" = none
};

struct LeaseRef {
  std::string node_id;
  std::string sweep_id;
  int64_t trial_id = 0;
  int32_t attempt = 0;
  uint64_t fencing_token = 0;
};

struct LeaseGrant {
  LeaseRef ref;
  std::vector<std::string> argv;
  std::vector<std::pair<std::string, std::string>> env;
  std::string params_json;
  std::string primary_metric;
  int64_t expires_at_ms = 0;
  int64_t trial_timeout_ms = 0;
  std::string code_dir;
  int64_t stop_grace_ms = 0;
  std::optional<core::Environment> environment;  // the sweep's resolved environment, if any
};

struct AcquireResult {
  std::optional<LeaseGrant> lease;
  bool shutdown = false;  // the node should exit (scale-down)
};

enum class Directive { kContinue, kStop };

struct DirectiveReply {
  Directive directive = Directive::kContinue;
  int64_t expires_at_ms = 0;
  std::string reason;  // why stop
};

enum class Outcome { kSucceeded, kFailed, kStopped };

struct Completion {
  Outcome outcome = Outcome::kSucceeded;
  int32_t exit_code = 0;
  int32_t signal = 0;
  std::string error;
  std::vector<core::MetricPoint> points;  // unsent points (sweep/trial fields ignored)
};

struct NodeRegistration {
  std::string node_id;  // empty: assign one
  std::string compute;
  std::string hostname;
  int64_t pid = 0;
  std::string version;
};

struct Registered {
  std::string node_id;
  int64_t heartbeat_interval_ms = 0;
  int64_t lease_duration_ms = 0;
};

// Starts and stops worker processes for a compute target (local children, Slurm jobs,
// SSH sessions). Implementations are thread-safe.
class NodeProvider {
 public:
  virtual ~NodeProvider() = default;
  // Starts one node for `target`; it will Register on its own. Returns a handle id.
  virtual absl::StatusOr<std::string> StartNode(const core::ComputeTarget& target) = 0;
  // Number of nodes started and not yet known to have exited.
  virtual int64_t LiveNodes(const std::string& compute) = 0;
  // Stops everything it started (SIGTERM, then SIGKILL after a grace period).
  virtual void StopAll() = 0;
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

  // Housekeeping: expires leases, enforces timeouts, scales node providers, ends sweeps.
  // Start() runs it on a background thread every tick_interval_ms; tests may call Tick().
  virtual void Tick() = 0;
  virtual void Start() = 0;
  // Stops the background thread, wakes long polls, stops provider nodes. Idempotent.
  virtual void Shutdown() = 0;

  // Blocks until the sweep is terminal or `timeout_ms` passes (then DeadlineExceeded).
  virtual absl::StatusOr<core::SweepState> WaitForSweep(const std::string& sweep_id,
                                                        int64_t timeout_ms) = 0;
};

}  // namespace sweep::controller

// Internal to the worker agent (agent.cc, attempt_runner.cc, lease_reporter.cc): the state
// its parts share and the rules they all apply to the controller's answers. Not an API for
// other folders; worker/agent.h is.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "core/clock.h"
#include "core/env.h"
#include "worker/agent.h"
#include "worker/controller_client.h"
#include "worker/process.h"

namespace sweep::worker {

inline constexpr int64_t kDefaultHeartbeatMs = 5'000;

// Worth retrying later: the controller is away, busy or restarting.
bool IsTransient(const absl::Status& status);
// The lease is no longer ours: stale fencing token, or the attempt is gone.
bool IsLeaseGone(const absl::Status& status);

// Tracks consecutive failures to reach the controller, for backoff and for giving up.
class Reachability {
 public:
  Reachability(core::Clock* clock, int64_t limit_ms);

  void Success();
  // Records a failure; true when the controller has been unreachable for too long.
  bool FailureExceedsLimit();
  bool first_failure() const;
  int64_t NextBackoffMs();

 private:
  core::Clock* clock_;
  int64_t limit_ms_;
  int64_t failing_since_ms_ = -1;
  int64_t backoff_ms_;
};

// How an attempt ended, for the lease loop.
enum class AttemptEnd {
  kDone,           // completed or abandoned: acquire the next one
  kStopRequested,  // the worker is stopping: deregister and exit 0
  kFatal,          // AgentContext::fatal says why: exit 1
};

// The answer to renewing a lease (a heartbeat or a metrics report).
enum class RenewResult { kContinue, kStop, kLeaseGone, kFatal };

// What the agent's parts share: options, dependencies, the node's registration and the
// controller's reachability. Touched by the agent's thread only; Stopping() by any.
struct AgentContext {
  AgentContext(const WorkerOptions& options, const WorkerDeps& deps, std::atomic<bool>* stop);

  bool Stopping() const { return stop != nullptr && stop->load(); }
  // Sleeps in real time; false when the worker is asked to stop meanwhile.
  bool SleepMs(int64_t ms);
  std::string UnreachableMessage(const absl::Status& status) const;
  std::string TokenRejectedMessage(const absl::Status& status) const;

  const WorkerOptions options;
  ControllerClient* const client;
  ProcessLauncher* const launcher;
  core::Env* const env;
  core::Clock* const clock;
  std::atomic<bool>* const stop;
  const std::string controller_name;  // "the controller at host:port", for messages
  Reachability reach;
  std::string node_id;
  std::string work_dir;
  int64_t heartbeat_ms = kDefaultHeartbeatMs;
  std::string fatal;  // why the worker must exit, after kFatal
  // What the controller answered for the node's next trial along with the last
  // completion (ControllerClient::CompleteTrialAndAcquire); the lease loop uses it instead
  // of calling AcquireTrial.
  std::optional<AcquireResult> next_acquire;
};

}  // namespace sweep::worker

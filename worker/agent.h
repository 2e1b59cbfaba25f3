// The worker agent (`sweep worker`): registers with the controller, leases trials,
// runs each as a child process, streams its metrics and obeys stop directives.
//
// Lifecycle (docs/architecture.md "Leases and states"):
//   Register (retried with backoff while the controller is unavailable; a wrong token
//   ends the worker at once) -> loop { AcquireTrial (long poll) -> run the attempt ->
//   CompleteTrial }. Before a trial starts, the lease's workspace environment is
//   prepared (worker/environment.h; heartbeats continue while a build runs or is waited
//   for); a failed preparation fails the attempt with its message. During an attempt the agent
//   sends the metric points it parses in ReportMetrics batches and a Heartbeat whenever nothing
//   else renewed the lease for a heartbeat interval. A STOP directive or the lease's trial timeout
//   stops the trial (SIGTERM to its process group, SIGKILL after the grace period) and completes it
//   as STOPPED. FAILED_PRECONDITION on a lease call means the lease was taken away: the trial is
//   killed and not completed, and the worker acquires again.
//
// Exit: 0 when the controller says shutdown, `*stop` becomes true (SIGTERM: the running
// trial is stopped and completed as STOPPED without a directive, which the controller
// records as a preempted attempt and runs the trial again; then the node deregisters), or
// after max_idle_polls empty polls; 1 when the token is rejected, the controller stays
// unreachable for unreachable_timeout_ms, or the work directory cannot be created;
// 2 for missing or invalid options (keep_attempts < 0).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "core/env.h"
#include "worker/attempt_retention.h"
#include "worker/controller_client.h"
#include "worker/process.h"

namespace sweep::worker {

struct WorkerOptions {
  std::string server;       // host:port of the controller
  std::string compute;      // target name this node belongs to
  std::string token;        // workspace token
  std::string tls_ca_file;  // PEM roots to verify a TLS controller; empty: plaintext
  std::string node_id;      // optional fixed id; empty: controller assigns
  // Attempts run under <work_dir>/attempts/...; default a temporary directory, removed
  // when the worker exits.
  std::string work_dir;
  // Finished attempt directories kept under <work_dir>/attempts, the newest; older ones
  // are removed (worker/attempt_retention.h). >= 0; 0: none is kept.
  int keep_attempts = kDefaultKeepAttempts;
  int64_t acquire_wait_ms = 10'000;
  int64_t metrics_flush_ms = 200;  // batch window for ReportMetrics (also at 100 points)
  int max_idle_polls = -1;         // exit after this many empty polls in a row; <= 0: never
  // 0: the interval the controller gives at registration (5 s if it gives none).
  int64_t heartbeat_interval_ms = 0;
  int64_t default_stop_grace_ms = 10'000;   // SIGTERM -> SIGKILL when a lease gives none
  int64_t unreachable_timeout_ms = 60'000;  // give up on a controller silent this long
  int64_t poll_interval_ms = 100;           // how often the child and its metrics file are checked
  bool echo_trial_output = false;           // copy the trial's output lines to the worker's log
  // Where system-managed environments are built and cached (worker/environment.h); shared
  // by the workers of one machine. Default: <parent of work_dir>/environments when work_dir
  // is set (local nodes of a workspace: <ws>/nodes/environments), else
  // <temp dir>/sweep-environments-<uid>.
  std::string environment_cache_dir;
};

// How the agent ended: the process exit code and a one-line reason for the user.
struct WorkerResult {
  int exit_code = 0;
  std::string message;
};

// What the agent talks to; not owned, must outlive the call.
struct WorkerDeps {
  ControllerClient* client = nullptr;
  ProcessLauncher* launcher = nullptr;
  core::Clock* clock = nullptr;  // null: env->clock()
  // Files (work dir, snapshot cache, environments, metrics files, outputs/) and sleeps.
  core::Env* env = core::Env::Default();
};

// The agent with explicit dependencies (tests inject fakes). Blocks until the worker
// should exit. `stop` may be null. Time decisions (heartbeats, flushes, timeouts,
// unreachable) use deps.clock; waiting happens in real time slices of
// poll_interval_ms (deps.env's monotonic clock), so a FakeClock must be advanced by the test.
WorkerResult RunWorkerWith(const WorkerOptions& options, const WorkerDeps& deps,
                           std::atomic<bool>* stop);

// Reads a workspace token file: its content without surrounding whitespace.
// NotFound / PermissionDenied when unreadable, InvalidArgument when empty; the message
// names the file.
absl::StatusOr<std::string> ReadTokenFile(const std::string& path,
                                          core::Env* env = core::Env::Default());

// Installs SIGTERM, SIGINT and SIGHUP handlers that set the returned flag (process-wide,
// the same flag on every call); pass it to RunWorkerWith (or rpc::RunWorker) as `stop`.
std::atomic<bool>* InstallStopSignalHandlers();

}  // namespace sweep::worker

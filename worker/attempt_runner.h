// Internal to the worker agent: one attempt from lease to completion. It fetches the lease's
// code snapshot (cached per node), prepares the attempt directory and the workspace
// environment (heartbeats go on meanwhile), runs the trial, feeds its metrics to the lease
// reporter, stops it on a STOP directive, the trial timeout or the worker's own stop,
// uploads outputs/ and completes the attempt (worker/agent.h describes the lifecycle).
//
// Thread safety: the agent's thread only.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "worker/agent_context.h"
#include "worker/attempt_retention.h"
#include "worker/environment.h"
#include "worker/mlflow_server.h"
#include "worker/mlflow_tracking.h"
#include "worker/process.h"
#include "worker/transfer.h"

namespace sweep::worker {

class AttemptRunner {
 public:
  // `ctx` must outlive the runner. `environment_cache_dir`: see WorkerOptions.
  AttemptRunner(AgentContext& ctx, const std::string& environment_cache_dir);

  // Runs the attempt, then applies the retention rule to the attempt directories
  // (WorkerOptions::keep_attempts).
  AttemptEnd Run(const LeaseGrant& lease);

 private:
  struct Attempt;

  AttemptEnd RunAttempt(Attempt& a);
  // The directory of an attempt that ended goes into the retention rule's list (the
  // first call takes in what an earlier worker left).
  void Retain(const std::string& dir);

  // The directory, the metrics tailer and the environment. nullopt: ready to launch;
  // otherwise how the attempt ended (completed as failed or stopped, abandoned, fatal).
  std::optional<AttemptEnd> Prepare(Attempt& a, PreparedEnvironment* prepared);
  std::optional<AttemptEnd> PrepareEnvironment(Attempt& a, PreparedEnvironment* prepared);
  // The cached snapshot of the lease's code ("" when it has none), logging hit or miss.
  absl::StatusOr<std::string> CodeDir(Attempt& a);
  LaunchSpec BuildLaunchSpec(Attempt& a, const PreparedEnvironment& prepared);
  // Waits for the trial while renewing the lease; stops it when told to.
  AttemptEnd Supervise(Attempt& a, Process* process);
  // The worker itself is stopping: the attempt ends STOPPED without a directive.
  AttemptEnd Interrupted(Attempt& a, const ExitInfo& how);
  AttemptEnd Finish(Attempt& a, const ExitInfo& exit, bool stopped, const std::string& reason);
  // Uploads outputs/. A failure becomes the attempt's failure (never silent); false when
  // the lease was taken away meanwhile (the attempt is abandoned).
  bool UploadArtifacts(Attempt& a, Completion* completion);
  int64_t GraceMs(const LeaseGrant& lease) const;
  // Serves the attempt on the node's MLflow endpoint (started on the first attempt); false
  // when the endpoint is unavailable (the trial then runs without the MLFLOW_* variables).
  bool BeginMlflow(Attempt& a);

  AgentContext& ctx_;
  std::unique_ptr<SnapshotCache> snapshots_;  // created on the first lease with a snapshot
  EnvironmentCache environments_;
  MlflowTracking mlflow_;
  std::unique_ptr<MlflowServer> mlflow_server_;  // after mlflow_: stops before it goes
  bool mlflow_unavailable_ = false;              // starting the endpoint failed
  std::unique_ptr<AttemptRetention> retention_;  // created with the first attempt directory
};

}  // namespace sweep::worker

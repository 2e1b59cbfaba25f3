#include "worker/attempt_runner.h"

#include <signal.h>

#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "worker/attempt.h"
#include "worker/lease_reporter.h"
#include "worker/logging.h"
#include "worker/metric_parser.h"

namespace sweep::worker {
namespace {

// Kills the trial's whole group at once and waits for it.
void Kill(Process* process) {
  process->SignalGroup(SIGKILL);
  process->Wait(-1);
}

}  // namespace

// One attempt in progress. The trial's reader thread adds points (through the reporter)
// and stderr lines; everything else is touched by the agent's thread only.
struct AttemptRunner::Attempt {
  Attempt(AgentContext& ctx, const LeaseGrant& lease) : reporter(ctx, lease) {}

  LeaseReporter reporter;
  std::string dir;
  std::optional<MlflowAttempt> mlflow;  // set when the MLflow endpoint serves this attempt
  std::unique_ptr<MetricsFileTailer> tailer;
  TailBuffer stderr_tail;
  bool outputs_uploaded = false;
};

AttemptRunner::AttemptRunner(AgentContext& ctx, const std::string& environment_cache_dir)
    : ctx_(ctx),
      environments_(environment_cache_dir, ctx.launcher, CurrentEnvironment(),
                    ctx.options.poll_interval_ms, ctx.env),
      mlflow_(ctx.env) {}

int64_t AttemptRunner::GraceMs(const LeaseGrant& lease) const {
  return lease.stop_grace_ms > 0 ? lease.stop_grace_ms : ctx_.options.default_stop_grace_ms;
}

AttemptEnd AttemptRunner::Run(const LeaseGrant& lease) {
  Attempt a(ctx_, lease);
  AttemptEnd end = RunAttempt(a);
  if (!a.dir.empty()) Retain(a.dir);
  return end;
}

void AttemptRunner::Retain(const std::string& dir) {
  if (!retention_) {
    retention_ = std::make_unique<AttemptRetention>(
        std::filesystem::path(dir).parent_path().string(), ctx_.options.keep_attempts, ctx_.env);
    if (absl::Status s = retention_->Load(); !s.ok()) {
      Log()->warn("attempt directories: {}", std::string(s.message()));
    }
  }
  if (absl::Status s = retention_->Finished(dir); !s.ok()) {
    Log()->warn("attempt directories: {}", std::string(s.message()));
  }
}

AttemptEnd AttemptRunner::RunAttempt(Attempt& a) {
  PreparedEnvironment prepared;
  if (std::optional<AttemptEnd> end = Prepare(a, &prepared)) return *end;
  // Requests after the attempt ended find no run; the points go nowhere once `a` is gone.
  struct EndMlflow {
    MlflowTracking& tracking;
    ~EndMlflow() { tracking.EndAttempt(); }
  } end_mlflow{mlflow_};
  BeginMlflow(a);
  absl::StatusOr<std::unique_ptr<Process>> launched =
      ctx_.launcher->Launch(BuildLaunchSpec(a, prepared));
  if (!launched.ok()) {
    return a.reporter.CompleteBeforeStart(Outcome::kFailed, launched.status().message());
  }
  std::unique_ptr<Process> process = *std::move(launched);
  Log()->info("attempt {} started: pid {}, in {}", a.reporter.name(), process->pid(), a.dir);
  // The first heartbeat goes out at once: it tells the controller the trial runs.
  a.reporter.RenewNow();
  return Supervise(a, process.get());
}

bool AttemptRunner::BeginMlflow(Attempt& a) {
  if (mlflow_unavailable_) return false;
  if (!mlflow_server_) {
    auto server = std::make_unique<MlflowServer>(&mlflow_);
    if (absl::StatusOr<int> port = server->Start(); !port.ok()) {
      Log()->warn("no MLflow endpoint on this node ({}); trials cannot log with MLflow",
                  std::string(port.status().message()));
      mlflow_unavailable_ = true;
      return false;
    }
    Log()->info("MLflow tracking endpoint at {}", server->uri());
    mlflow_server_ = std::move(server);
  }
  const LeaseRef& ref = a.reporter.lease().ref;
  MlflowAttempt attempt;
  attempt.run_id = MlflowRunId(ref.sweep_id, ref.trial_id, ref.attempt);
  attempt.run_name = absl::StrCat(ref.sweep_id, "_", ref.trial_id);
  attempt.experiment_id = "1";
  attempt.experiment_name = ref.sweep_id;
  attempt.outputs_dir = a.dir + "/outputs";
  attempt.start_time_ms = ctx_.clock->NowMillis();
  attempt.on_metrics = [&a](std::vector<ParsedMetric> points) {
    a.reporter.AddPoints(std::move(points));
  };
  a.mlflow = attempt;
  mlflow_.BeginAttempt(std::move(attempt));
  return true;
}

absl::StatusOr<std::string> AttemptRunner::CodeDir(Attempt& a) {
  const std::string& digest = a.reporter.lease().snapshot_digest;
  if (digest.empty()) return std::string();
  if (!snapshots_) {
    snapshots_ =
        std::make_unique<SnapshotCache>(ctx_.work_dir, ctx_.client, /*max_tries=*/3, ctx_.env);
  }
  bool hit = false;
  absl::StatusOr<std::string> dir = snapshots_->Get(digest, &hit, [&] { a.reporter.KeepAlive(); });
  if (!dir.ok()) {
    return absl::Status(dir.status().code(),
                        absl::StrCat("cannot fetch the code snapshot: ", dir.status().message()));
  }
  Log()->info("attempt {}: snapshot {} cache {}", a.reporter.name(), digest.substr(0, 12),
              hit ? "hit" : "miss (fetched)");
  return dir;
}

std::optional<AttemptEnd> AttemptRunner::Prepare(Attempt& a, PreparedEnvironment* prepared) {
  const LeaseGrant& lease = a.reporter.lease();
  absl::StatusOr<std::string> code_dir = CodeDir(a);
  absl::StatusOr<std::string> dir =
      code_dir.ok() ? PrepareAttemptDir(ctx_.work_dir, lease, *code_dir, ctx_.env)
                    : code_dir.status();
  if (!dir.ok()) return a.reporter.CompleteBeforeStart(Outcome::kFailed, dir.status().message());
  a.dir = *dir;
  a.tailer = std::make_unique<MetricsFileTailer>(a.dir + "/metrics.jsonl", ctx_.env);
  if (!lease.environment) return std::nullopt;
  return PrepareEnvironment(a, prepared);
}

std::optional<AttemptEnd> AttemptRunner::PrepareEnvironment(Attempt& a,
                                                            PreparedEnvironment* prepared) {
  // Heartbeats go on while the environment builds (or another attempt builds it).
  a.reporter.RenewNow();
  std::optional<RenewResult> interrupted;
  std::string stop_reason;
  auto keep_going = [&] {
    if (ctx_.Stopping()) return false;
    RenewResult result = a.reporter.Renew(&stop_reason);
    if (result != RenewResult::kContinue) interrupted = result;
    return result == RenewResult::kContinue;
  };
  absl::StatusOr<PreparedEnvironment> env =
      environments_.Prepare(*a.reporter.lease().environment, keep_going);
  if (!env.ok() && ctx_.Stopping()) return AttemptEnd::kStopRequested;
  if (!env.ok() && interrupted) {
    switch (*interrupted) {
      case RenewResult::kStop:
        return a.reporter.CompleteBeforeStart(Outcome::kStopped, stop_reason);
      case RenewResult::kLeaseGone:
        return AttemptEnd::kDone;
      default:
        return AttemptEnd::kFatal;
    }
  }
  if (!env.ok()) return a.reporter.CompleteBeforeStart(Outcome::kFailed, env.status().message());
  *prepared = *std::move(env);
  return std::nullopt;
}

LaunchSpec AttemptRunner::BuildLaunchSpec(Attempt& a, const PreparedEnvironment& prepared) {
  const LeaseGrant& lease = a.reporter.lease();
  LaunchSpec spec;
  spec.argv = ResolveInPrefix(prepared, lease.argv);
  if (lease.shell && !spec.argv.empty()) {
    // Azure ML runs commands with bash; a node without it gets the POSIX shell.
    absl::StatusOr<core::FileInfo> shell = ctx_.env->Stat(spec.argv[0]);
    if (!shell.ok() || !shell->is_regular() || (shell->mode & 0111) == 0) spec.argv[0] = "/bin/sh";
  }
  spec.env = BuildTrialEnv(CurrentEnvironment(), lease, a.dir);
  if (a.mlflow) SetMlflowEnv(mlflow_server_->uri(), *a.mlflow, lease.env, &spec.env);
  ApplyEnvironment(prepared, spec.env);
  spec.working_dir = a.dir;
  spec.stdout_log = absl::StrCat(a.dir, "/", kStdoutLogName);
  spec.stderr_log = absl::StrCat(a.dir, "/", kStderrLogName);
  spec.on_stdout_line = [this, &a](const std::string& line) {
    if (ctx_.options.echo_trial_output) Log()->info("[{}] {}", a.reporter.name(), line);
    a.reporter.AddPoints(ParseMetricLine(line));
    a.reporter.WaitForRoom();  // backpressure: the trial's pipe fills while reports catch up
  };
  spec.on_stderr_line = [this, &a](const std::string& line) {
    if (ctx_.options.echo_trial_output) Log()->info("[{} stderr] {}", a.reporter.name(), line);
    a.stderr_tail.Add(line);
  };
  return spec;
}

AttemptEnd AttemptRunner::Supervise(Attempt& a, Process* process) {
  const LeaseGrant& lease = a.reporter.lease();
  std::optional<ExitInfo> exit;
  bool stopped = false;
  std::string stop_reason;
  while (!exit) {
    exit = process->Wait(ctx_.options.poll_interval_ms);
    if (exit) break;
    a.reporter.AddPoints(a.tailer->Poll());
    if (ctx_.Stopping()) {
      a.reporter.StopWaiting();
      return Interrupted(a, StopProcess(process, GraceMs(lease)));
    }
    if (lease.trial_timeout_ms > 0 &&
        ctx_.clock->NowMillis() - a.reporter.start_ms() >= lease.trial_timeout_ms) {
      stop_reason = "trial timeout";
      stopped = true;
      a.reporter.StopWaiting();  // its reader drains the pipe so it can exit
      exit = StopProcess(process, GraceMs(lease));
      break;
    }
    switch (a.reporter.Renew(&stop_reason)) {
      case RenewResult::kContinue:
        break;
      case RenewResult::kStop:
        stopped = true;
        a.reporter.StopWaiting();
        exit = StopProcess(process, GraceMs(lease));
        break;
      case RenewResult::kLeaseGone:
        a.reporter.StopWaiting();
        Kill(process);
        return AttemptEnd::kDone;
      case RenewResult::kFatal:
        a.reporter.StopWaiting();
        Kill(process);
        return AttemptEnd::kFatal;
    }
  }
  // A scheduler signals the whole job: a trial that died with the worker's own stop
  // signal (which may land a moment later) was interrupted, not failed.
  if (!stopped && (exit->exit_code != 0 || exit->signal != 0) &&
      (ctx_.Stopping() || !ctx_.SleepMs(ctx_.options.poll_interval_ms))) {
    return Interrupted(a, *exit);
  }
  return Finish(a, *exit, stopped, stop_reason);
}

// SIGTERM to the worker is what a scheduler sends on preemption or cancel: the attempt
// ends STOPPED without a directive, which the controller records as preempted.
AttemptEnd AttemptRunner::Interrupted(Attempt& a, const ExitInfo& how) {
  mlflow_.EndAttempt();
  a.reporter.AddPoints(a.tailer->Finish());
  Log()->info("attempt {} stopped: the worker is shutting down", a.reporter.name());
  Completion c;
  c.outcome = Outcome::kStopped;
  c.exit_code = how.exit_code;
  c.signal = how.signal;
  c.error =
      "the node's worker was stopped by a signal (preempted, canceled or shutting "
      "down)";
  a.reporter.Complete(std::move(c));
  return AttemptEnd::kStopRequested;
}

AttemptEnd AttemptRunner::Finish(Attempt& a, const ExitInfo& exit, bool stopped,
                                 const std::string& reason) {
  mlflow_.EndAttempt();  // before outputs/ is uploaded: no artifact lands during the upload
  a.reporter.AddPoints(a.tailer->Finish());
  Completion completion;
  completion.exit_code = exit.exit_code;
  completion.signal = exit.signal;
  if (stopped) {
    completion.outcome = Outcome::kStopped;
    completion.error = reason;
  } else if (exit.exit_code == 0 && exit.signal == 0) {
    completion.outcome = Outcome::kSucceeded;
  } else {
    completion.outcome = Outcome::kFailed;
    completion.error = FailureMessage(exit, a.stderr_tail.Lines());
  }
  if (!UploadArtifacts(a, &completion)) return AttemptEnd::kDone;
  AttemptEnd end = a.reporter.Complete(std::move(completion));
  if (end == AttemptEnd::kDone) {
    // Terminal and reported: the code copy goes (outputs/ too once uploaded), the logs stay.
    if (absl::Status s = TidyAttemptDir(a.dir, /*keep_outputs=*/!a.outputs_uploaded, ctx_.env);
        !s.ok()) {
      Log()->warn("attempt {}: {}", a.reporter.name(), std::string(s.message()));
    }
  }
  return end;
}

bool AttemptRunner::UploadArtifacts(Attempt& a, Completion* completion) {
  const LeaseGrant& lease = a.reporter.lease();
  const std::string& name = a.reporter.name();
  absl::StatusOr<int64_t> uploaded = UploadOutputs(
      ctx_.client, lease.ref, a.dir + "/outputs", lease.artifact_max_bytes,
      [&] { a.reporter.KeepAlive(); }, /*max_tries=*/3, ctx_.env);
  if (uploaded.ok()) {
    a.outputs_uploaded = true;
    if (*uploaded > 0) Log()->info("attempt {}: uploaded {} output files", name, *uploaded);
    return true;
  }
  if (IsLeaseGone(uploaded.status())) {
    Log()->warn("attempt {}: the lease was taken away during the upload ({}); result dropped", name,
                std::string(uploaded.status().message()));
    return false;
  }
  std::string why = absl::StrCat("uploading outputs/ failed: ", uploaded.status().message());
  Log()->warn("attempt {}: {}", name, why);
  if (completion->outcome == Outcome::kSucceeded) {
    completion->outcome = Outcome::kFailed;
    completion->error = why;
  } else {
    completion->error = completion->error.empty() ? why : completion->error + "; " + why;
  }
  return true;
}

}  // namespace sweep::worker

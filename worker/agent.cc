#include "worker/agent.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "worker/attempt.h"
#include "worker/environment.h"
#include "worker/logging.h"
#include "worker/metric_parser.h"
#include "worker/transfer.h"

namespace sweep::worker {
namespace {

constexpr size_t kFlushPoints = 100;            // report as soon as this many are pending
constexpr size_t kMaxPointsPerRequest = 1'000;  // keeps messages well under gRPC's 4 MB
constexpr size_t kMaxPendingPoints = 100'000;   // memory bound while the controller is away
constexpr int64_t kDefaultHeartbeatMs = 5'000;
constexpr int64_t kInitialBackoffMs = 200;
constexpr int64_t kMaxBackoffMs = 5'000;
constexpr char kVersion[] = "sweep-worker/0.1";

bool IsTransient(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kCancelled:
      return true;
    default:
      return false;
  }
}

// The lease is no longer ours: stale fencing token, or the attempt is gone.
bool IsLeaseGone(const absl::Status& status) {
  return status.code() == absl::StatusCode::kFailedPrecondition ||
         status.code() == absl::StatusCode::kNotFound;
}

std::string AttemptName(const LeaseRef& ref) {
  return absl::StrCat(ref.sweep_id, "/", ref.trial_id, "#", ref.attempt);
}

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

// Tracks consecutive failures to reach the controller, for backoff and for giving up.
class Reachability {
 public:
  Reachability(core::Clock* clock, int64_t limit_ms) : clock_(clock), limit_ms_(limit_ms) {}

  void Success() {
    failing_since_ms_ = -1;
    backoff_ms_ = kInitialBackoffMs;
  }
  // Records a failure; true when the controller has been unreachable for too long.
  bool FailureExceedsLimit() {
    int64_t now = clock_->NowMillis();
    if (failing_since_ms_ < 0) failing_since_ms_ = now;
    return now - failing_since_ms_ >= limit_ms_;
  }
  bool first_failure() const { return backoff_ms_ == kInitialBackoffMs; }
  int64_t NextBackoffMs() {
    int64_t backoff = backoff_ms_;
    backoff_ms_ = std::min(backoff_ms_ * 2, kMaxBackoffMs);
    return backoff;
  }

 private:
  core::Clock* clock_;
  int64_t limit_ms_;
  int64_t failing_since_ms_ = -1;
  int64_t backoff_ms_ = kInitialBackoffMs;
};

enum class AttemptEnd {
  kDone,           // completed or abandoned: acquire the next one
  kStopRequested,  // the worker is stopping: deregister and exit 0
  kFatal,          // fatal_ says why: exit 1
};

enum class RenewResult { kContinue, kStop, kLeaseGone, kFatal };

// One attempt in progress. The reader thread of the process adds points and stderr
// lines; everything else is touched by the agent's thread only.
std::string EnvironmentCacheDir(const WorkerOptions& options) {
  if (!options.environment_cache_dir.empty()) return options.environment_cache_dir;
  if (!options.work_dir.empty()) {
    std::filesystem::path parent =
        std::filesystem::absolute(options.work_dir).lexically_normal().parent_path();
    return (parent / "environments").string();
  }
  std::error_code ec;
  return (std::filesystem::temp_directory_path(ec) /
          absl::StrCat("sweep-environments-", ::getuid()))
      .string();
}

struct Running {
  explicit Running(const LeaseGrant& l) : lease(l), name(AttemptName(l.ref)) {}

  LeaseGrant lease;
  std::string name;
  std::string dir;
  std::unique_ptr<MetricsFileTailer> tailer;
  TailBuffer stderr_tail;
  int64_t start_ms = 0;
  int64_t last_renewal_ms = 0;
  int64_t retry_at_ms = 0;

  std::mutex mu;
  std::deque<core::MetricPoint> pending;  // guarded by mu
  int64_t points_total = 0;               // guarded by mu
  int64_t points_dropped = 0;             // guarded by mu
};

class Agent {
 public:
  Agent(const WorkerOptions& options, const WorkerDeps& deps, std::atomic<bool>* stop)
      : options_(options),
        client_(deps.client),
        launcher_(deps.launcher),
        clock_(deps.clock ? deps.clock : core::SystemClock::Default()),
        stop_(stop),
        reach_(clock_, options.unreachable_timeout_ms),
        node_id_(options.node_id),
        controller_name_(options.server.empty() ? std::string("the controller")
                                                : "the controller at " + options.server),
        environments_(EnvironmentCacheDir(options), deps.launcher, CurrentEnvironment(),
                      options.poll_interval_ms) {}

  WorkerResult Run() {
    if (client_ == nullptr || launcher_ == nullptr) {
      return {2, "the worker needs a controller client and a process launcher"};
    }
    if (absl::Status status = PrepareWorkDir(); !status.ok()) {
      return {1, std::string(status.message())};
    }
    // Turns SIGTERM during a long poll into an immediate return.
    std::atomic<bool> done{false};
    std::thread watcher([this, &done] {
      while (!done.load()) {
        if (Stopping()) {
          client_->InterruptAcquire();
          return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
    WorkerResult result = Loop();
    done = true;
    watcher.join();
    if (own_work_dir_) {  // a temporary directory nobody else knows of
      std::error_code ec;
      std::filesystem::remove_all(work_dir_, ec);
    }
    return result;
  }

 private:
  bool Stopping() const { return stop_ != nullptr && stop_->load(); }

  // Sleeps in real time; false when the worker is asked to stop meanwhile.
  bool SleepMs(int64_t ms) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (std::chrono::steady_clock::now() < end) {
      if (Stopping()) return false;
      auto left = end - std::chrono::steady_clock::now();
      std::this_thread::sleep_for(
          std::min<std::chrono::steady_clock::duration>(left, std::chrono::milliseconds(20)));
    }
    return !Stopping();
  }

  absl::Status PrepareWorkDir() {
    std::error_code ec;
    if (options_.work_dir.empty()) {
      std::string pattern =
          (std::filesystem::temp_directory_path(ec) / "sweep-worker-XXXXXX").string();
      if (::mkdtemp(pattern.data()) == nullptr) {
        return absl::InternalError(
            absl::StrCat("cannot create a temporary work directory: ", std::strerror(errno)));
      }
      work_dir_ = pattern;
      own_work_dir_ = true;
      return absl::OkStatus();
    }
    std::filesystem::create_directories(options_.work_dir, ec);
    if (ec) {
      return absl::InternalError(
          absl::StrCat("cannot create work directory '", options_.work_dir, "': ", ec.message()));
    }
    work_dir_ = options_.work_dir;
    return absl::OkStatus();
  }

  // The cached snapshot of the lease's code ("" when it has none), logging hit or miss.
  absl::StatusOr<std::string> CodeDir(Running& run) {
    const std::string& digest = run.lease.snapshot_digest;
    if (digest.empty()) return std::string();
    if (!snapshots_) snapshots_ = std::make_unique<SnapshotCache>(work_dir_, client_);
    bool hit = false;
    absl::StatusOr<std::string> dir = snapshots_->Get(digest, &hit, [&] { KeepAlive(run); });
    if (!dir.ok()) {
      return absl::Status(dir.status().code(),
                          absl::StrCat("cannot fetch the code snapshot: ", dir.status().message()));
    }
    Log()->info("attempt {}: snapshot {} cache {}", run.name, digest.substr(0, 12),
                hit ? "hit" : "miss (fetched)");
    return dir;
  }

  std::string UnreachableMessage(const absl::Status& status) const {
    return absl::StrFormat("%s has been unreachable for %d s: %s", controller_name_,
                           (options_.unreachable_timeout_ms + 999) / 1000, status.message());
  }

  std::string TokenRejectedMessage(const absl::Status& status) const {
    return absl::StrCat(controller_name_, " rejected the workspace token (", status.message(),
                        "); check the token given to the worker");
  }

  // Registers (again, keeping the node id once known). Non-OK: the worker must exit;
  // Cancelled when stopping.
  absl::Status Register() {
    NodeRegistration request;
    request.compute = options_.compute;
    char host[256] = {0};
    if (::gethostname(host, sizeof(host) - 1) == 0) request.hostname = host;
    request.pid = ::getpid();
    request.version = kVersion;
    while (true) {
      if (Stopping()) return absl::CancelledError("stopped before registering");
      request.node_id = node_id_;
      absl::StatusOr<Registered> reply = client_->Register(request);
      if (reply.ok()) {
        reach_.Success();
        if (!reply->node_id.empty()) node_id_ = reply->node_id;
        if (node_id_.empty()) return absl::InternalError("the controller assigned no node id");
        heartbeat_ms_ = options_.heartbeat_interval_ms > 0 ? options_.heartbeat_interval_ms
                        : reply->heartbeat_interval_ms > 0 ? reply->heartbeat_interval_ms
                                                           : kDefaultHeartbeatMs;
        Log()->info("registered as node {} of compute '{}' with {}", node_id_, options_.compute,
                    controller_name_);
        return absl::OkStatus();
      }
      const absl::Status& status = reply.status();
      if (status.code() == absl::StatusCode::kUnauthenticated) {
        return absl::UnauthenticatedError(TokenRejectedMessage(status));
      }
      if (Stopping()) return absl::CancelledError("stopped before registering");
      if (!IsTransient(status)) {
        return absl::Status(
            status.code(),
            absl::StrCat(controller_name_, " refused to register this node: ", status.message()));
      }
      if (reach_.FailureExceedsLimit()) return absl::UnavailableError(UnreachableMessage(status));
      if (reach_.first_failure()) {
        Log()->warn("cannot reach {} ({}); retrying", controller_name_,
                    std::string(status.message()));
      }
      if (!SleepMs(reach_.NextBackoffMs())) return absl::CancelledError("stopped");
    }
  }

  // Leaves on purpose: deregisters (best effort, which releases a live lease) and ends.
  WorkerResult Leave(int exit_code, std::string message) {
    if (!node_id_.empty()) {
      if (absl::Status status = client_->Deregister(node_id_); !status.ok()) {
        Log()->warn("could not deregister node {}: {}", node_id_, std::string(status.message()));
      }
    }
    return {exit_code, std::move(message)};
  }

  WorkerResult Loop() {
    if (absl::Status status = Register(); !status.ok()) {
      if (status.code() == absl::StatusCode::kCancelled) return {0, "stopped before registering"};
      return {1, std::string(status.message())};
    }
    int idle_polls = 0;
    while (true) {
      if (Stopping()) return Leave(0, "worker stopped by signal");
      absl::StatusOr<AcquireResult> reply =
          client_->AcquireTrial(node_id_, options_.acquire_wait_ms);
      if (!reply.ok()) {
        const absl::Status& status = reply.status();
        if (Stopping()) return Leave(0, "worker stopped by signal");
        if (status.code() == absl::StatusCode::kUnauthenticated) {
          return {1, TokenRejectedMessage(status)};
        }
        if (status.code() == absl::StatusCode::kNotFound) {
          // The controller no longer knows this node (e.g. it lost its state): register again.
          Log()->warn("{} does not know node {} ({}); registering again", controller_name_,
                      node_id_, std::string(status.message()));
          if (absl::Status reg = Register(); !reg.ok()) {
            if (reg.code() == absl::StatusCode::kCancelled) continue;
            return {1, std::string(reg.message())};
          }
          continue;
        }
        if (!IsTransient(status)) {
          return {1, absl::StrCat("AcquireTrial failed: ", status.ToString())};
        }
        if (reach_.FailureExceedsLimit()) return {1, UnreachableMessage(status)};
        if (reach_.first_failure()) {
          Log()->warn("cannot reach {} ({}); retrying", controller_name_,
                      std::string(status.message()));
        }
        SleepMs(reach_.NextBackoffMs());
        continue;
      }
      reach_.Success();
      if (reply->lease) {
        idle_polls = 0;
        switch (RunAttempt(*reply->lease)) {
          case AttemptEnd::kDone:
            continue;
          case AttemptEnd::kStopRequested:
            return Leave(0, "worker stopped by signal");
          case AttemptEnd::kFatal:
            return {1, fatal_};
        }
      }
      if (reply->shutdown) return Leave(0, "the controller asked this node to shut down");
      ++idle_polls;
      if (options_.max_idle_polls > 0 && idle_polls >= options_.max_idle_polls) {
        return Leave(0, absl::StrCat("no work after ", idle_polls, " polls"));
      }
    }
  }

  void AddPoints(Running* run, std::vector<ParsedMetric> parsed) {
    if (parsed.empty()) return;
    int64_t now = clock_->NowMillis();
    std::lock_guard<std::mutex> lock(run->mu);
    for (ParsedMetric& p : parsed) {
      core::MetricPoint point;
      point.sweep_id = run->lease.ref.sweep_id;
      point.trial_id = run->lease.ref.trial_id;
      point.attempt = run->lease.ref.attempt;
      point.name = std::move(p.name);
      point.value = p.value;
      point.step = p.step;
      point.timestamp_ms = now;
      run->pending.push_back(std::move(point));
      ++run->points_total;
    }
    while (run->pending.size() > kMaxPendingPoints) {
      run->pending.pop_front();
      if (run->points_dropped++ == 0) {
        Log()->warn("attempt {}: more than {} metric points unsent; dropping the oldest", run->name,
                    kMaxPendingPoints);
      }
    }
  }

  void PutBack(Running* run, std::vector<core::MetricPoint> batch) {
    std::lock_guard<std::mutex> lock(run->mu);
    run->pending.insert(run->pending.begin(), std::make_move_iterator(batch.begin()),
                        std::make_move_iterator(batch.end()));
  }

  std::vector<core::MetricPoint> TakePending(Running* run, size_t max) {
    std::lock_guard<std::mutex> lock(run->mu);
    size_t n = std::min(max, run->pending.size());
    std::vector<core::MetricPoint> batch(std::make_move_iterator(run->pending.begin()),
                                         std::make_move_iterator(run->pending.begin() + n));
    run->pending.erase(run->pending.begin(), run->pending.begin() + n);
    return batch;
  }

  // Sends due metric points, or a heartbeat when the lease has not been renewed for an
  // interval, and interprets the answer.
  RenewResult Renew(Running* run, std::string* stop_reason) {
    int64_t now = clock_->NowMillis();
    if (now < run->retry_at_ms) return RenewResult::kContinue;
    std::vector<core::MetricPoint> batch;
    absl::StatusOr<DirectiveReply> reply;
    bool report = false;
    {
      std::lock_guard<std::mutex> lock(run->mu);
      report = !run->pending.empty() &&
               (run->pending.size() >= kFlushPoints ||
                now - run->pending.front().timestamp_ms >= options_.metrics_flush_ms);
    }
    if (report) {
      batch = TakePending(run, kMaxPointsPerRequest);
      reply = client_->ReportMetrics(run->lease.ref, batch);
    } else if (now - run->last_renewal_ms >= heartbeat_ms_) {
      reply = client_->Heartbeat(run->lease.ref);
    } else {
      return RenewResult::kContinue;
    }
    if (reply.ok()) {
      reach_.Success();
      run->last_renewal_ms = now;  // the lease was renewed as of the request
      if (reply->directive == Directive::kStop) {
        *stop_reason = reply->reason.empty() ? "stopped by the controller" : reply->reason;
        return RenewResult::kStop;
      }
      return RenewResult::kContinue;
    }
    const absl::Status& status = reply.status();
    if (IsLeaseGone(status)) {
      Log()->warn("attempt {}: the lease was taken away ({}); abandoning it", run->name,
                  std::string(status.message()));
      return RenewResult::kLeaseGone;
    }
    if (status.code() == absl::StatusCode::kUnauthenticated) {
      fatal_ = TokenRejectedMessage(status);
      return RenewResult::kFatal;
    }
    if (IsTransient(status)) {
      PutBack(run, std::move(batch));
      if (reach_.FailureExceedsLimit()) {
        fatal_ = UnreachableMessage(status);
        return RenewResult::kFatal;
      }
      if (reach_.first_failure()) {
        Log()->warn("attempt {}: cannot reach {} ({}); retrying", run->name, controller_name_,
                    std::string(status.message()));
      }
      run->retry_at_ms = now + reach_.NextBackoffMs();
      return RenewResult::kContinue;
    }
    // The controller refused this batch for good (e.g. invalid points): do not resend it.
    if (!batch.empty()) {
      Log()->warn("attempt {}: the controller refused {} metric points: {}", run->name,
                  batch.size(), std::string(status.message()));
    } else {
      Log()->warn("attempt {}: heartbeat refused: {}", run->name, std::string(status.message()));
    }
    run->retry_at_ms = now + heartbeat_ms_;
    return RenewResult::kContinue;
  }

  // Kills the trial's whole group at once and waits for it.
  static void Kill(Process* process) {
    process->SignalGroup(SIGKILL);
    process->Wait(-1);
  }

  int64_t GraceMs(const LeaseGrant& lease) const {
    return lease.stop_grace_ms > 0 ? lease.stop_grace_ms : options_.default_stop_grace_ms;
  }

  AttemptEnd RunAttempt(const LeaseGrant& lease) {
    Running run(lease);
    run.start_ms = clock_->NowMillis();
    run.last_renewal_ms = run.start_ms;  // the grant itself; KeepAlive counts from here
    absl::StatusOr<std::string> code_dir = CodeDir(run);
    absl::StatusOr<std::string> dir =
        code_dir.ok() ? PrepareAttemptDir(work_dir_, lease, *code_dir) : code_dir.status();
    if (!dir.ok()) {
      return CompleteBeforeStart(&run, Outcome::kFailed, dir.status().message());
    }
    run.dir = *dir;
    std::filesystem::path dir_path(run.dir);
    run.tailer = std::make_unique<MetricsFileTailer>((dir_path / "metrics.jsonl").string());

    PreparedEnvironment prepared;
    if (lease.environment) {
      // Heartbeats go on while the environment builds (or another attempt builds it).
      run.last_renewal_ms = run.start_ms - heartbeat_ms_;
      std::optional<RenewResult> interrupted;
      std::string stop_reason;
      auto keep_going = [&] {
        if (Stopping()) return false;
        RenewResult result = Renew(&run, &stop_reason);
        if (result != RenewResult::kContinue) interrupted = result;
        return result == RenewResult::kContinue;
      };
      absl::StatusOr<PreparedEnvironment> env =
          environments_.Prepare(*lease.environment, keep_going);
      if (!env.ok() && Stopping()) return AttemptEnd::kStopRequested;
      if (!env.ok() && interrupted) {
        switch (*interrupted) {
          case RenewResult::kStop:
            return CompleteBeforeStart(&run, Outcome::kStopped, stop_reason);
          case RenewResult::kLeaseGone:
            return AttemptEnd::kDone;
          default:
            return AttemptEnd::kFatal;
        }
      }
      if (!env.ok()) {
        return CompleteBeforeStart(&run, Outcome::kFailed, env.status().message());
      }
      prepared = *std::move(env);
    }

    LaunchSpec spec;
    spec.argv = ResolveInPrefix(prepared, lease.argv);
    spec.env = BuildTrialEnv(CurrentEnvironment(), lease, run.dir);
    ApplyEnvironment(prepared, spec.env);
    spec.working_dir = run.dir;
    spec.stdout_log = (dir_path / "stdout.log").string();
    spec.stderr_log = (dir_path / "stderr.log").string();
    spec.on_stdout_line = [this, &run](const std::string& line) {
      if (options_.echo_trial_output) Log()->info("[{}] {}", run.name, line);
      AddPoints(&run, ParseMetricLine(line));
    };
    spec.on_stderr_line = [this, &run](const std::string& line) {
      if (options_.echo_trial_output) Log()->info("[{} stderr] {}", run.name, line);
      run.stderr_tail.Add(line);
    };
    absl::StatusOr<std::unique_ptr<Process>> launched = launcher_->Launch(spec);
    if (!launched.ok()) {
      return CompleteBeforeStart(&run, Outcome::kFailed, launched.status().message());
    }
    std::unique_ptr<Process> process = std::move(*launched);
    Log()->info("attempt {} started: pid {}, in {}", run.name, process->pid(), run.dir);
    // The first heartbeat goes out at once: it tells the controller the trial runs.
    run.last_renewal_ms = run.start_ms - heartbeat_ms_;

    std::optional<ExitInfo> exit;
    bool stopped = false;
    std::string stop_reason;
    // SIGTERM to the worker is what a scheduler sends on preemption or cancel: the attempt
    // ends STOPPED without a directive, which the controller records as preempted.
    auto interrupted = [&](const ExitInfo& how) {
      AddPoints(&run, run.tailer->Finish());
      Log()->info("attempt {} stopped: the worker is shutting down", run.name);
      Completion c;
      c.outcome = Outcome::kStopped;
      c.exit_code = how.exit_code;
      c.signal = how.signal;
      c.error =
          "the node's worker was stopped by a signal (preempted, canceled or shutting "
          "down)";
      Complete(&run, std::move(c));
      return AttemptEnd::kStopRequested;
    };
    while (!exit) {
      exit = process->Wait(options_.poll_interval_ms);
      if (exit) break;
      AddPoints(&run, run.tailer->Poll());
      if (Stopping()) return interrupted(StopProcess(process.get(), GraceMs(lease)));
      if (lease.trial_timeout_ms > 0 &&
          clock_->NowMillis() - run.start_ms >= lease.trial_timeout_ms) {
        stop_reason = "trial timeout";
        stopped = true;
        exit = StopProcess(process.get(), GraceMs(lease));
        break;
      }
      switch (Renew(&run, &stop_reason)) {
        case RenewResult::kContinue:
          break;
        case RenewResult::kStop:
          stopped = true;
          exit = StopProcess(process.get(), GraceMs(lease));
          break;
        case RenewResult::kLeaseGone:
          Kill(process.get());
          return AttemptEnd::kDone;
        case RenewResult::kFatal:
          Kill(process.get());
          return AttemptEnd::kFatal;
      }
    }
    // A scheduler signals the whole job: a trial that died with the worker's own stop
    // signal (which may land a moment later) was interrupted, not failed.
    if (!stopped && (exit->exit_code != 0 || exit->signal != 0) &&
        (Stopping() || !SleepMs(options_.poll_interval_ms))) {
      return interrupted(*exit);
    }
    AddPoints(&run, run.tailer->Finish());
    Completion completion;
    completion.exit_code = exit->exit_code;
    completion.signal = exit->signal;
    if (stopped) {
      completion.outcome = Outcome::kStopped;
      completion.error = stop_reason;
    } else if (exit->exit_code == 0 && exit->signal == 0) {
      completion.outcome = Outcome::kSucceeded;
    } else {
      completion.outcome = Outcome::kFailed;
      completion.error = FailureMessage(*exit, run.stderr_tail.Lines());
    }
    if (!UploadArtifacts(run, &completion)) return AttemptEnd::kDone;
    return Complete(&run, std::move(completion));
  }

  // Ends an attempt whose trial process never ran (exit code -1).
  AttemptEnd CompleteBeforeStart(Running* run, Outcome outcome, absl::string_view error) {
    Completion completion;
    completion.outcome = outcome;
    completion.exit_code = -1;
    completion.error = std::string(error);
    return Complete(run, std::move(completion));
  }

  // A heartbeat when the lease is due for renewal during a long transfer, so a big
  // snapshot or outputs/ does not let it expire. Its answer is ignored: a lost lease shows
  // at the next upload or at completion.
  void KeepAlive(Running& run) {
    int64_t now = clock_->NowMillis();
    if (now - run.last_renewal_ms < heartbeat_ms_) return;
    if (client_->Heartbeat(run.lease.ref).ok()) run.last_renewal_ms = now;
  }

  // Uploads outputs/. A failure becomes the attempt's failure (never silent); false when
  // the lease was taken away meanwhile (the attempt is abandoned).
  bool UploadArtifacts(Running& run, Completion* completion) {
    const std::string outputs = (std::filesystem::path(run.dir) / "outputs").string();
    absl::StatusOr<int64_t> uploaded = UploadOutputs(
        client_, run.lease.ref, outputs, run.lease.artifact_max_bytes, [&] { KeepAlive(run); });
    if (uploaded.ok()) {
      if (*uploaded > 0) Log()->info("attempt {}: uploaded {} output files", run.name, *uploaded);
      return true;
    }
    if (IsLeaseGone(uploaded.status())) {
      Log()->warn("attempt {}: the lease was taken away during the upload ({}); result dropped",
                  run.name, std::string(uploaded.status().message()));
      return false;
    }
    std::string why = absl::StrCat("uploading outputs/ failed: ", uploaded.status().message());
    Log()->warn("attempt {}: {}", run.name, why);
    if (completion->outcome == Outcome::kSucceeded) {
      completion->outcome = Outcome::kFailed;
      completion->error = why;
    } else {
      completion->error = completion->error.empty() ? why : completion->error + "; " + why;
    }
    return true;
  }

  AttemptEnd Complete(Running* run, Completion completion) {
    // Unsent points travel with the completion; a large backlog goes ahead in reports.
    std::vector<core::MetricPoint> points = TakePending(run, kMaxPendingPoints);
    while (points.size() > kMaxPointsPerRequest) {
      std::vector<core::MetricPoint> chunk(points.begin(), points.begin() + kMaxPointsPerRequest);
      absl::StatusOr<DirectiveReply> reply = client_->ReportMetrics(run->lease.ref, chunk);
      if (!reply.ok()) break;
      points.erase(points.begin(), points.begin() + kMaxPointsPerRequest);
    }
    completion.points = std::move(points);
    int64_t total;
    {
      std::lock_guard<std::mutex> lock(run->mu);
      total = run->points_total;
    }
    while (true) {
      absl::StatusOr<std::string> state = client_->CompleteTrial(run->lease.ref, completion);
      if (state.ok()) {
        reach_.Success();
        LogEnd(*run, completion, total, *state);
        return AttemptEnd::kDone;
      }
      const absl::Status& status = state.status();
      if (IsLeaseGone(status)) {
        Log()->warn("attempt {}: the lease was taken away before completion ({}); result dropped",
                    run->name, std::string(status.message()));
        return AttemptEnd::kDone;
      }
      if (status.code() == absl::StatusCode::kUnauthenticated) {
        fatal_ = TokenRejectedMessage(status);
        return AttemptEnd::kFatal;
      }
      if (!IsTransient(status)) {
        Log()->error("attempt {}: the controller refused its completion: {}", run->name,
                     std::string(status.message()));
        return AttemptEnd::kDone;
      }
      if (reach_.FailureExceedsLimit()) {
        fatal_ = UnreachableMessage(status);
        return AttemptEnd::kFatal;
      }
      if (reach_.first_failure()) {
        Log()->warn("attempt {}: cannot reach {} to complete it ({}); retrying", run->name,
                    controller_name_, std::string(status.message()));
      }
      if (!SleepMs(reach_.NextBackoffMs())) return AttemptEnd::kStopRequested;
    }
  }

  void LogEnd(const Running& run, const Completion& completion, int64_t points,
              const std::string& trial_state) {
    double seconds = static_cast<double>(clock_->NowMillis() - run.start_ms) / 1000.0;
    const char* outcome = completion.outcome == Outcome::kSucceeded ? "succeeded"
                          : completion.outcome == Outcome::kFailed  ? "failed"
                                                                    : "stopped";
    // One line: the reason's first line, and for failures the last stderr line.
    std::string detail;
    if (!completion.error.empty()) {
      detail = " (" + FirstLine(completion.error);
      size_t last = completion.error.rfind('\n');
      if (last != std::string::npos) detail += " " + completion.error.substr(last + 1);
      detail += ")";
    }
    Log()->info("attempt {} {} after {:.1f} s{}, {} metric points; trial {}", run.name, outcome,
                seconds, detail, points, trial_state.empty() ? "?" : trial_state);
  }

  const WorkerOptions options_;
  ControllerClient* const client_;
  ProcessLauncher* const launcher_;
  core::Clock* const clock_;
  std::atomic<bool>* const stop_;
  Reachability reach_;
  std::string node_id_;
  const std::string controller_name_;
  std::string work_dir_;
  bool own_work_dir_ = false;  // work_dir_ is a temporary directory made by this worker
  int64_t heartbeat_ms_ = kDefaultHeartbeatMs;
  std::string fatal_;
  std::unique_ptr<SnapshotCache> snapshots_;  // created on the first lease with a snapshot
  EnvironmentCache environments_;
};

std::atomic<bool> g_stop_requested{false};

void OnStopSignal(int) { g_stop_requested.store(true); }

}  // namespace

WorkerResult RunWorkerWith(const WorkerOptions& options, const WorkerDeps& deps,
                           std::atomic<bool>* stop) {
  Agent agent(options, deps, stop);
  return agent.Run();
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path) {
  std::ifstream in(path);
  if (!in.is_open()) {
    int err = errno;
    std::string reason = std::strerror(err);
    if (err == EACCES) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot read token file '", path, "': ", reason));
    }
    return absl::NotFoundError(absl::StrCat("cannot read token file '", path, "': ", reason));
  }
  std::stringstream content;
  content << in.rdbuf();
  std::string token = content.str();
  size_t begin = token.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("token file '", path, "' is empty"));
  }
  size_t end = token.find_last_not_of(" \t\r\n");
  return token.substr(begin, end - begin + 1);
}

std::atomic<bool>* InstallStopSignalHandlers() {
  struct sigaction action;
  std::memset(&action, 0, sizeof(action));
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  ::sigaction(SIGTERM, &action, nullptr);
  ::sigaction(SIGINT, &action, nullptr);
  // A worker started over SSH gets SIGHUP when its connection drops: stop cleanly too.
  ::sigaction(SIGHUP, &action, nullptr);
  return &g_stop_requested;
}

}  // namespace sweep::worker

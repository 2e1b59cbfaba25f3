#include "worker/agent.h"

#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "worker/agent_context.h"
#include "worker/attempt_runner.h"
#include "worker/logging.h"

namespace sweep::worker {
namespace {

constexpr char kVersion[] = "sweep-worker/0.1";

std::string EnvironmentCacheDir(const WorkerOptions& options) {
  if (!options.environment_cache_dir.empty()) return options.environment_cache_dir;
  // Path arithmetic only: absolute() and temp_directory_path() read the process's state.
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

// The lease loop: registration, AcquireTrial, one AttemptRunner::Run per lease, leaving.
class Agent {
 public:
  Agent(const WorkerOptions& options, const WorkerDeps& deps, std::atomic<bool>* stop)
      : ctx_(options, deps, stop), runner_(ctx_, EnvironmentCacheDir(options)) {}

  WorkerResult Run() {
    if (ctx_.client == nullptr || ctx_.launcher == nullptr) {
      return {2, "the worker needs a controller client and a process launcher"};
    }
    if (ctx_.options.keep_attempts < 0) {
      return {2,
              absl::StrCat("--keep-attempts must be 0 or more, not ", ctx_.options.keep_attempts)};
    }
    if (absl::Status status = PrepareWorkDir(); !status.ok()) {
      return {1, std::string(status.message())};
    }
    // Turns SIGTERM during a long poll into an immediate return.
    std::atomic<bool> done{false};
    std::thread watcher([this, &done] {
      while (!done.load()) {
        if (ctx_.Stopping()) {
          ctx_.client->InterruptAcquire();
          return;
        }
        ctx_.env->SleepForMillis(20);
      }
    });
    WorkerResult result = Loop();
    done = true;
    watcher.join();
    if (own_work_dir_) {  // a temporary directory nobody else knows of
      ctx_.env->RemoveAll(ctx_.work_dir).IgnoreError();
    }
    return result;
  }

 private:
  absl::Status PrepareWorkDir() {
    if (ctx_.options.work_dir.empty()) {
      std::error_code ec;
      absl::StatusOr<std::string> dir =
          ctx_.env->MakeTempDir(std::filesystem::temp_directory_path(ec).string(), "sweep-worker-");
      if (!dir.ok()) {
        return absl::InternalError(absl::StrCat("cannot create a temporary work directory: ",
                                                std::strerror(core::ErrnoOf(dir.status()))));
      }
      ctx_.work_dir = *dir;
      own_work_dir_ = true;
      return absl::OkStatus();
    }
    if (absl::Status s = ctx_.env->CreateDirs(ctx_.options.work_dir); !s.ok()) {
      return core::ErrnoStatus(s, "cannot create work directory",
                               "'" + ctx_.options.work_dir + "'");
    }
    ctx_.work_dir = ctx_.options.work_dir;
    return absl::OkStatus();
  }

  // Registers (again, keeping the node id once known). Non-OK: the worker must exit;
  // Cancelled when stopping.
  absl::Status Register() {
    NodeRegistration request;
    request.compute = ctx_.options.compute;
    char host[256] = {0};
    if (::gethostname(host, sizeof(host) - 1) == 0) request.hostname = host;
    request.pid = ::getpid();
    request.version = kVersion;
    while (true) {
      if (ctx_.Stopping()) return absl::CancelledError("stopped before registering");
      request.node_id = ctx_.node_id;
      absl::StatusOr<Registered> reply = ctx_.client->Register(request);
      if (reply.ok()) {
        ctx_.reach.Success();
        if (!reply->node_id.empty()) ctx_.node_id = reply->node_id;
        if (ctx_.node_id.empty()) return absl::InternalError("the controller assigned no node id");
        ctx_.heartbeat_ms = ctx_.options.heartbeat_interval_ms > 0
                                ? ctx_.options.heartbeat_interval_ms
                            : reply->heartbeat_interval_ms > 0 ? reply->heartbeat_interval_ms
                                                               : kDefaultHeartbeatMs;
        Log()->info("registered as node {} of compute '{}' with {}", ctx_.node_id,
                    ctx_.options.compute, ctx_.controller_name);
        return absl::OkStatus();
      }
      const absl::Status& status = reply.status();
      if (status.code() == absl::StatusCode::kUnauthenticated) {
        return absl::UnauthenticatedError(ctx_.TokenRejectedMessage(status));
      }
      if (ctx_.Stopping()) return absl::CancelledError("stopped before registering");
      if (!IsTransient(status)) {
        return absl::Status(status.code(),
                            absl::StrCat(ctx_.controller_name,
                                         " refused to register this node: ", status.message()));
      }
      if (ctx_.reach.FailureExceedsLimit())
        return absl::UnavailableError(ctx_.UnreachableMessage(status));
      if (ctx_.reach.first_failure()) {
        Log()->warn("cannot reach {} ({}); retrying", ctx_.controller_name,
                    std::string(status.message()));
      }
      if (!ctx_.SleepMs(ctx_.reach.NextBackoffMs())) return absl::CancelledError("stopped");
    }
  }

  // Leaves on purpose: deregisters (best effort, which releases a live lease) and ends.
  WorkerResult Leave(int exit_code, std::string message) {
    if (!ctx_.node_id.empty()) {
      if (absl::Status status = ctx_.client->Deregister(ctx_.node_id); !status.ok()) {
        Log()->warn("could not deregister node {}: {}", ctx_.node_id,
                    std::string(status.message()));
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
      if (ctx_.Stopping()) return Leave(0, "worker stopped by signal");
      absl::StatusOr<AcquireResult> reply = NextLease();
      if (!reply.ok()) {
        const absl::Status& status = reply.status();
        if (ctx_.Stopping()) return Leave(0, "worker stopped by signal");
        if (status.code() == absl::StatusCode::kUnauthenticated) {
          return {1, ctx_.TokenRejectedMessage(status)};
        }
        if (status.code() == absl::StatusCode::kNotFound) {
          // The controller no longer knows this node (e.g. it lost its state): register again.
          Log()->warn("{} does not know node {} ({}); registering again", ctx_.controller_name,
                      ctx_.node_id, std::string(status.message()));
          if (absl::Status reg = Register(); !reg.ok()) {
            if (reg.code() == absl::StatusCode::kCancelled) continue;
            return {1, std::string(reg.message())};
          }
          continue;
        }
        if (!IsTransient(status)) {
          return {1, absl::StrCat("AcquireTrial failed: ", status.ToString())};
        }
        if (ctx_.reach.FailureExceedsLimit()) return {1, ctx_.UnreachableMessage(status)};
        if (ctx_.reach.first_failure()) {
          Log()->warn("cannot reach {} ({}); retrying", ctx_.controller_name,
                      std::string(status.message()));
        }
        ctx_.SleepMs(ctx_.reach.NextBackoffMs());
        continue;
      }
      ctx_.reach.Success();
      if (reply->lease) {
        idle_polls = 0;
        switch (runner_.Run(*reply->lease)) {
          case AttemptEnd::kDone:
            continue;
          case AttemptEnd::kStopRequested:
            return Leave(0, "worker stopped by signal");
          case AttemptEnd::kFatal:
            return {1, ctx_.fatal};
        }
      }
      if (reply->shutdown) return Leave(0, "the controller asked this node to shut down");
      ++idle_polls;
      if (ctx_.options.max_idle_polls > 0 && idle_polls >= ctx_.options.max_idle_polls) {
        return Leave(0, absl::StrCat("no work after ", idle_polls, " polls"));
      }
    }
  }

  // The lease that came with the last completion, when it brought one (or shutdown), else
  // the answer of a long poll.
  absl::StatusOr<AcquireResult> NextLease() {
    std::optional<AcquireResult> next = std::move(ctx_.next_acquire);
    ctx_.next_acquire.reset();
    if (next && (next->lease || next->shutdown)) return *std::move(next);
    return ctx_.client->AcquireTrial(ctx_.node_id, ctx_.options.acquire_wait_ms);
  }

  AgentContext ctx_;
  bool own_work_dir_ = false;  // ctx_.work_dir is a temporary directory made by this worker
  AttemptRunner runner_;
};

std::atomic<bool> g_stop_requested{false};

void OnStopSignal(int) { g_stop_requested.store(true); }

}  // namespace

WorkerResult RunWorkerWith(const WorkerOptions& options, const WorkerDeps& deps,
                           std::atomic<bool>* stop) {
  Agent agent(options, deps, stop);
  return agent.Run();
}

absl::StatusOr<std::string> ReadTokenFile(const std::string& path, core::Env* env) {
  absl::StatusOr<std::string> content = env->ReadFile(path);
  if (!content.ok()) {
    absl::Status s =
        core::ErrnoStatus(content.status(), "cannot read token file", "'" + path + "'");
    return absl::IsPermissionDenied(s) ? s : absl::NotFoundError(s.message());
  }
  const std::string& token = *content;
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

#include "worker/environment.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/digest.h"
#include "core/status.h"
#include "worker/attempt.h"
#include "worker/logging.h"

namespace sweep::worker {
namespace {

std::string Describe(const core::Environment& e) {
  return absl::StrCat("environment '", e.name, "' version ", e.version);
}

}  // namespace

EnvironmentCache::EnvironmentCache(std::string cache_dir, ProcessLauncher* launcher,
                                   std::vector<std::string> base_env, int64_t poll_interval_ms,
                                   core::Env* env)
    : cache_dir_(std::move(cache_dir)),
      launcher_(launcher),
      base_env_(std::move(base_env)),
      poll_interval_ms_(poll_interval_ms > 0 ? poll_interval_ms : 100),
      env_(env) {}

absl::StatusOr<PreparedEnvironment> EnvironmentCache::Prepare(const core::Environment& environment,
                                                              const KeepGoing& keep_going) {
  if (environment.kind == "user_managed") return PrepareUserManaged(environment);
  if (environment.kind == "system_managed") return PrepareSystemManaged(environment, keep_going);
  return absl::FailedPreconditionError(
      absl::StrCat(Describe(environment), " has kind '", environment.kind,
                   "', which this worker does not know; upgrade the worker"));
}

absl::StatusOr<PreparedEnvironment> EnvironmentCache::PrepareUserManaged(
    const core::Environment& environment) {
  PreparedEnvironment prepared;
  if (environment.python.empty()) return prepared;
  const std::string& python = environment.python;
  if (::access(python.c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(Describe(environment), ": python '", python,
                                                      "' is not executable on this node (",
                                                      std::strerror(errno), ")"));
  }
  // A directory of `python`/`python3` links, named by the interpreter's path, built in a
  // temporary directory and renamed into place so concurrent workers never see half.
  const std::string dir =
      absl::StrCat(cache_dir_, "/python-", core::Sha256Hex(python).substr(0, 16));
  if (!env_->Exists(dir + "/python3")) {
    env_->CreateDirs(cache_dir_).IgnoreError();
    std::string tmp = absl::StrCat(dir, ".tmp-", ::getpid(), "-",
                                   std::hash<std::thread::id>()(std::this_thread::get_id()));
    env_->RemoveAll(tmp).IgnoreError();
    RETURN_IF_ERROR(env_->CreateDirs(tmp));
    for (const char* name : {"python", "python3"}) {
      RETURN_IF_ERROR(env_->CreateSymlink(python, absl::StrCat(tmp, "/", name)));
    }
    if (!env_->Rename(tmp, dir).ok()) env_->RemoveAll(tmp).IgnoreError();  // made by another
  }
  prepared.path_prefix.push_back(dir);
  prepared.env["SWEEP_PYTHON"] = python;
  return prepared;
}

absl::StatusOr<PreparedEnvironment> EnvironmentCache::PrepareSystemManaged(
    const core::Environment& environment, const KeepGoing& keep_going) {
  if (!core::IsSha256Hex(environment.digest)) {
    return absl::FailedPreconditionError(
        absl::StrCat(Describe(environment), " has no valid digest ('", environment.digest, "')"));
  }
  const std::string dir = absl::StrCat(cache_dir_, "/", environment.digest);
  PreparedEnvironment prepared;
  prepared.path_prefix.push_back(dir + "/env/bin");
  prepared.env["SWEEP_ENV_DIR"] = dir + "/env";
  auto outcome = [&]() -> std::optional<absl::Status> {
    if (env_->Exists(dir + "/ready")) return absl::OkStatus();
    if (env_->Exists(dir + "/failed")) {
      absl::StatusOr<std::string> message = env_->ReadFile(dir + "/failed");
      return absl::FailedPreconditionError(message.ok() ? *message
                                                        : std::string(message.status().message()));
    }
    return std::nullopt;
  };
  if (std::optional<absl::Status> done = outcome()) {
    if (!done->ok()) return *done;
    return prepared;
  }

  if (absl::Status s = env_->CreateDirs(cache_dir_); !s.ok()) {
    return core::ErrnoStatus(s, "cannot create environment cache", cache_dir_);
  }
  ASSIGN_OR_RETURN(std::unique_ptr<core::FileLock> lock, env_->OpenLockFile(dir + ".lock"));
  while (!lock->TryLock()) {
    // Another attempt (here or in another worker) is building it.
    if (keep_going && !keep_going()) {
      return absl::CancelledError(
          absl::StrCat("gave up waiting for the build of ", Describe(environment)));
    }
    env_->SleepForMillis(poll_interval_ms_);
  }
  if (std::optional<absl::Status> done = outcome()) {
    if (!done->ok()) return *done;
    return prepared;
  }
  RETURN_IF_ERROR(Build(environment, dir, keep_going));
  return prepared;
}

absl::Status EnvironmentCache::Build(const core::Environment& environment, const std::string& dir,
                                     const KeepGoing& keep_going) {
  // A leftover of a build that was abandoned or killed: start clean.
  env_->RemoveAll(dir).IgnoreError();
  const std::string files_dir = dir + "/files";
  const std::string env_dir = dir + "/env";
  RETURN_IF_ERROR(env_->CreateDirs(files_dir));
  RETURN_IF_ERROR(env_->CreateDirs(env_dir + "/bin"));
  for (const core::EnvironmentFile& f : environment.files) {
    if (f.name.empty() || f.name.find('/') != std::string::npos || f.name == "." ||
        f.name == "..") {
      return absl::FailedPreconditionError(
          absl::StrCat(Describe(environment), ": file name '", f.name, "' is not a plain name"));
    }
    RETURN_IF_ERROR(
        env_->WriteFileAtomically(files_dir + "/" + f.name, f.content, {.sync_dir = false}));
  }

  const std::string log_path = dir + "/setup.log";
  // The log is a convenience: a build goes on when it cannot be written.
  absl::StatusOr<std::unique_ptr<core::WritableFile>> log = env_->NewWritableFile(log_path);
  std::mutex log_mu;
  TailBuffer tail(20);
  auto on_line = [&](const std::string& line) {
    std::lock_guard<std::mutex> lock(log_mu);
    if (log.ok()) (*log)->Append(line + "\n").IgnoreError();
    tail.Add(line);
  };
  LaunchSpec spec;
  spec.argv = {"/bin/sh", "-c", environment.setup_command};
  for (const std::string& entry : base_env_) {
    size_t eq = entry.find('=');
    if (eq != std::string::npos && eq > 0) spec.env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  spec.env["SWEEP_ENV_DIR"] = env_dir;
  spec.working_dir = files_dir;
  spec.on_stdout_line = on_line;
  spec.on_stderr_line = on_line;
  Log()->info("building {} (digest {}) in {}", Describe(environment),
              environment.digest.substr(0, 12), dir);
  absl::StatusOr<std::unique_ptr<Process>> process = launcher_->Launch(spec);
  std::string failure;
  if (!process.ok()) {
    failure = absl::StrCat(Describe(environment),
                           ": cannot run the setup command: ", process.status().message());
  } else {
    std::optional<ExitInfo> exit;
    while (!(exit = (*process)->Wait(poll_interval_ms_))) {
      if (keep_going && !keep_going()) {
        StopProcess(process->get(), 0);
        env_->RemoveAll(dir).IgnoreError();
        return absl::CancelledError(absl::StrCat("abandoned the build of ", Describe(environment)));
      }
    }
    if (exit->exit_code == 0 && exit->signal == 0) {
      if (log.ok()) (*log)->Close().IgnoreError();
      RETURN_IF_ERROR(env_->WriteFileAtomically(dir + "/ready", environment.digest + "\n",
                                                {.sync_dir = false}));
      Log()->info("built {}", Describe(environment));
      return absl::OkStatus();
    }
    failure =
        absl::StrCat(Describe(environment), ": setup command failed (", DescribeExit(*exit), ")");
    std::vector<std::string> lines = tail.Lines();
    if (!lines.empty()) {
      absl::StrAppend(&failure, "; last lines of ", log_path, ":\n", absl::StrJoin(lines, "\n"));
    }
  }
  // Remembered, so the next attempt fails at once instead of building again.
  RETURN_IF_ERROR(env_->WriteFileAtomically(dir + "/failed", failure, {.sync_dir = false}));
  Log()->warn("{}", failure);
  return absl::FailedPreconditionError(failure);
}

void ApplyEnvironment(const PreparedEnvironment& prepared,
                      std::map<std::string, std::string>& env) {
  for (const auto& [key, value] : prepared.env) env[key] = value;
  if (prepared.path_prefix.empty()) return;
  std::string path = absl::StrJoin(prepared.path_prefix, ":");
  auto it = env.find("PATH");
  if (it != env.end() && !it->second.empty()) absl::StrAppend(&path, ":", it->second);
  env["PATH"] = path;
}

std::vector<std::string> ResolveInPrefix(const PreparedEnvironment& prepared,
                                         std::vector<std::string> argv) {
  if (argv.empty() || argv[0].empty() || argv[0].find('/') != std::string::npos) return argv;
  for (const std::string& dir : prepared.path_prefix) {
    const std::string candidate = dir + "/" + argv[0];
    if (::access(candidate.c_str(), X_OK) == 0) {
      argv[0] = candidate;
      break;
    }
  }
  return argv;
}

}  // namespace sweep::worker

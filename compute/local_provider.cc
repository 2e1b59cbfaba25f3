#include "compute/local_provider.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

extern char** environ;

namespace sweep::compute {

LocalNodeProvider::LocalNodeProvider(LocalNodeProviderOptions options)
    : options_(std::move(options)) {}

LocalNodeProvider::~LocalNodeProvider() { StopAll(); }

absl::StatusOr<std::string> LocalNodeProvider::StartNode(const core::ComputeTarget& target) {
  if (options_.binary.empty() || options_.server_address.empty() || options_.token_file.empty()) {
    return absl::FailedPreconditionError(
        "local node provider: binary, server address and token file must be set");
  }
  std::unique_lock<std::mutex> lock(mu_);
  // Join reapers of children that already exited, so threads do not pile up.
  for (auto it = children_.begin(); it != children_.end();) {
    if (it->second->exited) {
      if (it->second->reaper.joinable()) it->second->reaper.join();
      it = children_.erase(it);
    } else {
      ++it;
    }
  }
  std::string name = absl::StrCat("node-", next_node_++);
  std::string log_dir = options_.log_dir.empty() ? std::string(".") : options_.log_dir;
  std::error_code ec;
  std::filesystem::create_directories(log_dir, ec);
  std::string log_path = absl::StrCat(log_dir, "/", name, ".log");

  std::vector<std::string> args = {options_.binary,         "worker",           "--server",
                                   options_.server_address, "--compute",        target.name,
                                   "--token-file",          options_.token_file};
  if (!options_.work_dir.empty()) {
    args.push_back("--work-dir");
    args.push_back(absl::StrCat(options_.work_dir, "/", name));
  }
  for (const std::string& a : options_.extra_args) args.push_back(a);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Own process group, clean signal state: the parent may block or ignore signals.
  sigset_t empty, defaults;
  sigemptyset(&empty);
  sigemptyset(&defaults);
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD, SIGQUIT}) sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, options_.binary.c_str(), &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return absl::InternalError(
        absl::StrCat("cannot start worker ", options_.binary, ": ", std::strerror(rc)));
  }
  auto child = std::make_unique<Child>();
  child->pid = pid;
  child->compute = target.name;
  Child* raw = child.get();
  children_[name] = std::move(child);
  raw->reaper = std::thread([this, raw, name] {
    // Wait without reaping, then reap under the lock: kill() (also under the lock) can
    // then never hit a recycled pid.
    siginfo_t info;
    while (::waitid(P_PID, static_cast<id_t>(raw->pid), &info, WEXITED | WNOWAIT) < 0 &&
           errno == EINTR) {
    }
    std::lock_guard<std::mutex> l(mu_);
    int status = 0;
    while (::waitpid(raw->pid, &status, 0) < 0 && errno == EINTR) {
    }
    raw->exited = true;
    raw->wait_status = status;
    exited_cv_.notify_all();
    if (WIFEXITED(status)) {
      spdlog::debug("local worker {} (pid {}) exited with code {}", name, raw->pid,
                    WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
      spdlog::debug("local worker {} (pid {}) killed by signal {}", name, raw->pid,
                    WTERMSIG(status));
    }
  });
  spdlog::debug("started local worker {} (pid {}) for {}, log {}", name, pid, target.name,
                log_path);
  return name;
}

int64_t LocalNodeProvider::LiveNodes(const std::string& compute) {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t n = 0;
  for (const auto& [name, c] : children_) {
    if (!c->exited && c->compute == compute) ++n;
  }
  return n;
}

std::vector<pid_t> LocalNodeProvider::LivePids() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<pid_t> pids;
  for (const auto& [name, c] : children_) {
    if (!c->exited) pids.push_back(c->pid);
  }
  return pids;
}

void LocalNodeProvider::StopAll() {
  std::unique_lock<std::mutex> lock(mu_);
  auto all_exited = [this] {
    for (const auto& [name, c] : children_) {
      if (!c->exited) return false;
    }
    return true;
  };
  for (const auto& [name, c] : children_) {
    if (!c->exited) ::kill(c->pid, SIGTERM);
  }
  if (!exited_cv_.wait_for(lock, std::chrono::milliseconds(options_.stop_grace_ms), all_exited)) {
    for (const auto& [name, c] : children_) {
      if (c->exited) continue;
      spdlog::warn("local worker {} (pid {}) ignored SIGTERM for {} ms; killing it", name, c->pid,
                   options_.stop_grace_ms);
      ::kill(c->pid, SIGKILL);
    }
    exited_cv_.wait(lock, all_exited);
  }
  std::map<std::string, std::unique_ptr<Child>> done;
  done.swap(children_);
  lock.unlock();
  for (auto& [name, c] : done) {
    if (c->reaper.joinable()) c->reaper.join();
  }
}

}  // namespace sweep::compute

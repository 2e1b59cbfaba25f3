#include "compute/local_provider.h"

#include <signal.h>

#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

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
  options_.env->CreateDirs(log_dir).IgnoreError();  // spawning then names the problem
  std::string log_path = absl::StrCat(log_dir, "/", name, ".log");

  core::SpawnOptions spawn;
  spawn.argv = {options_.binary, "worker",    "--server",     options_.server_address,
                "--compute",     target.name, "--token-file", options_.token_file};
  if (!options_.work_dir.empty()) {
    spawn.argv.push_back("--work-dir");
    spawn.argv.push_back(absl::StrCat(options_.work_dir, "/", name));
  }
  for (const std::string& a : options_.extra_args) spawn.argv.push_back(a);
  spawn.stdin_to = core::Stdio::DevNull();
  spawn.stdout_to = core::Stdio::File(log_path, /*append=*/true);
  spawn.stderr_to = core::Stdio::SameAsStdout();
  // Own process group, clean signal state: the parent may block or ignore signals.
  spawn.new_process_group = true;
  // A local worker dies with its controller, even a SIGKILLed one, and its trial with it
  // (worker/process.h). Start runs on the controller's ticker thread, which lives until
  // Shutdown, and Shutdown stops the nodes anyway.
  spawn.parent_death_signal = SIGKILL;
  absl::StatusOr<std::unique_ptr<core::Subprocess>> process = options_.env->Spawn(spawn);
  if (!process.ok()) {
    return absl::InternalError(absl::StrCat("cannot start worker ", options_.binary, ": ",
                                            std::strerror(core::ErrnoOf(process.status()))));
  }
  const int64_t pid = (*process)->pid();
  auto child = std::make_unique<Child>();
  child->process = *std::move(process);
  child->compute = target.name;
  Child* raw = child.get();
  children_[name] = std::move(child);
  raw->reaper = std::thread([this, raw, name] {
    // Wait without reaping, then reap under the lock: Signal (also under the lock) can then
    // never hit a recycled pid.
    raw->process->WaitForExit();
    std::lock_guard<std::mutex> l(mu_);
    absl::StatusOr<core::ExitStatus> exit = raw->process->Reap();
    raw->exited = true;
    exited_cv_.notify_all();
    if (!exit.ok()) {
      spdlog::debug("local worker {}: {}", name, std::string(exit.status().message()));
    } else if (exit->signal == 0) {
      spdlog::debug("local worker {} (pid {}) exited with code {}", name, raw->process->pid(),
                    exit->exit_code);
    } else {
      spdlog::debug("local worker {} (pid {}) killed by signal {}", name, raw->process->pid(),
                    exit->signal);
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
    if (!c->exited) pids.push_back(static_cast<pid_t>(c->process->pid()));
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
    if (!c->exited) c->process->Signal(SIGTERM);
  }
  if (!exited_cv_.wait_for(lock, std::chrono::milliseconds(options_.stop_grace_ms), all_exited)) {
    for (const auto& [name, c] : children_) {
      if (c->exited) continue;
      spdlog::warn("local worker {} (pid {}) ignored SIGTERM for {} ms; killing it", name,
                   c->process->pid(), options_.stop_grace_ms);
      c->process->Signal(SIGKILL);
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

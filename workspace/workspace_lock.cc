#include "workspace/workspace_lock.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <thread>

#include "absl/strings/str_cat.h"
#include "core/files.h"
#include "core/status.h"
#include "nlohmann/json.hpp"
#include "workspace/workspace.h"

namespace sweep::workspace {
namespace {

// A new holder writes its record right after taking the lock: a record that is missing or
// names a dead process is re-read this often, this many times, before it counts as unknown.
constexpr int kHolderReads = 20;
constexpr auto kHolderReadPause = std::chrono::milliseconds(5);
constexpr auto kRetryPause = std::chrono::milliseconds(50);

bool Alive(int64_t pid) {
  return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}

std::optional<LockHolder> ParseHolder(const std::string& path) {
  absl::StatusOr<std::string> text = core::ReadFileToString(path);
  if (!text.ok() || text->empty()) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  LockHolder holder;
  try {
    holder.pid = j.value("pid", int64_t{0});
    holder.role = j.value("role", "");
    holder.address = j.value("address", "");
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (!Alive(holder.pid)) return std::nullopt;
  return holder;
}

// The holder of a lock someone else holds; pid 0 when it does not say.
LockHolder ReadHolder(const std::string& path) {
  for (int i = 0; i < kHolderReads; ++i) {
    if (std::optional<LockHolder> holder = ParseHolder(path)) return *holder;
    std::this_thread::sleep_for(kHolderReadPause);
  }
  return LockHolder{};
}

// Replaces the file's content in place (same inode: the lock stays the lock).
absl::Status Rewrite(const std::string& path, const std::string& content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::InternalError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  bool ok = content.empty() ||
            ::pwrite(fd, content.data(), content.size(), 0) == static_cast<ssize_t>(content.size());
  ok = ::ftruncate(fd, static_cast<off_t>(content.size())) == 0 && ok;
  const int err = errno;
  ::close(fd);
  if (!ok)
    return absl::InternalError(absl::StrCat("cannot write ", path, ": ", std::strerror(err)));
  return absl::OkStatus();
}

}  // namespace

std::string LockHolder::Describe() const {
  if (pid <= 0) return "another process";
  if (is_controller()) {
    return address.empty() ? absl::StrCat("pid ", pid, ", still starting")
                           : absl::StrCat("pid ", pid, " at ", address);
  }
  return role.empty() ? absl::StrCat("pid ", pid) : absl::StrCat("pid ", pid, " (", role, ")");
}

std::string LockPath(const std::string& workspace_dir) {
  return workspace_dir + "/controller.lock";
}

absl::StatusOr<LockAttempt> WorkspaceLock::TryAcquire(const std::string& dir,
                                                      const LockHolder& me) {
  core::Env* env = core::Env::Default();
  RETURN_IF_ERROR(CreateWorkspaceDir(env, dir));
  const std::string path = LockPath(dir);
  ASSIGN_OR_RETURN(std::unique_ptr<core::FileLock> file, env->OpenLockFile(path));
  LockAttempt attempt;
  if (!file->TryLock()) {
    attempt.holder = ReadHolder(path);
    return attempt;
  }
  std::unique_ptr<WorkspaceLock> lock(new WorkspaceLock(std::move(file), path, me));
  RETURN_IF_ERROR(lock->Update(me));
  attempt.lock = std::move(lock);
  return attempt;
}

absl::StatusOr<LockAttempt> WorkspaceLock::Acquire(const std::string& dir, const LockHolder& me,
                                                   int64_t wait_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  while (true) {
    ASSIGN_OR_RETURN(LockAttempt attempt, TryAcquire(dir, me));
    if (attempt.lock || attempt.holder.is_controller()) return attempt;
    if (std::chrono::steady_clock::now() >= deadline) {
      return absl::FailedPreconditionError(absl::StrCat("workspace ", dir, " is locked by ",
                                                        attempt.holder.Describe(),
                                                        " for more than ", wait_ms / 1000,
                                                        " s (it is changing the workspace); "
                                                        "try again when it is done"));
    }
    std::this_thread::sleep_for(kRetryPause);
  }
}

std::optional<LockHolder> WorkspaceLock::Peek(const std::string& dir) {
  const std::string path = LockPath(dir);
  core::Env* env = core::Env::Default();
  if (!env->Stat(path).ok()) return std::nullopt;
  absl::StatusOr<std::unique_ptr<core::FileLock>> file = env->OpenLockFile(path);
  if (!file.ok() || (*file)->TryLock()) return std::nullopt;  // free: released as `file` closes
  return ReadHolder(path);
}

WorkspaceLock::~WorkspaceLock() { Rewrite(path_, "").IgnoreError(); }

absl::Status WorkspaceLock::Update(const LockHolder& me) {
  nlohmann::json j = {{"pid", me.pid}, {"role", me.role}, {"address", me.address}};
  RETURN_IF_ERROR(Rewrite(path_, j.dump() + "\n"));
  me_ = me;
  return absl::OkStatus();
}

}  // namespace sweep::workspace

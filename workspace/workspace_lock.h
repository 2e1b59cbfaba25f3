// The workspace lock: one process at a time writes a workspace's sweep.db.
//
// <ws>/controller.lock is flock(2)ed exclusively by the writer: the controller serving the
// workspace (`sweep run`, `sweep server`) for its whole life, taken before it opens the
// store, or a CLI command for the length of one change when no controller serves it
// (workspace/admin.h). The kernel drops the lock when its holder exits, however it exits,
// so a crash never leaves a stale lock behind.
//
// The holder writes who it is into the file (one JSON object: pid, role and, for a
// controller, the address it serves at once it listens), so a process that is refused can
// name it. The file is rewritten in place, never removed nor replaced by a rename: a new
// inode would be a second, independent lock.
//
// Thread safety: a WorkspaceLock is used by one thread at a time. Two WorkspaceLocks of one
// workspace exclude each other also inside one process (flock locks open files).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/env.h"

namespace sweep::workspace {

inline constexpr char kControllerRole[] = "controller";

// Who holds the lock, as the holder wrote it.
struct LockHolder {
  int64_t pid = 0;  // 0: not known (the holder has not written it yet)
  // kControllerRole, or the command making a change ("sweep compute create").
  std::string role = {};
  std::string address = {};  // a controller's dial address once it listens; "" while it starts

  bool is_controller() const { return role == kControllerRole; }
  // "pid 12 at 127.0.0.1:7070", "pid 12, still starting", "pid 12 (sweep compute create)".
  std::string Describe() const;
};

// <dir>/controller.lock
std::string LockPath(const std::string& workspace_dir);

class WorkspaceLock;

// What an attempt to take the lock found: the lock, or who holds it.
struct LockAttempt {
  std::unique_ptr<WorkspaceLock> lock;  // set when taken
  LockHolder holder;                    // otherwise: the current holder
};

class WorkspaceLock {
 public:
  // Creates the workspace directory if missing and takes the lock without waiting,
  // recording `me` in it. When another process holds it, returns that holder instead.
  // Internal when the directory or the lock file cannot be made.
  static absl::StatusOr<LockAttempt> TryAcquire(const std::string& dir, const LockHolder& me);

  // TryAcquire, waiting while a command or an unknown process holds the lock (a change
  // takes moments), at most `wait_ms`. Returns at once with the holder when a controller
  // holds it. FailedPrecondition naming the holder when it still holds it after wait_ms.
  static absl::StatusOr<LockAttempt> Acquire(const std::string& dir, const LockHolder& me,
                                             int64_t wait_ms);

  // Who holds the lock of the workspace at `dir` right now; nullopt when it is free or
  // there is no workspace (creates nothing). The holder may not have written its name yet
  // (pid 0).
  static std::optional<LockHolder> Peek(const std::string& dir);

  ~WorkspaceLock();  // empties the holder record, then releases the lock

  // Rewrites the holder record (e.g. with the address once the controller listens).
  absl::Status Update(const LockHolder& me);
  const LockHolder& holder() const { return me_; }

 private:
  WorkspaceLock(std::unique_ptr<core::FileLock> lock, std::string path, LockHolder me)
      : lock_(std::move(lock)), path_(std::move(path)), me_(std::move(me)) {}
  std::unique_ptr<core::FileLock> lock_;
  std::string path_;
  LockHolder me_;
};

}  // namespace sweep::workspace

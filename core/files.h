// Small file helpers shared by the controller, the worker and the CLI.
// Thread safety: the functions are thread-safe (distinct paths).
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sweep::core {

// Writes `content` to `path` through a temporary file, fsync and rename, so readers
// never see a partial file and a crash leaves the old or the new content. `mode`
// applies from creation on. Internal (naming the path and errno text) on failure.
absl::Status WriteFileAtomically(const std::string& path, const std::string& content,
                                 mode_t mode = 0644);

// The whole file. NotFound / PermissionDenied / Internal naming the path.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

// fsyncs a directory so a rename or file creation inside it is durable.
absl::Status SyncDirectory(const std::string& dir);

// An exclusive flock(2) on a lock file, between processes and between threads that open
// the file separately. Released when the object is destroyed (or the process dies).
class FileLock {
 public:
  // Opens (creating) the lock file without locking it. Internal naming the path.
  static absl::StatusOr<FileLock> Open(const std::string& path);
  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&&) = delete;
  ~FileLock();

  // Blocks until the lock is held. Internal naming the path.
  absl::Status Lock();
  // Takes the lock if it is free; false when another holder has it.
  bool TryLock();

 private:
  FileLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
};

}  // namespace sweep::core

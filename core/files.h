// Shorthands for the file operations most callers need, on Env::Default(). Components that
// should be testable with injected faults take a core::Env* and call it instead.
#pragma once

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/env.h"

namespace sweep::core {

// Env::WriteFileAtomically without the directory fsync (call SyncDirectory for it).
inline absl::Status WriteFileAtomically(const std::string& path, const std::string& content,
                                        mode_t mode = 0644) {
  return Env::Default()->WriteFileAtomically(path, content, {.mode = mode, .sync_dir = false});
}

// The whole file. NotFound / PermissionDenied / Internal naming the path.
inline absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  return Env::Default()->ReadFile(path);
}

// fsyncs a directory so a rename or file creation inside it is durable.
inline absl::Status SyncDirectory(const std::string& dir) { return Env::Default()->SyncDir(dir); }

}  // namespace sweep::core

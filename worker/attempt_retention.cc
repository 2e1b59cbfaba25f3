#include "worker/attempt_retention.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "worker/attempt.h"

namespace sweep::worker {
namespace {

bool IsAttemptLog(const std::string& name) {
  return name == kStdoutLogName || name == kStderrLogName;
}

// Empties a regular file in place; false (the caller removes it) for anything else.
bool Truncate(const std::string& path, core::Env* env) {
  absl::StatusOr<core::FileInfo> info = env->Stat(path, /*follow_symlinks=*/false);
  if (!info.ok() || !info->is_regular()) return false;
  absl::StatusOr<std::unique_ptr<core::WritableFile>> file = env->NewWritableFile(path);
  return file.ok() && (*file)->Close().ok();
}

}  // namespace

AttemptRetention::AttemptRetention(std::string attempts_dir, int keep, core::Env* env)
    : attempts_dir_(std::move(attempts_dir)), keep_(keep < 0 ? 0 : keep), env_(env) {}

absl::Status AttemptRetention::Load() {
  if (!env_->IsDirectory(attempts_dir_)) return absl::OkStatus();
  absl::StatusOr<std::vector<std::string>> names = env_->ListDir(attempts_dir_);
  if (!names.ok()) {
    return core::ErrnoStatus(names.status(), "cannot list", absl::StrCat("'", attempts_dir_, "'"));
  }
  std::vector<std::pair<int64_t, std::string>> found;
  for (const std::string& name : *names) {
    if (name.empty() || name[0] == '.') continue;
    const std::string path = absl::StrCat(attempts_dir_, "/", name);
    absl::StatusOr<core::FileInfo> info = env_->Stat(path, /*follow_symlinks=*/false);
    if (info.ok() && info->is_directory()) found.emplace_back(info->mtime_ms, path);
  }
  std::sort(found.begin(), found.end());
  dirs_.clear();
  for (auto& [mtime, path] : found) dirs_.push_back(std::move(path));
  // What an earlier worker left beyond the bound goes now, not one per attempt later.
  return Trim();
}

absl::Status AttemptRetention::Finished(const std::string& dir) {
  dirs_.erase(std::remove(dirs_.begin(), dirs_.end(), dir), dirs_.end());
  dirs_.push_back(dir);
  return Trim();
}

absl::Status AttemptRetention::Trim() {
  absl::Status first_error;
  while (dirs_.size() > static_cast<size_t>(keep_)) {
    std::string oldest = std::move(dirs_.front());
    dirs_.pop_front();
    if (absl::Status s = Evict(oldest); !s.ok() && first_error.ok()) first_error = s;
  }
  return first_error;
}

absl::Status AttemptRetention::Evict(const std::string& dir) {
  const std::string spare = absl::StrCat(attempts_dir_, "/", kSpareAttemptName);
  if (!env_->Exists(spare)) {
    // Empty it and keep the directory itself for the next attempt, and its logs' inodes
    // truncated: the next attempt truncates them again instead of creating two files.
    absl::StatusOr<std::vector<std::string>> names = env_->ListDir(dir);
    bool emptied = names.ok();
    for (const std::string& name : names.ok() ? *names : std::vector<std::string>{}) {
      const std::string path = absl::StrCat(dir, "/", name);
      if (IsAttemptLog(name) && Truncate(path, env_)) continue;
      if (!env_->RemoveAll(path).ok()) emptied = false;
    }
    if (emptied && env_->Rename(dir, spare).ok()) return absl::OkStatus();
  }
  if (absl::Status s = env_->RemoveAll(dir); !s.ok()) {
    return core::ErrnoStatus(s, "cannot remove old attempt directory", absl::StrCat("'", dir, "'"));
  }
  return absl::OkStatus();
}

}  // namespace sweep::worker

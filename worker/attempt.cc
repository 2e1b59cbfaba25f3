#include "worker/attempt.h"

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/file_tree.h"
#include "core/utf8.h"
#include "worker/attempt_retention.h"

extern char** environ;

namespace sweep::worker {
namespace fs = std::filesystem;

namespace {

std::string Sanitize(const std::string& text) {
  std::string out = text;
  for (char& c : out) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) c = '_';
  }
  // "." and ".." would name the attempts directory or its parent.
  if (out.empty() || out == "." || out == "..") return std::string(1, '_');
  return out;
}

std::string Quote(const std::string& path) { return absl::StrCat("'", path, "'"); }

// Moves an empty, writable `outputs` to `spare` for the next attempt; false when it is not
// reusable or a spare is already there (the caller removes it then).
bool KeepAsSpare(const std::string& outputs, const std::string& spare, core::Env* env) {
  absl::StatusOr<core::FileInfo> info = env->Stat(outputs, /*follow_symlinks=*/false);
  if (!info.ok() || !info->is_directory() || (info->mode & 0700) != 0700) return false;
  absl::StatusOr<std::vector<std::string>> names = env->ListDir(outputs);
  if (!names.ok() || !names->empty() || env->Exists(spare)) return false;
  return env->Rename(outputs, spare).ok();
}

}  // namespace

std::string AttemptDirName(const LeaseRef& ref) {
  return absl::StrCat(Sanitize(ref.sweep_id), "-", ref.trial_id, "-", ref.attempt, "-",
                      ref.fencing_token);
}

absl::StatusOr<std::string> PrepareAttemptDir(const std::string& work_dir, const LeaseGrant& lease,
                                              const std::string& code_dir, core::Env* env) {
  std::error_code ec;
  fs::path base = fs::absolute(fs::path(work_dir), ec);
  if (ec) base = fs::path(work_dir);
  const std::string dir = (base / "attempts" / AttemptDirName(lease.ref)).string();
  // A leftover from an earlier run of this same lease (the worker restarted): start fresh.
  if (absl::Status s = env->RemoveAll(dir); !s.ok() && core::ErrnoOf(s) != ENOTDIR) {
    return core::ErrnoStatus(s, "cannot remove old attempt directory", Quote(dir));
  }
  // The emptied directory of an attempt the retention rule removed is renamed into place:
  // creating a directory's inode was the largest single cost of starting an attempt.
  if (!env->Rename((base / "attempts" / kSpareAttemptName).string(), dir).ok()) {
    if (absl::Status s = env->CreateDirs(dir); !s.ok()) {
      return core::ErrnoStatus(s, "cannot create attempt directory", Quote(dir));
    }
  }
  if (!code_dir.empty()) {
    if (!env->IsDirectory(code_dir)) {
      return absl::FailedPreconditionError(
          absl::StrCat("code directory '", code_dir, "' does not exist or is not a directory"));
    }
    if (absl::Status s = core::CopyTree(code_dir, dir, env); !s.ok()) {
      return core::ErrnoStatus(s, absl::StrCat("cannot copy code from ", Quote(code_dir), " to"),
                               Quote(dir));
    }
  }
  // An empty outputs/ left by an earlier attempt is renamed into place: creating an inode
  // costs more than the rest of the set-up on a file system with many recent deletions.
  if (!env->Rename(SpareOutputsDir(dir), dir + "/outputs").ok()) {
    if (absl::Status s = env->CreateDirs(dir + "/outputs"); !s.ok()) {
      return core::ErrnoStatus(s, "cannot create", Quote(dir + "/outputs"));
    }
  }
  return dir;
}

std::string SpareOutputsDir(const std::string& attempt_dir) {
  return (fs::path(attempt_dir).parent_path() / kSpareOutputsName).string();
}

absl::Status TidyAttemptDir(const std::string& dir, bool keep_outputs, core::Env* env) {
  absl::StatusOr<std::vector<std::string>> names = env->ListDir(dir);
  if (!names.ok()) return core::ErrnoStatus(names.status(), "cannot list", Quote(dir));
  for (const std::string& name : *names) {
    if (std::find(std::begin(kKeptAttemptFiles), std::end(kKeptAttemptFiles), name) !=
            std::end(kKeptAttemptFiles) ||
        (keep_outputs && name == "outputs")) {
      continue;
    }
    const std::string path = absl::StrCat(dir, "/", name);
    if (name == "outputs" && KeepAsSpare(path, SpareOutputsDir(dir), env)) continue;
    if (absl::Status s = env->RemoveAll(path); !s.ok()) {
      return core::ErrnoStatus(s, "cannot remove", Quote(path));
    }
  }
  return absl::OkStatus();
}

std::vector<std::string> CurrentEnvironment() {
  std::vector<std::string> env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    env.emplace_back(*entry);
  }
  return env;
}

std::map<std::string, std::string> BuildTrialEnv(const std::vector<std::string>& base,
                                                 const LeaseGrant& lease,
                                                 const std::string& attempt_dir) {
  std::map<std::string, std::string> env;
  for (const std::string& entry : base) {
    size_t eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  env["AZUREML_RUN_ID"] = absl::StrCat(lease.ref.sweep_id, "_", lease.ref.trial_id);
  for (const auto& [key, value] : lease.env) {
    if (!key.empty()) env[key] = value;
  }
  fs::path dir(attempt_dir);
  env["SWEEP_METRICS_FILE"] = (dir / "metrics.jsonl").string();
  env["SWEEP_OUTPUTS_DIR"] = (dir / "outputs").string();
  env["SWEEP_ATTEMPT_DIR"] = dir.string();
  env["SWEEP_SWEEP_ID"] = lease.ref.sweep_id;
  env["SWEEP_TRIAL_ID"] = absl::StrCat(lease.ref.trial_id);
  env["SWEEP_ATTEMPT"] = absl::StrCat(lease.ref.attempt);
  env["SWEEP_NODE_ID"] = lease.ref.node_id;
  return env;
}

void TailBuffer::Add(const std::string& line) {
  std::lock_guard<std::mutex> lock(mu_);
  // Cut on a character boundary and drop bytes that are not UTF-8: the tail travels in a
  // proto3 string, and gRPC refuses a whole message holding invalid UTF-8.
  lines_.push_back(core::SanitizeUtf8(core::Utf8Prefix(line, max_line_bytes_)));
  while (lines_.size() > max_lines_) lines_.pop_front();
}

std::vector<std::string> TailBuffer::Lines() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {lines_.begin(), lines_.end()};
}

std::string FailureMessage(const ExitInfo& exit, const std::vector<std::string>& stderr_tail) {
  std::string message = DescribeExit(exit);
  if (!stderr_tail.empty()) {
    absl::StrAppend(&message, "; last lines of stderr:\n", absl::StrJoin(stderr_tail, "\n"));
  }
  return message;
}

}  // namespace sweep::worker

#include "core/fault_env.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace sweep::core {
namespace {

// A child as seen on a kernel without pidfd_open (FaultEnv::HideExitWatch).
class NoExitWatch final : public Subprocess {
 public:
  explicit NoExitWatch(std::unique_ptr<Subprocess> base) : base_(std::move(base)) {}
  int64_t pid() const override { return base_->pid(); }
  bool ReadOutput(int timeout_ms,
                  const std::function<void(int, std::string_view)>& sink) override {
    return base_->ReadOutput(timeout_ms, sink);
  }
  bool WatchesExit() const override { return false; }
  bool ExitSeen() const override { return false; }
  void CloseOutput() override { base_->CloseOutput(); }
  absl::Status WriteInput(std::string_view data) override { return base_->WriteInput(data); }
  void CloseInput() override { base_->CloseInput(); }
  void WaitForExit() override { base_->WaitForExit(); }
  absl::StatusOr<ExitStatus> Reap() override { return base_->Reap(); }
  void Signal(int sig) override { base_->Signal(sig); }
  void SignalGroup(int sig) override { base_->SignalGroup(sig); }

 private:
  const std::unique_ptr<Subprocess> base_;
};

std::string Normal(const std::string& path) {
  return std::filesystem::path(path).lexically_normal().string();
}

// Whether `path` is `prefix`, lies under it, or is the temporary file through which
// Env::WriteFileAtomically writes it (prefix "" matches everything).
bool Under(const std::string& path, const std::string& prefix) {
  if (prefix.empty()) return true;
  const std::string p = Normal(path);
  std::string q = Normal(prefix);
  if (q.size() > 1 && q.back() == '/') q.pop_back();
  if (p == q || absl::StartsWith(p, q + ".tmp.")) return true;
  return absl::StartsWith(p, q) && (q.back() == '/' || p[q.size()] == '/');
}

class FaultWritableFile final : public WritableFile {
 public:
  FaultWritableFile(FaultEnv* env, std::string path, std::unique_ptr<WritableFile> base)
      : env_(env), path_(std::move(path)), base_(std::move(base)) {}

  absl::Status Append(std::string_view data) override {
    int64_t allowed = 0;
    int err = env_->Check(FaultEnv::kWrite, path_, static_cast<int64_t>(data.size()), &allowed);
    if (err != 0) {
      if (allowed > 0) {
        if (absl::Status s = base_->Append(data.substr(0, static_cast<size_t>(allowed))); !s.ok()) {
          return s;
        }
        env_->CountWritten(allowed);
      }
      return ErrnoStatus(err, "cannot write", path_);
    }
    absl::Status s = base_->Append(data);
    if (s.ok()) env_->CountWritten(static_cast<int64_t>(data.size()));
    return s;
  }

  absl::Status Sync() override {
    if (int err = env_->Check(FaultEnv::kSync, path_); err != 0) {
      return ErrnoStatus(err, "cannot flush", path_);
    }
    return base_->Sync();
  }

  absl::Status Close() override { return base_->Close(); }
  int64_t size() const override { return base_->size(); }

 private:
  FaultEnv* const env_;
  const std::string path_;
  const std::unique_ptr<WritableFile> base_;
};

class FaultRandomAccessFile final : public RandomAccessFile {
 public:
  FaultRandomAccessFile(FaultEnv* env, std::string path, std::unique_ptr<RandomAccessFile> base)
      : env_(env), path_(std::move(path)), base_(std::move(base)) {}

  absl::StatusOr<std::string> Read(int64_t offset, size_t n) override {
    if (int err = env_->Check(FaultEnv::kRead, path_); err != 0) {
      return ErrnoStatus(err, "cannot read", path_);
    }
    absl::StatusOr<std::string> data = base_->Read(offset, n);
    if (data.ok() && !data->empty() && env_->Corrupts(path_)) (*data)[0] = ~(*data)[0];
    return data;
  }

  absl::StatusOr<int64_t> Size() override { return base_->Size(); }

 private:
  FaultEnv* const env_;
  const std::string path_;
  const std::unique_ptr<RandomAccessFile> base_;
};

}  // namespace

// The base Env's wall clock plus an offset.
class FaultEnv::SteppedClock final : public Clock {
 public:
  explicit SteppedClock(Clock* base) : base_(base) {}
  int64_t NowMillis() const override { return base_->NowMillis() + offset_.load(); }
  void Step(int64_t delta_ms) { offset_ += delta_ms; }

 private:
  Clock* const base_;
  std::atomic<int64_t> offset_{0};
};

FaultEnv::FaultEnv(Env* base)
    : base_(base), clock_(std::make_unique<SteppedClock>(base->clock())) {}

FaultEnv::~FaultEnv() = default;

int FaultEnv::Add(Fault fault) {
  std::lock_guard<std::mutex> lock(mu_);
  int id = next_id_++;
  faults_[id] = std::move(fault);
  written_[id] = 0;
  return id;
}

void FaultEnv::Remove(int id) {
  std::lock_guard<std::mutex> lock(mu_);
  faults_.erase(id);
  written_.erase(id);
}

void FaultEnv::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  faults_.clear();
  written_.clear();
}

void FaultEnv::StepClock(int64_t delta_ms) { clock_->Step(delta_ms); }

int64_t FaultEnv::bytes_written() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_written_;
}

int FaultEnv::Check(uint32_t op, const std::string& path, int64_t bytes, int64_t* allowed) {
  if (observer_) observer_(static_cast<Op>(op), path);
  std::lock_guard<std::mutex> lock(mu_);
  if (allowed != nullptr) *allowed = bytes;
  for (auto& [id, fault] : faults_) {
    if ((fault.ops & op) == 0 || fault.corrupt || !Under(path, fault.path_prefix)) continue;
    if (op != kWrite || fault.after_bytes < 0) {
      if (allowed != nullptr) *allowed = 0;
      return fault.error;
    }
    int64_t& used = written_[id];
    int64_t left = fault.after_bytes - used;
    if (bytes <= left) {
      used += bytes;
      continue;
    }
    used = fault.after_bytes;
    if (allowed != nullptr) *allowed = std::max<int64_t>(left, 0);
    return fault.error;
  }
  return 0;
}

bool FaultEnv::Corrupts(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [id, fault] : faults_) {
    if (fault.corrupt && (fault.ops & kRead) != 0 && Under(path, fault.path_prefix)) return true;
  }
  return false;
}

void FaultEnv::CountWritten(int64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  bytes_written_ += bytes;
}

absl::StatusOr<std::string> FaultEnv::ReadFile(const std::string& path) {
  if (int err = Check(kRead, path); err != 0) return ErrnoStatus(err, "cannot read", path);
  absl::StatusOr<std::string> data = base_->ReadFile(path);
  if (data.ok() && !data->empty() && Corrupts(path)) (*data)[0] = ~(*data)[0];
  return data;
}

absl::StatusOr<std::unique_ptr<WritableFile>> FaultEnv::NewWritableFile(
    const std::string& path, const WritableFileOptions& options) {
  if (int err = Check(kWrite, path); err != 0) {
    return ErrnoStatus(err, options.append ? "cannot open" : "cannot create", path);
  }
  absl::StatusOr<std::unique_ptr<WritableFile>> file = base_->NewWritableFile(path, options);
  if (!file.ok()) return file.status();
  return std::unique_ptr<WritableFile>(new FaultWritableFile(this, path, *std::move(file)));
}

absl::StatusOr<std::unique_ptr<RandomAccessFile>> FaultEnv::NewRandomAccessFile(
    const std::string& path, bool no_follow) {
  if (int err = Check(kRead, path); err != 0) return ErrnoStatus(err, "cannot read", path);
  absl::StatusOr<std::unique_ptr<RandomAccessFile>> file =
      base_->NewRandomAccessFile(path, no_follow);
  if (!file.ok()) return file.status();
  return std::unique_ptr<RandomAccessFile>(new FaultRandomAccessFile(this, path, *std::move(file)));
}

absl::StatusOr<FileInfo> FaultEnv::Stat(const std::string& path, bool follow_symlinks) {
  return base_->Stat(path, follow_symlinks);
}

absl::StatusOr<std::vector<std::string>> FaultEnv::ListDir(const std::string& path) {
  if (int err = Check(kRead, path); err != 0) return ErrnoStatus(err, "cannot list", path);
  return base_->ListDir(path);
}

absl::Status FaultEnv::CreateDirs(const std::string& path) {
  // Only a directory that does not exist yet is a change.
  if (base_->IsDirectory(path)) return absl::OkStatus();
  if (int err = Check(kMetadata, path); err != 0) return ErrnoStatus(err, "cannot create", path);
  return base_->CreateDirs(path);
}

absl::StatusOr<std::string> FaultEnv::MakeTempDir(const std::string& dir,
                                                  const std::string& prefix) {
  if (int err = Check(kMetadata, dir + "/" + prefix); err != 0) {
    return ErrnoStatus(err, "cannot create a directory under", dir);
  }
  return base_->MakeTempDir(dir, prefix);
}

absl::Status FaultEnv::Rename(const std::string& from, const std::string& to) {
  int err = Check(kMetadata, from);
  if (err == 0) err = Check(kMetadata, to);
  if (err != 0) return ErrnoStatus(err, absl::StrCat("cannot rename ", from, " to"), to);
  return base_->Rename(from, to);
}

absl::Status FaultEnv::RemoveFile(const std::string& path) {
  if (int err = Check(kMetadata, path); err != 0) return ErrnoStatus(err, "cannot remove", path);
  return base_->RemoveFile(path);
}

absl::Status FaultEnv::RemoveAll(const std::string& path) {
  if (!base_->Stat(path, /*follow_symlinks=*/false).ok()) return absl::OkStatus();
  if (int err = Check(kMetadata, path); err != 0) return ErrnoStatus(err, "cannot remove", path);
  return base_->RemoveAll(path);
}

absl::Status FaultEnv::SetPermissions(const std::string& path, mode_t mode) {
  if (int err = Check(kMetadata, path); err != 0) {
    return ErrnoStatus(err, "cannot change the mode of", path);
  }
  return base_->SetPermissions(path, mode);
}

absl::Status FaultEnv::CreateSymlink(const std::string& target, const std::string& link) {
  if (int err = Check(kMetadata, link); err != 0) {
    return ErrnoStatus(err, "cannot create link", link);
  }
  return base_->CreateSymlink(target, link);
}

absl::StatusOr<std::string> FaultEnv::ReadSymlink(const std::string& link) {
  if (int err = Check(kRead, link); err != 0) return ErrnoStatus(err, "cannot read link", link);
  return base_->ReadSymlink(link);
}

absl::Status FaultEnv::SyncDir(const std::string& path) {
  if (int err = Check(kSync, path); err != 0) {
    return ErrnoStatus(err, "cannot sync directory", path);
  }
  return base_->SyncDir(path);
}

absl::StatusOr<std::unique_ptr<FileLock>> FaultEnv::OpenLockFile(const std::string& path) {
  if (int err = Check(kMetadata, path); err != 0) {
    return ErrnoStatus(err, "cannot open lock file", path);
  }
  return base_->OpenLockFile(path);
}

Clock* FaultEnv::clock() { return clock_.get(); }
Clock* FaultEnv::monotonic_clock() { return base_->monotonic_clock(); }
void FaultEnv::SleepForMillis(int64_t ms) { base_->SleepForMillis(ms); }
absl::StatusOr<std::string> FaultEnv::RandomBytes(size_t n) { return base_->RandomBytes(n); }

absl::StatusOr<std::unique_ptr<Subprocess>> FaultEnv::Spawn(const SpawnOptions& options) {
  if (!options.argv.empty()) {
    if (int err = Check(kSpawn, options.argv[0]); err != 0) {
      return AttachErrno(absl::FailedPreconditionError(absl::StrCat("cannot run '", options.argv[0],
                                                                    "': ", std::strerror(err))),
                         err);
    }
  }
  absl::StatusOr<std::unique_ptr<Subprocess>> child = base_->Spawn(options);
  if (!child.ok() || !hide_exit_watch_) return child;
  return std::unique_ptr<Subprocess>(new NoExitWatch(*std::move(child)));
}

bool FaultEnv::ProcessExists(int64_t pid) { return base_->ProcessExists(pid); }

}  // namespace sweep::core

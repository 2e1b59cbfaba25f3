// What every Env shares: the errno statuses and the helpers built on the virtual methods.
#include "core/env.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"

namespace sweep::core {
namespace {

constexpr char kErrnoPayload[] = "type.sweep/errno";

}  // namespace

absl::Status ErrnoStatus(int err, absl::string_view what, absl::string_view path) {
  std::string message = absl::StrCat(what, " ", path, ": ", std::strerror(err));
  absl::Status status;
  switch (err) {
    case ENOENT:
      status = absl::NotFoundError(message);
      break;
    case EACCES:
      status = absl::PermissionDeniedError(message);
      break;
    default:
      status = absl::InternalError(message);
  }
  return AttachErrno(std::move(status), err);
}

absl::Status ErrnoStatus(const absl::Status& cause, absl::string_view what,
                         absl::string_view path) {
  if (int err = ErrnoOf(cause); err != 0) return ErrnoStatus(err, what, path);
  return absl::Status(cause.code(), absl::StrCat(what, " ", path, ": ", cause.message()));
}

absl::Status AttachErrno(absl::Status status, int err) {
  if (!status.ok()) status.SetPayload(kErrnoPayload, absl::Cord(std::to_string(err)));
  return status;
}

int ErrnoOf(const absl::Status& status) {
  auto payload = status.GetPayload(kErrnoPayload);
  if (!payload) return 0;
  std::string text(*payload);
  int err = 0;
  std::from_chars(text.data(), text.data() + text.size(), err);
  return err;
}

absl::Status Env::WriteFileAtomically(const std::string& path, std::string_view content,
                                      const AtomicWriteOptions& options) {
  // Unique per process and call, so two threads writing one path do not share a temp file.
  static std::atomic<uint64_t> counter{0};
  const std::string tmp = absl::StrCat(path, ".tmp.", ::getpid(), ".", counter++);
  absl::StatusOr<std::unique_ptr<WritableFile>> file = NewWritableFile(tmp, {.mode = options.mode});
  if (!file.ok()) return file.status();
  absl::Status status = (*file)->Append(content);
  if (status.ok()) status = (*file)->Sync();
  if (absl::Status closed = (*file)->Close(); status.ok()) status = closed;
  if (status.ok()) status = Rename(tmp, path);
  if (!status.ok()) {
    RemoveFile(tmp).IgnoreError();
    return status;
  }
  if (!options.sync_dir) return absl::OkStatus();
  const size_t slash = path.rfind('/');
  return SyncDir(slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash));
}

absl::Status Env::WriteFile(const std::string& path, std::string_view content, mode_t mode) {
  absl::StatusOr<std::unique_ptr<WritableFile>> file = NewWritableFile(path, {.mode = mode});
  if (!file.ok()) return file.status();
  absl::Status status = (*file)->Append(content);
  if (absl::Status closed = (*file)->Close(); status.ok()) status = closed;
  return status;
}

absl::Status Env::CopyFile(const std::string& from, const std::string& to, bool sync) {
  absl::StatusOr<FileInfo> info = Stat(from);
  if (!info.ok()) return info.status();
  absl::StatusOr<std::unique_ptr<RandomAccessFile>> in = NewRandomAccessFile(from);
  if (!in.ok()) return in.status();
  absl::StatusOr<std::unique_ptr<WritableFile>> out = NewWritableFile(to, {.mode = info->mode});
  if (!out.ok()) return out.status();
  constexpr size_t kChunk = 1 << 20;
  int64_t offset = 0;
  while (true) {
    absl::StatusOr<std::string> data = (*in)->Read(offset, kChunk);
    if (!data.ok()) return data.status();
    if (data->empty()) break;
    if (absl::Status s = (*out)->Append(*data); !s.ok()) return s;
    offset += static_cast<int64_t>(data->size());
  }
  if (sync) {
    if (absl::Status s = (*out)->Sync(); !s.ok()) return s;
  }
  if (absl::Status s = (*out)->Close(); !s.ok()) return s;
  // The umask may have narrowed the creation mode.
  return SetPermissions(to, info->mode);
}

bool Env::Exists(const std::string& path) { return Stat(path).ok(); }

bool Env::IsDirectory(const std::string& path) {
  absl::StatusOr<FileInfo> info = Stat(path);
  return info.ok() && info->is_directory();
}

uint64_t Env::RandomSeed() {
  absl::StatusOr<std::string> bytes = RandomBytes(sizeof(uint64_t));
  uint64_t seed = 0;
  if (bytes.ok() && bytes->size() == sizeof(seed)) {
    std::memcpy(&seed, bytes->data(), sizeof(seed));
    return seed;
  }
  return static_cast<uint64_t>(NowMillis()) * 0x9e3779b97f4a7c15ULL ^
         static_cast<uint64_t>(MonotonicMillis());
}

}  // namespace sweep::core

#include "worker/transfer.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/digest.h"
#include "core/file_tree.h"
#include "worker/logging.h"

namespace sweep::worker {
namespace {

namespace fs = std::filesystem;

bool Retryable(const absl::Status& status) {
  return status.code() == absl::StatusCode::kDataLoss ||
         status.code() == absl::StatusCode::kUnavailable ||
         status.code() == absl::StatusCode::kDeadlineExceeded;
}

// How long an upload waits for a controller that is away (restarting) before the attempt
// fails; its lease outlives a restart, so the result is not lost meanwhile.
constexpr int64_t kUploadPatienceMs = 60'000;

// Runs `call` until it succeeds or fails for good: a corrupt chunk (DataLoss) is sent again
// up to max_tries times; an unreachable controller is waited for, with backoff, up to
// kUploadPatienceMs.
absl::Status WithRetries(core::Env* env, int max_tries, const std::function<absl::Status()>& call) {
  int corrupt = 0;
  int64_t waited = 0, backoff = 200;
  while (true) {
    absl::Status status = call();
    if (status.ok() || !Retryable(status)) return status;
    if (status.code() == absl::StatusCode::kDataLoss) {
      if (++corrupt >= max_tries) return status;
      continue;
    }
    if (waited >= kUploadPatienceMs) return status;
    env->SleepForMillis(backoff);
    waited += backoff;
    backoff = std::min<int64_t>(backoff * 2, 5'000);
  }
}

std::string Megabytes(int64_t bytes) {
  return absl::StrFormat("%.1f MB", static_cast<double>(bytes) / (1 << 20));
}

}  // namespace

absl::StatusOr<std::string> SnapshotCache::Fetch(
    const std::string& digest, const std::string& blob, const std::string& what,
    const std::function<absl::Status(const std::string&)>& sink,
    const std::function<void()>& tick) {
  core::Sha256 whole;
  int64_t offset = 0;
  int64_t total = -1;
  while (total < 0 || offset < total) {
    absl::Status last_error;
    std::optional<SnapshotChunk> good;
    for (int attempt = 0; attempt < max_tries_ && !good; ++attempt) {
      absl::StatusOr<SnapshotChunk> chunk =
          client_->FetchSnapshot(digest, blob, offset, kTransferChunkBytes);
      if (!chunk.ok()) {
        if (!Retryable(chunk.status())) return chunk.status();
        last_error = chunk.status();
        continue;
      }
      if (core::Sha256Hex(chunk->data) != chunk->sha256 ||
          (chunk->data.empty() && offset < chunk->total_size)) {
        last_error = absl::DataLossError(
            absl::StrCat("chunk at offset ", offset, " of ", what, " does not match its digest"));
        continue;
      }
      good = std::move(*chunk);
    }
    if (!good) {
      return absl::Status(last_error.code(),
                          absl::StrCat("fetching ", what, " of snapshot ", digest.substr(0, 12),
                                       " failed ", max_tries_, " times: ", last_error.message()));
    }
    total = good->total_size;
    whole.Update(good->data);
    if (absl::Status s = sink(good->data); !s.ok()) return s;
    offset += static_cast<int64_t>(good->data.size());
    if (tick) tick();
  }
  return whole.HexDigest();
}

absl::StatusOr<std::string> SnapshotCache::Get(const std::string& digest, bool* hit,
                                               const std::function<void()>& tick) {
  if (!core::IsSha256Hex(digest)) {
    return absl::InvalidArgumentError(absl::StrCat("'", digest, "' is not a snapshot digest"));
  }
  std::lock_guard<std::mutex> lock(mu_);
  const std::string final_dir = absl::StrCat(dir_, "/", digest);
  if (env_->IsDirectory(final_dir)) {
    // Checked on every hit: a file changed or lost on this node's disk since it was
    // fetched is noticed, and the snapshot fetched again.
    absl::StatusOr<std::vector<core::FileEntry>> cached = core::ListFiles(final_dir, nullptr, env_);
    if (cached.ok() && core::Sha256Hex(core::EncodeFileList(*cached)) == digest) {
      if (hit != nullptr) *hit = true;
      return final_dir;
    }
    Log()->warn("cached snapshot {} does not match its digest; fetching it again",
                digest.substr(0, 12));
    if (absl::Status s = env_->RemoveAll(final_dir); !s.ok()) return s;
  }
  if (hit != nullptr) *hit = false;

  std::string manifest_text;
  absl::StatusOr<std::string> manifest_digest = Fetch(
      digest, "", "the manifest",
      [&](const std::string& data) {
        manifest_text += data;
        return absl::OkStatus();
      },
      tick);
  if (!manifest_digest.ok()) return manifest_digest.status();
  if (*manifest_digest != digest) {
    return absl::DataLossError(
        absl::StrCat("the manifest of snapshot ", digest, " does not match its digest"));
  }
  absl::StatusOr<std::vector<core::FileEntry>> files = core::DecodeFileList(manifest_text);
  if (!files.ok()) return files.status();

  if (absl::Status s = env_->CreateDirs(dir_); !s.ok()) return s;
  absl::StatusOr<std::string> tmp =
      env_->MakeTempDir(dir_, absl::StrCat(".partial-", digest.substr(0, 12), "-"));
  if (!tmp.ok()) return tmp.status();
  auto fail = [&](absl::Status s) {
    env_->RemoveAll(*tmp).IgnoreError();
    return s;
  };
  for (const core::FileEntry& f : *files) {
    const std::string target = absl::StrCat(*tmp, "/", f.path);
    if (absl::Status s = env_->CreateDirs(fs::path(target).parent_path().string()); !s.ok()) {
      return fail(s);
    }
    absl::StatusOr<std::unique_ptr<core::WritableFile>> out =
        env_->NewWritableFile(target, {.mode = static_cast<mode_t>(f.executable ? 0755 : 0644)});
    if (!out.ok()) return fail(out.status());
    absl::StatusOr<std::string> got = Fetch(
        digest, f.sha256, absl::StrCat("'", f.path, "'"),
        [&](const std::string& data) { return (*out)->Append(data); }, tick);
    absl::Status closed = (*out)->Close();
    if (!got.ok()) return fail(got.status());
    if (!closed.ok()) return fail(closed);
    if (*got != f.sha256) {
      return fail(
          absl::DataLossError(absl::StrCat("'", f.path, "' of snapshot ", digest.substr(0, 12),
                                           " does not match the digest its manifest lists")));
    }
    // The umask may have narrowed the creation mode.
    if (absl::Status s = env_->SetPermissions(target, f.executable ? 0755 : 0644); !s.ok()) {
      return fail(s);
    }
  }
  // Another worker sharing work_dir may have finished first: then its copy is used.
  if (absl::Status s = env_->Rename(*tmp, final_dir); !s.ok()) {
    const int err = core::ErrnoOf(s);
    if ((err == EEXIST || err == ENOTEMPTY) && env_->IsDirectory(final_dir)) {
      env_->RemoveAll(*tmp).IgnoreError();
      return final_dir;
    }
    return fail(core::ErrnoStatus(s, "cannot move snapshot into", final_dir));
  }
  return final_dir;
}

absl::StatusOr<int64_t> UploadOutputs(ControllerClient* client, const LeaseRef& lease,
                                      const std::string& outputs_dir, int64_t max_bytes,
                                      const std::function<void()>& tick, int max_tries,
                                      core::Env* env) {
  absl::StatusOr<std::vector<core::FileEntry>> files = core::ListFiles(outputs_dir, nullptr, env);
  if (!files.ok()) {
    return core::AttachErrno(
        absl::Status(files.status().code(),
                     absl::StrCat("outputs/ refused: ", files.status().message())),
        core::ErrnoOf(files.status()));
  }
  int64_t total = 0;
  for (const core::FileEntry& f : *files) {
    if (absl::Status s = core::ValidateRelativePath(f.path); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("outputs/ refused: ", s.message()));
    }
    total += f.size;
  }
  if (max_bytes > 0 && total > max_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("outputs/ hold ", Megabytes(total),
                                                   ", more than the artifact limit of ",
                                                   Megabytes(max_bytes),
                                                   "; write less to outputs/ or raise the limit "
                                                   "(sweep run --artifact-max-mb)"));
  }
  for (const core::FileEntry& f : *files) {
    const std::string path = (fs::path(outputs_dir) / f.path).string();
    absl::StatusOr<std::unique_ptr<core::RandomAccessFile>> file =
        env->NewRandomAccessFile(path, /*no_follow=*/true);
    if (!file.ok()) {
      return core::AttachErrno(absl::InternalError(file.status().message()),
                               core::ErrnoOf(file.status()));
    }
    absl::Status status;
    int64_t offset = 0;
    std::string buffer;
    do {
      const size_t want =
          static_cast<size_t>(std::min<int64_t>(kTransferChunkBytes, f.size - offset));
      absl::StatusOr<std::string> read = want == 0 ? std::string() : (*file)->Read(offset, want);
      if (!read.ok()) {
        status = read.status();
        break;
      }
      buffer = *std::move(read);
      if (buffer.size() != want) {
        status = absl::AbortedError(
            absl::StrCat("'", f.path, "' in outputs/ changed while it was uploaded"));
        break;
      }
      ArtifactChunk chunk;
      chunk.path = f.path;
      chunk.offset = offset;
      chunk.data = buffer;
      chunk.chunk_sha256 = core::Sha256Hex(buffer);
      chunk.file_size = f.size;
      chunk.last = offset + static_cast<int64_t>(buffer.size()) == f.size;
      if (chunk.last) chunk.file_sha256 = f.sha256;
      status = WithRetries(env, max_tries, [&] { return client->UploadArtifact(lease, chunk); });
      if (!status.ok()) break;
      if (tick) tick();
      offset += static_cast<int64_t>(buffer.size());
    } while (offset < f.size);
    if (!status.ok()) {
      return absl::Status(status.code(),
                          absl::StrCat("uploading '", f.path, "': ", status.message()));
    }
  }
  if (files->empty()) return 0;  // nothing to publish: the trial has no artifacts
  absl::StatusOr<int64_t> committed = 0;
  absl::Status commit = WithRetries(env, max_tries, [&] {
    committed = client->CommitArtifacts(lease, files->size());
    return committed.status();
  });
  if (!commit.ok()) return commit;
  return static_cast<int64_t>(files->size());
}

}  // namespace sweep::worker

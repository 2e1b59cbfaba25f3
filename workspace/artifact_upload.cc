#include "workspace/artifact_upload.h"

#include <cinttypes>
#include <cstdio>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/digest.h"
#include "core/file_tree.h"
#include "core/limits.h"
#include "core/status.h"
#include "workspace/artifact_store.h"

namespace sweep::workspace {
namespace {

namespace fs = std::filesystem;

std::string Megabytes(int64_t bytes) {
  return absl::StrFormat("%.1f MB", static_cast<double>(bytes) / (1 << 20));
}

// What an attempt's upload holds so far: bytes written (all chunks of all files, not the
// sizes clients declare) and files begun. Kept in <upload>/usage, rewritten after every
// chunk, so each chunk costs the same however many files came before. A crash between a
// write and its record undercounts by at most that chunk.
struct Usage {
  int64_t bytes = 0;
  int64_t files = 0;
};

Usage ReadUsage(core::Env* env, const std::string& upload) {
  Usage u;
  absl::StatusOr<std::string> text = env->ReadFile(upload + "/usage");
  if (text.ok()) std::sscanf(text->c_str(), "%" SCNd64 " %" SCNd64, &u.bytes, &u.files);
  return u;
}

absl::Status WriteUsage(core::Env* env, const std::string& upload, const Usage& u) {
  return env->WriteFile(upload + "/usage", absl::StrCat(u.bytes, " ", u.files, "\n"), 0600);
}

// Whether `path` holds exactly `size` bytes whose digest is `sha256` (a re-sent chunk or
// file the controller already has: its first reply was lost).
bool Holds(core::Env* env, const std::string& path, int64_t offset, int64_t size,
           const std::string& sha256) {
  absl::StatusOr<std::unique_ptr<core::RandomAccessFile>> file = env->NewRandomAccessFile(path);
  if (!file.ok()) return false;
  absl::StatusOr<int64_t> have = (*file)->Size();
  if (!have.ok() || *have != offset + size) return false;
  absl::StatusOr<std::string> data = (*file)->Read(offset, static_cast<size_t>(size));
  return data.ok() && static_cast<int64_t>(data->size()) == size &&
         core::Sha256Hex(*data) == sha256;
}

absl::Status WriteChunk(core::Env* env, const std::string& upload, const std::string& partial,
                        const std::string& staged, const core::ArtifactChunk& chunk,
                        int64_t max_total_bytes);
absl::Status Stage(core::Env* env, const std::string& upload, const std::string& partial,
                   const std::string& staged, const core::ArtifactChunk& chunk);

}  // namespace

absl::Status ReceiveArtifactChunk(const std::string& attempt_dir, const core::ArtifactChunk& chunk,
                                  int64_t max_total_bytes, core::Env* env) {
  if (absl::Status s = core::ValidateRelativePath(chunk.path); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("artifact refused: ", s.message(), " (outputs must stay inside outputs/)"));
  }
  if (core::Sha256Hex(chunk.data) != chunk.chunk_sha256) {
    return absl::DataLossError(absl::StrCat("chunk at offset ", chunk.offset, " of '", chunk.path,
                                            "' does not match its digest; send it again"));
  }
  if (env->Exists(attempt_dir + "/manifest.json")) {
    return absl::FailedPreconditionError("the artifacts of this attempt are already committed");
  }
  const int64_t size = static_cast<int64_t>(chunk.data.size());
  if (chunk.offset < 0 || chunk.file_size < 0 || chunk.offset > chunk.file_size - size ||
      (chunk.last && chunk.offset + size != chunk.file_size)) {
    return absl::InvalidArgumentError(absl::StrCat("chunk at offset ", chunk.offset, " (", size,
                                                   " bytes) of '", chunk.path,
                                                   "' does not fit its size ", chunk.file_size));
  }
  const std::string upload = attempt_dir + "/upload";
  const std::string staged = absl::StrCat(upload, "/staged/", chunk.path);
  const std::string partial = absl::StrCat(upload, "/partial/", chunk.path);
  // A chunk sent again after its reply was lost (e.g. across a controller restart).
  if (chunk.last && Holds(env, staged, 0, chunk.file_size, chunk.file_sha256)) {
    return absl::OkStatus();
  }
  const bool arrived = Holds(env, partial, chunk.offset, size, chunk.chunk_sha256);
  if (arrived && !chunk.last) return absl::OkStatus();
  if (!arrived) RETURN_IF_ERROR(WriteChunk(env, upload, partial, staged, chunk, max_total_bytes));
  if (!chunk.last) return absl::OkStatus();
  return Stage(env, upload, partial, staged, chunk);
}

namespace {

absl::Status WriteChunk(core::Env* env, const std::string& upload, const std::string& partial,
                        const std::string& staged, const core::ArtifactChunk& chunk,
                        int64_t max_total_bytes) {
  const int64_t size = static_cast<int64_t>(chunk.data.size());
  Usage usage = ReadUsage(env, upload);
  absl::StatusOr<core::FileInfo> before = env->Stat(partial);
  if (chunk.offset == 0) {
    if (before.ok()) {
      usage.bytes -= before->size;  // the file starts over
    } else if (absl::StatusOr<core::FileInfo> done = env->Stat(staged); done.ok()) {
      usage.bytes -= done->size;  // sent again whole
      env->RemoveFile(staged).IgnoreError();
    } else {
      ++usage.files;
    }
    if (usage.files > core::kMaxArtifactFiles) {
      return absl::InvalidArgumentError(
          absl::StrCat("outputs/ hold more than ", core::kMaxArtifactFiles, " files (refused at '",
                       chunk.path, "'); write fewer, larger files (e.g. an archive)"));
    }
  }
  if (usage.bytes + size > max_total_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "outputs/ exceed the artifact limit of ", Megabytes(max_total_bytes), " at '", chunk.path,
        "' (", Megabytes(usage.bytes + size),
        " received); write less to outputs/ or raise the limit (sweep run --artifact-max-mb)"));
  }
  if (absl::Status s = env->CreateDirs(fs::path(partial).parent_path().string()); !s.ok()) {
    return s;
  }
  // Appending (truncating at offset 0) to a file that holds exactly `offset` bytes writes
  // the chunk where it belongs.
  absl::StatusOr<std::unique_ptr<core::WritableFile>> file =
      env->NewWritableFile(partial, {.append = chunk.offset != 0, .no_follow = true});
  if (!file.ok()) return file.status();
  if ((*file)->size() != chunk.offset) {
    return absl::InvalidArgumentError(
        absl::StrCat("chunk of '", chunk.path, "' at offset ", chunk.offset,
                     " is out of order: ", (*file)->size(), " bytes arrived so far"));
  }
  absl::Status written = (*file)->Append(chunk.data);
  if (written.ok() && chunk.last) written = (*file)->Sync();
  if (absl::Status closed = (*file)->Close(); written.ok()) written = closed;
  if (!written.ok()) return written;
  usage.bytes += size;
  return WriteUsage(env, upload, usage);
}

// Checks the finished file against its digest and moves it to staged/.
absl::Status Stage(core::Env* env, const std::string& upload, const std::string& partial,
                   const std::string& staged, const core::ArtifactChunk& chunk) {
  absl::StatusOr<std::string> digest = core::Sha256File(partial, env);
  if (!digest.ok()) return digest.status();
  if (*digest != chunk.file_sha256) {
    env->RemoveFile(partial).IgnoreError();
    Usage usage = ReadUsage(env, upload);
    usage.bytes -= chunk.file_size;
    WriteUsage(env, upload, usage).IgnoreError();
    return absl::DataLossError(
        absl::StrCat("artifact '", chunk.path, "' does not match its digest; send it again"));
  }
  absl::Status staged_ok = env->CreateDirs(fs::path(staged).parent_path().string());
  if (staged_ok.ok()) staged_ok = env->Rename(partial, staged);
  if (!staged_ok.ok()) {
    return core::ErrnoStatus(staged_ok, "cannot stage artifact",
                             absl::StrCat("'", chunk.path, "'"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ArtifactManifest> ScanStagedArtifacts(const std::string& attempt_dir,
                                                     core::Env* env) {
  absl::StatusOr<ArtifactManifest> existing = ReadManifest(attempt_dir, env);
  if (existing.ok() || !absl::IsNotFound(existing.status())) return existing;
  return ScanFiles(attempt_dir + "/upload/staged", env);
}

absl::StatusOr<int64_t> PublishArtifacts(const std::string& attempt_dir, int64_t file_count,
                                         core::Env* env) {
  absl::StatusOr<ArtifactManifest> manifest = ScanStagedArtifacts(attempt_dir, env);
  if (!manifest.ok()) return manifest.status();
  return PublishScannedArtifacts(attempt_dir, file_count, *manifest, env);
}

absl::StatusOr<int64_t> PublishScannedArtifacts(const std::string& attempt_dir, int64_t file_count,
                                                const ArtifactManifest& scanned, core::Env* env) {
  absl::StatusOr<ArtifactManifest> existing = ReadManifest(attempt_dir, env);
  if (existing.ok()) return existing->total_bytes;
  if (!absl::IsNotFound(existing.status())) return existing.status();
  const std::string staged = attempt_dir + "/upload/staged";
  const ArtifactManifest* manifest = &scanned;
  if (static_cast<int64_t>(manifest->files.size()) != file_count) {
    return absl::InternalError(
        absl::StrCat("only ", manifest->files.size(), " of ", file_count,
                     " output files arrived complete; nothing was published"));
  }
  const std::string files = attempt_dir + "/files";
  absl::Status moved = env->RemoveAll(files);
  if (moved.ok()) moved = env->CreateDirs(staged);
  if (moved.ok()) moved = env->Rename(staged, files);
  if (!moved.ok()) {
    return core::ErrnoStatus(moved, "cannot publish artifacts into", files);
  }
  // The files were fsynced as they arrived; their names now too, before the manifest (and
  // then the attempt's record) says they are there.
  if (absl::Status s = core::SyncTree(files, /*files=*/false, env); !s.ok()) return s;
  if (absl::Status s = env->SyncDir(attempt_dir); !s.ok()) return s;
  if (absl::Status s = WriteManifest(attempt_dir, *manifest, env); !s.ok()) return s;
  env->RemoveAll(attempt_dir + "/upload").IgnoreError();
  return manifest->total_bytes;
}

}  // namespace sweep::workspace

#include "workspace/artifact_upload.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/digest.h"
#include "core/file_tree.h"
#include "workspace/artifact_store.h"

namespace sweep::workspace {
namespace {

namespace fs = std::filesystem;

std::string Megabytes(int64_t bytes) {
  return absl::StrFormat("%.1f MB", static_cast<double>(bytes) / (1 << 20));
}

int64_t StagedBytes(core::Env* env, const std::string& staged, const std::string& except) {
  absl::StatusOr<std::vector<core::FileEntry>> files = core::ListFileSizes(staged, nullptr, env);
  int64_t total = 0;
  if (!files.ok()) return 0;
  for (const core::FileEntry& f : *files) {
    if (f.path != except) total += f.size;
  }
  return total;
}

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
  const int64_t end = chunk.offset + static_cast<int64_t>(chunk.data.size());
  if (chunk.offset < 0 || chunk.file_size < 0 || end > chunk.file_size ||
      (chunk.last && end != chunk.file_size)) {
    return absl::InvalidArgumentError(absl::StrCat("chunk [", chunk.offset, ", ", end, ") of '",
                                                   chunk.path, "' does not fit its size ",
                                                   chunk.file_size));
  }
  const std::string upload = attempt_dir + "/upload";
  const std::string staged = upload + "/staged";
  if (chunk.offset == 0) {
    int64_t total = StagedBytes(env, staged, chunk.path) + chunk.file_size;
    if (total > max_total_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "outputs/ exceed the artifact limit of ", Megabytes(max_total_bytes), ": with '",
          chunk.path, "' (", Megabytes(chunk.file_size), ") they hold ", Megabytes(total),
          "; write less to outputs/ or raise the limit (sweep run --artifact-max-mb)"));
    }
  }
  const std::string partial = absl::StrCat(upload, "/partial/", chunk.path);
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
  if (!chunk.last) return absl::OkStatus();
  absl::StatusOr<std::string> digest = core::Sha256File(partial, env);
  if (!digest.ok()) return digest.status();
  if (*digest != chunk.file_sha256) {
    env->RemoveFile(partial).IgnoreError();
    return absl::DataLossError(
        absl::StrCat("artifact '", chunk.path, "' does not match its digest; send it again"));
  }
  const std::string target = absl::StrCat(staged, "/", chunk.path);
  absl::Status staged_ok = env->CreateDirs(fs::path(target).parent_path().string());
  if (staged_ok.ok()) staged_ok = env->Rename(partial, target);
  if (!staged_ok.ok()) {
    return core::ErrnoStatus(staged_ok, "cannot stage artifact",
                             absl::StrCat("'", chunk.path, "'"));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> PublishArtifacts(const std::string& attempt_dir, int64_t file_count,
                                         core::Env* env) {
  absl::StatusOr<ArtifactManifest> existing = ReadManifest(attempt_dir, env);
  if (existing.ok()) return existing->total_bytes;
  if (!absl::IsNotFound(existing.status())) return existing.status();
  const std::string staged = attempt_dir + "/upload/staged";
  absl::StatusOr<ArtifactManifest> manifest = ScanFiles(staged, env);
  if (!manifest.ok()) return manifest.status();
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

#include "workspace/artifact_upload.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

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

absl::Status Errno(const std::string& what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

int64_t StagedBytes(const std::string& staged, const std::string& except) {
  absl::StatusOr<std::vector<core::FileEntry>> files = core::ListFileSizes(staged);
  int64_t total = 0;
  if (!files.ok()) return 0;
  for (const core::FileEntry& f : *files) {
    if (f.path != except) total += f.size;
  }
  return total;
}

}  // namespace

absl::Status ReceiveArtifactChunk(const std::string& attempt_dir, const core::ArtifactChunk& chunk,
                                  int64_t max_total_bytes) {
  if (absl::Status s = core::ValidateRelativePath(chunk.path); !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("artifact refused: ", s.message(), " (outputs must stay inside outputs/)"));
  }
  if (core::Sha256Hex(chunk.data) != chunk.chunk_sha256) {
    return absl::DataLossError(absl::StrCat("chunk at offset ", chunk.offset, " of '", chunk.path,
                                            "' does not match its digest; send it again"));
  }
  std::error_code ec;
  if (fs::exists(attempt_dir + "/manifest.json", ec)) {
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
    int64_t total = StagedBytes(staged, chunk.path) + chunk.file_size;
    if (total > max_total_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "outputs/ exceed the artifact limit of ", Megabytes(max_total_bytes), ": with '",
          chunk.path, "' (", Megabytes(chunk.file_size), ") they hold ", Megabytes(total),
          "; write less to outputs/ or raise the limit (sweep run --artifact-max-mb)"));
    }
  }
  fs::path partial = fs::path(upload) / "partial" / chunk.path;
  fs::create_directories(partial.parent_path(), ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create ", partial.parent_path().string(), ": ", ec.message()));
  }
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (chunk.offset == 0 ? O_TRUNC : 0);
  int fd = ::open(partial.c_str(), flags, 0644);
  if (fd < 0) return Errno("cannot open", partial.string());
  struct stat st {};
  if (::fstat(fd, &st) != 0 || st.st_size != chunk.offset) {
    ::close(fd);
    return absl::InvalidArgumentError(absl::StrCat("chunk of '", chunk.path, "' at offset ",
                                                   chunk.offset, " is out of order: ", st.st_size,
                                                   " bytes arrived so far"));
  }
  size_t done = 0;
  while (done < chunk.data.size()) {
    ssize_t n = ::pwrite(fd, chunk.data.data() + done, chunk.data.size() - done,
                         chunk.offset + static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      absl::Status s = Errno("cannot write", partial.string());
      ::close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (chunk.last && ::fsync(fd) != 0) {
    absl::Status s = Errno("cannot flush", partial.string());
    ::close(fd);
    return s;
  }
  ::close(fd);
  if (!chunk.last) return absl::OkStatus();
  absl::StatusOr<std::string> digest = core::Sha256File(partial.string());
  if (!digest.ok()) return digest.status();
  if (*digest != chunk.file_sha256) {
    fs::remove(partial, ec);
    return absl::DataLossError(
        absl::StrCat("artifact '", chunk.path, "' does not match its digest; send it again"));
  }
  fs::path target = fs::path(staged) / chunk.path;
  fs::create_directories(target.parent_path(), ec);
  if (!ec) fs::rename(partial, target, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot stage artifact '", chunk.path, "': ", ec.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> PublishArtifacts(const std::string& attempt_dir, int64_t file_count) {
  absl::StatusOr<ArtifactManifest> existing = ReadManifest(attempt_dir);
  if (existing.ok()) return existing->total_bytes;
  if (!absl::IsNotFound(existing.status())) return existing.status();
  const std::string staged = attempt_dir + "/upload/staged";
  absl::StatusOr<ArtifactManifest> manifest = ScanFiles(staged);
  if (!manifest.ok()) return manifest.status();
  if (static_cast<int64_t>(manifest->files.size()) != file_count) {
    return absl::InternalError(
        absl::StrCat("only ", manifest->files.size(), " of ", file_count,
                     " output files arrived complete; nothing was published"));
  }
  std::error_code ec;
  const fs::path files = fs::path(attempt_dir) / "files";
  fs::remove_all(files, ec);
  fs::create_directories(staged, ec);
  if (!ec) fs::rename(staged, files, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot publish artifacts into ", files.string(), ": ", ec.message()));
  }
  if (absl::Status s = WriteManifest(attempt_dir, *manifest); !s.ok()) return s;
  fs::remove_all(fs::path(attempt_dir) / "upload", ec);
  return manifest->total_bytes;
}

}  // namespace sweep::workspace

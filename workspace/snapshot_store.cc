#include "workspace/snapshot_store.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/digest.h"
#include "workspace/ignore_rules.h"

namespace sweep::workspace {
namespace {

namespace fs = std::filesystem;

constexpr size_t kLargestNamed = 5;

std::string Megabytes(int64_t bytes) {
  return absl::StrFormat("%.1f MB", static_cast<double>(bytes) / (1 << 20));
}

}  // namespace

absl::StatusOr<std::vector<core::FileEntry>> SelectSnapshotFiles(const std::string& code_dir,
                                                                 int64_t max_bytes,
                                                                 const std::string& skip_dir,
                                                                 core::Env* env) {
  std::error_code ec;
  if (!env->IsDirectory(code_dir)) {
    return absl::InvalidArgumentError(
        absl::StrCat("code directory '", code_dir, "' does not exist or is not a directory"));
  }
  std::string source;
  absl::StatusOr<IgnoreRules> rules = IgnoreRules::ForDirectory(code_dir, &source, env);
  if (!rules.ok()) return rules.status();
  // The workspace relative to the code directory, when it lies inside it.
  std::string skip;
  if (!skip_dir.empty()) {
    fs::path rel =
        fs::weakly_canonical(skip_dir, ec).lexically_relative(fs::weakly_canonical(code_dir, ec));
    if (!rel.empty() && *rel.begin() != "..") skip = rel.generic_string();
  }
  absl::StatusOr<std::vector<core::FileEntry>> files = core::ListFileSizes(
      code_dir,
      [&](const std::string& rel, bool is_dir) {
        return (is_dir && rel == skip) || rules->Ignored(rel, is_dir);
      },
      env);
  if (!files.ok()) {
    if (absl::IsInvalidArgument(files.status())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot snapshot code directory '", code_dir, "': ", files.status().message(),
          "; add it to .amlignore (or .gitignore) to leave it out"));
    }
    return files.status();
  }
  int64_t total = 0;
  for (const core::FileEntry& f : *files) total += f.size;
  if (total > max_bytes) {
    std::vector<const core::FileEntry*> largest;
    for (const core::FileEntry& f : *files) largest.push_back(&f);
    std::sort(largest.begin(), largest.end(),
              [](const auto* a, const auto* b) { return a->size > b->size; });
    if (largest.size() > kLargestNamed) largest.resize(kLargestNamed);
    std::vector<std::string> named;
    for (const core::FileEntry* f : largest) {
      named.push_back(absl::StrCat(f->path, " (", Megabytes(f->size), ")"));
    }
    return absl::InvalidArgumentError(absl::StrCat(
        "code directory '", code_dir, "' holds ", Megabytes(total),
        source.empty() ? "" : absl::StrCat(" after applying ", source),
        ", more than the snapshot limit of ", Megabytes(max_bytes),
        "; largest files: ", absl::StrJoin(named, ", "),
        ". Leave them out with .amlignore (or .gitignore) patterns, or raise the limit "
        "(sweep run --snapshot-max-mb)"));
  }
  return files;
}

SnapshotStore::SnapshotStore(std::string workspace_dir, core::Env* env)
    : workspace_dir_(std::move(workspace_dir)), dir_(workspace_dir_ + "/snapshots"), env_(env) {}

std::string SnapshotStore::ManifestPath(const std::string& digest) const {
  return absl::StrCat(dir_, "/manifests/", digest, ".json");
}

std::string SnapshotStore::BlobPath(const std::string& sha256) const {
  return absl::StrCat(dir_, "/blobs/", sha256);
}

absl::StatusOr<std::string> SnapshotStore::Create(const std::string& code_dir, int64_t max_bytes) {
  absl::StatusOr<std::vector<core::FileEntry>> files =
      SelectSnapshotFiles(code_dir, max_bytes, workspace_dir_, env_);
  if (!files.ok()) return files.status();
  for (const char* sub : {"/blobs", "/manifests"}) {
    if (absl::Status s = env_->CreateDirs(dir_ + sub); !s.ok()) return s;
  }
  for (core::FileEntry& f : *files) {
    std::string path = (fs::path(code_dir) / f.path).string();
    // One read gives both the content stored and its digest, so the blob always matches
    // the name it is stored under even if the file is being edited.
    absl::StatusOr<std::string> content = env_->ReadFile(path);
    if (!content.ok()) return content.status();
    if (static_cast<int64_t>(content->size()) != f.size) {
      return absl::FailedPreconditionError(absl::StrCat(
          "'", path, "' changed while it was being snapshotted; submit the sweep again"));
    }
    f.sha256 = core::Sha256Hex(*content);
    std::string blob = BlobPath(f.sha256);
    if (env_->Exists(blob)) continue;  // stored by an earlier snapshot
    // One directory fsync for all blobs, below.
    if (absl::Status s =
            env_->WriteFileAtomically(blob, *content, {.mode = 0444, .sync_dir = false});
        !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = env_->SyncDir(dir_ + "/blobs"); !s.ok()) return s;
  std::string manifest = core::EncodeFileList(*files);
  std::string digest = core::Sha256Hex(manifest);
  std::string manifest_path = ManifestPath(digest);
  if (!env_->Exists(manifest_path)) {
    if (absl::Status s = env_->WriteFileAtomically(manifest_path, manifest, {.mode = 0444});
        !s.ok()) {
      return s;
    }
  }
  return digest;
}

absl::StatusOr<const std::set<std::string>*> SnapshotStore::Blobs(const std::string& digest) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = blobs_.find(digest);
  if (it != blobs_.end()) return &it->second;
  if (!core::IsSha256Hex(digest)) {
    return absl::NotFoundError(absl::StrCat("'", digest, "' is not a snapshot digest"));
  }
  absl::StatusOr<std::string> text = env_->ReadFile(ManifestPath(digest));
  if (absl::IsNotFound(text.status())) {
    return absl::NotFoundError(absl::StrCat("snapshot ", digest, " is not stored"));
  }
  if (!text.ok()) return text.status();
  absl::StatusOr<std::vector<core::FileEntry>> files = core::DecodeFileList(*text);
  if (!files.ok()) return files.status();
  std::set<std::string> blobs;
  for (const core::FileEntry& f : *files) blobs.insert(f.sha256);
  return &(blobs_[digest] = std::move(blobs));
}

absl::StatusOr<core::BlobChunk> SnapshotStore::ReadChunk(const std::string& digest,
                                                         const std::string& blob, int64_t offset,
                                                         int64_t max_bytes) {
  absl::StatusOr<const std::set<std::string>*> blobs = Blobs(digest);
  if (!blobs.ok()) return blobs.status();
  if (!blob.empty() && (*blobs)->count(blob) == 0) {
    return absl::NotFoundError(absl::StrCat("snapshot ", digest, " has no file ", blob));
  }
  std::string path = blob.empty() ? ManifestPath(digest) : BlobPath(blob);
  absl::StatusOr<std::unique_ptr<core::RandomAccessFile>> file = env_->NewRandomAccessFile(path);
  if (!file.ok()) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  absl::StatusOr<int64_t> size = (*file)->Size();
  if (!size.ok()) return size.status();
  core::BlobChunk chunk;
  chunk.total_size = *size;
  if (offset < 0 || offset > *size) {
    return absl::OutOfRangeError(
        absl::StrCat("offset ", offset, " is outside ", path, " (", *size, " bytes)"));
  }
  const size_t want = static_cast<size_t>(std::min<int64_t>(max_bytes, *size - offset));
  absl::StatusOr<std::string> data = (*file)->Read(offset, want);
  if (!data.ok()) return data.status();
  if (data->size() != want) return absl::InternalError(absl::StrCat("cannot read ", path));
  chunk.data = *std::move(data);
  chunk.sha256 = core::Sha256Hex(chunk.data);
  return chunk;
}

}  // namespace sweep::workspace

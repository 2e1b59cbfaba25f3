// Code snapshots: the `trial.code` directory of a sweep, frozen when the sweep is
// submitted and shipped to nodes (FetchSnapshot).
//
// Layout in the workspace, content-addressed:
//   <ws>/snapshots/blobs/<sha256>            each distinct file content once, shared by
//                                            every snapshot that holds it
//   <ws>/snapshots/manifests/<digest>.json   the canonical file list (core::EncodeFileList)
// A snapshot's digest is the SHA-256 of its manifest text, which lists paths, sizes,
// file digests and executable bits. Blobs are written first (each atomically, verified
// against the digest computed while reading it); the manifest is written last, atomically,
// so a crash never leaves a manifest whose blobs are missing. A manifest is the only
// mark of a complete snapshot.
//
// Thread safety: all methods are thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/env.h"
#include "core/file_tree.h"

namespace sweep::workspace {

inline constexpr int64_t kDefaultSnapshotMaxBytes = 300LL << 20;  // 300 MB

// The files of `code_dir` a snapshot takes: those not excluded by its .amlignore or
// .gitignore (controller/ignore_rules.h), sizes only. `skip_dir` (e.g. the workspace, when
// it lies inside the code directory) is left out too. InvalidArgument naming the entry for
// a symlink or special file that is not ignored; InvalidArgument naming the directory,
// its size, the limit and the largest files when the total exceeds max_bytes.
absl::StatusOr<std::vector<core::FileEntry>> SelectSnapshotFiles(
    const std::string& code_dir, int64_t max_bytes, const std::string& skip_dir = "",
    core::Env* env = core::Env::Default());

class SnapshotStore {
 public:
  // Files are reached through `env` (not owned).
  explicit SnapshotStore(std::string workspace_dir, core::Env* env = core::Env::Default());

  // Snapshots `code_dir` (SelectSnapshotFiles, then storing what is new) and returns its
  // digest; the workspace itself is never part of it. Nothing is stored when the
  // selection fails. FailedPrecondition naming the file when a file changes while it is
  // copied; the Env's error naming the path for I/O failures (a full disk: ErrnoOf ENOSPC).
  absl::StatusOr<std::string> Create(const std::string& code_dir, int64_t max_bytes);

  // Up to max_bytes of `blob` (a file digest listed by the snapshot, or "" for the
  // manifest itself) from `offset`. NotFound when the snapshot is not (completely)
  // stored or does not list the blob; OutOfRange for an offset past the end.
  absl::StatusOr<core::BlobChunk> ReadChunk(const std::string& digest, const std::string& blob,
                                            int64_t offset, int64_t max_bytes);

  std::string ManifestPath(const std::string& digest) const;
  std::string BlobPath(const std::string& sha256) const;

 private:
  absl::StatusOr<const std::set<std::string>*> Blobs(const std::string& digest);

  const std::string workspace_dir_;
  const std::string dir_;
  core::Env* const env_;
  std::mutex mu_;
  std::map<std::string, std::set<std::string>> blobs_;  // digest -> file digests; guarded by mu_
};

}  // namespace sweep::workspace

// Where a workspace keeps the files of attempts (artifacts: an attempt's `outputs/`) and
// how a set of stored files is described, verified and copied out.
//
//   <ws>/artifacts/<sweep_id>/<trial_id>/<attempt>/files/<relative path>
//   <ws>/artifacts/<sweep_id>/<trial_id>/<attempt>/manifest.json
//
// A manifest lists every file with its size and SHA-256. It is written last, atomically,
// after every file was received and verified: a directory without a manifest is an
// incomplete upload and is never read. Registered models reuse the same "files/ +
// manifest.json" shape under their own directory.
//
// Relative paths in a manifest use '/' separators, are never empty or absolute and never
// contain "." or ".." components (ValidateRelativePath); readers re-check them, so a
// tampered manifest cannot make a copy escape its destination.
//
// Files are reached through `env` (default: the real file system).
//
// Thread safety: functions are thread-safe for distinct directories.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/env.h"

namespace sweep::workspace {

struct ArtifactFile {
  std::string path;  // relative, '/'-separated
  int64_t size = 0;
  std::string sha256;
};

struct ArtifactManifest {
  std::vector<ArtifactFile> files;  // sorted by path
  int64_t total_bytes = 0;
};

// <workspace_dir>/artifacts/<sweep_id>/<trial_id>/<attempt>
std::string ArtifactAttemptDir(const std::string& workspace_dir, const std::string& sweep_id,
                               int64_t trial_id, int32_t attempt);

// InvalidArgument naming the path when it is empty, absolute, has an empty, "." or ".."
// component, or a NUL byte.
absl::Status ValidateRelativePath(const std::string& path);

// Reads <dir>/manifest.json. NotFound when absent (an incomplete or missing upload),
// DataLoss when it cannot be decoded or lists an invalid path.
absl::StatusOr<ArtifactManifest> ReadManifest(const std::string& dir,
                                              core::Env* env = core::Env::Default());

// Writes <dir>/manifest.json atomically (temp file, fsync, rename, directory fsync).
absl::Status WriteManifest(const std::string& dir, const ArtifactManifest& manifest,
                           core::Env* env = core::Env::Default());

// Describes the regular files under `files_dir` (recursively), computing digests.
// InvalidArgument naming the entry for a symlink or anything that is not a regular file
// or directory; a missing directory is an empty manifest.
absl::StatusOr<ArtifactManifest> ScanFiles(const std::string& files_dir,
                                           core::Env* env = core::Env::Default());

struct TrialArtifacts {
  std::string dir;  // the attempt directory (holding files/ and manifest.json)
  int32_t attempt = 0;
  ArtifactManifest manifest;
};

// The artifacts of a trial: those of its highest-numbered attempt with a complete upload.
// NotFound "trial N of sweep X has no uploaded artifacts" when there is none.
absl::StatusOr<TrialArtifacts> FindTrialArtifacts(const std::string& workspace_dir,
                                                  const std::string& sweep_id, int64_t trial_id,
                                                  core::Env* env = core::Env::Default());

// Copies the files a manifest lists from `files_dir` into `dest_dir` (created if missing),
// verifying each size and digest: DataLoss naming the file on a mismatch. The copy goes to
// a temporary sibling directory first and is renamed into place only when complete, so a
// failed copy leaves nothing half-written. FailedPrecondition when dest_dir exists and is
// not an empty directory.
absl::Status CopyVerified(const std::string& files_dir, const ArtifactManifest& manifest,
                          const std::string& dest_dir, core::Env* env = core::Env::Default());

}  // namespace sweep::workspace

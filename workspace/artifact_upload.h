// Receiving an attempt's outputs/ (UploadArtifact, CommitArtifacts) into the artifact
// layout of workspace/artifact_store.h:
//   <attempt dir>/upload/partial/<path>   a file while its chunks arrive
//   <attempt dir>/upload/staged/<path>    a file whose size and digest were verified
// Commit renames staged/ to files/ and writes manifest.json last; until then nothing of
// the upload is visible to readers (FindTrialArtifacts ignores a directory without a
// manifest). The caller checks the lease; these functions only see directories.
//
// Thread safety: calls for distinct attempt directories are independent; calls for one
// attempt must not overlap (its worker sends one chunk at a time).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/env.h"
#include "core/file_tree.h"
#include "workspace/artifact_store.h"

namespace sweep::workspace {

// Adds one chunk. Errors as Controller::UploadArtifact: InvalidArgument naming the path
// (unsafe path, out of order, over max_total_bytes), DataLoss (digest mismatch; the
// partial file is dropped), FailedPrecondition when the attempt was already committed.
absl::Status ReceiveArtifactChunk(const std::string& attempt_dir, const core::ArtifactChunk& chunk,
                                  int64_t max_total_bytes, core::Env* env = core::Env::Default());

// Publishes the staged files; returns their total size. Committing again returns the
// same total. Internal when fewer than file_count files were staged. A file system failure
// (ENOSPC, EIO, EROFS through `env`) is the Env's error naming the path; nothing is published.
absl::StatusOr<int64_t> PublishArtifacts(const std::string& attempt_dir, int64_t file_count,
                                         core::Env* env = core::Env::Default());

// PublishArtifacts in two steps, so a caller can hash without holding its locks: the
// manifest of the staged files (reading and hashing each; the published manifest when
// already committed), then the publication of exactly that manifest (cheap renames).
// Between the two, nothing may upload to the attempt (its worker is waiting for the commit).
absl::StatusOr<ArtifactManifest> ScanStagedArtifacts(const std::string& attempt_dir,
                                                     core::Env* env = core::Env::Default());
absl::StatusOr<int64_t> PublishScannedArtifacts(const std::string& attempt_dir, int64_t file_count,
                                                const ArtifactManifest& scanned,
                                                core::Env* env = core::Env::Default());

}  // namespace sweep::workspace

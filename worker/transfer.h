// Moving files between a node and the controller: the per-node snapshot cache
// (FetchSnapshot) and the upload of an attempt's outputs/ (UploadArtifact).
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "core/env.h"
#include "worker/controller_client.h"

namespace sweep::worker {

// Chunk size of transfers; well under gRPC's 4 MB message limit.
inline constexpr int64_t kTransferChunkBytes = 1 << 20;

// Code snapshots cached per node under <work_dir>/snapshots/<digest>/. A snapshot is
// fetched chunk by chunk, each chunk checked against its own digest and fetched again
// when it does not match (up to max_tries times), every file checked against the
// manifest and the manifest against the snapshot digest; it is assembled in a private
// temporary directory and renamed into place only when complete, so a cache directory
// that exists is always a verified snapshot, also when two workers share work_dir. Files
// are written through `env`; a failing write (a full disk) fails Get with the Env's error
// naming the path, and leaves no partial snapshot behind.
//
// Thread safety: Get is thread-safe; concurrent calls wait for one fetch.
class SnapshotCache {
 public:
  // `client` and `env` are not owned and must outlive the cache.
  SnapshotCache(std::string work_dir, ControllerClient* client, int max_tries = 3,
                core::Env* env = core::Env::Default())
      : dir_(std::move(work_dir) + "/snapshots"),
        client_(client),
        max_tries_(max_tries),
        env_(env) {}

  // The directory of the verified snapshot; `hit` (may be null) tells whether it was
  // cached already. `tick` (may be empty) runs after every chunk, e.g. to keep the lease
  // alive during a long fetch. DataLoss naming the file when a chunk or file stays corrupt
  // after max_tries fetches; the controller's error (NotFound, Unavailable, ...) otherwise.
  absl::StatusOr<std::string> Get(const std::string& digest, bool* hit,
                                  const std::function<void()>& tick = nullptr);

 private:
  // Fetches a whole blob, passing each verified chunk to `sink`; returns its digest.
  absl::StatusOr<std::string> Fetch(const std::string& digest, const std::string& blob,
                                    const std::string& what,
                                    const std::function<absl::Status(const std::string&)>& sink,
                                    const std::function<void()>& tick);

  const std::string dir_;
  ControllerClient* const client_;
  const int max_tries_;
  core::Env* const env_;
  std::mutex mu_;
};

// Uploads the regular files under `outputs_dir` under `lease` and commits them; returns
// the number of files (0, and nothing is committed, for an empty outputs/). Refused before anything
// is sent (InvalidArgument naming the entry): a symbolic link or other non-regular file, a path
// escaping the directory, a total over max_bytes (when > 0). Chunks the controller finds corrupt
// (DataLoss) are sent again up to max_tries times; `tick` (may be empty) runs after every
// chunk. FailedPrecondition: the lease was taken away. Files are read through `env`.
absl::StatusOr<int64_t> UploadOutputs(ControllerClient* client, const LeaseRef& lease,
                                      const std::string& outputs_dir, int64_t max_bytes,
                                      const std::function<void()>& tick = nullptr,
                                      int max_tries = 3, core::Env* env = core::Env::Default());

}  // namespace sweep::worker

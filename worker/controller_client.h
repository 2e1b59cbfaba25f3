// The worker's view of the controller's rpcs (proto/sweep.proto), in plain structs so
// the agent is testable without a network. grpc_client.h is the real implementation.
//
// Error meaning (gRPC codes carried over as absl codes):
//   Unavailable / DeadlineExceeded  the controller cannot be reached: retry later
//   Unauthenticated                 the token is wrong: give up
//   FailedPrecondition              the lease is no longer current (stale fencing
//                                   token): abandon the attempt, do not complete it
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "core/file_tree.h"
#include "core/types.h"

namespace sweep::worker {

struct LeaseRef {
  std::string node_id;
  std::string sweep_id;
  int64_t trial_id = 0;
  int32_t attempt = 0;
  uint64_t fencing_token = 0;
};

struct Lease {
  LeaseRef ref;
  std::vector<std::string> argv;  // the trial command, already substituted
  std::vector<std::pair<std::string, std::string>> env;
  std::string params_json;
  std::string primary_metric;
  int64_t expires_at_ms = 0;
  int64_t trial_timeout_ms = 0;  // 0: none
  int64_t stop_grace_ms = 0;     // 0: the worker's default
  std::string snapshot_digest;   // the code snapshot to start in; "" when there is none
  int64_t artifact_max_bytes = 0;  // limit on outputs/ the controller accepts; 0: none given
  // The workspace environment to prepare (worker/environment.h); nullopt: the node's own.
  std::optional<core::Environment> environment;
};

using core::ArtifactChunk;              // one chunk of one file of an attempt's outputs/
using SnapshotChunk = core::BlobChunk;  // a piece of a snapshot blob

struct RegisterRequest {
  std::string node_id;  // empty on first registration
  std::string compute;
  std::string hostname;
  int64_t pid = 0;
  std::string version;
};

struct RegisterReply {
  std::string node_id;
  int64_t heartbeat_interval_ms = 0;
  int64_t lease_duration_ms = 0;
};

struct AcquireReply {
  std::optional<Lease> lease;
  bool shutdown = false;
};

enum class Directive { kContinue, kStop };

struct DirectiveReply {
  Directive directive = Directive::kContinue;
  int64_t expires_at_ms = 0;
  std::string reason;
};

enum class Outcome { kSucceeded, kFailed, kStopped };

struct Completion {
  Outcome outcome = Outcome::kSucceeded;
  int32_t exit_code = 0;  // -1 when killed by a signal
  int32_t signal = 0;
  std::string error;
  std::vector<core::MetricPoint> points;  // not yet reported; only name/value/step/timestamp
};

// Thread-safe: the agent may interrupt a long poll from another thread.
class ControllerClient {
 public:
  virtual ~ControllerClient() = default;

  virtual absl::StatusOr<RegisterReply> Register(const RegisterRequest& request) = 0;
  // Long poll: blocks up to wait_ms for a lease.
  virtual absl::StatusOr<AcquireReply> AcquireTrial(const std::string& node_id,
                                                    int64_t wait_ms) = 0;
  virtual absl::StatusOr<DirectiveReply> Heartbeat(const LeaseRef& lease) = 0;
  virtual absl::StatusOr<DirectiveReply> ReportMetrics(
      const LeaseRef& lease, const std::vector<core::MetricPoint>& points) = 0;
  // Returns the trial's state name as the controller recorded it.
  virtual absl::StatusOr<std::string> CompleteTrial(const LeaseRef& lease,
                                                    const Completion& completion) = 0;
  virtual absl::Status Deregister(const std::string& node_id) = 0;

  // A piece of a snapshot's manifest (blob "") or of a file it lists (blob = its digest).
  // DataLoss is never returned by the transport: a corrupted chunk shows as a sha256
  // mismatch, which the caller checks.
  virtual absl::StatusOr<SnapshotChunk> FetchSnapshot(const std::string& digest,
                                                      const std::string& blob, int64_t offset,
                                                      int64_t max_bytes) = 0;
  // DataLoss: the controller found the chunk or file corrupt (send again);
  // InvalidArgument: refused for good (unsafe path, over the size limit).
  virtual absl::Status UploadArtifact(const LeaseRef& lease, const ArtifactChunk& chunk) = 0;
  // Publishes the uploaded files; returns their total size.
  virtual absl::StatusOr<int64_t> CommitArtifacts(const LeaseRef& lease, int64_t file_count) = 0;

  // Makes the AcquireTrial in flight, and every later one, return Cancelled at once
  // (the worker is shutting down). Other calls are unaffected.
  virtual void InterruptAcquire() = 0;
};

}  // namespace sweep::worker

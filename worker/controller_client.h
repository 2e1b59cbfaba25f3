// The worker's view of the controller's rpcs (proto/sweep.proto), in the lease contract's
// plain structs (core/lease.h) so the agent is testable without a network.
// rpc/worker_client.h is the real implementation.
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
#include "core/lease.h"
#include "core/types.h"

namespace sweep::worker {

using core::AcquireResult;
using core::ArtifactChunk;  // one chunk of one file of an attempt's outputs/
using core::Completion;
using core::Directive;
using core::DirectiveReply;
using core::LeaseGrant;
using core::LeaseRef;
using core::NodeRegistration;
using core::Outcome;
using core::Registered;
using SnapshotChunk = core::BlobChunk;  // a piece of a snapshot blob

// Thread-safe: the agent may interrupt a long poll from another thread.
class ControllerClient {
 public:
  virtual ~ControllerClient() = default;

  virtual absl::StatusOr<Registered> Register(const NodeRegistration& request) = 0;
  // Long poll: blocks up to wait_ms for a lease.
  virtual absl::StatusOr<AcquireResult> AcquireTrial(const std::string& node_id,
                                                     int64_t wait_ms) = 0;
  virtual absl::StatusOr<DirectiveReply> Heartbeat(const LeaseRef& lease) = 0;
  virtual absl::StatusOr<DirectiveReply> ReportMetrics(
      const LeaseRef& lease, const std::vector<core::MetricPoint>& points) = 0;
  // Returns the trial's state name as the controller recorded it.
  virtual absl::StatusOr<std::string> CompleteTrial(const LeaseRef& lease,
                                                    const Completion& completion) = 0;
  virtual absl::Status Deregister(const std::string& node_id) = 0;

  // CompleteTrial that also acquires the node's next trial in the same round trip (without
  // waiting). `*next` is set to what that acquire answered, or left empty when the
  // controller did not acquire (then call AcquireTrial as usual). The default makes no
  // acquire: a client or controller without the combined call still works.
  virtual absl::StatusOr<std::string> CompleteTrialAndAcquire(const LeaseRef& lease,
                                                              const Completion& completion,
                                                              std::optional<AcquireResult>* next) {
    next->reset();
    return CompleteTrial(lease, completion);
  }

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

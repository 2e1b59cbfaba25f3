// The interface between the controller and the places that run its workers: local child
// processes, Slurm jobs, SSH sessions (local_provider.h, slurm_provider.h,
// ssh_provider.h). The controller sees only this header of compute/.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "core/types.h"

namespace sweep::compute {

// Starts and stops worker processes for a compute target (local children, Slurm jobs,
// SSH sessions). Implementations are thread-safe. A provider that learns that one of its
// nodes ended (job preempted or cancelled, process killed) tells the controller with
// Controller::NodeGone, so the node's attempt is preempted at once instead of waiting
// for its lease to expire.
class NodeProvider {
 public:
  virtual ~NodeProvider() = default;
  // Starts one node for `target`; it will Register on its own. Returns a handle id.
  virtual absl::StatusOr<std::string> StartNode(const core::ComputeTarget& target) = 0;
  // Number of nodes started and not yet known to have exited.
  virtual int64_t LiveNodes(const std::string& compute) = 0;
  // Stops everything it started (SIGTERM, then SIGKILL after a grace period).
  virtual void StopAll() = 0;
};

}  // namespace sweep::compute

// Does a vm_size fit a Slurm partition? `compute create|update` asks before storing a
// Slurm target, so a size no node can hold is refused with what the partition has,
// instead of sbatch refusing every node job later ("Memory specification can not be
// satisfied").
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "compute/slurm_provider.h"

namespace sweep::compute {

// One node of a partition as `sinfo --Node --format=%N|%c|%m|%G` prints it.
struct SlurmNodeShape {
  std::string name;
  int cpus = 0;
  int64_t memory_mb = 0;
  int gpus = 0;  // from the gres column ("gpu:2", "gpu:a100:4(S:0-1)"; "(null)" = 0)
};

// The sinfo command whose output ParseSinfoNodes reads.
std::vector<std::string> SinfoNodesArgv(const std::string& partition);

// Parses that output; lines that do not parse are skipped (InvalidArgument when none
// does, quoting the output).
absl::StatusOr<std::vector<SlurmNodeShape>> ParseSinfoNodes(const std::string& text);

// OK when some node has at least the shape's CPUs, memory and GPUs. Otherwise
// InvalidArgument: "compute 'c': --vm-size Standard_D16s_v3 needs 16 CPUs and 65536 MB
// of memory, but no node of partition 'debug' has that (vm: 2 CPUs, 23593 MB); the
// largest size that fits is Standard_D2_v2 (2 CPUs, 7168 MB)".
absl::Status CheckVmSizeFits(const std::string& compute, const VmShape& shape,
                             const std::string& partition,
                             const std::vector<SlurmNodeShape>& nodes);

}  // namespace sweep::compute

// Internal to core/: the one process-spawn primitive behind Env::Default()->Spawn. Use the
// Env; this header exists so posix_env.cc and posix_process.cc stay two files.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "core/env.h"

namespace sweep::core {

// posix_spawnp, or fork/exec when options.parent_death_signal is set (posix_spawn cannot
// call prctl in the child). Errors as Env::Spawn.
absl::StatusOr<std::unique_ptr<Subprocess>> SpawnPosix(const SpawnOptions& options);

}  // namespace sweep::core

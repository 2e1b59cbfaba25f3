// Read-only analyses of recorded sweeps: `sweep replay` (what-if replay of an
// early-termination policy) and `sweep explain` (one trial's recorded decisions). They
// read a store (the workspace's, or a server's RemoteStore) and hand the records to the
// pure functions of policies/replay.h.
//
// Thread safety: free functions; the store must be safe to read concurrently (all are).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "core/policy_settings.h"
#include "policies/replay.h"
#include "store/store.h"

namespace sweep::controller {

// Replays the recorded curves of a finished sweep with the sweep's own objective (read
// back from its stored spec for sweeps recorded without one). NotFound if the sweep does
// not exist; FailedPrecondition if it is still running or its objective is unknown;
// InvalidArgument for invalid settings; store errors are passed through.
absl::StatusOr<policies::ReplayReport> ReplaySweep(store::Store* store, const std::string& sweep_id,
                                                   const core::EarlyTermination& settings);

// The recorded early-termination story of one trial. The sweep's policy is read back
// from its stored spec; if that fails (e.g. its code directory is gone) the decisions
// are still listed. NotFound for an unknown sweep or trial; store errors passed through.
absl::StatusOr<policies::ExplainReport> ExplainTrial(store::Store* store,
                                                     const std::string& sweep_id, int64_t trial_id);

}  // namespace sweep::controller

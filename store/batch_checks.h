// Checks and error messages shared by every Store implementation, so that all of them
// accept and refuse exactly the same batches with exactly the same words.
// Internal to store/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "core/types.h"
#include "store/store.h"

namespace sweep::store::internal {

// Record-local checks, run over the whole batch before anything is written.
// InvalidArgument naming the offending record on the first problem:
// empty keys (compute name, sweep id, sweep_id of trials/attempts/metrics/decisions,
// node id, metric name, event kind), trial ids < 1, attempt numbers < 1, fencing tokens
// above INT64_MAX (not storable in SQLite), non-finite doubles in a trial config
// (JSON cannot carry them), environment/model names empty or versions < 1, an unknown
// environment kind, the same environment/model version twice in the batch (AlreadyExists).
absl::Status ValidateBatch(const WriteBatch& batch);

// Referential integrity: trials need their sweep; attempts, metrics and decisions need
// their trial (in the store or earlier in the same batch, which applies sweeps, then
// trials, then the rest). FailedPrecondition with these messages.
absl::Status TrialWithoutSweep(const core::Trial& trial);
absl::Status AttemptWithoutTrial(const core::Attempt& attempt);
absl::Status MetricWithoutTrial(const core::MetricPoint& metric);
absl::Status DecisionWithoutTrial(const core::Decision& decision);
absl::Status ModelWithoutTrial(const core::Model& model);

// AlreadyExists: a version of an environment / model that is already stored.
absl::Status EnvironmentExists(const core::Environment& environment);
absl::Status ModelExists(const core::Model& model);

// NotFound messages of the Get* calls.
absl::Status ComputeNotFound(const std::string& name);
absl::Status SweepNotFound(const std::string& id);
absl::Status TrialNotFound(const std::string& sweep_id, int64_t trial_id);
absl::Status EnvironmentNotFound(const std::string& name, std::optional<int64_t> version);
absl::Status ModelNotFound(const std::string& name, std::optional<int64_t> version);

// ListMetrics needs a sweep.
absl::Status ValidateMetricFilter(const MetricFilter& filter);

}  // namespace sweep::store::internal

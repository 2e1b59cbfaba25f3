#include "store/batch_checks.h"

#include <cmath>
#include <limits>
#include <set>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace sweep::store::internal {
namespace {

std::string TrialName(const std::string& sweep_id, int64_t trial_id) {
  return absl::StrFormat("trial %d of sweep '%s'", trial_id, sweep_id);
}

absl::Status ValidateTrial(const core::Trial& trial) {
  if (trial.sweep_id.empty()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("trial %d has an empty sweep_id", trial.trial_id));
  }
  if (trial.trial_id < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat(TrialName(trial.sweep_id, trial.trial_id), ": trial ids start at 1"));
  }
  for (const auto& [name, value] : trial.config) {
    const double* d = std::get_if<double>(&value);
    if (d != nullptr && !std::isfinite(*d)) {
      return absl::InvalidArgumentError(absl::StrCat(TrialName(trial.sweep_id, trial.trial_id),
                                                     ": config parameter '", name,
                                                     "' is not finite (", *d, ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateAttempt(const core::Attempt& attempt) {
  if (attempt.sweep_id.empty()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "attempt %d of trial %d has an empty sweep_id", attempt.attempt, attempt.trial_id));
  }
  const std::string name = absl::StrFormat("attempt %d of %s", attempt.attempt,
                                           TrialName(attempt.sweep_id, attempt.trial_id));
  if (attempt.attempt < 1) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": attempt numbers start at 1"));
  }
  if (attempt.fencing_token > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return absl::InvalidArgumentError(
        absl::StrFormat("%s: fencing token %d is larger than the largest storable one (%d)", name,
                        attempt.fencing_token, std::numeric_limits<int64_t>::max()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateBatch(const WriteBatch& batch) {
  for (const core::ComputeTarget& compute : batch.computes) {
    if (compute.name.empty()) return absl::InvalidArgumentError("compute with an empty name");
  }
  for (const std::string& name : batch.deleted_computes) {
    if (name.empty()) return absl::InvalidArgumentError("deleted compute with an empty name");
  }
  for (const core::Sweep& sweep : batch.sweeps) {
    if (sweep.id.empty()) return absl::InvalidArgumentError("sweep with an empty id");
  }
  for (const core::Trial& trial : batch.trials) {
    if (absl::Status status = ValidateTrial(trial); !status.ok()) return status;
  }
  for (const core::Attempt& attempt : batch.attempts) {
    if (absl::Status status = ValidateAttempt(attempt); !status.ok()) return status;
  }
  for (const core::MetricPoint& metric : batch.metrics) {
    if (metric.sweep_id.empty()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "metric '%s' of trial %d has an empty sweep_id", metric.name, metric.trial_id));
    }
    if (metric.name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "metric of ", TrialName(metric.sweep_id, metric.trial_id), " has an empty name"));
    }
  }
  for (const core::Event& event : batch.events) {
    if (event.kind.empty()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "event of sweep '%s' has an empty kind (message: '%s')", event.sweep_id, event.message));
    }
  }
  for (const core::Decision& decision : batch.decisions) {
    if (decision.sweep_id.empty()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("decision at interval %d of trial %d has an empty sweep_id",
                          decision.interval, decision.trial_id));
    }
  }
  for (const core::Node& node : batch.nodes) {
    if (node.node_id.empty()) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "node with an empty node_id (hostname '%s', pid %d)", node.hostname, node.pid));
    }
  }
  std::set<std::pair<std::string, int64_t>> environments;
  for (const core::Environment& e : batch.environments) {
    if (e.name.empty()) return absl::InvalidArgumentError("environment with an empty name");
    if (e.version < 1) {
      return absl::InvalidArgumentError(
          absl::StrFormat("environment '%s': versions start at 1 (got %d)", e.name, e.version));
    }
    if (e.kind != "user_managed" && e.kind != "system_managed") {
      return absl::InvalidArgumentError(absl::StrFormat(
          "environment '%s': kind '%s' is not user_managed or system_managed", e.name, e.kind));
    }
    if (!environments.emplace(e.name, e.version).second) return EnvironmentExists(e);
  }
  std::set<std::pair<std::string, int64_t>> models;
  for (const core::Model& m : batch.models) {
    if (m.name.empty()) return absl::InvalidArgumentError("model with an empty name");
    if (m.version < 1) {
      return absl::InvalidArgumentError(
          absl::StrFormat("model '%s': versions start at 1 (got %d)", m.name, m.version));
    }
    if (!models.emplace(m.name, m.version).second) return ModelExists(m);
  }
  return absl::OkStatus();
}

absl::Status TrialWithoutSweep(const core::Trial& trial) {
  return absl::FailedPreconditionError(absl::StrFormat(
      "trial %d refers to sweep '%s', which does not exist", trial.trial_id, trial.sweep_id));
}

absl::Status AttemptWithoutTrial(const core::Attempt& attempt) {
  return absl::FailedPreconditionError(
      absl::StrFormat("attempt %d refers to %s, which does not exist", attempt.attempt,
                      TrialName(attempt.sweep_id, attempt.trial_id)));
}

absl::Status MetricWithoutTrial(const core::MetricPoint& metric) {
  return absl::FailedPreconditionError(
      absl::StrFormat("metric '%s' refers to %s, which does not exist", metric.name,
                      TrialName(metric.sweep_id, metric.trial_id)));
}

absl::Status DecisionWithoutTrial(const core::Decision& decision) {
  return absl::FailedPreconditionError(
      absl::StrFormat("decision at interval %d refers to %s, which does not exist",
                      decision.interval, TrialName(decision.sweep_id, decision.trial_id)));
}

absl::Status ModelWithoutTrial(const core::Model& model) {
  return absl::FailedPreconditionError(
      absl::StrFormat("model '%s' version %d refers to %s, which does not exist", model.name,
                      model.version, TrialName(model.sweep_id, model.trial_id)));
}

absl::Status EnvironmentExists(const core::Environment& environment) {
  return absl::AlreadyExistsError(absl::StrFormat("environment '%s' version %d already exists",
                                                  environment.name, environment.version));
}

absl::Status ModelExists(const core::Model& model) {
  return absl::AlreadyExistsError(
      absl::StrFormat("model '%s' version %d already exists", model.name, model.version));
}

absl::Status EnvironmentNotFound(const std::string& name, std::optional<int64_t> version) {
  if (!version) return absl::NotFoundError(absl::StrCat("environment '", name, "' not found"));
  return absl::NotFoundError(
      absl::StrFormat("environment '%s' version %d not found", name, *version));
}

absl::Status ModelNotFound(const std::string& name, std::optional<int64_t> version) {
  if (!version) return absl::NotFoundError(absl::StrCat("model '", name, "' not found"));
  return absl::NotFoundError(absl::StrFormat("model '%s' version %d not found", name, *version));
}

absl::Status ComputeNotFound(const std::string& name) {
  return absl::NotFoundError(absl::StrCat("compute '", name, "' not found"));
}

absl::Status SweepNotFound(const std::string& id) {
  return absl::NotFoundError(absl::StrCat("sweep '", id, "' not found"));
}

absl::Status TrialNotFound(const std::string& sweep_id, int64_t trial_id) {
  return absl::NotFoundError(absl::StrCat(TrialName(sweep_id, trial_id), " not found"));
}

absl::Status ValidateMetricFilter(const MetricFilter& filter) {
  if (filter.sweep_id.empty()) {
    return absl::InvalidArgumentError("ListMetrics: the filter needs a sweep_id");
  }
  return absl::OkStatus();
}

}  // namespace sweep::store::internal

#include "controller/analysis.h"

#include <algorithm>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "policies/early_termination.h"
#include "spec/early_termination.h"
#include "spec/spec.h"

namespace sweep::controller {
namespace {

// The first line of a status message (spec errors list one error per line).
std::string FirstLine(const absl::Status& status) {
  const std::string message(status.message());
  return message.substr(0, message.find('\n'));
}

// The spec the sweep was submitted with, parsed again (relative paths resolve against
// the spec file's directory, as when it was submitted).
absl::StatusOr<spec::SweepSpec> ParseStoredSpec(const core::Sweep& sweep) {
  std::string base_dir = ".";
  if (!sweep.spec_path.empty()) {
    base_dir = std::filesystem::path(sweep.spec_path).parent_path().string();
  }
  return spec::ParseSpec(sweep.spec_yaml, sweep.spec_path, base_dir);
}

}  // namespace

absl::StatusOr<policies::ReplayReport> ReplaySweep(store::Store* store, const std::string& sweep_id,
                                                   const core::EarlyTermination& settings) {
  RETURN_IF_ERROR(spec::ValidateEarlyTermination(settings));
  ASSIGN_OR_RETURN(core::Sweep sweep, store->GetSweep(sweep_id));
  if (!core::IsTerminal(sweep.state)) {
    return absl::FailedPreconditionError(
        absl::StrCat("sweep '", sweep_id,
                     "' is still running; replay needs a finished sweep (wait for it "
                     "or cancel it)"));
  }
  if (sweep.objective.primary_metric.empty()) {
    // Recorded before sweeps carried their objective: read it back from the spec.
    absl::StatusOr<spec::SweepSpec> parsed = ParseStoredSpec(sweep);
    if (!parsed.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("sweep '", sweep_id,
                       "' records no primary metric, and its spec could not "
                       "be read back: ",
                       FirstLine(parsed.status())));
    }
    sweep.objective = parsed->objective;
  }
  ASSIGN_OR_RETURN(std::vector<core::Trial> trials, store->ListTrials(sweep_id));
  store::MetricFilter filter;
  filter.sweep_id = sweep_id;
  filter.name = sweep.objective.primary_metric;
  ASSIGN_OR_RETURN(std::vector<core::MetricPoint> points, store->ListMetrics(filter));

  ASSIGN_OR_RETURN(std::vector<core::Attempt> attempts,
                   store->ListAttempts(sweep_id, std::nullopt));
  std::vector<policies::ReplayEvent> events =
      policies::RecordedReplayEvents(trials, std::move(points), attempts);
  ASSIGN_OR_RETURN(policies::ReplayReport report,
                   policies::ReplayEvents(events, settings, sweep.objective));
  report.sweep_id = sweep_id;
  return report;
}

absl::StatusOr<policies::ExplainReport> ExplainTrial(store::Store* store,
                                                     const std::string& sweep_id,
                                                     int64_t trial_id) {
  ASSIGN_OR_RETURN(core::Sweep sweep, store->GetSweep(sweep_id));
  ASSIGN_OR_RETURN(core::Trial trial, store->GetTrial(sweep_id, trial_id));
  ASSIGN_OR_RETURN(std::vector<core::Decision> decisions, store->ListDecisions(sweep_id, trial_id));
  // The policy, read back from the spec the sweep was submitted with.
  absl::StatusOr<core::EarlyTermination> policy = core::EarlyTermination{};
  absl::StatusOr<spec::SweepSpec> parsed = ParseStoredSpec(sweep);
  if (parsed.ok()) {
    policy = parsed->early_termination;
  } else {
    policy = absl::InvalidArgumentError(FirstLine(parsed.status()));
  }
  policies::ExplainReport report = policies::ExplainDecisions(trial, std::move(decisions), policy);
  report.sweep_id = sweep_id;
  return report;
}

}  // namespace sweep::controller

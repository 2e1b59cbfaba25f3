#include "cli/policy_commands.h"

#include <iostream>

#include "CLI/CLI.hpp"
#include "controller/analysis.h"
#include "policies/early_termination.h"
#include "policies/replay.h"
#include "spec/early_termination.h"
#include "spec/spec.h"

namespace sweep::cli {
namespace {

absl::StatusOr<core::EarlyTermination> SettingsFrom(const ReplayArgs& args) {
  core::EarlyTermination settings;
  bool known = false;
  std::string names;
  for (core::PolicyType type :
       {core::PolicyType::kNone, core::PolicyType::kBandit, core::PolicyType::kMedianStopping,
        core::PolicyType::kTruncationSelection, core::PolicyType::kAsha}) {
    names += std::string(names.empty() ? "" : ", ") + core::PolicyTypeName(type);
    if (args.policy == core::PolicyTypeName(type)) {
      settings.type = type;
      known = true;
    }
  }
  if (!known) {
    return absl::InvalidArgumentError("unknown policy '" + args.policy + "' (one of: " + names +
                                      ")");
  }
  settings.slack_factor = args.slack_factor;
  settings.slack_amount = args.slack_amount;
  if (args.evaluation_interval) settings.evaluation_interval = *args.evaluation_interval;
  if (args.delay_evaluation) settings.delay_evaluation = *args.delay_evaluation;
  if (args.truncation_percentage) settings.truncation_percentage = *args.truncation_percentage;
  settings.exclude_finished_jobs = args.exclude_finished_jobs;
  if (args.reduction_factor) settings.reduction_factor = *args.reduction_factor;
  if (args.min_interval) settings.min_interval = *args.min_interval;
  if (args.max_interval) settings.max_interval = *args.max_interval;
  if (absl::Status s = spec::ValidateEarlyTermination(settings); !s.ok()) return s;
  return settings;
}

}  // namespace

void AddReplayOptions(CLI::App* cmd, ReplayArgs& args) {
  cmd->add_option("sweep", args.sweep_id, "A finished sweep's id (or a unique prefix)")->required();
  cmd->add_option("--policy", args.policy,
                  "bandit, median_stopping, truncation_selection, asha or none")
      ->required();
  cmd->add_option("--slack-factor", args.slack_factor, "bandit: relative slack");
  cmd->add_option("--slack-amount", args.slack_amount, "bandit: absolute slack");
  cmd->add_option("--evaluation-interval", args.evaluation_interval,
                  "Evaluate every N intervals (default 1)");
  cmd->add_option("--delay-evaluation", args.delay_evaluation,
                  "First interval evaluated (default 0)");
  cmd->add_option("--truncation-percentage", args.truncation_percentage,
                  "truncation_selection: percent of trials cut at each evaluation (1-99)");
  cmd->add_flag("--exclude-finished-jobs", args.exclude_finished_jobs,
                "truncation_selection: rank only trials still running");
  cmd->add_option("--reduction-factor", args.reduction_factor, "asha: keep 1/R at each rung");
  cmd->add_option("--min-interval", args.min_interval, "asha: first rung");
  cmd->add_option("--max-interval", args.max_interval, "asha: last interval");
}

int CmdExplain(const GlobalOptions& options, const std::string& sweep_id, int64_t trial_id) {
  auto ws = OpenForQuery(options);
  if (!ws.ok()) return ReportError(ws.status());
  auto sweep = ResolveSweep((*ws)->store(), sweep_id);
  if (!sweep.ok()) return ReportError(sweep.status());
  auto report = controller::ExplainTrial((*ws)->store(), sweep->id, trial_id);
  if (!report.ok()) return ReportError(report.status());
  if (options.json) {
    std::cout << policies::ExplainReportToJson(*report).dump(2) << "\n";
  } else {
    std::cout << policies::FormatExplainReport(*report);
  }
  return kExitOk;
}

int CmdReplay(const GlobalOptions& options, const ReplayArgs& args) {
  auto settings = SettingsFrom(args);
  if (!settings.ok()) return ReportError(settings.status());
  auto ws = OpenForQuery(options);
  if (!ws.ok()) return ReportError(ws.status());
  auto sweep = ResolveSweep((*ws)->store(), args.sweep_id);
  if (!sweep.ok()) return ReportError(sweep.status());
  auto report = controller::ReplaySweep((*ws)->store(), sweep->id, *settings);
  if (!report.ok()) return ReportError(report.status());
  if (options.json) {
    std::cout << policies::ReplayReportToJson(*report).dump(2) << "\n";
  } else {
    std::cout << policies::FormatReplayReport(*report);
  }
  return kExitOk;
}

}  // namespace sweep::cli

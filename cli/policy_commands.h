// `sweep explain` and `sweep replay`: early-termination decisions, past and what-if.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cli/cli11_fwd.h"
#include "cli/context.h"

namespace sweep::cli {

struct ReplayArgs {
  std::string sweep_id;
  std::string policy;
  std::optional<double> slack_factor, slack_amount, reduction_factor;
  std::optional<int64_t> evaluation_interval, delay_evaluation, truncation_percentage, min_interval,
      max_interval;
  bool exclude_finished_jobs = false;
};

void AddReplayOptions(CLI::App* cmd, ReplayArgs& args);

int CmdExplain(const GlobalOptions& options, const std::string& sweep_id, int64_t trial_id);
int CmdReplay(const GlobalOptions& options, const ReplayArgs& args);

}  // namespace sweep::cli

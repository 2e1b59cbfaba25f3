// `sweep explain` and `sweep replay`: early-termination decisions, past and what-if.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cli/context.h"

// Forward-declared: the files that only use the argument structs below then skip CLI11,
// whose header-only code costs each file that includes it seconds of compile time.
namespace CLI {
class App;
}  // namespace CLI

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

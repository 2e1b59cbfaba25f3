// Read-only commands over a workspace: ls, show, trials, best, metrics.
// They open the store read-only, so they work while a controller is running.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cli/context.h"

namespace sweep::cli {

int CmdLs(const GlobalOptions& options);
int CmdShow(const GlobalOptions& options, const std::string& sweep_id);

struct TrialsArgs {
  std::string sweep_id;
  std::string sort_metric;  // "" = by trial id
  bool ascending = false;   // for non-primary metrics; the primary sorts best first
  std::string state;        // filter; "" = all
  int64_t top = 0;          // 0 = all
};
int CmdTrials(const GlobalOptions& options, const TrialsArgs& args);

int CmdBest(const GlobalOptions& options, const std::string& sweep_id);

int CmdMetrics(const GlobalOptions& options, const std::string& sweep_id, int64_t trial_id,
               const std::string& name);

}  // namespace sweep::cli

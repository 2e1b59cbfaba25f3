// `sweep report` and `sweep plot`: a sweep's HTML report and single SVG plots, from the
// workspace or, with --server, from a `sweep server` (report/ draws them).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "cli/context.h"
#include "report/report_data.h"

namespace sweep::cli {

struct ReportArgs {
  std::string sweep_id;
  std::string out;  // "" = <sweep id>.html; "-" = stdout
};
// Writes the report (atomically: a reader never sees half a file). Exit 0, 1 when the
// store or the file fails, 2 for a bad sweep id.
int CmdReport(const GlobalOptions& options, const ReportArgs& args);

struct PlotArgs {
  std::string sweep_id;
  std::string kind;  // convergence | parallel | curves | importance
  std::string out;   // "" = <sweep id>-<kind>.svg; "-" = stdout
};
int CmdPlot(const GlobalOptions& options, const PlotArgs& args);

// Everything report/ draws, read from `store`: the sweep, its trials, its search space
// (parsed from the stored spec; nullopt when that fails) and the primary-metric curve of
// each trial's latest attempt.
absl::StatusOr<report::ReportInput> LoadReportInput(store::Store* store,
                                                    const std::string& id_or_prefix);

}  // namespace sweep::cli

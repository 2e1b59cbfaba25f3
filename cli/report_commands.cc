#include "cli/report_commands.h"

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>

#include "cli/output.h"
#include "core/files.h"
#include "core/status.h"
#include "report/html_report.h"
#include "report/plots.h"
#include "spec/spec.h"

namespace sweep::cli {
namespace {

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Writes `content` to `out` ("-" = stdout) and says what was written.
int WriteOutput(const GlobalOptions& options, const std::string& out, const std::string& content,
                const std::string& what, const core::Sweep& sweep) {
  if (out == "-") {
    std::cout << content;
    return kExitOk;
  }
  std::error_code ec;
  std::filesystem::path path = std::filesystem::absolute(out, ec);
  if (std::filesystem::is_directory(path, ec)) {
    return ReportError(absl::InvalidArgumentError("--out " + out + " is a directory; name a file"));
  }
  if (!std::filesystem::is_directory(path.parent_path(), ec)) {
    return ReportError(absl::InvalidArgumentError("--out " + out + ": directory " +
                                                  path.parent_path().string() + " does not exist"));
  }
  if (absl::Status s = core::WriteFileAtomically(path.string(), content); !s.ok()) {
    return ReportError(s);
  }
  if (options.json) {
    std::cout << nlohmann::json{{"sweep_id", sweep.id},
                                {"path", path.string()},
                                {"bytes", content.size()},
                                {"what", what}}
                     .dump(2)
              << "\n";
  } else {
    std::cout << "wrote " << what << " of " << sweep.id << " to " << out << " ("
              << (content.size() + 1023) / 1024 << " KiB)\n";
  }
  return kExitOk;
}

}  // namespace

absl::StatusOr<report::ReportInput> LoadReportInput(store::Store* store,
                                                    const std::string& id_or_prefix) {
  report::ReportInput in;
  ASSIGN_OR_RETURN(in.sweep, ResolveSweep(store, id_or_prefix));
  ASSIGN_OR_RETURN(in.trials, store->ListTrials(in.sweep.id));
  const std::string base_dir =
      in.sweep.spec_path.empty() ? "."
                                 : std::filesystem::path(in.sweep.spec_path).parent_path().string();
  // The layout of each parameter comes from the space; a spec that no longer parses here
  // (its code directory moved, say) leaves the values to decide.
  if (auto spec = spec::ParseSpec(in.sweep.spec_yaml, in.sweep.spec_path, base_dir); spec.ok()) {
    in.space = spec->search_space;
  }
  ASSIGN_OR_RETURN(std::vector<core::Attempt> attempts, store->ListAttempts(in.sweep.id, {}));
  std::map<int64_t, int32_t> latest;  // trial -> its latest attempt
  for (const core::Attempt& a : attempts)
    latest[a.trial_id] = std::max(latest[a.trial_id], a.attempt);
  store::MetricFilter filter;
  filter.sweep_id = in.sweep.id;
  filter.name = in.sweep.objective.primary_metric;
  ASSIGN_OR_RETURN(std::vector<core::MetricPoint> points, store->ListMetrics(filter));
  for (const core::MetricPoint& p : points) {
    if (p.interval <= 0) continue;
    auto it = latest.find(p.trial_id);
    if (it != latest.end() && p.attempt != it->second) continue;
    in.curves[p.trial_id].push_back({p.interval, p.value});
  }
  in.generated_ms = NowMillis();
  return in;
}

int CmdReport(const GlobalOptions& options, const ReportArgs& args) {
  auto source = OpenForQuery(options);
  if (!source.ok()) return ReportError(source.status());
  auto input = LoadReportInput((*source)->store(), args.sweep_id);
  if (!input.ok()) return ReportError(input.status());
  std::string out = args.out.empty() ? input->sweep.id + ".html" : args.out;
  return WriteOutput(options, out, report::HtmlReport(*input), "the report", input->sweep);
}

int CmdPlot(const GlobalOptions& options, const PlotArgs& args) {
  std::optional<report::PlotKind> kind = report::ParsePlotKind(args.kind);
  if (!kind) {
    return ReportError(absl::InvalidArgumentError(
        "--kind '" + args.kind + "' is not a plot: convergence, parallel, curves or importance"));
  }
  auto source = OpenForQuery(options);
  if (!source.ok()) return ReportError(source.status());
  auto input = LoadReportInput((*source)->store(), args.sweep_id);
  if (!input.ok()) return ReportError(input.status());
  std::string out = args.out.empty() ? input->sweep.id + "-" + args.kind + ".svg" : args.out;
  return WriteOutput(options, out, report::StandalonePlot(*input, *kind),
                     "the " + args.kind + " plot", input->sweep);
}

}  // namespace sweep::cli

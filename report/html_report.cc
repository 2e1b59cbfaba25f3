#include "report/html_report.h"

#include <cmath>
#include <cstdio>
#include <ctime>

#include "core/objective.h"
#include "core/time_format.h"
#include "report/html_style.h"
#include "report/importance.h"
#include "report/plots.h"
#include "report/svg.h"

namespace sweep::report {
namespace {

std::string Esc(const std::string& text) { return XmlEscape(text); }

// A parameter's value as the report shows it: a nested choice's option by its label
// ("svm"), not its index; everything else as stored.
std::string DisplayValue(const std::vector<ParamAxis>& axes, const core::Config& config,
                         const std::string& name) {
  auto it = config.find(name);
  if (it == config.end()) return "";
  for (const ParamAxis& a : axes) {
    if (a.name != name || a.kind != AxisKind::kCategorical) continue;
    if (std::optional<double> index = AxisValue(a, config)) {
      return a.categories[static_cast<size_t>(*index)];
    }
  }
  return core::ParamValueToString(it->second);
}

std::string Card(const std::string& key, const std::string& value) {
  return "<div class=\"card\"><div class=\"k\">" + Esc(key) + "</div><div class=\"v\">" +
         Esc(value) + "</div></div>";
}

std::string Header(const ReportInput& input) {
  const core::Sweep& s = input.sweep;
  std::string state = core::SweepStateName(s.state);
  std::string out = "<header><h1>" + Esc(s.name.empty() ? s.id : s.name) +
                    " <span class=\"badge state-" + state + "\">" + state + "</span></h1>";
  out += "<p class=\"sub\">sweep " + Esc(s.id) + " · " + Esc(s.sampling_algorithm) +
         " sampling on " + Esc(s.compute) + " · " + core::GoalName(s.objective.goal) + " " +
         Esc(s.objective.primary_metric) + "</p>";
  out += "<p class=\"sub\">started " + Esc(FormatUtc(s.created_ms));
  if (s.ended_ms) {
    out += ", ended " + Esc(FormatUtc(s.ended_ms)) + " (after " +
           FormatElapsed(s.ended_ms - s.created_ms) + ")";
  }
  out += "</p>";
  if (!s.status_message.empty()) out += "<p class=\"sub\">" + Esc(s.status_message) + "</p>";
  return out + "</header>";
}

std::string Summary(const ReportInput& input, const std::vector<ParamAxis>& axes) {
  core::TrialCounts c = core::CountTrials(input.trials);
  std::string out = "<div class=\"cards\">";
  out += Card("trials",
              std::to_string(c.total) + " of " + std::to_string(input.sweep.max_total_trials));
  out += Card("completed", std::to_string(c.completed));
  out += Card("early terminated", std::to_string(c.early_terminated));
  out += Card("failed", std::to_string(c.failed));
  if (c.running + c.pending > 0) {
    out += Card("running / pending", std::to_string(c.running) + " / " + std::to_string(c.pending));
  }
  if (c.canceled > 0) out += Card("canceled", std::to_string(c.canceled));
  out += "</div>";

  std::optional<core::Trial> best = core::BestTrial(input.sweep, input.trials, true);
  const std::string& metric = input.sweep.objective.primary_metric;
  if (!best) {
    return out + "<div class=\"best\"><h2>Best trial</h2><p>no trial completed with a value of " +
           Esc(metric) + " yet</p></div>";
  }
  out += "<div class=\"best\"><h2>Best trial: " + std::to_string(best->trial_id) + "</h2><dl>";
  out += "<dt>" + Esc(metric) + "</dt><dd>" + Esc(core::ParamValueToString(*best->final_value)) +
         "</dd>";
  for (const auto& [name, value] : best->config) {
    out += "<dt>" + Esc(name) + "</dt><dd>" + Esc(DisplayValue(axes, best->config, name)) + "</dd>";
  }
  if (best->started_ms && best->ended_ms) {
    out += "<dt>duration</dt><dd>" + FormatElapsed(best->ended_ms - best->started_ms) + "</dd>";
  }
  out += "<dt>intervals</dt><dd>" + std::to_string(best->intervals) + "</dd>";
  return out + "</dl></div>";
}

std::string Section(const std::string& id, const std::string& title, const std::string& note,
                    const std::string& body) {
  return "<section id=\"" + id + "\"><h2>" + Esc(title) + "</h2>" +
         (note.empty() ? "" : "<p class=\"note\">" + Esc(note) + "</p>") + body + "</section>";
}

std::string Figure(const std::string& svg, const std::string& css = "") {
  return "<figure" + (css.empty() ? "" : " class=\"" + css + "\"") + ">" + svg + "</figure>";
}

std::string TrialsTable(const ReportInput& input, const std::vector<ParamAxis>& axes) {
  std::optional<core::Trial> best = core::BestTrial(input.sweep, input.trials, true);
  std::string out =
      "<div class=\"table-wrap\"><table><thead><tr><th>trial</th><th>state</th>"
      "<th>" +
      Esc(input.sweep.objective.primary_metric) + "</th><th>intervals</th><th>duration</th>";
  for (const ParamAxis& a : axes) out += "<th>" + Esc(a.name) + "</th>";
  out += "<th>reason</th></tr></thead><tbody>";
  for (const core::Trial& t : input.trials) {
    bool is_best = best && best->trial_id == t.trial_id;
    out += is_best ? "<tr class=\"best-row\">" : "<tr>";
    out += "<td class=\"num\">" + std::to_string(t.trial_id) + "</td><td>" +
           core::TrialStateName(t.state) + "</td><td class=\"num\">" +
           (t.final_value ? Esc(core::ParamValueToString(*t.final_value)) : "") + "</td>";
    out += "<td class=\"num\">" + std::to_string(t.intervals) + "</td><td class=\"num\">" +
           (t.started_ms && t.ended_ms ? FormatElapsed(t.ended_ms - t.started_ms) : "") + "</td>";
    for (const ParamAxis& a : axes) {
      out += t.config.contains(a.name)
                 ? "<td>" + Esc(DisplayValue(axes, t.config, a.name)) + "</td>"
                 : "<td class=\"inactive\">inactive</td>";
    }
    out += "<td class=\"reason\">" + Esc(t.reason) + "</td></tr>";
  }
  return out + "</tbody></table></div>";
}

std::string Scatters(const ReportInput& input, const std::vector<ParamAxis>& axes) {
  if (axes.empty()) return "<p class=\"note\">the sweep has no parameters</p>";
  std::string out = "<div class=\"scatters\">";
  for (const ParamAxis& a : axes) out += Figure(ScatterPlot(input, a));
  return out + "</div>";
}

}  // namespace

std::string FormatUtc(int64_t ms) {
  return core::FormatEpochMs(ms, "%Y-%m-%d %H:%M:%S UTC", core::TimeZone::kUtc);
}

std::string FormatElapsed(int64_t ms) {
  if (ms < 0) return "-";
  char buf[32];
  if (ms < 60'000) {
    std::snprintf(buf, sizeof buf, "%.1fs", ms / 1000.0);
  } else if (ms < 3'600'000) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(ms / 60'000),
                  static_cast<long long>(ms / 1000 % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(ms / 3'600'000),
                  static_cast<long long>(ms / 60'000 % 60));
  }
  return buf;
}

std::string HtmlReport(const ReportInput& input) {
  const std::vector<ParamAxis> axes = BuildParamAxes(input);
  const ImportanceResult importance = ComputeImportance(input, axes);
  const std::string& metric = input.sweep.objective.primary_metric;
  const core::Sweep& s = input.sweep;
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>" +
      Esc((s.name.empty() ? s.id : s.name) + " · sweep report") + "</title><style>" +
      internal::kReportCss + "</style></head><body>";
  html += Header(input) + Summary(input, axes);
  html += Section("convergence", "Convergence",
                  "Every trial's " + metric +
                      " by trial number; the line is the best so far "
                      "among completed trials.",
                  Figure(ConvergencePlot(input)));
  html += Section("parallel", "Parameters and " + metric,
                  "Parallel coordinates: one line per trial, darker is better, the best trial "
                  "in amber. Trials without a parameter (nested choices) pass through its "
                  "'inactive' slot.",
                  Figure(ParallelPlot(input, axes), "wide"));
  html += Section("importance", "Parameter importance",
                  DescribeMethod(importance) +
                      ": how differently each parameter is distributed among the best trials "
                      "than among all completed trials (Watanabe et al., 2023).",
                  Figure(ImportancePlot(importance)));
  html += Section("scatter", metric + " against each parameter",
                  "One point per trial with a value; log-scaled parameters on log axes.",
                  Scatters(input, axes));
  html += Section("curves", "Learning curves",
                  "Each trial's reports of " + metric +
                      " by interval (its latest attempt); a cross marks where an early-"
                      "termination policy stopped a trial.",
                  Figure(CurvesPlot(input)));
  html += Section("trials", "Trials", "", TrialsTable(input, axes));
  html += "<footer>Generated by sweep report";
  if (input.generated_ms) html += " on " + Esc(FormatUtc(input.generated_ms));
  html += ". Self-contained: no scripts, nothing loaded from the network.</footer>";
  return html + "</body></html>\n";
}

}  // namespace sweep::report

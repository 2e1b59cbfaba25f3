// Plots over trials: convergence, learning curves, importance (report/plots.h).
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "core/objective.h"
#include "report/plot_util.h"
#include "report/plots.h"

namespace sweep::report {
namespace {

using internal::DrawLegend;
using internal::LegendItem;

constexpr double kNoValueStrip = 22;  // height of the convergence plot's "no value" strip

std::string MarkClass(const core::Trial& t, const char* extra = "") {
  return std::string("mark ") + core::TrialStateName(t.state) + extra;
}

// Legend entries for the trial states present in `trials`.
std::vector<LegendItem> StateLegend(const std::vector<core::Trial>& trials) {
  std::set<core::TrialState> present;
  for (const core::Trial& t : trials) present.insert(t.state);
  std::vector<LegendItem> items;
  for (core::TrialState s : present) items.push_back({StateColor(s), core::TrialStateName(s)});
  return items;
}

// The best-so-far step line of completed trials, in trial order.
std::string BestSoFarPath(const ReportInput& input, const Frame& frame, const Scale& x,
                          const Scale& y) {
  std::string d;
  std::optional<double> best;
  for (const core::Trial& t : input.trials) {
    if (t.state != core::TrialState::kCompleted || !t.final_value ||
        !std::isfinite(*t.final_value)) {
      continue;
    }
    if (!core::Improves(input.sweep.objective.goal, *t.final_value, best)) continue;
    best = *t.final_value;
    double px = frame.X(x.Position(static_cast<double>(t.trial_id)));
    double py = frame.Y(y.Position(*best));
    // Hold the previous best until this trial, then step to the new one.
    d += d.empty() ? "M" + Num(px) + " " + Num(py) : "H" + Num(px) + "V" + Num(py);
  }
  // Up to the last trial: the best so far is still the best there.
  if (!d.empty()) {
    d += "H" + Num(frame.X(x.Position(static_cast<double>(input.trials.back().trial_id))));
  }
  return d;
}

}  // namespace

std::string ConvergencePlot(const ReportInput& input, PlotSize size) {
  SvgBuilder svg(size.width, size.height, "Convergence: " + internal::MetricTitle(input),
                 "convergence");
  const bool any_without = std::any_of(
      input.trials.begin(), input.trials.end(),
      [](const core::Trial& t) { return !t.final_value || !std::isfinite(*t.final_value); });
  const double strip = any_without ? kNoValueStrip : 0;
  Frame frame{72, 28, size.width - 92, size.height - 28 - 48 - strip};
  std::vector<double> values;
  for (const core::Trial* t : TrialsWithValue(input)) values.push_back(*t->final_value);
  Scale y = internal::MetricScale(values);
  double last_id = input.trials.empty() ? 1 : static_cast<double>(input.trials.back().trial_id);
  // Room on both sides, so no mark sits on the frame.
  Scale x = Scale::Linear(0, last_id + 1, 8, /*integer=*/true);
  Frame x_axis_frame = frame;
  x_axis_frame.height += strip;
  DrawYAxis(svg, frame, y, internal::MetricTitle(input));
  DrawXAxis(svg, x_axis_frame, x, "trial number");
  if (input.trials.empty()) {
    DrawEmptyNote(svg, frame, "no trials yet");
    return svg.Finish();
  }
  if (any_without) {
    svg.Text(frame.left + 4, frame.bottom() + strip - 7, "no value",
             {{"fill", kMutedInk}, {"font-size", "10"}});
  }
  const std::optional<core::Trial> best =
      core::BestTrial(input.sweep, input.trials, /*completed_only=*/true);
  svg.Open("g", {{"class", "marks"}});
  for (const core::Trial& t : input.trials) {
    double px = frame.X(x.Position(static_cast<double>(t.trial_id)));
    std::string tooltip = TrialTooltip(t, input.sweep.objective.primary_metric);
    if (!t.final_value || !std::isfinite(*t.final_value)) {
      svg.Add("circle",
              {{"class", MarkClass(t, " no-value")},
               {"data-trial", std::to_string(t.trial_id)},
               {"cx", Num(px)},
               {"cy", Num(frame.bottom() + strip / 2 + 2)},
               {"r", "3.5"},
               {"fill", "white"},
               {"stroke", StateColor(t.state)},
               {"stroke-width", "1.5"}},
              tooltip);
      continue;
    }
    bool is_best = best && best->trial_id == t.trial_id;
    Attrs attrs = {{"class", MarkClass(t, is_best ? " best" : "")},
                   {"data-trial", std::to_string(t.trial_id)},
                   {"cx", Num(px)},
                   {"cy", Num(frame.Y(y.Position(*t.final_value)))},
                   {"r", is_best ? "5.5" : "3.5"},
                   {"fill", StateColor(t.state)},
                   {"fill-opacity", "0.8"}};
    if (is_best) attrs.insert(attrs.end(), {{"stroke", kAccent}, {"stroke-width", "2.5"}});
    svg.Add("circle", attrs, tooltip);
  }
  svg.Close();
  std::string path = BestSoFarPath(input, frame, x, y);
  if (!path.empty()) {
    svg.Add("path", {{"class", "best-line"},
                     {"d", path},
                     {"fill", "none"},
                     {"stroke", kAccent},
                     {"stroke-width", "2"}});
  }
  std::vector<LegendItem> legend = StateLegend(input.trials);
  legend.push_back({kAccent, "best so far", /*line=*/true});
  DrawLegend(svg, frame.left, 16, legend);
  return svg.Finish();
}

std::string CurvesPlot(const ReportInput& input, PlotSize size) {
  SvgBuilder svg(size.width, size.height, "Learning curves: " + internal::MetricTitle(input),
                 "curves");
  Frame frame{72, 28, size.width - 92, size.height - 28 - 48};
  std::vector<double> values;
  int64_t max_interval = 1;
  for (const auto& [id, curve] : input.curves) {
    for (const CurvePoint& p : curve) {
      if (!std::isfinite(p.value)) continue;
      values.push_back(p.value);
      max_interval = std::max(max_interval, p.interval);
    }
  }
  Scale y = internal::MetricScale(values);
  Scale x = Scale::Linear(1, static_cast<double>(max_interval), 8, /*integer=*/true);
  DrawYAxis(svg, frame, y, internal::MetricTitle(input));
  DrawXAxis(svg, frame, x, "interval (report of " + input.sweep.objective.primary_metric + ")");
  if (values.empty()) {
    DrawEmptyNote(svg, frame, "no trial reported " + input.sweep.objective.primary_metric + " yet");
    return svg.Finish();
  }
  const std::optional<core::Trial> best =
      core::BestTrial(input.sweep, input.trials, /*completed_only=*/true);
  // The best trial last, so it is drawn on top.
  std::vector<const core::Trial*> order;
  for (const core::Trial& t : input.trials) order.push_back(&t);
  std::stable_partition(order.begin(), order.end(), [&](const core::Trial* t) {
    return !best || t->trial_id != best->trial_id;
  });
  svg.Open("g", {{"class", "marks"}});
  for (const core::Trial* t : order) {
    auto it = input.curves.find(t->trial_id);
    if (it == input.curves.end()) continue;
    std::string d;
    double last_x = 0, last_y = 0;
    for (const CurvePoint& p : it->second) {
      if (!std::isfinite(p.value)) continue;
      last_x = frame.X(x.Position(static_cast<double>(p.interval)));
      last_y = frame.Y(y.Position(p.value));
      d += (d.empty() ? "M" : "L") + Num(last_x) + " " + Num(last_y);
    }
    if (d.empty()) continue;
    bool is_best = best && best->trial_id == t->trial_id;
    std::string color = is_best ? kAccent : StateColor(t->state);
    if (d.find('L') == std::string::npos) d += "h0.01";  // one point: a dot with round caps
    svg.Add("path",
            {{"class", MarkClass(*t, is_best ? " best" : "")},
             {"data-trial", std::to_string(t->trial_id)},
             {"d", d},
             {"fill", "none"},
             {"stroke", color},
             {"stroke-width", is_best ? "2.5" : "1.5"},
             {"stroke-opacity", is_best ? "1" : "0.6"},
             {"stroke-linecap", "round"}},
            TrialTooltip(*t, input.sweep.objective.primary_metric));
    if (t->state == core::TrialState::kEarlyTerminated) {
      internal::DrawCross(svg, last_x, last_y, 4, StateColor(t->state),
                          {{"class", "stop-mark"}, {"data-trial", std::to_string(t->trial_id)}});
    }
  }
  svg.Close();
  std::vector<LegendItem> legend = StateLegend(input.trials);
  for (LegendItem& item : legend) item.line = true;
  if (std::any_of(input.trials.begin(), input.trials.end(), [](const core::Trial& t) {
        return t.state == core::TrialState::kEarlyTerminated;
      })) {
    legend.push_back({StateColor(core::TrialState::kEarlyTerminated), "stopped here", false, true});
  }
  if (best) legend.push_back({kAccent, "best trial", true});
  DrawLegend(svg, frame.left, 16, legend);
  return svg.Finish();
}

std::string ImportancePlot(const ImportanceResult& importance, PlotSize size) {
  const double row = 26;
  // As tall as its bars need (size.height is ignored).
  size.height =
      importance.params.empty() ? 140 : 64 + row * static_cast<double>(importance.params.size());
  SvgBuilder svg(size.width, size.height, "Parameter importance: " + DescribeMethod(importance),
                 "importance");
  Frame frame{150, 16, size.width - 150 - 60, size.height - 16 - 44};
  Scale x = Scale::Linear(0, 100, 6);
  DrawXAxis(svg, frame, x, "share of importance, % (" + DescribeMethod(importance) + ")");
  if (importance.params.empty()) {
    DrawEmptyNote(svg, frame, "importance not computed: " + importance.note);
    return svg.Finish();
  }
  svg.Open("g", {{"class", "axis y"}});
  for (size_t i = 0; i < importance.params.size(); ++i) {
    svg.Text(frame.left - 8, frame.top + row * (static_cast<double>(i) + 0.5) + 4,
             Shorten(importance.params[i].name, 22), {{"text-anchor", "end"}});
  }
  svg.Close();
  svg.Open("g", {{"class", "marks"}});
  for (size_t i = 0; i < importance.params.size(); ++i) {
    const ParamImportance& p = importance.params[i];
    double top = frame.top + row * static_cast<double>(i) + 4;
    double width = frame.width * x.Position(p.share * 100);
    svg.Add("rect",
            {{"class", "mark bar"},
             {"data-param", p.name},
             {"x", Num(frame.left)},
             {"y", Num(top)},
             {"width", Num(std::max(width, 1.0))},
             {"height", Num(row - 8)},
             {"fill", RampColor(0.35 + 0.65 * p.share)}},
            p.name + ": " + FormatShort(p.share * 100) + "%");
    svg.Text(frame.left + width + 6, top + row / 2, FormatShort(p.share * 100) + "%",
             {{"fill", kMutedInk}});
  }
  svg.Close();
  return svg.Finish();
}

std::optional<PlotKind> ParsePlotKind(const std::string& name) {
  for (PlotKind k :
       {PlotKind::kConvergence, PlotKind::kParallel, PlotKind::kCurves, PlotKind::kImportance}) {
    if (name == PlotKindName(k)) return k;
  }
  return std::nullopt;
}

const char* PlotKindName(PlotKind kind) {
  switch (kind) {
    case PlotKind::kConvergence:
      return "convergence";
    case PlotKind::kParallel:
      return "parallel";
    case PlotKind::kCurves:
      return "curves";
    case PlotKind::kImportance:
      break;
  }
  return "importance";
}

std::string StandalonePlot(const ReportInput& input, PlotKind kind) {
  std::string svg;
  switch (kind) {
    case PlotKind::kConvergence:
      svg = ConvergencePlot(input);
      break;
    case PlotKind::kParallel:
      svg = ParallelPlot(input, BuildParamAxes(input));
      break;
    case PlotKind::kCurves:
      svg = CurvesPlot(input);
      break;
    case PlotKind::kImportance: {
      std::vector<ParamAxis> axes = BuildParamAxes(input);
      svg = ImportancePlot(ComputeImportance(input, axes));
      break;
    }
  }
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + svg + "\n";
}

}  // namespace sweep::report

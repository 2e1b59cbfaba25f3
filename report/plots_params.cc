// Plots over parameters: parallel coordinates and per-parameter scatter (report/plots.h).
#include <algorithm>
#include <cmath>

#include "core/objective.h"
#include "report/plot_util.h"
#include "report/plots.h"

namespace sweep::report {
namespace {

constexpr double kInactiveGap = 24;   // from an axis's end to its "inactive" slot
constexpr double kInactiveBand = 60;  // width of a scatter plot's "inactive" column

// One vertical axis of the parallel plot: its scale and where trials land on it.
struct VerticalAxis {
  std::string title;
  Scale scale;
  bool has_missing_slot = false;  // "inactive" (parameters) or "no value" (the metric)
  std::string missing_label;
  std::string css;  // "axis param" / "axis metric"
};

void DrawVerticalAxis(SvgBuilder& svg, const Frame& frame, double x, const VerticalAxis& axis,
                      double max_label_chars) {
  svg.Open("g", {{"class", axis.css}, {"data-name", axis.title}});
  svg.Add("line", {{"x1", Num(x)},
                   {"y1", Num(frame.top)},
                   {"x2", Num(x)},
                   {"y2", Num(frame.bottom())},
                   {"stroke", kMutedInk}});
  size_t n = axis.scale.ticks().size();
  size_t stride = axis.scale.is_categorical()
                      ? std::max<size_t>(1, static_cast<size_t>(std::ceil(n * 14 / frame.height)))
                      : 1;
  for (size_t i = 0; i < n; i += stride) {
    const Tick& tick = axis.scale.ticks()[i];
    double y = frame.Y(axis.scale.Position(tick.value));
    if (y < frame.top - 0.5 || y > frame.bottom() + 0.5) continue;
    svg.Open("g", {{"class", "tick"}});
    svg.Add("line", {{"x1", Num(x - 4)},
                     {"y1", Num(y)},
                     {"x2", Num(x)},
                     {"y2", Num(y)},
                     {"stroke", kMutedInk}});
    // A white halo keeps labels readable over the lines crossing them.
    svg.Text(x - 6, y + 3.5, Shorten(tick.label, 10),
             {{"text-anchor", "end"},
              {"font-size", "10"},
              {"fill", kMutedInk},
              {"stroke", "white"},
              {"stroke-width", "3"},
              {"paint-order", "stroke"}});
    svg.Close();
  }
  if (axis.has_missing_slot) {
    double y = frame.bottom() + kInactiveGap;
    svg.Add("circle", {{"class", "missing-slot"},
                       {"cx", Num(x)},
                       {"cy", Num(y)},
                       {"r", "2.5"},
                       {"fill", kInactive}});
    svg.Text(x - 6, y + 3.5, axis.missing_label,
             {{"text-anchor", "end"},
              {"font-size", "10"},
              {"fill", kInactive},
              {"font-style", "italic"}});
  }
  svg.Text(x, frame.top - 12, Shorten(axis.title, static_cast<size_t>(max_label_chars)),
           {{"text-anchor", "middle"}, {"font-size", "12"}, {"class", "axis-title"}});
  svg.Close();
}

}  // namespace

std::string ParallelPlot(const ReportInput& input, const std::vector<ParamAxis>& axes,
                         PlotSize size) {
  SvgBuilder svg(size.width, size.height,
                 "Parallel coordinates: parameters and " + internal::MetricTitle(input),
                 "parallel");
  Frame frame{64, 40, size.width - 64 - 56, size.height - 40 - 44};
  if (axes.empty()) {
    DrawEmptyNote(svg, frame, "the sweep has no parameters");
    return svg.Finish();
  }
  std::vector<double> values;
  bool any_without_value = false;
  for (const core::Trial& t : input.trials) {
    if (t.final_value && std::isfinite(*t.final_value)) {
      values.push_back(*t.final_value);
    } else {
      any_without_value = true;
    }
  }
  std::vector<VerticalAxis> vertical;
  for (const ParamAxis& a : axes) {
    std::string title = a.name + (a.kind == AxisKind::kLog ? " (log)" : "");
    vertical.push_back({title, internal::ParamScale(a), a.conditional, "inactive", "axis param"});
  }
  vertical.push_back({input.sweep.objective.primary_metric, internal::MetricScale(values),
                      any_without_value, "no value", "axis metric"});
  const double spacing = frame.width / static_cast<double>(vertical.size() - 1);
  auto axis_x = [&](size_t i) { return frame.left + spacing * static_cast<double>(i); };
  // Axes go over the lines, so their labels stay readable.
  auto draw_axes = [&] {
    for (size_t i = 0; i < vertical.size(); ++i) {
      DrawVerticalAxis(svg, frame, axis_x(i), vertical[i], std::max(6.0, spacing / 6.5));
    }
  };
  if (input.trials.empty()) {
    draw_axes();
    DrawEmptyNote(svg, frame, "no trials yet");
    return svg.Finish();
  }

  // Lines without a value first, then from the worst to the best value, the best last.
  internal::ValueRamp ramp(input.sweep.objective.goal, values);
  const std::optional<core::Trial> best =
      core::BestTrial(input.sweep, input.trials, /*completed_only=*/true);
  auto rank = [&](const core::Trial& t) {
    if (best && t.trial_id == best->trial_id) return 3.0;
    if (!t.final_value || !std::isfinite(*t.final_value)) return -1.0;
    return ramp(*t.final_value);
  };
  std::vector<const core::Trial*> order;
  for (const core::Trial& t : input.trials) order.push_back(&t);
  std::stable_sort(order.begin(), order.end(),
                   [&](const core::Trial* a, const core::Trial* b) { return rank(*a) < rank(*b); });
  const double missing_y = frame.bottom() + kInactiveGap;
  svg.Open("g", {{"class", "marks"}});
  for (const core::Trial* t : order) {
    std::string points;
    for (size_t i = 0; i < axes.size(); ++i) {
      std::optional<double> v = AxisValue(axes[i], t->config);
      double y = v ? frame.Y(vertical[i].scale.Position(*v)) : missing_y;
      points += Num(axis_x(i)) + "," + Num(y) + " ";
    }
    bool has_value = t->final_value && std::isfinite(*t->final_value);
    double metric_y =
        has_value ? frame.Y(vertical.back().scale.Position(*t->final_value)) : missing_y;
    points += Num(axis_x(axes.size())) + "," + Num(metric_y);
    bool is_best = best && best->trial_id == t->trial_id;
    std::string color = is_best     ? kAccent
                        : has_value ? RampColor(ramp(*t->final_value))
                                    : kInactive;
    svg.Add("polyline",
            {{"class",
              std::string("mark ") + core::TrialStateName(t->state) + (is_best ? " best" : "")},
             {"data-trial", std::to_string(t->trial_id)},
             {"points", points},
             {"fill", "none"},
             {"stroke", color},
             {"stroke-width", is_best ? "3" : "1.5"},
             {"stroke-opacity", has_value ? "0.85" : "0.5"}},
            TrialTooltip(*t, input.sweep.objective.primary_metric));
  }
  svg.Close();
  draw_axes();
  return svg.Finish();
}

std::string ScatterPlot(const ReportInput& input, const ParamAxis& axis, PlotSize size) {
  const std::string& metric = input.sweep.objective.primary_metric;
  SvgBuilder svg(size.width, size.height, metric + " against " + axis.name, "scatter");
  const double band = axis.conditional ? kInactiveBand : 0;
  Frame frame{64, 26, size.width - 64 - 14 - band, size.height - 26 - 46};
  std::vector<const core::Trial*> trials = TrialsWithValue(input);
  std::vector<double> values;
  for (const core::Trial* t : trials) values.push_back(*t->final_value);
  Scale y = internal::MetricScale(values);
  Scale x = internal::ParamScale(axis);
  svg.Text(frame.left, 14, axis.name,
           {{"font-size", "12"}, {"font-weight", "600"}, {"class", "plot-title"}});
  std::string kind_note = axis.spec_kind.empty() ? "" : axis.spec_kind;
  if (axis.conditional) kind_note += kind_note.empty() ? "conditional" : ", conditional";
  if (!kind_note.empty()) {
    svg.Text(frame.right() + band, 14, kind_note,
             {{"text-anchor", "end"}, {"font-size", "10"}, {"fill", kMutedInk}});
  }
  DrawYAxis(svg, frame, y, metric);
  DrawXAxis(svg, frame, x, axis.name + (axis.kind == AxisKind::kLog ? " (log scale)" : ""));
  const double band_x = frame.right() + 16 + (band - 18) / 2;
  if (axis.conditional) {
    svg.Open("g", {{"class", "inactive-band"}});
    svg.Add("rect", {{"x", Num(frame.right() + 16)},
                     {"y", Num(frame.top)},
                     {"width", Num(band - 18)},
                     {"height", Num(frame.height)},
                     {"fill", "#f3f4f6"}});
    svg.Text(band_x, frame.bottom() + 17, "inactive",
             {{"text-anchor", "middle"}, {"fill", kInactive}, {"font-style", "italic"}});
    svg.Close();
  }
  if (trials.empty()) {
    DrawEmptyNote(svg, frame, "no trial has a value yet");
    return svg.Finish();
  }
  const double category_width = x.is_categorical() ? frame.width / (x.hi() - x.lo()) : 0;
  svg.Open("g", {{"class", "marks"}});
  for (const core::Trial* t : trials) {
    std::optional<double> v = AxisValue(axis, t->config);
    double jitter = internal::Jitter(t->trial_id);
    double px = !v ? band_x + jitter * (band / 2 - 16)
                   : frame.X(x.Position(*v)) + jitter * category_width * 0.2;
    svg.Add(
        "circle",
        {{"class", std::string("mark ") + core::TrialStateName(t->state) + (v ? "" : " inactive")},
         {"data-trial", std::to_string(t->trial_id)},
         {"cx", Num(px)},
         {"cy", Num(frame.Y(y.Position(*t->final_value)))},
         {"r", "3.5"},
         {"fill", v ? StateColor(t->state) : kInactive},
         {"fill-opacity", "0.8"}},
        TrialTooltip(*t, metric));
  }
  svg.Close();
  return svg.Finish();
}

}  // namespace sweep::report

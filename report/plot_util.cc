#include "report/plot_util.h"

#include <algorithm>
#include <cmath>

namespace sweep::report::internal {
namespace {

std::pair<double, double> FiniteRange(const std::vector<double>& values) {
  double lo = INFINITY, hi = -INFINITY;
  for (double v : values) {
    if (!std::isfinite(v)) continue;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  return {lo, hi};
}

}  // namespace

Scale MetricScale(const std::vector<double>& values) {
  auto [lo, hi] = FiniteRange(values);
  if (!(lo <= hi)) return Scale::Linear(0, 1);
  if (lo > 0 && hi / lo >= 1000) return Scale::Log(lo, hi);
  return Scale::Linear(lo, hi);
}

ValueRamp::ValueRamp(core::Goal goal, const std::vector<double>& values) : goal_(goal) {
  std::tie(lo_, hi_) = FiniteRange(values);
}

double ValueRamp::operator()(double value) const {
  if (!(hi_ > lo_)) return 1;
  double t = (value - lo_) / (hi_ - lo_);
  return goal_ == core::Goal::kMaximize ? t : 1 - t;
}

std::string MetricTitle(const ReportInput& input) {
  return input.sweep.objective.primary_metric + " (" + core::GoalName(input.sweep.objective.goal) +
         ")";
}

Scale ParamScale(const ParamAxis& axis, int max_ticks) {
  switch (axis.kind) {
    case AxisKind::kCategorical:
      return Scale::Categorical(axis.categories);
    case AxisKind::kLog:
      return Scale::Log(axis.min, axis.max);
    case AxisKind::kLinear:
      break;
  }
  bool integer = axis.spec_kind == "randint";
  return Scale::Linear(axis.min, axis.max, max_ticks, integer);
}

void DrawLegend(SvgBuilder& svg, double x, double y, const std::vector<LegendItem>& items) {
  svg.Open("g", {{"class", "legend"}});
  for (const LegendItem& item : items) {
    if (item.line) {
      svg.Add("line", {{"x1", Num(x)},
                       {"y1", Num(y - 4)},
                       {"x2", Num(x + 14)},
                       {"y2", Num(y - 4)},
                       {"stroke", item.color},
                       {"stroke-width", "2"}});
    } else if (item.cross) {
      DrawCross(svg, x + 7, y - 4, 4, item.color, {});
    } else {
      svg.Add("circle", {{"cx", Num(x + 7)}, {"cy", Num(y - 4)}, {"r", "4"}, {"fill", item.color}});
    }
    svg.Text(x + 18, y, item.label, {{"fill", kMutedInk}});
    x += 28 + 6.2 * static_cast<double>(item.label.size());
  }
  svg.Close();
}

void DrawCross(SvgBuilder& svg, double x, double y, double r, const std::string& color,
               const Attrs& extra) {
  Attrs attrs = {
      {"d", "M" + Num(x - r) + " " + Num(y - r) + "L" + Num(x + r) + " " + Num(y + r) + "M" +
                Num(x - r) + " " + Num(y + r) + "L" + Num(x + r) + " " + Num(y - r)},
      {"stroke", color},
      {"stroke-width", "2"},
      {"fill", "none"}};
  attrs.insert(attrs.end(), extra.begin(), extra.end());
  svg.Add("path", attrs);
}

double Jitter(int64_t id) {
  // A fixed hash (splitmix64), so the same sweep always draws the same picture.
  uint64_t z = static_cast<uint64_t>(id) + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return static_cast<double>(z % 2001) / 1000.0 - 1.0;
}

}  // namespace sweep::report::internal

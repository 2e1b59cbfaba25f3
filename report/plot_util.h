// Helpers the plot builders share (report/plots_*.cc); not part of report/'s interface.
#pragma once

#include <string>
#include <vector>

#include "report/report_data.h"
#include "report/scale.h"
#include "report/svg.h"

namespace sweep::report::internal {

// The primary metric's scale over `values` (non-finite ones ignored): log when all are
// positive and span >= 3 decades, else linear.
Scale MetricScale(const std::vector<double>& values);

// Maps a metric value to [0, 1], 1 being the best of `values` under `goal`.
class ValueRamp {
 public:
  ValueRamp(core::Goal goal, const std::vector<double>& values);
  double operator()(double value) const;

 private:
  core::Goal goal_;
  double lo_ = 0, hi_ = 0;
};

// "accuracy (maximize)".
std::string MetricTitle(const ReportInput& input);

// The scale of a parameter axis (linear, log or categorical).
Scale ParamScale(const ParamAxis& axis, int max_ticks = 5);

// A small legend: coloured dots (or a line, `line`) and labels from (x, y) rightwards.
struct LegendItem {
  std::string color;
  std::string label;
  bool line = false;
  bool cross = false;
};
void DrawLegend(SvgBuilder& svg, double x, double y, const std::vector<LegendItem>& items);

// An "×" centred at (x, y).
void DrawCross(SvgBuilder& svg, double x, double y, double r, const std::string& color,
               const Attrs& extra);

// A small deterministic offset in [-1, 1] for trial `id`, to spread points that share a
// category.
double Jitter(int64_t id);

}  // namespace sweep::report::internal

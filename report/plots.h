// The plots of a sweep, each a self-contained inline SVG (report/svg.h).
//
// Every plot has axes with ticks, tick labels and titles, and one mark per trial it
// shows (`class="mark ..."`, `data-trial="N"`, a tooltip with the trial's state, value
// and parameters). The primary metric always grows upwards; it gets a log axis when
// every value is positive and they span three decades or more. Log-scaled parameters
// (loguniform, lognormal and their q-forms) get log axes, choices categorical ones.
// A parameter that some trials do not have (nested choices) gets an "inactive" slot
// where those trials are drawn.
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "report/importance.h"
#include "report/report_data.h"

namespace sweep::report {

struct PlotSize {
  double width = 880;
  double height = 380;
};

// The primary metric of every trial against its trial number (trials without a value
// in a "no value" strip under the axis), and the best so far among completed trials
// as a step line. One mark per trial.
std::string ConvergencePlot(const ReportInput& input, PlotSize size = {});

// Parallel coordinates: one vertical axis per parameter and the primary metric last; one
// line per trial, coloured from light (worst) to dark (best), the best trial
// highlighted. Trials without a value run to the metric axis's "no value" slot.
std::string ParallelPlot(const ReportInput& input, const std::vector<ParamAxis>& axes,
                         PlotSize size = {900, 380});

// The primary metric against one parameter, one mark per trial with a value.
std::string ScatterPlot(const ReportInput& input, const ParamAxis& axis,
                        PlotSize size = {360, 260});

// Learning curves: the primary metric against the interval, one line per trial with a
// report; early-terminated trials end in a cross where they were stopped.
std::string CurvesPlot(const ReportInput& input, PlotSize size = {});

// Parameter importance as horizontal bars (shares in percent), one mark per parameter,
// with the method named under the chart.
std::string ImportancePlot(const ImportanceResult& importance, PlotSize size = {720, 0});

enum class PlotKind { kConvergence, kParallel, kCurves, kImportance };
// "convergence", "parallel", "curves", "importance".
std::optional<PlotKind> ParsePlotKind(const std::string& name);
const char* PlotKindName(PlotKind kind);

// One plot of the sweep, as `sweep plot --kind` writes it: a standalone SVG document
// (an XML declaration, then the <svg>).
std::string StandalonePlot(const ReportInput& input, PlotKind kind);

}  // namespace sweep::report

// What a report or a plot is drawn from, and how each parameter is laid out on an axis.
//
// The CLI reads a sweep from a store into a ReportInput; everything in report/ is a pure
// function of it (no I/O, no clock), so the same input always yields the same bytes.
//
// Thread safety: plain value types and pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/search_space.h"
#include "core/types.h"

namespace sweep::report {

// One report of the primary metric by a trial's current attempt.
struct CurvePoint {
  int64_t interval = 0;  // 1, 2, ...
  double value = 0;      // may be non-finite (such points are not drawn)
};

struct ReportInput {
  core::Sweep sweep;
  std::vector<core::Trial> trials;  // by trial id
  // The sweep's search space, parsed from its stored spec; nullopt when that failed, and
  // then each parameter's layout is inferred from the values the trials have.
  std::optional<core::SearchSpace> space;
  // Primary-metric reports of each trial's latest attempt, by interval.
  std::map<int64_t, std::vector<CurvePoint>> curves;
  int64_t generated_ms = 0;  // shown in the report's footer; 0 leaves it out
};

enum class AxisKind { kLinear, kLog, kCategorical };

// How one parameter is drawn: its kind of axis, its numeric range or its categories,
// and whether some trials do not have it (a parameter of a nested choice option that
// was not chosen is "inactive" in that trial).
struct ParamAxis {
  std::string name;
  AxisKind kind = AxisKind::kLinear;
  double min = 0, max = 0;                 // kLinear / kLog: the values' range (log: > 0)
  std::vector<std::string> categories;     // kCategorical: labels in search-space order
  std::vector<std::string> category_keys;  // the config value of each category, as text
  bool conditional = false;                // some trial lacks it (shown as "inactive")
  std::string spec_kind;                   // "loguniform", "choice", ... ("" when inferred)
};

// The axes of every parameter that appears in the space or in a trial, in search-space
// order (nested entries after their choice), then parameters only trials have, by name.
// A parameter of several nested options (e.g. `C` of two estimators) gets one axis
// spanning all of them. Log kinds get a log axis when every value is > 0; choice,
// string and bool values get categories. A nested choice's options are labelled by their
// constant entries ("svm"), else "option N".
std::vector<ParamAxis> BuildParamAxes(const ReportInput& input);

// Where a trial's value of `axis` lies: a category index (kCategorical) or the number;
// nullopt when the parameter is inactive in the trial or its value does not fit the axis.
std::optional<double> AxisValue(const ParamAxis& axis, const core::Config& config);

// Trials with a finite final value, in trial order.
std::vector<const core::Trial*> TrialsWithValue(const ReportInput& input);

}  // namespace sweep::report

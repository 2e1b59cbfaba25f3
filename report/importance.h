// Parameter importance by PED-ANOVA (Watanabe, Bansal and Hutter, "PED-ANOVA: Efficiently
// Quantifying Hyperparameter Importance in Arbitrary Subspaces", IJCAI 2023).
//
// PED-ANOVA asks how differently a parameter is distributed among the best trials than
// among all trials. For each parameter d it estimates, one dimension at a time, the
// density p_top of d's values in the top-gamma trials (the best `target_quantile` share,
// at least 2) and the density p_all over all trials, and scores
//     importance_d = gamma^2 * integral (p_top(x) / p_all(x) - 1)^2 p_all(x) dx,
// the Pearson divergence the paper shows equals the share of variance of the "is it a
// top trial" indicator that d explains (a closed form; no surrogate model is trained).
// Scores are reported as shares summing to 1.
//
// Here: numeric parameters are rescaled to [0, 1] (log axes in log space) and smoothed
// by a Gaussian kernel density with Scott's bandwidth (at least 0.05) on a grid, with a
// uniform prior worth one trial; categories get counts plus that prior. A parameter
// that is inactive in some trials (a nested choice option not taken) has an extra
// "inactive" outcome, so choosing the branch at all counts as part of its effect.
// Only completed trials with a finite value are used.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/types.h"
#include "report/report_data.h"

namespace sweep::report {

struct ImportanceOptions {
  double target_quantile = 0.1;  // gamma: the share of trials that counts as "top"
  int grid_points = 64;          // integration grid for numeric parameters
  int min_trials = 4;            // fewer completed trials with a value: no result
};

struct ParamImportance {
  std::string name;
  double share = 0;  // in [0, 1]; the shares sum to 1 (unless all are 0)
};

struct ImportanceResult {
  std::vector<ParamImportance> params;  // most important first; ties by axis order
  int64_t trials_used = 0;              // completed trials with a finite value
  int64_t top_trials = 0;               // how many of them formed the top set
  // Why there is no result ("needs at least 4 completed trials with a value, has 2"),
  // or "" when params holds one.
  std::string note;
};

// One trial's coordinates: AxisValue for each axis (nullopt = inactive) and its value.
struct Observation {
  std::vector<std::optional<double>> x;
  double y = 0;
};

// PED-ANOVA over observations whose x follow `axes`. The top set is the best
// max(2, ceil(target_quantile * n)) observations under `goal`.
ImportanceResult PedAnova(const std::vector<ParamAxis>& axes,
                          const std::vector<Observation>& observations, core::Goal goal,
                          const ImportanceOptions& options = {});

// The importance of the sweep's parameters from its completed trials.
ImportanceResult ComputeImportance(const ReportInput& input, const std::vector<ParamAxis>& axes,
                                   const ImportanceOptions& options = {});

// "PED-ANOVA (top 2 of 12 completed trials)".
std::string DescribeMethod(const ImportanceResult& result);

}  // namespace sweep::report

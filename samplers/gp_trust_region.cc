#include "samplers/gp_trust_region.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sweep::samplers {

TrustRegionState ReplayTrustRegion(const std::vector<double>& y, int design, int dims,
                                   const TrustRegionOptions& options) {
  const int failure_tolerance =
      options.failure_tolerance > 0 ? options.failure_tolerance : std::max(4, dims);
  const int n = static_cast<int>(y.size());
  TrustRegionState state;
  state.length = options.initial;
  const int start = std::clamp(design, 1, std::max(1, n));
  double best = std::numeric_limits<double>::infinity();
  for (int i = 0; i < std::min(start, n); ++i) {
    if (y[i] < best) {
      best = y[i];
      state.center = i;
    }
  }
  int successes = 0, failures = 0;
  for (int i = start; i < n; ++i) {
    if (state.center < 0) {  // first trial after a restart: the new region's best
      best = y[i];
      state.center = i;
      continue;
    }
    if (y[i] < best - 1e-3 * std::abs(best)) {
      ++successes;
      failures = 0;
    } else {
      ++failures;
      successes = 0;
    }
    if (y[i] < best) {
      best = y[i];
      state.center = i;
    }
    if (successes == options.success_tolerance) {
      state.length = std::min(2 * state.length, options.max);
      successes = 0;
    } else if (failures == failure_tolerance) {
      state.length /= 2;
      failures = 0;
    }
    if (state.length < options.min) {
      state.length = options.initial;
      state.center = -1;
      best = std::numeric_limits<double>::infinity();
      ++state.restarts;
    }
  }
  return state;
}

Box TrustRegionBox(const EncodedSpace& space, const Eigen::VectorXd& center,
                   const Eigen::VectorXd& log_lengthscales, double length) {
  const int dims = space.dims;
  const std::vector<EncodedDim>& info = space.encoding.dim_info();
  Box box{Eigen::VectorXd::Zero(dims), Eigen::VectorXd::Ones(dims)};
  double mean_log = 0;
  int continuous = 0;
  for (int j = 0; j < dims; ++j) {
    if (IsDiscrete(info[j].type)) continue;
    mean_log += log_lengthscales[j];
    ++continuous;
  }
  if (continuous == 0) return box;
  mean_log /= continuous;
  for (int j = 0; j < dims; ++j) {
    if (IsDiscrete(info[j].type)) continue;
    const double half = 0.5 * length * std::exp(log_lengthscales[j] - mean_log);
    box.lo[j] = std::max(0.0, center[j] - half);
    box.hi[j] = std::min(1.0, center[j] + half);
  }
  return box;
}

}  // namespace sweep::samplers

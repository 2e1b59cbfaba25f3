// TuRBO-style local trust region for the GP sampler (Eriksson et al. 2019, "Scalable
// Global Optimization via Local Bayesian Optimization"), as a pure function of the
// history: the region's state is replayed from the finished values in trial order on
// every call, so the sampler keeps no hidden state across calls and the same history
// and seed give the same suggestion.
//
// Replay: after the initial design the region is centred on the best value so far,
// with side length `initial` (unit cube, before the per-dimension weights). Each later
// finished value is a success when it improves the region's best by more than 1e-3 of
// its magnitude, else a failure. `success_tolerance` successes in a row double the
// length (at most `max`), `failure_tolerance` failures in a row halve it; below `min`
// the region restarts: length `initial`, no centre until the next finished trial, which
// becomes the new region's best (the global model keeps every observation; only the
// region forgets). The centre is always the best value seen since the last restart.
//
// Thread safety: pure functions.
#pragma once

#include <Eigen/Dense>
#include <vector>

#include "samplers/gp_optimizer.h"

namespace sweep::samplers {

struct TrustRegionOptions {
  double initial = 0.8;
  double min = 0.8 / 32;  // five halvings
  double max = 1.6;
  int success_tolerance = 3;
  int failure_tolerance = 0;  // 0: max(4, dims)
};

struct TrustRegionState {
  double length = 0;
  int center = -1;  // index into the replayed values; -1: just restarted, no centre
  int restarts = 0;
};

// `y`: finished values (minimisation) in trial order; the first `design` are the
// initial design.
TrustRegionState ReplayTrustRegion(const std::vector<double>& y, int design, int dims,
                                   const TrustRegionOptions& options = {});

// The region's box around `center` (a point of the unit cube): side length * w_j per
// continuous dim, w_j = l_j / geometric mean of l (the GP's length scales, so the box
// is longer where the objective varies slowly), clamped to the cube; discrete dims keep
// [0, 1] (their levels are few, and one-hot groups cannot be boxed).
Box TrustRegionBox(const EncodedSpace& space, const Eigen::VectorXd& center,
                   const Eigen::VectorXd& log_lengthscales, double length);

}  // namespace sweep::samplers

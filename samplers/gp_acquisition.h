// Expected improvement in log form (LogEI; Ament et al. 2023, "Unexpected Improvements
// to Expected Improvement for Bayesian Optimization").
//
// For minimisation with f ~ N(mean, sigma^2) and incumbent `best`:
//   EI = E[max(best - f, 0)] = sigma * h(z),  z = (best - mean) / sigma,
//   h(z) = phi(z) + z Phi(z).
// Naive EI underflows to 0 once z < about -38, which leaves an optimiser with a flat
// landscape far from the data. log h(z) is computed without underflow or cancellation:
//   z > -6:  log(phi(z) + z Phi(z)) directly (Boost.Math's normal distribution);
//            cancellation costs at most ~2 digits there.
//   z <= -6: h(z) = phi(z) * c / (t + c), t = -z, where c = 1/(t + 2/(t + 3/(t + ...)))
//            is the tail of Laplace's continued fraction for the Mills ratio
//            (1 - Phi(t)) / phi(t) = 1 / (t + c). Boost.Math has no scaled erfc (erfcx),
//            which the paper uses; the continued fraction gives the same quantity and
//            converges in a few dozen terms for t >= 6.
//
// PendingPenalizedLogEi adds, per in-flight point p, log(1 - exp(-|x - p|^2 / (2 r^2)))
// (r = kPendingRadius, unit-cube distance), on top of the kriging believer: a confident
// model would otherwise put the next point right next to an in-flight one, where the
// believer's EI is tiny but still the largest.
//
// Thread safety: pure functions; PendingPenalizedLogEi is immutable.
#pragma once

#include <Eigen/Dense>

#include "samplers/gp_model.h"

namespace sweep::samplers {

// log h(z); if dlogh_dz is non-null it receives d log h / dz = Phi(z) / h(z) (> 0).
double LogH(double z, double* dlogh_dz = nullptr);

// log EI for minimisation. sigma must be > 0 (callers clamp it). The optional outputs
// receive the partial derivatives of log EI with respect to mean and sigma.
double LogExpectedImprovement(double mean, double sigma, double best, double* d_mean = nullptr,
                              double* d_sigma = nullptr);

constexpr double kPendingRadius = 0.02;

// log EI under `model` (not owned, must outlive this) with incumbent `best`, penalised
// around the rows of `pending`.
struct PendingPenalizedLogEi {
  const GpModel* model;
  double best;
  Eigen::MatrixXd pending;  // rows: in-flight points
  double radius = kPendingRadius;

  Eigen::VectorXd ScoreRows(const Eigen::MatrixXd& xs) const;
  // The same at x, with its gradient.
  double ScoreWithGradient(const Eigen::VectorXd& x, Eigen::VectorXd* grad) const;
};

}  // namespace sweep::samplers

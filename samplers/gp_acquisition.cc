#include "samplers/gp_acquisition.h"

#include <algorithm>
#include <boost/math/distributions/normal.hpp>
#include <cmath>

namespace sweep::samplers {
namespace {

constexpr double kTailStart = -6.0;
constexpr double kHalfLog2Pi = 0.91893853320467274178;  // log(2 pi) / 2
constexpr int kContinuedFractionTerms = 60;

// c(t) = 1/(t + 2/(t + 3/(t + ...))), evaluated backwards from a fixed depth; for
// t >= 6 the truncation error is far below double precision at 60 terms.
double MillsTail(double t) {
  double acc = t;
  for (int k = kContinuedFractionTerms; k >= 2; --k) acc = t + k / acc;
  return 1.0 / acc;
}

double Penalty(double s) { return std::log(-std::expm1(-std::max(s, 1e-300))); }

}  // namespace

double LogH(double z, double* dlogh_dz) {
  if (z > kTailStart) {
    static const boost::math::normal_distribution<double> kStd(0.0, 1.0);
    const double pdf = boost::math::pdf(kStd, z);
    const double cdf = boost::math::cdf(kStd, z);
    const double h = pdf + z * cdf;
    if (dlogh_dz != nullptr) *dlogh_dz = cdf / h;
    return std::log(h);
  }
  const double t = -z;
  const double c = MillsTail(t);
  // log phi(z) + log(c / (t + c)); Phi(z)/h(z) = (phi/(t+c)) / (phi c/(t+c)) = 1/c.
  if (dlogh_dz != nullptr) *dlogh_dz = 1.0 / c;
  return -0.5 * z * z - kHalfLog2Pi + std::log(c) - std::log(t + c);
}

double LogExpectedImprovement(double mean, double sigma, double best, double* d_mean,
                              double* d_sigma) {
  const double z = (best - mean) / sigma;
  double g = 0;
  const double value = LogH(z, &g) + std::log(sigma);
  // dz/dmean = -1/sigma, dz/dsigma = -z/sigma.
  if (d_mean != nullptr) *d_mean = -g / sigma;
  if (d_sigma != nullptr) *d_sigma = (1.0 - z * g) / sigma;
  return value;
}

Eigen::VectorXd PendingPenalizedLogEi::ScoreRows(const Eigen::MatrixXd& xs) const {
  Eigen::VectorXd mean, var;
  model->Predict(xs, &mean, &var);
  Eigen::VectorXd out(xs.rows());
  for (Eigen::Index i = 0; i < xs.rows(); ++i) {
    const double sigma = std::sqrt(var[i]);
    out[i] = LogExpectedImprovement(mean[i], sigma, best);
    for (Eigen::Index k = 0; k < pending.rows(); ++k) {
      const double s = (xs.row(i) - pending.row(k)).squaredNorm() / (2 * radius * radius);
      out[i] += Penalty(s);
    }
  }
  return out;
}

double PendingPenalizedLogEi::ScoreWithGradient(const Eigen::VectorXd& x,
                                                Eigen::VectorXd* grad) const {
  double mean, var;
  Eigen::VectorXd d_mean, d_var;
  model->PredictWithGradient(x, &mean, &var, &d_mean, &d_var);
  const double sigma = std::sqrt(var);
  double g_mean = 0, g_sigma = 0;
  double value = LogExpectedImprovement(mean, sigma, best, &g_mean, &g_sigma);
  *grad = g_mean * d_mean + (g_sigma / (2.0 * sigma)) * d_var;
  for (Eigen::Index k = 0; k < pending.rows(); ++k) {
    const Eigen::VectorXd diff = x - pending.row(k).transpose();
    const double s = diff.squaredNorm() / (2 * radius * radius);
    value += Penalty(s);
    // d/dx log(1 - e^-s) = (ds/dx) / (e^s - 1), ds/dx = diff / r^2.
    *grad += diff / (radius * radius * std::expm1(std::max(s, 1e-300)));
  }
  return value;
}

}  // namespace sweep::samplers

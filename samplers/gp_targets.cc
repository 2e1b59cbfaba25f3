#include "samplers/gp_targets.h"

#include <algorithm>
#include <boost/math/tools/minima.hpp>
#include <cmath>
#include <numeric>

namespace sweep::samplers {

std::vector<int> SelectSubset(const std::vector<double>& y, int cap) {
  const int n = static_cast<int>(y.size());
  std::vector<int> all(n);
  std::iota(all.begin(), all.end(), 0);
  if (n <= cap) return all;
  std::vector<char> chosen(n, 0);
  std::vector<int> by_value = all;
  std::stable_sort(by_value.begin(), by_value.end(), [&](int a, int b) { return y[a] < y[b]; });
  int taken = 0;
  for (int i = 0; i < cap / 3; ++i, ++taken) chosen[by_value[i]] = 1;
  for (int i = n - 1, k = 0; i >= 0 && k < cap / 3; --i) {
    if (!chosen[i]) {
      chosen[i] = 1;
      ++k;
      ++taken;
    }
  }
  std::vector<int> rest;
  for (int i = 0; i < n; ++i)
    if (!chosen[i]) rest.push_back(i);
  const int need = cap - taken;
  for (int j = 0; j < need && !rest.empty(); ++j) {
    chosen[rest[static_cast<size_t>(j) * rest.size() / need]] = 1;
  }
  std::vector<int> out;
  for (int i = 0; i < n; ++i)
    if (chosen[i]) out.push_back(i);
  return out;
}

bool Converged(const std::vector<double>& y, int window, int design, double tolerance) {
  if (static_cast<int>(y.size()) < std::max(2 * window, design + window)) return false;
  std::vector<double> first(y.begin(), y.begin() + design);
  std::nth_element(first.begin(), first.begin() + first.size() / 2, first.end());
  const double typical = first[first.size() / 2];
  const double before = *std::min_element(y.begin(), y.end() - window);
  const double now = *std::min_element(y.begin(), y.end());
  const double depth = typical - now;
  return depth > 0 && before - now < tolerance * depth;
}

double YeoJohnson(double x, double lambda) {
  if (x >= 0) {
    return std::abs(lambda) < 1e-9 ? std::log1p(x) : (std::pow(x + 1, lambda) - 1) / lambda;
  }
  const double l2 = 2 - lambda;
  return std::abs(l2) < 1e-9 ? -std::log1p(-x) : -(std::pow(1 - x, l2) - 1) / l2;
}

double FitYeoJohnson(const std::vector<double>& x, double lo, double hi) {
  double jacobian_base = 0;  // sum sign(x) log1p(|x|)
  for (double v : x) jacobian_base += (v >= 0 ? 1 : -1) * std::log1p(std::abs(v));
  const double n = static_cast<double>(x.size());
  auto negative_profile = [&](double lambda) {
    double sum = 0, sum2 = 0;
    for (double v : x) {
      const double t = YeoJohnson(v, lambda);
      sum += t;
      sum2 += t * t;
    }
    const double var = std::max(sum2 / n - (sum / n) * (sum / n), 1e-300);
    return 0.5 * n * std::log(var) - (lambda - 1) * jacobian_base;
  };
  const auto best = boost::math::tools::brent_find_minima(negative_profile, lo, hi, 20);
  // Prefer the identity within a hair: the fitted value of flat profiles is noise.
  return negative_profile(hi) <= best.second + 1e-9 ? hi : best.first;
}

Eigen::VectorXd TransformTargets(const std::vector<double>& y, std::vector<char>* capped,
                                 bool power) {
  const size_t n = y.size();
  std::vector<double> sorted = y;
  std::sort(sorted.begin(), sorted.end());
  auto quantile = [&](double q) {
    const double pos = q * (n - 1);
    const size_t lo = static_cast<size_t>(std::floor(pos));
    const size_t hi = std::min(n - 1, lo + 1);
    return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
  };
  const double median = quantile(0.5);
  double scale = (quantile(0.75) - quantile(0.25)) / 1.349;
  const double mean0 = std::accumulate(y.begin(), y.end(), 0.0) / n;
  if (!(scale > 0)) {
    double ss = 0;
    for (double v : y) ss += (v - mean0) * (v - mean0);
    scale = std::sqrt(ss / n);
  }
  if (!(scale > 0)) scale = 1.0;
  const double threshold = median + 3.0 * scale;
  Eigen::VectorXd out(n);
  if (capped != nullptr) capped->assign(n, 0);
  for (size_t i = 0; i < n; ++i) {
    if (y[i] <= threshold) {
      out[i] = y[i];
      continue;
    }
    // Capped so that even absurd values (1e300) stay within a few scales of the rest.
    const double excess = std::log1p((y[i] - threshold) / scale);
    out[i] = threshold + scale * std::min(kOutlierCap, excess);
    if (excess >= kOutlierCap && capped != nullptr) (*capped)[i] = 1;
  }
  if (power && n >= 3) {
    // Measured up from the best value, so a log-like warp (lambda -> 0) resolves the
    // region near the optimum at the expense of the bad end.
    const double low = out.minCoeff();
    std::vector<double> z(n);
    for (size_t i = 0; i < n; ++i) z[i] = (out[i] - low) / scale;
    const double lambda = FitYeoJohnson(z, 0.0, 1.0);
    for (size_t i = 0; i < n; ++i) out[i] = YeoJohnson(z[i], lambda);
  }
  const double mean = out.mean();
  double sd = std::sqrt((out.array() - mean).square().mean());
  if (!(sd > 1e-12 * std::max(1.0, std::abs(mean)))) sd = 1.0;
  return (out.array() - mean) / sd;
}

}  // namespace sweep::samplers

#include "samplers/gp_lbfgs.h"

#include <cmath>
#include <deque>
#include <limits>

namespace sweep::samplers {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

Eigen::VectorXd Project(const Eigen::VectorXd& x, const Eigen::VectorXd& lower,
                        const Eigen::VectorXd& upper) {
  return x.cwiseMax(lower).cwiseMin(upper);
}

// Components that may move: not on a bound with the gradient pushing outward.
Eigen::VectorXd FreeMask(const Eigen::VectorXd& x, const Eigen::VectorXd& g,
                         const Eigen::VectorXd& lower, const Eigen::VectorXd& upper) {
  Eigen::VectorXd mask(x.size());
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    const bool at_lower = x[i] <= lower[i] && g[i] > 0;
    const bool at_upper = x[i] >= upper[i] && g[i] < 0;
    mask[i] = (at_lower || at_upper || lower[i] == upper[i]) ? 0.0 : 1.0;
  }
  return mask;
}

struct Pair {
  Eigen::VectorXd s, y;
  double rho;
};

}  // namespace

LbfgsResult MinimizeBoxLbfgs(const ObjectiveWithGradient& f, const Eigen::VectorXd& x0,
                             const Eigen::VectorXd& lower, const Eigen::VectorXd& upper,
                             const LbfgsOptions& options) {
  const Eigen::Index n = x0.size();
  LbfgsResult result;
  Eigen::VectorXd x = Project(x0, lower, upper);
  Eigen::VectorXd g = Eigen::VectorXd::Zero(n);
  auto evaluate = [&](const Eigen::VectorXd& at, Eigen::VectorXd* grad) {
    ++result.evaluations;
    double v = f(at, grad);
    if (!std::isfinite(v) || !grad->allFinite()) return kInf;
    return v;
  };
  double fx = evaluate(x, &g);
  result.x = x;
  result.value = fx;
  if (!std::isfinite(fx) || n == 0) return result;

  std::deque<Pair> memory;
  Eigen::VectorXd g_new(n);
  for (int iter = 0; iter < options.max_iterations; ++iter) {
    result.iterations = iter + 1;
    Eigen::VectorXd mask = FreeMask(x, g, lower, upper);
    Eigen::VectorXd pg = g.cwiseProduct(mask);
    if (pg.lpNorm<Eigen::Infinity>() < options.gradient_tolerance) {
      result.converged = true;
      break;
    }
    // Two-loop recursion on the free components.
    Eigen::VectorXd q = pg;
    std::vector<double> alphas(memory.size());
    for (int i = static_cast<int>(memory.size()) - 1; i >= 0; --i) {
      alphas[i] = memory[i].rho * memory[i].s.dot(q);
      q -= alphas[i] * memory[i].y;
    }
    double gamma = 1.0;
    if (!memory.empty()) {
      const Pair& last = memory.back();
      gamma = last.s.dot(last.y) / last.y.squaredNorm();
    }
    q *= gamma;
    for (size_t i = 0; i < memory.size(); ++i) {
      const double beta = memory[i].rho * memory[i].y.dot(q);
      q += (alphas[i] - beta) * memory[i].s;
    }
    Eigen::VectorXd d = -q.cwiseProduct(mask);
    if (!(d.dot(pg) < 0)) {  // not a descent direction: restart from steepest descent
      memory.clear();
      d = -pg;
    }
    // Without curvature information, keep the first step modest.
    double step =
        memory.empty() ? std::min(1.0, 1.0 / std::max(1e-12, d.lpNorm<Eigen::Infinity>())) : 1.0;
    bool accepted = false;
    Eigen::VectorXd x_new;
    double f_new = kInf;
    for (int ls = 0; ls < options.max_line_search_steps; ++ls) {
      x_new = Project(x + step * d, lower, upper);
      const double decrease = g.dot(x_new - x);
      if ((x_new - x).lpNorm<Eigen::Infinity>() == 0) break;
      f_new = evaluate(x_new, &g_new);
      if (f_new <= fx + 1e-4 * decrease) {
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    if (!accepted) {
      if (!memory.empty()) {  // retry once from steepest descent
        memory.clear();
        continue;
      }
      result.converged = true;  // no progress possible along the gradient
      break;
    }
    Pair p{x_new - x, g_new - g, 0};
    const double sy = p.s.dot(p.y);
    if (sy > 1e-12 * p.s.norm() * p.y.norm() && sy > 0) {
      p.rho = 1.0 / sy;
      memory.push_back(std::move(p));
      if (static_cast<int>(memory.size()) > options.memory) memory.pop_front();
    }
    const double improvement = fx - f_new;
    x = x_new;
    g = g_new;
    fx = f_new;
    if (improvement < options.relative_tolerance * std::max(1.0, std::abs(fx))) {
      result.converged = true;
      break;
    }
  }
  result.x = x;
  result.value = fx;
  return result;
}

}  // namespace sweep::samplers

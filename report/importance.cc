#include "report/importance.h"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <numeric>

namespace sweep::report {
namespace {

constexpr double kMinBandwidth = 0.05;
constexpr double kEpsilon = 1e-12;  // keeps every probability positive

// A parameter's values over a set of trials: active ones (in [0, 1], or category
// indices) and how many were inactive.
struct Sample {
  std::vector<double> active;
  int64_t inactive = 0;
  int64_t size() const { return static_cast<int64_t>(active.size()) + inactive; }
};

// Probabilities of the grid points (or categories) of the active part, summing to 1.
Eigen::VectorXd ActiveDistribution(const Sample& s, bool categorical, int cells) {
  Eigen::VectorXd p = Eigen::VectorXd::Constant(cells, 1.0 / cells);  // the prior trial
  const int m = static_cast<int>(s.active.size());
  if (m == 0) return p;
  if (categorical) {
    for (double v : s.active) p(static_cast<int>(v)) += 1.0;
  } else {
    Eigen::Map<const Eigen::VectorXd> values(s.active.data(), m);
    double mean = values.mean();
    double sd = m > 1 ? std::sqrt((values.array() - mean).square().sum() / (m - 1)) : 0;
    double h = std::clamp(1.06 * sd * std::pow(m, -0.2), kMinBandwidth, 1.0);  // Scott
    Eigen::VectorXd grid = (Eigen::VectorXd::LinSpaced(cells, 0, cells - 1).array() + 0.5) / cells;
    // kernel(i, k): the density at grid point i of the kernel around value k.
    Eigen::MatrixXd z = (grid.replicate(1, m).rowwise() - values.transpose()) / h;
    Eigen::MatrixXd kernel = (-0.5 * z.array().square()).exp();
    // Each value's kernel is one trial's worth of mass on the grid (truncated to [0, 1]).
    Eigen::RowVectorXd mass = kernel.colwise().sum();
    p += (kernel.array().rowwise() / mass.array()).matrix().rowwise().sum();
  }
  return p / p.sum();
}

// The distribution over the grid and, when the parameter is conditional, the
// "inactive" outcome last.
Eigen::VectorXd Distribution(const Sample& s, bool categorical, int cells, bool conditional) {
  Eigen::VectorXd active = ActiveDistribution(s, categorical, cells);
  if (!conditional) return active;
  double inactive_share = s.size() == 0 ? 0 : static_cast<double>(s.inactive) / s.size();
  Eigen::VectorXd out(cells + 1);
  out << active * (1 - inactive_share), inactive_share;
  return out;
}

// Where a value lies in [0, 1] on a numeric axis.
double Unit(const ParamAxis& axis, double v) {
  double lo = axis.min, hi = axis.max;
  if (axis.kind == AxisKind::kLog) {
    lo = std::log(lo);
    hi = std::log(hi);
    v = std::log(v);
  }
  if (!(hi > lo)) return 0.5;
  return std::clamp((v - lo) / (hi - lo), 0.0, 1.0);
}

Sample Collect(const ParamAxis& axis, size_t d, const std::vector<Observation>& obs,
               const std::vector<size_t>& members) {
  Sample s;
  for (size_t i : members) {
    const std::optional<double>& x = obs[i].x[d];
    if (!x) {
      ++s.inactive;
    } else {
      s.active.push_back(axis.kind == AxisKind::kCategorical ? *x : Unit(axis, *x));
    }
  }
  return s;
}

double PearsonDivergence(const Eigen::VectorXd& p, const Eigen::VectorXd& q) {
  Eigen::ArrayXd pa = p.array() + kEpsilon, qa = q.array() + kEpsilon;
  return (qa * (pa / qa - 1).square()).sum();
}

}  // namespace

ImportanceResult PedAnova(const std::vector<ParamAxis>& axes,
                          const std::vector<Observation>& observations, core::Goal goal,
                          const ImportanceOptions& options) {
  ImportanceResult result;
  const int64_t n = static_cast<int64_t>(observations.size());
  result.trials_used = n;
  if (axes.empty()) {
    result.note = "the sweep has no parameters";
    return result;
  }
  if (n < options.min_trials) {
    result.note = "needs at least " + std::to_string(options.min_trials) +
                  " completed trials with a value, has " + std::to_string(n);
    return result;
  }
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return core::Better(goal, observations[a].y, observations[b].y);
  });
  if (!core::Better(goal, observations[order.front()].y, observations[order.back()].y)) {
    result.note = "all " + std::to_string(n) + " completed trials have the same value";
    return result;
  }
  const int64_t top = std::clamp<int64_t>(
      static_cast<int64_t>(std::ceil(options.target_quantile * n - 1e-9)), 2, n);
  result.top_trials = top;
  const std::vector<size_t> top_set(order.begin(), order.begin() + top);
  const double gamma = static_cast<double>(top) / n;

  double total = 0;
  for (size_t d = 0; d < axes.size(); ++d) {
    const ParamAxis& axis = axes[d];
    const bool categorical = axis.kind == AxisKind::kCategorical;
    const int cells = categorical ? std::max<int>(1, axis.categories.size()) : options.grid_points;
    Eigen::VectorXd p_top =
        Distribution(Collect(axis, d, observations, top_set), categorical, cells, axis.conditional);
    Eigen::VectorXd p_all =
        Distribution(Collect(axis, d, observations, order), categorical, cells, axis.conditional);
    double score = gamma * gamma * PearsonDivergence(p_top, p_all);
    result.params.push_back({axis.name, score});
    total += score;
  }
  for (ParamImportance& p : result.params) p.share = total > 0 ? p.share / total : 0;
  std::stable_sort(
      result.params.begin(), result.params.end(),
      [](const ParamImportance& a, const ParamImportance& b) { return a.share > b.share; });
  return result;
}

ImportanceResult ComputeImportance(const ReportInput& input, const std::vector<ParamAxis>& axes,
                                   const ImportanceOptions& options) {
  std::vector<Observation> observations;
  for (const core::Trial* t : TrialsWithValue(input)) {
    if (t->state != core::TrialState::kCompleted) continue;
    Observation& o = observations.emplace_back();
    o.y = *t->final_value;
    for (const ParamAxis& axis : axes) o.x.push_back(AxisValue(axis, t->config));
  }
  return PedAnova(axes, observations, input.sweep.objective.goal, options);
}

std::string DescribeMethod(const ImportanceResult& result) {
  if (result.top_trials == 0) return "PED-ANOVA";
  return "PED-ANOVA (top " + std::to_string(result.top_trials) + " of " +
         std::to_string(result.trials_used) + " completed trials)";
}

}  // namespace sweep::report

#include "samplers/gp_model.h"

#include <algorithm>
#include <boost/random/mersenne_twister.hpp>
#include <boost/random/normal_distribution.hpp>
#include <cmath>
#include <limits>
#include <string>

#include "absl/strings/str_cat.h"
#include "samplers/gp_lbfgs.h"

namespace sweep::samplers {
namespace {

constexpr double kSqrt5 = 2.23606797749978969641;
constexpr double kLog2Pi = 1.83787706640934548356;

// Hyperprior and box (log space). See the header for the choice.
double LengthscalePriorMean(int dims) { return std::sqrt(2.0) + 0.5 * std::log(std::max(1, dims)); }
constexpr double kLengthscalePriorVar = 3.0;
constexpr double kSignalPriorMean = 0.0;
constexpr double kSignalPriorVar = 4.0;
constexpr double kNoisePriorMean = -9.21;  // log(1e-4)
constexpr double kNoisePriorVar = 9.0;
constexpr double kMinLogLengthscale = -5.3;  // 0.005
constexpr double kMaxLogLengthscale = 3.9;   // ~50
constexpr double kMinLogSignal = -4.6;       // 0.01
constexpr double kMaxLogSignal = 4.6;        // 100
constexpr double kMinLogNoise = -13.8;       // 1e-6
constexpr double kMaxLogNoise = 0.7;         // 2

absl::Status ValidateData(const GpData& data) {
  const Eigen::Index n = data.x.rows();
  if (n == 0) return absl::InvalidArgumentError("GP: no training points");
  if (data.y.size() != n) {
    return absl::InvalidArgumentError(
        absl::StrCat("GP: ", n, " training points but ", data.y.size(), " targets"));
  }
  if (data.extra_noise.size() != 0 && data.extra_noise.size() != n) {
    return absl::InvalidArgumentError(absl::StrCat(
        "GP: ", n, " training points but ", data.extra_noise.size(), " extra-noise entries"));
  }
  if (data.trend.size() != 0 && data.trend.size() != 2 * data.x.cols() + 1) {
    return absl::InvalidArgumentError(absl::StrCat("GP: ", data.trend.size(),
                                                   " trend coefficients for ", data.x.cols(),
                                                   " dimensions (expected 2d + 1)"));
  }
  if (!data.x.allFinite() || !data.y.allFinite() || !data.trend.allFinite() ||
      (data.extra_noise.size() != 0 && !data.extra_noise.allFinite())) {
    return absl::InvalidArgumentError("GP: training data contain NaN or infinite values");
  }
  return absl::OkStatus();
}

// The trend's features (header): unit variance for x uniform on [0, 1].
const double kLinearScale = std::sqrt(12.0);
const double kSquareScale = std::sqrt(180.0);

// Dimension j's part of m(x), u = x_j - 1/2: a double, or an array of one column's rows.
template <typename U>
auto TrendTerm(const Eigen::VectorXd& trend, Eigen::Index d, Eigen::Index j, const U& u) {
  return trend[1 + j] * u * kLinearScale + trend[1 + d + j] * (u * u - 1.0 / 12.0) * kSquareScale;
}

// m(x) at the rows of xs (a trend required), column by column.
Eigen::VectorXd TrendRows(const Eigen::VectorXd& trend, const Eigen::MatrixXd& xs) {
  const Eigen::Index d = xs.cols();
  Eigen::ArrayXd out = Eigen::ArrayXd::Constant(xs.rows(), trend[0]);
  for (Eigen::Index j = 0; j < d; ++j) {
    const Eigen::ArrayXd u = xs.col(j).array() - 0.5;
    out += TrendTerm(trend, d, j, u);
  }
  return out.matrix();
}

// y minus the prior mean at the data.
Eigen::VectorXd Residual(const GpData& data) {
  if (data.trend.size() == 0) return data.y;
  return data.y - TrendRows(data.trend, data.x);
}

absl::Status ValidateHp(const GpHyperparameters& hp, Eigen::Index dims) {
  if (hp.log_lengthscales.size() != dims) {
    return absl::InvalidArgumentError(absl::StrCat("GP: ", hp.log_lengthscales.size(),
                                                   " length scales for ", dims, " dimensions"));
  }
  if (!hp.log_lengthscales.allFinite() || !std::isfinite(hp.log_signal_variance) ||
      !std::isfinite(hp.log_noise_variance)) {
    return absl::InvalidArgumentError("GP: non-finite hyperparameters");
  }
  return absl::OkStatus();
}

// Squared scaled distances between rows of a and b (already divided by length scales).
Eigen::MatrixXd SquaredDistances(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
  Eigen::MatrixXd d2 = -2.0 * a * b.transpose();
  d2.colwise() += a.rowwise().squaredNorm();
  d2.rowwise() += b.rowwise().squaredNorm().transpose();
  return d2.cwiseMax(0.0);
}

// Factorises m (lower factor into *l), adding jitter proportional to the mean diagonal
// when m is not numerically positive definite. Returns the jitter used, or an error.
absl::StatusOr<double> CholeskyWithJitter(const Eigen::MatrixXd& m, Eigen::MatrixXd* l) {
  const double scale = std::max(1e-12, m.diagonal().mean());
  double jitter = 0;
  for (int attempt = 0; attempt < 6; ++attempt) {
    Eigen::LLT<Eigen::MatrixXd> llt;
    if (jitter == 0) {
      llt.compute(m);
    } else {
      Eigen::MatrixXd mj = m;
      mj.diagonal().array() += jitter;
      llt.compute(mj);
    }
    if (llt.info() == Eigen::Success && llt.matrixLLT().diagonal().allFinite()) {
      *l = llt.matrixL();
      return jitter;
    }
    jitter = jitter == 0 ? 1e-9 * scale : jitter * 100;
  }
  return absl::InvalidArgumentError(
      "GP: kernel matrix is not positive definite even with jitter (duplicate points with "
      "conflicting values and no noise?)");
}

Eigen::VectorXd NoiseDiagonal(const GpData& data, const GpHyperparameters& hp) {
  Eigen::VectorXd diag = Eigen::VectorXd::Constant(data.y.size(), std::exp(hp.log_noise_variance));
  if (data.extra_noise.size() != 0) diag += data.extra_noise;
  return diag;
}

}  // namespace

double GpHyperparameters::prior_variance() const {
  return std::exp(log_signal_variance) + (additive() ? std::exp(log_additive_variance) : 0.0);
}

Eigen::VectorXd GpHyperparameters::Pack() const {
  const Eigen::Index d = log_lengthscales.size();
  Eigen::VectorXd packed(additive() ? 2 * d + 3 : d + 2);
  packed.head(d) = log_lengthscales;
  packed[d] = log_signal_variance;
  packed[d + 1] = log_noise_variance;
  if (additive()) {
    packed.segment(d + 2, d) = log_additive_lengthscales;
    packed[2 * d + 2] = log_additive_variance;
  }
  return packed;
}

GpHyperparameters GpHyperparameters::Unpack(const Eigen::VectorXd& packed, bool additive) {
  GpHyperparameters hp;
  const Eigen::Index d = additive ? (packed.size() - 3) / 2 : packed.size() - 2;
  hp.log_lengthscales = packed.head(d);
  hp.log_signal_variance = packed[d];
  hp.log_noise_variance = packed[d + 1];
  if (additive) {
    hp.log_additive_lengthscales = packed.segment(d + 2, d);
    hp.log_additive_variance = packed[2 * d + 2];
  }
  return hp;
}

GpHyperparameters GpHyperparameters::Default(int dims, bool additive) {
  GpHyperparameters hp;
  hp.log_lengthscales = Eigen::VectorXd::Constant(dims, LengthscalePriorMean(dims));
  hp.log_signal_variance = kSignalPriorMean;
  hp.log_noise_variance = kNoisePriorMean;
  if (additive) {
    hp.log_additive_lengthscales = Eigen::VectorXd::Constant(dims, LengthscalePriorMean(1));
    hp.log_additive_variance = kSignalPriorMean;
  }
  return hp;
}

void HyperparameterBounds(int dims, bool additive, Eigen::VectorXd* lower, Eigen::VectorXd* upper) {
  const int size = additive ? 2 * dims + 3 : dims + 2;
  lower->resize(size);
  upper->resize(size);
  lower->head(dims).setConstant(kMinLogLengthscale);
  upper->head(dims).setConstant(kMaxLogLengthscale);
  (*lower)[dims] = kMinLogSignal;
  (*upper)[dims] = kMaxLogSignal;
  (*lower)[dims + 1] = kMinLogNoise;
  (*upper)[dims + 1] = kMaxLogNoise;
  if (additive) {
    lower->segment(dims + 2, dims).setConstant(kMinLogLengthscale);
    upper->segment(dims + 2, dims).setConstant(kMaxLogLengthscale);
    (*lower)[2 * dims + 2] = kMinLogSignal;
    (*upper)[2 * dims + 2] = kMaxLogSignal;
  }
}

double LogHyperprior(const Eigen::VectorXd& packed, int dims, Eigen::VectorXd* grad) {
  const int d = dims;
  const double mu = LengthscalePriorMean(d);
  double value = 0;
  if (grad != nullptr) grad->setZero(packed.size());
  auto add = [&](int i, double mean, double var) {
    const double diff = packed[i] - mean;
    value += -0.5 * diff * diff / var;
    if (grad != nullptr) (*grad)[i] = -diff / var;
  };
  for (int j = 0; j < d; ++j) add(j, mu, kLengthscalePriorVar);
  add(d, kSignalPriorMean, kSignalPriorVar);
  add(d + 1, kNoisePriorMean, kNoisePriorVar);
  if (packed.size() == 2 * d + 3) {
    for (int j = 0; j < d; ++j) add(d + 2 + j, LengthscalePriorMean(1), kLengthscalePriorVar);
    add(2 * d + 2, kSignalPriorMean, kSignalPriorVar);
  }
  return value;
}

namespace {

// The additive part between the rows of a and b, (sa/d) sum_j M(|a_j - b_j| / la_j);
// `d_log_ls` (optional) receives its derivative with respect to each log la_j.
Eigen::MatrixXd AdditiveKernel(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b,
                               const GpHyperparameters& hp,
                               std::vector<Eigen::MatrixXd>* d_log_ls = nullptr) {
  const Eigen::Index d = a.cols(), m = a.rows(), n = b.rows();
  const double scale = std::exp(hp.log_additive_variance) / static_cast<double>(d);
  Eigen::MatrixXd k = Eigen::MatrixXd::Zero(m, n);
  if (d_log_ls != nullptr) d_log_ls->assign(d, Eigen::MatrixXd(m, n));
  // Column by column with two small buffers: whole-matrix temporaries would be
  // allocated and freed d times per call, and page faults then cost more than exp.
  Eigen::ArrayXd r(m), e(m);
  for (Eigen::Index j = 0; j < d; ++j) {
    const double inv = std::exp(-hp.log_additive_lengthscales[j]);
    const Eigen::ArrayXd ca = inv * a.col(j).array();
    for (Eigen::Index c = 0; c < n; ++c) {
      r = (ca - inv * b(c, j)).abs();
      e = (-kSqrt5 * r).exp();
      k.col(c).array() += scale * (1.0 + kSqrt5 * r + (5.0 / 3.0) * r.square()) * e;
      if (d_log_ls != nullptr) {
        // dM/dlog l = (5/3) r^2 (1 + sqrt5 r) e^(-sqrt5 r).
        (*d_log_ls)[j].col(c).array() = scale * (5.0 / 3.0) * r.square() * (1.0 + kSqrt5 * r) * e;
      }
    }
  }
  return k;
}

}  // namespace

Eigen::MatrixXd MaternKernel(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b,
                             const GpHyperparameters& hp) {
  const Eigen::VectorXd inv_ls = (-hp.log_lengthscales.array()).exp();
  const Eigen::MatrixXd as = a * inv_ls.asDiagonal();
  const Eigen::MatrixXd bs = b * inv_ls.asDiagonal();
  const Eigen::ArrayXXd d2 = SquaredDistances(as, bs).array();
  const Eigen::ArrayXXd r = d2.sqrt();
  Eigen::MatrixXd k = (std::exp(hp.log_signal_variance) * (1.0 + kSqrt5 * r + (5.0 / 3.0) * d2) *
                       (-kSqrt5 * r).exp())
                          .matrix();
  if (hp.additive()) k += AdditiveKernel(a, b, hp);
  return k;
}

QuadraticTrend FitQuadraticTrend(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                                 double ridge) {
  const Eigen::Index n = x.rows(), d = x.cols();
  Eigen::MatrixXd f(n, 2 * d + 1);
  f.col(0).setOnes();
  for (Eigen::Index j = 0; j < d; ++j) {
    const Eigen::ArrayXd u = x.col(j).array() - 0.5;
    f.col(1 + j) = (u * kLinearScale).matrix();
    f.col(1 + d + j) = ((u.square() - 1.0 / 12.0) * kSquareScale).matrix();
  }
  const Eigen::MatrixXd gram = f.transpose() * f;
  Eigen::MatrixXd a = gram;
  a.diagonal().tail(2 * d).array() += ridge;
  a(0, 0) += 1e-9;  // keeps a solvable when every point is the same
  const Eigen::LDLT<Eigen::MatrixXd> solver(a);
  return {solver.solve(f.transpose() * y), solver.solve(gram).trace()};
}

std::optional<double> ShortRangeSemivariance(const GpData& data) {
  std::vector<std::pair<double, double>> pairs;  // (squared distance, half squared difference)
  const Eigen::Index n = data.x.rows();
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < i; ++j) {
      const double d2 = (data.x.row(i) - data.x.row(j)).squaredNorm();
      if (d2 > kShortRangeRadius * kShortRangeRadius) continue;
      const double dy = data.y(i) - data.y(j);
      pairs.emplace_back(d2, 0.5 * dy * dy);
    }
  }
  if (pairs.size() < kShortRangePairs) return std::nullopt;
  std::partial_sort(pairs.begin(), pairs.begin() + kShortRangePairs, pairs.end());
  double sum = 0;
  for (size_t i = 0; i < kShortRangePairs; ++i) sum += pairs[i].second;
  return sum / kShortRangePairs;
}

double TrendValue(const Eigen::VectorXd& trend, const Eigen::VectorXd& x, Eigen::VectorXd* grad) {
  const Eigen::Index d = x.size();
  if (grad != nullptr) grad->resize(d);
  double value = trend[0];
  for (Eigen::Index j = 0; j < d; ++j) {
    const double u = x[j] - 0.5;
    value += TrendTerm(trend, d, j, u);
    if (grad != nullptr) {
      (*grad)[j] = trend[1 + j] * kLinearScale + trend[1 + d + j] * 2 * u * kSquareScale;
    }
  }
  return value;
}

absl::StatusOr<double> LogMarginalLikelihood(const GpData& data, const GpHyperparameters& hp,
                                             Eigen::VectorXd* grad) {
  if (absl::Status s = ValidateData(data); !s.ok()) return s;
  if (absl::Status s = ValidateHp(hp, data.x.cols()); !s.ok()) return s;
  const Eigen::Index n = data.x.rows();
  const Eigen::Index d = data.x.cols();
  const double s2 = std::exp(hp.log_signal_variance);
  const double n2 = std::exp(hp.log_noise_variance);
  const Eigen::VectorXd inv_ls = (-hp.log_lengthscales.array()).exp();
  const Eigen::MatrixXd xs = data.x * inv_ls.asDiagonal();
  const Eigen::ArrayXXd d2 = SquaredDistances(xs, xs).array();
  const Eigen::ArrayXXd r = d2.sqrt();
  const Eigen::ArrayXXd e = (-kSqrt5 * r).exp();
  const Eigen::MatrixXd kf = (s2 * (1.0 + kSqrt5 * r + (5.0 / 3.0) * d2) * e).matrix();
  Eigen::MatrixXd ky = kf;
  Eigen::MatrixXd ka;
  std::vector<Eigen::MatrixXd> d_ka;
  if (hp.additive()) {
    ka = AdditiveKernel(data.x, data.x, hp, grad != nullptr ? &d_ka : nullptr);
    ky += ka;
  }
  ky.diagonal() += NoiseDiagonal(data, hp);
  Eigen::MatrixXd l;
  auto jitter = CholeskyWithJitter(ky, &l);
  if (!jitter.ok()) return jitter.status();
  const auto lower = l.triangularView<Eigen::Lower>();
  const auto upper = l.transpose().triangularView<Eigen::Upper>();
  const Eigen::VectorXd residual = Residual(data);
  const Eigen::VectorXd alpha = upper.solve(lower.solve(residual));
  const double lml = -0.5 * residual.dot(alpha) - l.diagonal().array().log().sum() -
                     0.5 * static_cast<double>(n) * kLog2Pi;
  if (grad != nullptr) {
    grad->resize(hp.additive() ? 2 * d + 3 : d + 2);
    // W = alpha alpha^T - K^-1; dLML/dtheta = 1/2 tr(W dK/dtheta). K^-1 comes from the
    // factor (needed element-wise for the trace, not to solve a system).
    Eigen::MatrixXd w = -upper.solve(lower.solve(Eigen::MatrixXd::Identity(n, n)));
    w.noalias() += alpha * alpha.transpose();
    (*grad)[d] = 0.5 * (w.array() * kf.array()).sum();
    (*grad)[d + 1] = 0.5 * n2 * w.trace();
    // dK_ik/dlog l_j = G_ik (xs_ij - xs_kj)^2 with G = s2 5/3 (1 + sqrt5 r) e.
    const Eigen::MatrixXd m = (w.array() * (s2 * (5.0 / 3.0) * (1.0 + kSqrt5 * r) * e)).matrix();
    const Eigen::VectorXd row_sums = m.rowwise().sum();
    const Eigen::MatrixXd mx = m * xs;
    for (Eigen::Index j = 0; j < d; ++j) {
      (*grad)[j] = (xs.col(j).array().square() * row_sums.array()).sum() - xs.col(j).dot(mx.col(j));
    }
    if (hp.additive()) {
      for (Eigen::Index j = 0; j < d; ++j)
        (*grad)[d + 2 + j] = 0.5 * (w.array() * d_ka[j].array()).sum();
      (*grad)[2 * d + 2] = 0.5 * (w.array() * ka.array()).sum();
    }
  }
  return lml;
}

absl::StatusOr<GpFitResult> FitHyperparameters(const GpData& data,
                                               const std::vector<GpHyperparameters>& starts,
                                               const GpFitOptions& options) {
  if (absl::Status s = ValidateData(data); !s.ok()) return s;
  const int d = static_cast<int>(data.x.cols());
  const bool additive = !starts.empty() && starts.front().additive();
  Eigen::VectorXd lower, upper;
  HyperparameterBounds(d, additive, &lower, &upper);
  const GpHyperparameters prior_mode = GpHyperparameters::Default(d, additive);
  std::vector<Eigen::VectorXd> points;
  for (GpHyperparameters hp : starts) {
    if (hp.dims() != d) continue;
    // Every start takes the first one's structure.
    if (additive && !hp.additive()) {
      hp.log_additive_lengthscales = prior_mode.log_additive_lengthscales;
      hp.log_additive_variance = prior_mode.log_additive_variance;
    } else if (!additive) {
      hp.log_additive_lengthscales.resize(0);
    }
    points.push_back(hp.Pack().cwiseMax(lower).cwiseMin(upper));
  }
  if (points.empty()) points.push_back(prior_mode.Pack());
  boost::random::mt19937_64 rng(options.seed ^ 0x9e3779b97f4a7c15ULL);
  boost::random::normal_distribution<double> normal;
  const Eigen::VectorXd mode = prior_mode.Pack();
  for (int i = 0; i < options.random_starts; ++i) {
    Eigen::VectorXd p = mode;
    for (int j = 0; j < d; ++j) p[j] += std::sqrt(kLengthscalePriorVar) * normal(rng);
    p[d] += 0.5 * normal(rng);
    p[d + 1] += 2.0 * normal(rng);
    if (additive) {
      for (int j = 0; j < d; ++j) p[d + 2 + j] += std::sqrt(kLengthscalePriorVar) * normal(rng);
      p[2 * d + 2] += 0.5 * normal(rng);
    }
    points.push_back(p.cwiseMax(lower).cwiseMin(upper));
  }

  int evaluations = 0;
  auto objective = [&](const Eigen::VectorXd& theta, Eigen::VectorXd* grad) -> double {
    ++evaluations;
    Eigen::VectorXd prior_grad;
    auto lml = LogMarginalLikelihood(data, GpHyperparameters::Unpack(theta, additive), grad);
    if (!lml.ok()) return std::numeric_limits<double>::quiet_NaN();
    const double prior = LogHyperprior(theta, d, &prior_grad);
    *grad = -(*grad + prior_grad);
    return -(*lml + prior);
  };
  LbfgsOptions lbfgs;
  lbfgs.max_iterations = options.max_iterations;
  lbfgs.gradient_tolerance = 1e-5;
  lbfgs.relative_tolerance = 1e-9;
  std::optional<LbfgsResult> best;
  for (const Eigen::VectorXd& p : points) {
    LbfgsResult r = MinimizeBoxLbfgs(objective, p, lower, upper, lbfgs);
    if (std::isfinite(r.value) && (!best || r.value < best->value)) best = std::move(r);
  }
  if (!best) {
    return absl::InvalidArgumentError(
        "GP: the marginal likelihood could not be evaluated from any starting point");
  }
  GpFitResult result;
  result.hp = GpHyperparameters::Unpack(best->x, additive);
  result.objective = -best->value;
  auto lml = LogMarginalLikelihood(data, result.hp, nullptr);
  if (!lml.ok()) return lml.status();
  result.log_marginal_likelihood = *lml;
  result.evaluations = evaluations + 1;
  return result;
}

absl::StatusOr<GpModel> GpModel::Condition(GpData data, const GpHyperparameters& hp) {
  if (absl::Status s = ValidateData(data); !s.ok()) return s;
  if (absl::Status s = ValidateHp(hp, data.x.cols()); !s.ok()) return s;
  GpModel model;
  model.hp_ = hp;
  model.inv_ls_ = (-hp.log_lengthscales.array()).exp();
  if (hp.additive()) model.inv_als_ = (-hp.log_additive_lengthscales.array()).exp();
  Eigen::MatrixXd ky = MaternKernel(data.x, data.x, hp);
  ky.diagonal() += NoiseDiagonal(data, hp);
  auto jitter = CholeskyWithJitter(ky, &model.chol_);
  if (!jitter.ok()) return jitter.status();
  model.data_ = std::move(data);
  model.Refresh();
  return model;
}

absl::Status GpModel::AddPoints(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                                const Eigen::VectorXd& extra_noise) {
  const Eigen::Index p = x.rows();
  if (p == 0) return absl::OkStatus();
  GpData added{x, y, extra_noise};
  if (absl::Status s = ValidateData(added); !s.ok()) return s;
  if (x.cols() != data_.x.cols()) {
    return absl::InvalidArgumentError(absl::StrCat("GP: adding points of ", x.cols(),
                                                   " dimensions to a model of ", data_.x.cols()));
  }
  const Eigen::Index n = data_.x.rows();
  // [[L, 0], [B^T, C]] with B = L^-1 K12 and C C^T = K22 - B^T B.
  const Eigen::MatrixXd b =
      chol_.triangularView<Eigen::Lower>().solve(MaternKernel(data_.x, x, hp_));
  Eigen::MatrixXd s = MaternKernel(x, x, hp_);
  s.diagonal() += NoiseDiagonal(added, hp_);
  s.noalias() -= b.transpose() * b;
  Eigen::MatrixXd c;
  auto jitter = CholeskyWithJitter(s, &c);
  if (!jitter.ok()) return jitter.status();
  Eigen::MatrixXd grown = Eigen::MatrixXd::Zero(n + p, n + p);
  grown.topLeftCorner(n, n) = chol_;
  grown.bottomLeftCorner(p, n) = b.transpose();
  grown.bottomRightCorner(p, p) = c;
  chol_ = std::move(grown);
  const Eigen::Index d = data_.x.cols();
  data_.x.conservativeResize(n + p, d);
  data_.x.bottomRows(p) = x;
  data_.y.conservativeResize(n + p);
  data_.y.tail(p) = y;
  if (data_.extra_noise.size() != 0 || extra_noise.size() != 0) {
    Eigen::VectorXd extra = Eigen::VectorXd::Zero(n + p);
    if (data_.extra_noise.size() != 0) extra.head(n) = data_.extra_noise;
    if (extra_noise.size() != 0) extra.tail(p) = extra_noise;
    data_.extra_noise = std::move(extra);
  }
  Refresh();
  return absl::OkStatus();
}

absl::Status GpModel::SetTargets(const Eigen::VectorXd& y) {
  if (y.size() != data_.y.size() || !y.allFinite()) {
    return absl::InvalidArgumentError(
        absl::StrCat("GP: ", y.size(), " finite targets expected ", data_.y.size()));
  }
  data_.y = y;
  Refresh();
  return absl::OkStatus();
}

void GpModel::Refresh() {
  const Eigen::VectorXd residual = Residual(data_);
  alpha_ = chol_.transpose().triangularView<Eigen::Upper>().solve(
      chol_.triangularView<Eigen::Lower>().solve(residual));
  lml_ = -0.5 * residual.dot(alpha_) - chol_.diagonal().array().log().sum() -
         0.5 * static_cast<double>(data_.y.size()) * kLog2Pi;
}

void GpModel::Predict(const Eigen::MatrixXd& xs, Eigen::VectorXd* mean,
                      Eigen::VectorXd* var) const {
  const Eigen::MatrixXd kc = MaternKernel(xs, data_.x, hp_);  // m x n
  *mean = kc * alpha_;
  if (data_.trend.size() != 0) *mean += TrendRows(data_.trend, xs);
  if (var != nullptr) {
    const Eigen::MatrixXd v = chol_.triangularView<Eigen::Lower>().solve(kc.transpose());
    const double s2 = hp_.prior_variance();
    *var = (s2 - v.colwise().squaredNorm().transpose().array()).cwiseMax(1e-12 * s2).matrix();
  }
}

void GpModel::PredictWithGradient(const Eigen::VectorXd& x, double* mean, double* var,
                                  Eigen::VectorXd* d_mean, Eigen::VectorXd* d_var) const {
  const double s2 = std::exp(hp_.log_signal_variance);
  // delta_ij = x_j - X_ij
  const Eigen::MatrixXd delta = (-data_.x).rowwise() + x.transpose();
  const Eigen::VectorXd inv_ls2 = inv_ls_.array().square();
  const Eigen::ArrayXd r = (delta * inv_ls_.asDiagonal()).rowwise().norm().array();
  const Eigen::ArrayXd e = (-kSqrt5 * r).exp();
  Eigen::VectorXd k = (s2 * (1.0 + kSqrt5 * r + (5.0 / 3.0) * r.square()) * e).matrix();
  const Eigen::VectorXd g = (s2 * (5.0 / 3.0) * (1.0 + kSqrt5 * r) * e).matrix();
  // dk_i/dx_j = -g_i delta_ij / l_j^2
  Eigen::MatrixXd dk = -(g.asDiagonal() * delta) * inv_ls2.asDiagonal();  // n x d
  if (hp_.additive()) {
    // The same per dimension with r = |delta_ij| / la_j, scaled by sa / d.
    const double scale = std::exp(hp_.log_additive_variance) / static_cast<double>(x.size());
    for (Eigen::Index j = 0; j < x.size(); ++j) {
      const Eigen::ArrayXd dj = delta.col(j).array();
      const Eigen::ArrayXd rj = dj.abs() * inv_als_[j];
      const Eigen::ArrayXd ej = (-kSqrt5 * rj).exp();
      k.array() += scale * (1.0 + kSqrt5 * rj + (5.0 / 3.0) * rj.square()) * ej;
      dk.col(j).array() -=
          scale * (5.0 / 3.0) * (1.0 + kSqrt5 * rj) * ej * dj * inv_als_[j] * inv_als_[j];
    }
  }
  *mean = k.dot(alpha_);
  *d_mean = dk.transpose() * alpha_;
  if (data_.trend.size() != 0) {
    Eigen::VectorXd d_trend;
    *mean += TrendValue(data_.trend, x, &d_trend);
    *d_mean += d_trend;
  }
  const Eigen::VectorXd v = chol_.triangularView<Eigen::Lower>().solve(k);
  const double prior = hp_.prior_variance();
  const double raw = prior - v.squaredNorm();
  if (raw <= 1e-12 * prior) {
    *var = 1e-12 * prior;
    d_var->setZero(x.size());
    return;
  }
  *var = raw;
  const Eigen::VectorXd w = chol_.transpose().triangularView<Eigen::Upper>().solve(v);
  *d_var = -2.0 * dk.transpose() * w;
}

}  // namespace sweep::samplers

// Gaussian-process regression on points of the unit cube, for the Bayesian sampler.
//
// Kernel: Matern-5/2 with one length scale per dimension (ARD) and an amplitude,
//   k(a, b) = s2 M(r),  M(r) = (1 + sqrt5 r + 5/3 r^2) exp(-sqrt5 r),
//   r^2 = sum_j (a_j - b_j)^2 / l_j^2,
// optionally plus a first-order additive part with its own length scales and amplitude,
//   + (sa / d) sum_j M(|a_j - b_j| / la_j)
// (Duvenaud et al. 2011, "Additive Gaussian Processes"): when the objective is close
// to a sum of one-dimensional effects, as hyperparameters often are, the additive part
// learns each effect from every point instead of only from near neighbours in the
// full space; the fit decides, through sa and s2, how much of each part the data want.
// Plus homoscedastic noise n2 and optional fixed per-point extra noise (used for
// observations we trust less, e.g. trials stopped early). Targets are expected to be
// standardised by the caller.
//
// Prior mean: zero, or a fixed quadratic trend (GpData::trend) chosen by the caller,
//   m(x) = c_0 + sum_j a_j u_j + sum_j b_j q_j,
//   u_j = sqrt12 (x_j - 1/2),  q_j = sqrt180 ((x_j - 1/2)^2 - 1/12)
// (features of unit variance for uniform x). The kernel then models the residual
// y - m(x); predictions add m back. FitQuadraticTrend gives the coefficients.
//
// Hyperparameters (log l_1..log l_d, log s2, log n2[, log la_1..log la_d, log sa]) are
// fitted by maximising the log marginal likelihood plus weak priors (a MAP estimate,
// which keeps the fit sane with a handful of points): log l_j ~ N(sqrt2 + log(d)/2, 3)
// (the dimension-scaled prior of Hvarfner et al. 2024), log la_j ~ N(sqrt2, 3) (the
// same for one dimension), log s2, log sa ~ N(0, 2^2), log n2 ~ N(log 1e-4, 3^2),
// inside boxes.
// The optimiser is L-BFGS (gp_lbfgs.h) with analytic gradients from several starts,
// one of which is the previous fit (warm start).
//
// Linear algebra: Cholesky (Eigen LLT) only, never an explicit inverse to solve a
// system. A factorisation that fails (matrix not numerically positive definite) is
// retried with growing diagonal jitter. The gradient of the likelihood needs the
// elements of K^-1 for its trace terms; they come from the Cholesky factor.
//
// Cost, with n points in d dimensions: conditioning O(n^3/3); one likelihood+gradient
// evaluation O(n^3 + n^2 d); adding p points to a conditioned model O(n^2 p + p^3);
// predicting m points O(m n^2) (the variance dominates); one point with gradient O(n^2).
//
// Thread safety: GpModel is immutable after Condition except for AddPoints; const
// methods may be called concurrently.
#pragma once

#include <Eigen/Dense>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"

namespace sweep::samplers {

// Packed as [log l_1..log l_d, log s2, log n2], followed by [log la_1..log la_d, log sa]
// when the kernel has an additive part.
struct GpHyperparameters {
  Eigen::VectorXd log_lengthscales;
  double log_signal_variance = 0.0;
  double log_noise_variance = -9.21;          // log(1e-4)
  Eigen::VectorXd log_additive_lengthscales;  // empty: no additive part
  double log_additive_variance = 0.0;

  int dims() const { return static_cast<int>(log_lengthscales.size()); }
  bool additive() const { return log_additive_lengthscales.size() != 0; }
  // k(x, x): the prior variance of the latent function.
  double prior_variance() const;
  Eigen::VectorXd Pack() const;
  // Without the additive part when packed has d + 2 entries, with it when 2d + 3.
  static GpHyperparameters Unpack(const Eigen::VectorXd& packed, bool additive = false);
  // The prior mode for d dimensions.
  static GpHyperparameters Default(int dims, bool additive = false);
};

// Box bounds of the packed hyperparameters.
void HyperparameterBounds(int dims, bool additive, Eigen::VectorXd* lower, Eigen::VectorXd* upper);

// Log prior density (up to a constant) of packed hyperparameters of `dims` dimensions
// (additive when packed has 2 dims + 3 entries), with its gradient.
double LogHyperprior(const Eigen::VectorXd& packed, int dims, Eigen::VectorXd* grad);

// Training data: rows of x are points in [0,1]^d; y standardised targets; extra_noise
// (empty, or one entry >= 0 per point) is added to the kernel diagonal.
struct GpData {
  Eigen::MatrixXd x;
  Eigen::VectorXd y;
  Eigen::VectorXd extra_noise;
  Eigen::VectorXd trend = Eigen::VectorXd();  // m(x)'s 2d + 1 coefficients; empty: zero mean
};

// Ridge regression of y on [1, u_1..u_d, q_1..q_d] (the intercept not penalised, the
// other 2d coefficients by `ridge`), for GpData::trend. `effective_parameters` receives
// the fit's effective number of parameters, trace of its hat matrix (<= 2d + 1).
struct QuadraticTrend {
  Eigen::VectorXd coefficients;
  double effective_parameters = 0;
};
QuadraticTrend FitQuadraticTrend(const Eigen::MatrixXd& x, const Eigen::VectorXd& y, double ridge);

// m(x) for trend coefficients (2d + 1 entries); grad (optional) receives dm/dx.
double TrendValue(const Eigen::VectorXd& trend, const Eigen::VectorXd& x,
                  Eigen::VectorXd* grad = nullptr);

// The variogram of the targets near distance zero: half the mean squared difference of y
// over the kShortRangePairs closest pairs of rows of x within kShortRangeRadius of each
// other. Noise keeps it at the noise variance; a continuous noiseless function drives it
// to zero. nullopt with fewer such pairs. O(n^2 d).
constexpr double kShortRangeRadius = 0.02;
constexpr size_t kShortRangePairs = 4;
std::optional<double> ShortRangeSemivariance(const GpData& data);

// The kernel matrix between the rows of a and b (without noise).
Eigen::MatrixXd MaternKernel(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b,
                             const GpHyperparameters& hp);

// Log marginal likelihood of data (of y - m(x) with a trend) under hp; grad (if non-null)
// receives its gradient with respect to the packed log-hyperparameters (the additive
// part's included). Non-OK
// (InvalidArgument) when the data are malformed or the kernel matrix stays non-PD even with jitter.
absl::StatusOr<double> LogMarginalLikelihood(const GpData& data, const GpHyperparameters& hp,
                                             Eigen::VectorXd* grad = nullptr);

struct GpFitOptions {
  int max_iterations = 80;
  // Random restarts drawn from the prior, in addition to the given starts.
  int random_starts = 1;
  uint64_t seed = 0;
};

struct GpFitResult {
  GpHyperparameters hp;
  double log_marginal_likelihood = 0;  // at hp, without the prior
  double objective = 0;                // log marginal likelihood + log prior
  int evaluations = 0;
};

// Maximises LML + log prior from each start in `starts` (e.g. the previous fit and the
// prior mode) plus options.random_starts random ones; returns the best. The starts that
// have an additive part are fitted with it, the others without; random starts follow
// the first start. Fails only when no start can be evaluated at all.
absl::StatusOr<GpFitResult> FitHyperparameters(const GpData& data,
                                               const std::vector<GpHyperparameters>& starts,
                                               const GpFitOptions& options);

class GpModel {
 public:
  // Factorises K + noise for the data. InvalidArgument on malformed data or when the
  // matrix cannot be factorised even with jitter.
  static absl::StatusOr<GpModel> Condition(GpData data, const GpHyperparameters& hp);

  // Conditions on more points (e.g. fantasies for pending trials) by extending the
  // Cholesky factor: O(n^2 p). extra_noise may be empty.
  absl::Status AddPoints(const Eigen::MatrixXd& x, const Eigen::VectorXd& y,
                         const Eigen::VectorXd& extra_noise);

  // Replaces the targets (same points, same count), keeping the factorisation: O(n^2).
  absl::Status SetTargets(const Eigen::VectorXd& y);

  // Posterior mean and variance of the latent function at the rows of xs.
  void Predict(const Eigen::MatrixXd& xs, Eigen::VectorXd* mean, Eigen::VectorXd* var) const;

  // The same for one point, with gradients with respect to the point.
  void PredictWithGradient(const Eigen::VectorXd& x, double* mean, double* var,
                           Eigen::VectorXd* d_mean, Eigen::VectorXd* d_var) const;

  // Log marginal likelihood of the conditioned data (fantasies included once added).
  double log_marginal_likelihood() const { return lml_; }
  const GpHyperparameters& hyperparameters() const { return hp_; }
  const GpData& data() const { return data_; }
  int size() const { return static_cast<int>(data_.y.size()); }

 private:
  GpModel() = default;
  void Refresh();  // alpha_ and lml_ from chol_

  GpData data_;
  GpHyperparameters hp_;
  Eigen::VectorXd inv_ls_;   // 1 / length scales
  Eigen::VectorXd inv_als_;  // 1 / additive length scales (empty: none)
  Eigen::MatrixXd chol_;     // lower Cholesky factor of K + noise
  Eigen::VectorXd alpha_;    // (K + noise)^-1 y
  double lml_ = 0;
};

}  // namespace sweep::samplers

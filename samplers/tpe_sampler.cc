// Tree-structured Parzen Estimator (`sampling_algorithm: tpe`), after Bergstra et al.
// 2011 and Optuna's multivariate TPE, written for the unit-cube kIndex Encoding.
//
// - The first kStartupTrials observations come from random sampling.
// - Observations (completed or early-terminated trials with a finite value) are split
//   into the best gamma(n) = min(ceil(0.1 n), 25) ("good", l) and the rest ("bad", g).
// - Each group is a mixture of one product kernel per observation plus a prior kernel.
//   Per dimension: a Gaussian truncated to [0, 1] (bandwidth 0.2 n^(-1/(d+4)), clipped
//   to [1/min(100, n+1), 1], Optuna's "magic clip"); for randint the mass of the
//   integer's bin under that Gaussian; for a choice a categorical putting weight 1 on
//   the observed option plus prior_weight/(n+1) on each option. The prior kernel is
//   N(0.5, 1) truncated / uniform over options. Kernel weights ramp down the oldest
//   observations once there are more than 25 (Optuna's default).
// - Conditional dimensions: a dimension enters the density only when active in the
//   point evaluated; an observation in which it was inactive contributes the prior there.
//   So each kernel is a proper distribution over the tree-shaped space, sampled top-down.
// - kCandidates points are drawn from l; the one maximising log l(x) - log g(x) that is
//   not already in the history wins.
// - Cost bounded in the history's size: the good group is picked from every observation
//   (a partial sort), but the bad group g is the latest kMaxBadObservations of the rest (its
//   older kernels had recency weights near 1/n anyway), and each trial is encoded once.
//   Up to kMaxBadObservations + 25 observations the result is the unwindowed one.
#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <numeric>
#include <optional>
#include <utility>
#include <vector>

#include "boost/math/distributions/normal.hpp"
#include "core/status.h"
#include "samplers/encoding.h"
#include "samplers/factories.h"
#include "samplers/sampler_util.h"

namespace sweep::samplers {
namespace {

constexpr size_t kStartupTrials = 10;
constexpr int kCandidates = 24;
constexpr double kPriorWeight = 1.0;
constexpr double kPriorMu = 0.5;
constexpr double kPriorSigma = 1.0;
constexpr uint64_t kTpeStream = 0x74706520;    // "tpe "
constexpr double kLogFloor = -700;             // log of a negligible density, never -inf
constexpr size_t kMaxBadObservations = 1'000;  // the window of the bad group

using Type = EncodedDim::Type;

double Phi(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

double PhiInverse(double p) {
  static const boost::math::normal_distribution<double> kStd(0.0, 1.0);
  p = std::clamp(p, std::numeric_limits<double>::min(), std::nextafter(1.0, 0.0));
  return boost::math::quantile(kStd, p);
}

double SafeLog(double v) { return v > 0 ? std::max(std::log(v), kLogFloor) : kLogFloor; }

double LogSumExp(const std::vector<double>& v) {
  double m = *std::max_element(v.begin(), v.end());
  double s = 0;
  for (double x : v) s += std::exp(x - m);
  return m + std::log(s);
}

int BinOf(double x, int n) {
  return std::min(static_cast<int>(std::floor(std::clamp(x, 0.0, 1.0) * n)), n - 1);
}
double Centre(int i, int n) { return (i + 0.5) / n; }

// Optuna's default kernel weights: flat, except that beyond 25 observations the older
// ones ramp linearly from 1/n up to 1. `n` observations in creation order.
std::vector<double> RecencyWeights(size_t n) {
  std::vector<double> w(n, 1.0);
  if (n < 25) return w;
  size_t ramp = n - 25;
  for (size_t i = 0; i < ramp; ++i) {
    double a = 1.0 / n;
    w[i] = ramp == 1 ? a : a + (1.0 - a) * static_cast<double>(i) / (ramp - 1);
  }
  return w;
}

// A Gaussian truncated to [0, 1].
struct TruncNormal {
  double mu = kPriorMu, sigma = kPriorSigma;
  double lo_cdf = 0, hi_cdf = 1, log_mass = 0;
  double log_scale = 0;  // log(sqrt(2 pi) sigma), once: LogPdf runs per candidate and kernel

  TruncNormal() { Init(); }
  TruncNormal(double m, double s) : mu(m), sigma(s) { Init(); }
  void Init() {
    lo_cdf = Phi((0 - mu) / sigma);
    hi_cdf = Phi((1 - mu) / sigma);
    log_mass = SafeLog(hi_cdf - lo_cdf);
    log_scale = std::log(std::sqrt(2 * M_PI) * sigma);
  }
  double LogPdf(double x) const {
    double z = (x - mu) / sigma;
    return -0.5 * z * z - log_scale - log_mass;
  }
  // Log of the mass of [a, b] ⊂ [0, 1].
  double LogMass(double a, double b) const {
    return SafeLog(Phi((b - mu) / sigma) - Phi((a - mu) / sigma)) - log_mass;
  }
  double Sample(TrialRng& rng) const {
    double p = lo_cdf + rng.Uniform() * (hi_cdf - lo_cdf);
    return std::clamp(mu + sigma * PhiInverse(p), 0.0, 1.0);
  }
};

// One Parzen estimator (a mixture over observation kernels and the prior).
class Parzen {
 public:
  // `points`/`masks`: encoded observations in creation order.
  Parzen(const std::vector<EncodedDim>& dims, const std::vector<std::vector<double>>& points,
         const std::vector<std::vector<bool>>& masks)
      : dims_(dims), points_(points), masks_(masks) {
    size_t n = points.size();
    int d = static_cast<int>(dims.size());
    std::vector<double> w = RecencyWeights(n);
    w.push_back(kPriorWeight);
    double total = std::accumulate(w.begin(), w.end(), 0.0);
    for (double v : w) log_weights_.push_back(std::log(v / total));
    weights_ = w;

    // Inactive entries are never read; copies of the prior cost no erfc each.
    kernels_.assign(n, std::vector<TruncNormal>(d, prior_));
    eps_.assign(d, 0);
    log_hit_.assign(d, 0);
    log_miss_.assign(d, 0);
    for (int j = 0; j < d; ++j) {
      size_t active = 0;
      for (size_t i = 0; i < n; ++i) active += masks[i][j] ? 1 : 0;
      // Scott-like multivariate bandwidth with Optuna's magic clip, per active count.
      double nj = static_cast<double>(std::max<size_t>(active, 1));
      double sigma = 0.2 * std::pow(nj, -1.0 / (d + 4));
      double min_sigma = 1.0 / std::min(100.0, 1.0 + (active + 1));
      sigma = std::clamp(sigma, min_sigma, 1.0);
      eps_[j] = kPriorWeight / (active + 1);
      if (dims[j].type == Type::kCategoricalIndex) {
        const double levels = dims[j].levels;
        log_hit_[j] = std::log((eps_[j] + 1.0) / (1.0 + levels * eps_[j]));
        log_miss_[j] = std::log(eps_[j] / (1.0 + levels * eps_[j]));
        continue;
      }
      for (size_t i = 0; i < n; ++i) {
        if (masks[i][j]) kernels_[i][j] = TruncNormal(points[i][j], sigma);
      }
    }
  }

  size_t components() const { return points_.size() + 1; }

  // Draws a point; inactive dims get the neutral 0.5.
  std::vector<double> Sample(TrialRng& rng) const {
    double u = rng.Uniform() * std::accumulate(weights_.begin(), weights_.end(), 0.0);
    size_t c = 0;
    for (; c + 1 < weights_.size() && u >= weights_[c]; ++c) u -= weights_[c];
    bool prior = c == points_.size();
    std::vector<double> x(dims_.size(), 0.5);
    std::vector<bool> active = ActiveOf(x, /*fill=*/false);
    for (size_t j = 0; j < dims_.size(); ++j) {
      const EncodedDim& dim = dims_[j];
      active[j] = IsActive(j, x, active);
      if (!active[j]) continue;
      bool own = !prior && masks_[c][j];
      if (dim.type == Type::kCategoricalIndex) {
        int levels = dim.levels;
        int observed = own ? BinOf(points_[c][j], levels) : -1;
        // Row weights: eps each, +1 on the observed option (uniform for the prior).
        double eps = own ? eps_[j] : 1.0;
        double r = rng.Uniform() * (levels * eps + (own ? 1.0 : 0.0));
        int chosen = levels - 1;
        for (int k = 0; k < levels; ++k) {
          double wk = eps + (k == observed ? 1.0 : 0.0);
          if (r < wk) {
            chosen = k;
            break;
          }
          r -= wk;
        }
        x[j] = Centre(chosen, levels);
      } else {
        const TruncNormal& k = own ? kernels_[c][j] : prior_;
        x[j] = k.Sample(rng);
        if (dim.type == Type::kInteger) x[j] = Centre(BinOf(x[j], dim.levels), dim.levels);
      }
    }
    return x;
  }

  double LogDensity(const std::vector<double>& x) const {
    std::vector<bool> active = ActiveOf(x, /*fill=*/true);
    std::vector<double> terms(components());
    for (size_t c = 0; c < components(); ++c) {
      bool prior = c == points_.size();
      double s = log_weights_[c];
      for (size_t j = 0; j < dims_.size(); ++j) {
        if (!active[j]) continue;
        s += LogKernel(j, prior ? -1 : static_cast<int>(c), x[j]);
      }
      terms[c] = s;
    }
    return LogSumExp(terms);
  }

 private:
  bool IsActive(size_t j, const std::vector<double>& x, const std::vector<bool>& active) const {
    const EncodedDim& dim = dims_[j];
    if (dim.parent_param_dim < 0) return true;
    const EncodedDim& parent = dims_[dim.parent_param_dim];
    return active[dim.parent_param_dim] &&
           BinOf(x[dim.parent_param_dim], parent.levels) == dim.parent_option;
  }

  // Dims come parents first, so one pass settles activity; `fill` computes it for a
  // finished point, otherwise the caller fills it while sampling.
  std::vector<bool> ActiveOf(const std::vector<double>& x, bool fill) const {
    std::vector<bool> active(dims_.size(), false);
    if (fill) {
      for (size_t j = 0; j < dims_.size(); ++j) active[j] = IsActive(j, x, active);
    }
    return active;
  }

  // Log density of dim j at xj under component c (-1: the prior).
  double LogKernel(size_t j, int c, double xj) const {
    const EncodedDim& dim = dims_[j];
    bool own = c >= 0 && masks_[c][j];
    if (dim.type == Type::kCategoricalIndex) {
      int levels = dim.levels;
      if (!own) return -std::log(static_cast<double>(levels));
      return BinOf(points_[c][j], levels) == BinOf(xj, levels) ? log_hit_[j] : log_miss_[j];
    }
    const TruncNormal& k = own ? kernels_[c][j] : prior_;
    if (dim.type == Type::kInteger) {
      int b = BinOf(xj, dim.levels);
      return k.LogMass(static_cast<double>(b) / dim.levels,
                       static_cast<double>(b + 1) / dim.levels);
    }
    return k.LogPdf(xj);
  }

  const std::vector<EncodedDim>& dims_;
  const std::vector<std::vector<double>>& points_;
  const std::vector<std::vector<bool>>& masks_;
  std::vector<double> weights_, log_weights_;
  std::vector<std::vector<TruncNormal>> kernels_;  // [observation][dim]
  std::vector<double> eps_;                        // categorical prior weight per dim
  std::vector<double> log_hit_, log_miss_;         // a categorical kernel's two log masses
  TruncNormal prior_;
};

class TpeSampler : public Sampler {
 public:
  TpeSampler(Encoding encoding, std::optional<GridIndex> grid, const SamplerOptions& options)
      : encoding_(std::move(encoding)), grid_(std::move(grid)), options_(options) {}

  absl::StatusOr<std::optional<core::Config>> Next(const History& history) override {
    if (!seen_.Update(history)) encoded_.clear();  // not an extension: configs may differ
    TrialRng rng(options_.seed, history.trials.size() + 1, kTpeStream);
    const GridIndex* grid = grid_ ? &*grid_ : nullptr;
    std::vector<size_t> obs = FiniteObservations(history);
    if (obs.size() < kStartupTrials) {
      return DrawUnseen(encoding_, grid, seen_, rng, std::nullopt);
    }

    // The best n_good first; ties keep creation order (obs is in creation order).
    size_t n_good =
        std::min<size_t>(static_cast<size_t>(std::ceil(0.1 * static_cast<double>(obs.size()))), 25);
    std::partial_sort(obs.begin(), obs.begin() + n_good, obs.end(), [&](size_t a, size_t b) {
      const double va = *history.trials[a].value, vb = *history.trials[b].value;
      if (core::Better(options_.goal, va, vb)) return true;
      return !core::Better(options_.goal, vb, va) && a < b;
    });
    std::vector<size_t> good(obs.begin(), obs.begin() + n_good);
    std::vector<size_t> bad(obs.begin() + n_good, obs.end());
    std::sort(good.begin(), good.end());  // creation order, for the recency weights
    std::sort(bad.begin(), bad.end());
    if (bad.size() > kMaxBadObservations) bad.erase(bad.begin(), bad.end() - kMaxBadObservations);

    auto encode = [&](const std::vector<size_t>& idx, std::vector<std::vector<double>>& pts,
                      std::vector<std::vector<bool>>& masks) {
      for (size_t i : idx) {
        const Encoded& e = EncodedAt(history, i);
        pts.push_back(e.point);
        masks.push_back(e.mask);
      }
    };
    std::vector<std::vector<double>> good_pts, bad_pts;
    std::vector<std::vector<bool>> good_masks, bad_masks;
    encode(good, good_pts, good_masks);
    encode(bad, bad_pts, bad_masks);
    Parzen l(encoding_.dim_info(), good_pts, good_masks);
    Parzen g(encoding_.dim_info(), bad_pts, bad_masks);

    std::vector<std::pair<double, core::Config>> scored;
    for (int i = 0; i < kCandidates; ++i) {
      std::vector<double> x = l.Sample(rng);
      double score = l.LogDensity(x) - g.LogDensity(x);
      scored.emplace_back(score, encoding_.Decode(x));
    }
    // Highest score first; equal scores keep draw order.
    std::stable_sort(scored.begin(), scored.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    for (auto& [score, config] : scored) {
      if (!seen_.Contains(config)) return std::move(config);
    }
    // Every candidate was already tried (a small finite space): any unseen point.
    return DrawUnseen(encoding_, grid, seen_, rng, std::nullopt);
  }

 private:
  struct Encoded {
    bool done = false;
    std::vector<double> point;
    std::vector<bool> mask;
  };
  // Trial i's encoding, computed once (a trial's config never changes in an append-only
  // history; encoded_ is cleared when the history is not one).
  const Encoded& EncodedAt(const History& history, size_t i) {
    if (encoded_.size() < history.trials.size()) encoded_.resize(history.trials.size());
    Encoded& e = encoded_[i];
    if (!e.done) {
      e.point = encoding_.Encode(history.trials[i].config);
      e.mask = encoding_.ActiveMask(history.trials[i].config);
      e.done = true;
    }
    return e;
  }

  Encoding encoding_;
  std::optional<GridIndex> grid_;
  SamplerOptions options_;
  SeenKeys seen_;
  std::vector<Encoded> encoded_;  // cache only, by history index
};

}  // namespace

absl::StatusOr<std::unique_ptr<Sampler>> MakeTpeSampler(const core::SearchSpace& space,
                                                        const SamplerOptions& options) {
  ASSIGN_OR_RETURN(Encoding encoding, Encoding::Build(space, CategoricalEncoding::kIndex));
  std::optional<GridIndex> grid;
  if (core::IsFinite(space)) {
    ASSIGN_OR_RETURN(grid, GridIndex::Build(space));
  }
  return std::make_unique<TpeSampler>(std::move(encoding), std::move(grid), options);
}

}  // namespace sweep::samplers

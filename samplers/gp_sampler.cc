#include "samplers/gp_sampler.h"

#include <algorithm>
#include <boost/random/mersenne_twister.hpp>
#include <boost/random/normal_distribution.hpp>
#include <boost/random/sobol.hpp>
#include <boost/random/uniform_int_distribution.hpp>
#include <boost/random/uniform_real_distribution.hpp>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "samplers/factories.h"
#include "samplers/gp_acquisition.h"
#include "samplers/gp_optimizer.h"
#include "samplers/gp_targets.h"
#include "samplers/gp_trust_region.h"

namespace sweep::samplers {
namespace {

using core::TrialState;

constexpr int kCoarseFitPoints = 100;
constexpr double kCappedNoise = 0.25;  // extra noise (standardised) of capped values
// Convergence: the best value improved by less than kConvergedTolerance times its depth
// below the initial design's median over the last max(kConvergedWindow, d) trials.
constexpr int kConvergedWindow = 10;
constexpr double kConvergedTolerance = 0.01;
// Exploration steps: points within this many length scales (scaled distance) of the
// incumbent are set aside; EI is maximised in a box around the anchor (SearchBox).
constexpr double kSetAsideRadius = 2.0;

// splitmix64: decorrelates the seed from the per-call stream index.
uint64_t Mix(uint64_t a, uint64_t b) {
  uint64_t z = a + 0x9e3779b97f4a7c15ULL * (b + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Enumerates every config of a finite space (nested choices expand their branch),
// stopping once `limit` is exceeded.
void Enumerate(std::vector<const core::ParamSpec*> todo, core::Config& current,
               std::vector<core::Config>& out, size_t limit) {
  if (out.size() > limit) return;
  if (todo.empty()) {
    out.push_back(current);
    return;
  }
  const core::ParamSpec* p = todo.front();
  std::vector<const core::ParamSpec*> rest(todo.begin() + 1, todo.end());
  if (p->kind == core::ParamKind::kChoice) {
    for (const core::ChoiceOption& o : p->options) {
      current[p->name] = o.value;
      std::vector<const core::ParamSpec*> next;
      if (o.is_subspace) {
        for (const core::ParamSpec& s : o.subspace) next.push_back(&s);
      }
      next.insert(next.end(), rest.begin(), rest.end());
      Enumerate(std::move(next), current, out, limit);
      if (o.is_subspace) {
        for (const core::ParamSpec& s : o.subspace) current.erase(s.name);
      }
    }
  } else {
    for (const core::ParamValue& v : core::FiniteValues(*p)) {
      current[p->name] = v;
      Enumerate(rest, current, out, limit);
    }
  }
  current.erase(p->name);
}

// The rows `idx` of data.
GpData Rows(const GpData& data, const std::vector<int>& idx) {
  GpData s;
  s.trend = data.trend;
  s.x.resize(idx.size(), data.x.cols());
  s.y.resize(idx.size());
  if (data.extra_noise.size() != 0) s.extra_noise.resize(idx.size());
  for (size_t r = 0; r < idx.size(); ++r) {
    s.x.row(r) = data.x.row(idx[r]);
    s.y[r] = data.y[idx[r]];
    if (data.extra_noise.size() != 0) s.extra_noise[r] = data.extra_noise[idx[r]];
  }
  return s;
}

// Step 9's probe: the best model point with its continuous coordinates moved by
// N(0, 0.003), well within the short-range semivariance's radius, then projected.
Scored NearReplicate(const EncodedSpace& space, const GpData& data, Rng* rng) {
  Eigen::Index best;
  data.y.minCoeff(&best);
  std::vector<double> x(space.dims);
  for (int j = 0; j < space.dims; ++j) x[j] = data.x(best, j);
  const std::vector<EncodedDim>& info = space.encoding.dim_info();
  boost::random::normal_distribution<double> normal(0.0, 0.003);
  for (int j = 0; j < space.dims; ++j)
    if (!IsDiscrete(info[j].type)) x[j] = std::clamp(x[j] + normal(*rng), 0.0, 1.0);
  space.Project(x.data());
  return Scored{0.0, std::move(x)};
}

}  // namespace

absl::StatusOr<std::unique_ptr<GpSampler>> GpSampler::Create(const core::SearchSpace& space,
                                                             const SamplerOptions& options,
                                                             const GpSamplerOptions& gp) {
  auto encoding = Encoding::Build(space, CategoricalEncoding::kOneHot);
  if (!encoding.ok()) return encoding.status();
  std::unique_ptr<GpSampler> sampler(new GpSampler(space, *std::move(encoding), options, gp));
  if (gp.flat_acquisition > 0) {
    auto tpe = MakeTpeSampler(space, options);
    if (!tpe.ok()) return tpe.status();
    sampler->flat_fallback_ = *std::move(tpe);
  }
  return sampler;
}

GpSampler::GpSampler(core::SearchSpace space, Encoding encoding, SamplerOptions options,
                     GpSamplerOptions gp)
    : space_(std::move(space)),
      encoding_(std::move(encoding)),
      options_(options),
      gp_(gp),
      dims_(encoding_.dims()) {
  neutral_ = encoding_.Encode({});
  if (core::IsFinite(space_)) {
    cardinality_ = core::Cardinality(space_);
    if (cardinality_ && *cardinality_ <= static_cast<uint64_t>(gp_.enumerate_up_to)) {
      std::vector<core::Config> all;
      std::vector<const core::ParamSpec*> todo;
      for (const core::ParamSpec& p : space_.params) todo.push_back(&p);
      core::Config current;
      Enumerate(todo, current, all, gp_.enumerate_up_to);
      Enumerated e;
      for (core::Config& c : all) {
        std::vector<double> x = encoding_.Encode(c);
        Project(x.data());
        e.keys.push_back(KeyOf(x, nullptr));
        e.x.push_back(std::move(x));
        e.configs.push_back(std::move(c));
      }
      enumerated_ = std::move(e);
    }
  }
}

void GpSampler::Project(double* x, std::vector<char>* active) const {
  EncodedSpace{encoding_, neutral_, dims_}.Project(x, active);
}

int GpSampler::InitialDesignSize() const {
  return gp_.initial_design > 0 ? gp_.initial_design : std::max(5, dims_ + 1);
}

std::string GpSampler::KeyOf(const std::vector<double>& x, core::Config* config) const {
  return EncodedSpace{encoding_, neutral_, dims_}.KeyOf(x, config);
}

const GpSampler::CachedTrial& GpSampler::Cache(size_t index, const core::Config& config) {
  if (index < cache_.size() && cache_[index].config == config) return cache_[index];
  if (index >= cache_.size()) cache_.resize(index + 1);
  CachedTrial& c = cache_[index];
  c.config = config;
  c.x = encoding_.Encode(config);
  Project(c.x.data());
  c.key = KeyOf(c.x, nullptr);
  return c;
}

absl::StatusOr<std::optional<core::Config>> GpSampler::Next(const History& history) {
  notes_.clear();
  const size_t n_trials = history.trials.size();
  const uint64_t stream = Mix(options_.seed, n_trials);
  std::unordered_set<std::string> tried;
  int usable = 0;
  for (size_t i = 0; i < n_trials; ++i) {
    const Observation& o = history.trials[i];
    tried.insert(Cache(i, o.config).key);
    if ((o.state == TrialState::kCompleted || o.state == TrialState::kEarlyTerminated) && o.value &&
        std::isfinite(*o.value)) {
      ++usable;
    }
  }
  if (cardinality_ && tried.size() >= *cardinality_) return std::nullopt;
  const int initial = InitialDesignSize();
  if (static_cast<int>(n_trials) < initial || usable < 2) {
    return InitialPoint(n_trials, tried, stream);
  }
  return ModelPoint(history, tried, stream);
}

std::optional<core::Config> GpSampler::InitialPoint(size_t index, const KeySet& tried,
                                                    uint64_t stream) {
  Rng rng(stream);
  // The shift depends on the seed only, so the design is one scrambled sequence.
  Rng shift_rng(Mix(options_.seed, 0x5eed));
  boost::random::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<double> shift(dims_);
  for (double& s : shift) s = u(shift_rng);
  constexpr int kTries = 64;
  Eigen::MatrixXd points = SobolPoints(dims_, index, kTries, shift, rng);
  for (int i = 0; i < kTries; ++i) {
    std::vector<double> x(points.row(i).data(), points.row(i).data() + dims_);
    for (int j = 0; j < dims_; ++j) x[j] = points(i, j);
    Project(x.data());
    core::Config config;
    if (!tried.count(KeyOf(x, &config))) return config;
  }
  if (enumerated_) {
    std::vector<size_t> untried;
    for (size_t i = 0; i < enumerated_->keys.size(); ++i) {
      if (!tried.count(enumerated_->keys[i])) untried.push_back(i);
    }
    if (untried.empty()) return std::nullopt;
    boost::random::uniform_int_distribution<size_t> pick(0, untried.size() - 1);
    return enumerated_->configs[untried[pick(rng)]];
  }
  for (int i = 0; i < 1000; ++i) {
    std::vector<double> x(dims_);
    for (double& v : x) v = u(rng);
    Project(x.data());
    core::Config config;
    if (!tried.count(KeyOf(x, &config))) return config;
  }
  notes_.push_back("no untried configuration found by sampling; the space looks exhausted");
  return std::nullopt;
}

struct GpSampler::Obs {
  size_t trial;
  double y;  // minimisation orientation
  bool early;
  bool imputed;
};

struct GpSampler::Observed {
  std::vector<Obs> obs;         // usable and imputed trials, in trial order
  std::vector<size_t> pending;  // pending/running trials
};

struct GpSampler::ModelSet {
  std::vector<int> idx;  // into Observed::obs: the points the model conditions on
  GpData data;           // their encoded points and transformed targets
};

struct GpSampler::Exploration {
  std::vector<char> set_aside;  // per model point: near the incumbent, set aside
  int anchor = -1;              // model point explored around; -1 when not exploring
};

absl::StatusOr<std::optional<core::Config>> GpSampler::ModelPoint(const History& history,
                                                                  const KeySet& tried,
                                                                  uint64_t stream) {
  Rng rng(stream);
  const Observed observed = Observe(history);                          // 1
  const ModelSet set = BuildModelSet(observed.obs);                    // 2
  absl::StatusOr<GpModel> model = ConditionedModel(set.data, stream);  // 3
  if (!model.ok()) return model.status();
  absl::StatusOr<Exploration> explore =
      MaybeExplore(observed.obs, set, history.trials.size(), &*model);  // 4
  if (!explore.ok()) return explore.status();
  const PendingPenalizedLogEi acq = Acquisition(observed, set, *explore, &*model);  // 5
  if (enumerated_) return BestEnumerated(acq, tried);                               // 5a
  const EncodedSpace space{encoding_, neutral_, dims_};
  int anchor = explore->anchor;
  Box box = SearchBox(set.data, anchor);
  if (anchor < 0) anchor = TrustRegion(observed, set, history.trials.size(), space, &box);
  std::vector<Scored> ranked = RankCandidates(space, set.data, anchor, box, model->size(),
                                              hp_->additive(), acq, &rng);                 // 5b
  switch (FlatAcquisition(observed, set, *model, ranked)) {                                // 9
    case FlatChoice::kTpe:
      notes_.push_back("flat acquisition: TPE's point");
      return flat_fallback_->Next(history);
    case FlatChoice::kProbe:
      notes_.push_back("flat acquisition: a near-replicate of the best point");
      return BestUntried(space, {NearReplicate(space, set.data, &rng)}, std::move(ranked), tried,
                         &rng, &notes_);
    case FlatChoice::kAcquisition:
      break;
  }
  std::vector<Scored> refined = Refine(space, ranked, box, acq);                           // 5c
  CoordinateSteps(space, acq, &refined);                                                   // 5d
  return BestUntried(space, std::move(refined), std::move(ranked), tried, &rng, &notes_);  // 6
}

// 1. Observations (minimisation orientation) and pending points.
GpSampler::Observed GpSampler::Observe(const History& history) {
  Observed out;
  std::vector<Obs>& obs = out.obs;
  std::vector<size_t> missing;
  const double sign = options_.goal == core::Goal::kMaximize ? -1.0 : 1.0;
  for (size_t i = 0; i < history.trials.size(); ++i) {
    const Observation& o = history.trials[i];
    switch (o.state) {
      case TrialState::kPending:
      case TrialState::kRunning:
        out.pending.push_back(i);
        break;
      case TrialState::kCompleted:
      case TrialState::kEarlyTerminated:
        if (o.value && std::isfinite(*o.value)) {
          obs.push_back({i, sign * *o.value, o.state == TrialState::kEarlyTerminated, false});
        } else {
          missing.push_back(i);
        }
        break;
      case TrialState::kFailed:
      case TrialState::kCanceled:
        notes_.push_back(absl::StrCat("trial ", i + 1, ": ", core::TrialStateName(o.state),
                                      "; not used by the model"));
        break;
    }
  }
  double worst = -std::numeric_limits<double>::infinity();
  for (const Obs& o : obs) worst = std::max(worst, o.y);
  for (size_t i : missing) {
    const Observation& o = history.trials[i];
    const std::string what = !o.value               ? "has no objective value"
                             : std::isnan(*o.value) ? "has objective value NaN"
                                                    : absl::StrCat("has objective value ",
                                                                   *o.value > 0 ? "+inf" : "-inf");
    notes_.push_back(absl::StrCat("trial ", i + 1, ": ", core::TrialStateName(o.state), " but ",
                                  what, "; used as the worst value seen (", sign * worst,
                                  ") so the sampler avoids its region"));
    obs.push_back({i, worst, false, true});
  }
  std::sort(obs.begin(), obs.end(), [](const Obs& a, const Obs& b) { return a.trial < b.trial; });
  return out;
}

// 2. Model set (capped) and transformed targets.
GpSampler::ModelSet GpSampler::BuildModelSet(const std::vector<Obs>& obs) const {
  std::vector<double> raw_y;
  for (const Obs& o : obs) raw_y.push_back(o.y);
  ModelSet set;
  set.idx = SelectSubset(raw_y, gp_.max_model_points);
  const int n = static_cast<int>(set.idx.size());
  std::vector<double> model_raw;
  for (int k : set.idx) model_raw.push_back(raw_y[k]);
  GpData& data = set.data;
  data.x.resize(n, dims_);
  std::vector<char> capped;
  data.y = TransformTargets(model_raw, &capped, gp_.power_transform);
  data.extra_noise = Eigen::VectorXd::Zero(n);
  bool any_extra = false;
  for (int r = 0; r < n; ++r) {
    const Obs& o = obs[set.idx[r]];
    const std::vector<double>& x = cache_[o.trial].x;
    for (int j = 0; j < dims_; ++j) data.x(r, j) = x[j];
    if (o.early) data.extra_noise[r] += gp_.early_stopped_noise;
    // A capped value only says "very bad": the model need not interpolate it.
    if (capped[r]) data.extra_noise[r] += kCappedNoise;
    any_extra = any_extra || data.extra_noise[r] > 0;
  }
  if (!any_extra) data.extra_noise.resize(0);
  return set;
}

// 3. Hyperparameters (see the header for the schedule) and the conditioned model.
absl::StatusOr<GpFitResult> GpSampler::FitStructure(const GpData& fit_data, uint64_t stream,
                                                    bool additive, int n_model) {
  const std::optional<GpHyperparameters>& previous = fits_[additive ? 1 : 0];
  const bool cold = !previous || previous->dims() != dims_;
  const GpHyperparameters prior_mode = GpHyperparameters::Default(dims_, additive);
  GpFitOptions options;
  options.seed = stream;
  std::vector<GpHyperparameters> starts;
  if (cold && fit_data.y.size() > kCoarseFitPoints) {
    // Multi-start on a small subset first, then refine on the full fit set.
    std::vector<double> fy(fit_data.y.data(), fit_data.y.data() + fit_data.y.size());
    options.random_starts = 2;
    auto coarse = FitHyperparameters(Rows(fit_data, SelectSubset(fy, kCoarseFitPoints)),
                                     {prior_mode}, options);
    if (!coarse.ok()) return coarse.status();
    starts = {coarse->hp};
    options.random_starts = 0;
    options.max_iterations = 40;
  } else if (cold) {
    starts = {prior_mode};
    options.random_starts = 2;
  } else {
    starts = {*previous};
    if (n_model <= gp_.refit_all_below) starts.push_back(prior_mode);
    options.random_starts = 0;
    options.max_iterations = 40;
  }
  return FitHyperparameters(fit_data, starts, options);
}

absl::Status GpSampler::Refit(const GpData& data, uint64_t stream) {
  const int n = static_cast<int>(data.y.size());
  std::vector<double> y(data.y.data(), data.y.data() + n);
  const GpData fit_data = Rows(data, SelectSubset(y, gp_.max_fit_points));
  auto product = FitStructure(fit_data, stream, /*additive=*/false, n);
  if (!product.ok()) return product.status();
  fits_[0] = product->hp;
  hp_ = product->hp;
  fit_info_ = FitInfo{};
  fit_info_.product_lml = product->log_marginal_likelihood;
  last_fit_n_ = n;
  GpData additive_data;
  const bool additive = gp_.additive && dims_ >= 2 &&
                        ChooseAdditive(fit_data, *product, stream, n, &additive_data);
  ChooseTrend(additive ? additive_data : fit_data, stream);
  return absl::OkStatus();
}

// 3, the kernel: with the additive part when it pays for its hyperparameters. True when
// chosen; `compared` then holds the points the choice was made on.
bool GpSampler::ChooseAdditive(const GpData& fit_data, const GpFitResult& product,
                               uint64_t stream, int n_model, GpData* compared) {
  // The additive kernel has twice the hyperparameters and costs more per evaluation:
  // above kCoarseFitPoints it is fitted, and compared, on a subset of that size.
  GpData additive_data = fit_data;
  double product_lml = product.log_marginal_likelihood;
  if (fit_data.y.size() > kCoarseFitPoints) {
    std::vector<double> fy(fit_data.y.data(), fit_data.y.data() + fit_data.y.size());
    additive_data = Rows(fit_data, SelectSubset(fy, kCoarseFitPoints));
    auto lml = LogMarginalLikelihood(additive_data, product.hp);
    if (!lml.ok()) return false;
    product_lml = *lml;
  }
  auto additive = FitStructure(additive_data, stream, /*additive=*/true, n_model);
  if (!additive.ok()) return false;
  fits_[1] = additive->hp;
  fit_info_.additive_lml = additive->log_marginal_likelihood;
  fit_info_.product_lml = product_lml;
  // BIC-style: the additive part's d + 1 hyperparameters must pay for themselves.
  const double penalty = 0.5 * (dims_ + 1) * std::log(static_cast<double>(additive_data.y.size()));
  if (additive->log_marginal_likelihood - penalty <= product_lml) return false;
  hp_ = additive->hp;
  fit_info_.additive = true;
  *compared = std::move(additive_data);
  return true;
}

// 3, the prior mean (header, step 4): the trend when its fit pays for its effective
// parameters, on the points the kernel was chosen on (`compared`).
void GpSampler::ChooseTrend(const GpData& compared, uint64_t stream) {
  if (gp_.trend_ridge <= 0) return;
  GpData data = compared;
  auto zero_mean = LogMarginalLikelihood(data, *hp_);
  if (!zero_mean.ok()) return;
  const QuadraticTrend trend = FitQuadraticTrend(data.x, data.y, gp_.trend_ridge * dims_);
  data.trend = trend.coefficients;
  GpFitOptions options;
  options.seed = stream;
  options.random_starts = 0;
  options.max_iterations = 40;
  std::vector<GpHyperparameters> starts = {*hp_};
  if (trend_fit_ && trend_fit_->additive() == hp_->additive() && trend_fit_->dims() == dims_) {
    starts.push_back(*trend_fit_);
  }
  auto fit = FitHyperparameters(data, starts, options);
  if (!fit.ok()) return;
  trend_fit_ = fit->hp;
  fit_info_.zero_mean_lml = *zero_mean;
  fit_info_.trend_lml = fit->log_marginal_likelihood;
  fit_info_.trend_penalty =
      0.5 * trend.effective_parameters * std::log(static_cast<double>(data.y.size()));
  if (fit->log_marginal_likelihood - fit_info_.trend_penalty > *zero_mean) {
    fit_info_.trend = true;
    hp_ = fit->hp;
  }
}

GpData GpSampler::WithChosenTrend(const GpData& data) const {
  GpData out = data;
  if (fit_info_.trend) {
    out.trend = FitQuadraticTrend(data.x, data.y, gp_.trend_ridge * dims_).coefficients;
  }
  return out;
}

absl::StatusOr<GpModel> GpSampler::ConditionedModel(const GpData& data, uint64_t stream) {
  const int n = static_cast<int>(data.y.size());
  const bool have_hp = hp_ && hp_->dims() == dims_;
  const bool refit = !have_hp || n <= gp_.refit_all_below ||
                     n >= last_fit_n_ + std::max(1, last_fit_n_ / 20) || n < last_fit_n_;
  if (!refit) {
    auto m = GpModel::Condition(WithChosenTrend(data), *hp_);
    if (m.ok() && m->log_marginal_likelihood() / n >= last_fit_lml_per_point_ - 0.2) return m;
  }
  if (absl::Status s = Refit(data, stream); !s.ok()) return s;
  auto m = GpModel::Condition(WithChosenTrend(data), *hp_);
  if (!m.ok()) return m.status();
  last_fit_lml_per_point_ = m->log_marginal_likelihood() / n;
  return m;
}

// 4. Converged on a local optimum? Then two suggestions in three explore a second
// basin instead (header, step 7): targets within kSetAsideRadius length scales of the
// incumbent are raised to the typical value, every target is shifted so the prior mean
// is that typical value, and EI is maximised in a box around the best point left.
absl::StatusOr<GpSampler::Exploration> GpSampler::MaybeExplore(const std::vector<Obs>& obs,
                                                               const ModelSet& set, size_t n_trials,
                                                               GpModel* model) {
  const GpData& data = set.data;
  const int n = static_cast<int>(set.idx.size());
  const int initial_design = InitialDesignSize();
  Exploration out;
  out.set_aside.assign(n, 0);
  std::vector<double> finished;
  for (const Obs& o : obs) {
    if (!o.imputed) finished.push_back(o.y);
  }
  if (n_trials % 3 == 0 || !Converged(finished, std::max(kConvergedWindow, dims_), initial_design,
                                      kConvergedTolerance)) {
    return out;
  }
  // Typical value: median of the initial design, an unbiased sample of the space.
  std::vector<double> design;
  for (int r = 0; r < n; ++r) {
    if (obs[set.idx[r]].trial < static_cast<size_t>(initial_design)) design.push_back(data.y[r]);
  }
  if (design.empty()) design.assign(data.y.data(), data.y.data() + n);
  std::nth_element(design.begin(), design.begin() + design.size() / 2, design.end());
  const double typical = design[design.size() / 2];
  Eigen::Index incumbent;
  data.y.minCoeff(&incumbent);
  const Eigen::VectorXd inv_ls = (-hp_->log_lengthscales.array()).exp();
  Eigen::VectorXd y = data.y;
  for (int r = 0; r < n; ++r) {
    const double dist =
        (data.x.row(r) - data.x.row(incumbent)).transpose().cwiseProduct(inv_ls).norm();
    if (dist <= kSetAsideRadius) {
      out.set_aside[r] = 1;
      y[r] = std::max(y[r], typical);
    }
  }
  int anchor = -1;
  for (int r = 0; r < n; ++r) {
    const Obs& o = obs[set.idx[r]];
    if (out.set_aside[r] || o.imputed || o.early) continue;
    if (anchor < 0 || data.y[r] < data.y[anchor]) anchor = r;
  }
  if (anchor < 0 || data.y[anchor] >= typical) {
    std::fill(out.set_aside.begin(), out.set_aside.end(), 0);
    return out;
  }
  y.array() -= typical;
  if (absl::Status st = model->SetTargets(y); !st.ok()) return st;
  notes_.push_back(absl::StrCat("search converged near trial ", obs[set.idx[incumbent]].trial + 1,
                                "; exploring around trial ", obs[set.idx[anchor]].trial + 1));
  out.anchor = anchor;
  return out;
}

// 5. Incumbent (finished points' posterior mean) and kriging-believer fantasies.
PendingPenalizedLogEi GpSampler::Acquisition(const Observed& observed, const ModelSet& set,
                                             const Exploration& explore, GpModel* model) {
  const int n = static_cast<int>(set.idx.size());
  // The incumbent is the best posterior mean at a finished point (header, step 5).
  Eigen::VectorXd values = model->data().y;
  if (gp_.mean_incumbent) model->Predict(model->data().x, &values, nullptr);
  double best = std::numeric_limits<double>::infinity();
  for (int r = 0; r < n; ++r) {
    const Obs& o = observed.obs[set.idx[r]];
    if (!o.early && !o.imputed && !explore.set_aside[r]) best = std::min(best, values[r]);
  }
  if (!std::isfinite(best)) best = values.minCoeff();
  const std::vector<size_t>& pending = observed.pending;
  Eigen::MatrixXd xp(pending.size(), dims_);
  if (!pending.empty()) {
    for (size_t r = 0; r < pending.size(); ++r)
      for (int j = 0; j < dims_; ++j) xp(r, j) = cache_[pending[r]].x[j];
    Eigen::VectorXd mu;
    model->Predict(xp, &mu, nullptr);
    if (absl::Status s = model->AddPoints(xp, mu, Eigen::VectorXd()); s.ok()) {
      best = std::min(best, mu.minCoeff());
    } else {
      notes_.push_back(absl::StrCat("pending trials not accounted for: ", s.message()));
    }
  }
  return PendingPenalizedLogEi{model, best, xp};
}

// 9. Flat acquisition (header, step 9): the acquisition's point, a probe or TPE's point.
GpSampler::FlatChoice GpSampler::FlatAcquisition(const Observed& observed, const ModelSet& set,
                                                 const GpModel& model,
                                                 const std::vector<Scored>& ranked) {
  if (gp_.flat_acquisition <= 0 || ranked.empty()) return FlatChoice::kAcquisition;
  const double spread = ranked.front().log_ei - ranked[ranked.size() / 2].log_ei;
  notes_.push_back(absl::StrCat("acquisition spread ", spread));
  if (spread >= std::log(gp_.flat_acquisition)) return FlatChoice::kAcquisition;
  if (gp_.flat_noise_gate <= 0) return FlatChoice::kTpe;
  const std::optional<double> short_range = ShortRangeSemivariance(set.data);
  const double noise = std::exp(model.hyperparameters().log_noise_variance);
  notes_.push_back(absl::StrCat("short-range semivariance ",
                                short_range ? absl::StrCat(*short_range) : "unknown",
                                ", noise variance ", noise));
  if (!short_range) {
    const bool probe = gp_.flat_probe && !(gp_.flat_probe_pending_aware &&
                                           ClosePairsPending(set.data.x, observed));
    return probe ? FlatChoice::kProbe : FlatChoice::kAcquisition;
  }
  const bool noisy =
      *short_range >= gp_.flat_noise_gate * noise && *short_range >= gp_.flat_noise_share;
  return noisy ? FlatChoice::kTpe : FlatChoice::kAcquisition;
}

// Whether the pending trials will complete kShortRangePairs pairs of points within
// kShortRangeRadius (model and pending points together): probes already on their way.
bool GpSampler::ClosePairsPending(const Eigen::MatrixXd& model_x, const Observed& observed) const {
  std::vector<const std::vector<double>*> pending;
  for (size_t i : observed.pending) pending.push_back(&cache_[i].x);
  if (pending.empty()) return false;
  const double r2 = kShortRangeRadius * kShortRangeRadius;
  auto close = [&](const double* a, const double* b) {
    double d2 = 0;
    for (int j = 0; j < dims_ && d2 <= r2; ++j) d2 += (a[j] - b[j]) * (a[j] - b[j]);
    return d2 <= r2;
  };
  const Eigen::Index n = model_x.rows();
  const Eigen::MatrixXd points = model_x.transpose();  // a model point per contiguous column
  auto row = [&](Eigen::Index i) { return points.col(i).data(); };
  size_t pairs = 0;
  for (Eigen::Index i = 0; i < n; ++i)
    for (Eigen::Index k = 0; k < i; ++k) pairs += close(row(i), row(k));
  for (size_t p = 0; p < pending.size(); ++p) {
    for (Eigen::Index i = 0; i < n; ++i) pairs += close(pending[p]->data(), row(i));
    for (size_t q = 0; q < p; ++q) pairs += close(pending[p]->data(), pending[q]->data());
  }
  return pairs >= kShortRangePairs;
}

// 4b. Trust region (gp_trust_region.h): outside exploration steps, all but every
// global_every-th suggestion maximise the acquisition in a box around the region's
// centre. Returns the centre's model row (and sets *box), or -1 for a global step.
int GpSampler::TrustRegion(const Observed& observed, const ModelSet& set, size_t n_trials,
                           const EncodedSpace& space, Box* box) {
  using Use = GpSamplerOptions::TrustRegionUse;
  if (gp_.trust_region == Use::kNever) return -1;
  if (gp_.trust_region == Use::kWhilePending && observed.pending.empty()) return -1;
  if (gp_.global_every > 0 && n_trials % gp_.global_every == 0) return -1;
  const std::vector<Obs>& obs = observed.obs;
  std::vector<double> y;
  std::vector<size_t> trial;
  for (const Obs& o : obs) {
    if (o.imputed || o.early) continue;
    y.push_back(o.y);
    trial.push_back(o.trial);
  }
  const TrustRegionState state = ReplayTrustRegion(y, InitialDesignSize(), dims_);
  if (state.center < 0) return -1;
  for (size_t r = 0; r < set.idx.size(); ++r) {
    if (obs[set.idx[r]].trial != trial[state.center]) continue;
    const Eigen::VectorXd center = set.data.x.row(r).transpose();
    *box = TrustRegionBox(space, center, hp_->log_lengthscales, state.length);
    notes_.push_back(absl::StrCat("trust region around trial ", trial[state.center] + 1, ", side ",
                                  state.length, ", restarts ", state.restarts));
    return static_cast<int>(r);
  }
  return -1;
}

// 5a. Finite, small spaces: score every untried config.
std::optional<core::Config> GpSampler::BestEnumerated(const PendingPenalizedLogEi& acq,
                                                      const KeySet& tried) const {
  std::vector<size_t> untried;
  for (size_t i = 0; i < enumerated_->keys.size(); ++i) {
    if (!tried.count(enumerated_->keys[i])) untried.push_back(i);
  }
  if (untried.empty()) return std::nullopt;
  Eigen::MatrixXd m(untried.size(), dims_);
  for (size_t r = 0; r < untried.size(); ++r)
    for (int j = 0; j < dims_; ++j) m(r, j) = enumerated_->x[untried[r]][j];
  const Eigen::VectorXd scores = acq.ScoreRows(m);
  Eigen::Index arg;
  scores.maxCoeff(&arg);
  return enumerated_->configs[untried[arg]];
}

absl::StatusOr<std::unique_ptr<Sampler>> MakeGpSampler(const core::SearchSpace& space,
                                                       const SamplerOptions& options) {
  auto sampler = GpSampler::Create(space, options);
  if (!sampler.ok()) return sampler.status();
  return std::unique_ptr<Sampler>(*std::move(sampler));
}

}  // namespace sweep::samplers

// The Bayesian (`sampling_algorithm: bayesian`) sampler: a Gaussian process over the
// encoded unit cube with log expected improvement.
//
// Space: Encoding with one-hot categoricals (encoding.h). Log-scaled parameters are
// modelled in log space, integers and categorical options at their bin centres /
// exact one-hot vectors, and dimensions of inactive nested branches are pinned to the
// encoding's neutral value, so configs that share a branch compare only on what they
// share. Every candidate is projected the same way before it is scored.
//
// Each Next():
//  1. Initial design: while fewer than max(5, d+1) trials exist (or fewer than two
//     trials have a usable value) the next point of a Sobol sequence (Boost.Random,
//     randomly shifted by the seed) is returned.
//  2. Targets: values are turned into a minimisation (sign flip for maximize); values
//     far on the bad side, beyond median + 3 robust sd (IQR/1.349), are compressed
//     logarithmically (t + s log1p((y - t)/s)) so one diverged trial cannot flatten the
//     model; the result is standardised. Trials whose value is NaN/inf/missing
//     (completed or stopped early) are kept as observations at the worst finite value
//     seen, since such configs usually diverged; failed and canceled trials are left
//     out. Each such decision is recorded in notes().
//  3. Trials stopped early (early_terminated) with a value are observations too: their
//     last reported value is used with extra observation noise (0.05 in standardised
//     units), so the model learns the region was poor without trusting an unfinished
//     run's value as much as a finished one; they never set the EI incumbent unless
//     no trial completed.
//  4. Model: Matern-5/2 ARD GP (gp_model.h); hyperparameters refitted every trial up
//     to 100 observations (warm start + prior mode), then every ~5% new trials or when
//     the per-point likelihood under the old fit drops, warm-started. Each refit also
//     fits the kernel with a first-order additive part (a sum of one-dimensional
//     effects, gp_model.h) and uses it when its log marginal likelihood beats the plain
//     kernel's by more than a BIC penalty, (d + 1)/2 log n for its d + 1 extra
//     hyperparameters: objectives that are close to separable (many hyperparameter
//     spaces, and most multimodal test functions) are then learnt from every point,
//     while interacting ones keep the plain kernel. Above 100 fit points the additive
//     kernel is fitted, and compared, on a 100-point subset (the fit's cost).
//     Each refit then decides on the prior mean: zero, or a quadratic trend (gp_model.h)
//     fitted by ridge regression (ridge trend_ridge * d on unit-variance features) with
//     the chosen kernel refitted to the residual, kept when its log marginal likelihood
//     beats the zero mean's by more than p/2 log n, p the ridge fit's effective number
//     of parameters. Why: on objectives with a global bowl under local ripples (Levy,
//     Rastrigin, Rosenbrock, an ill-conditioned ellipsoid; and hyperparameters such as a
//     learning rate with one good range) a zero-mean GP fitted to 10-30 points is
//     uncertain nearly everywhere, and its first model steps land like random points;
//     the trend learns the bowl from every point, so EI searches where the bowl points
//     (bench/bo_suite.py; docs/bo-suite-history.md, eighth round). Objectives without that
//     shape (Hartmann-6, Michalewicz) keep the zero mean on nearly every call. The
//     chosen trend's coefficients are refitted to the data on every call.
//  5. EI incumbent: the lowest posterior mean at a finished trial (mean_incumbent), not
//     the lowest observed value: when the model explains part of the objective as noise
//     (noisy or rugged objectives), the best observation is a lucky draw that EI can
//     only beat far from the data, and the search would drift into random exploration.
//     Pending/running trials: kriging believer. Each is added to the model as a
//     fantasy observation at its posterior mean, and the incumbent is the minimum over
//     that and the fantasy values, so EI vanishes around in-flight points and
//     concurrent requests get distinct, spread-out suggestions.
//  6. Acquisition: log EI (gp_acquisition.h) scored on scrambled Sobol candidates,
//     perturbations of the best observations and, while the additive kernel is
//     chosen, recombinations of their coordinates (gp_optimizer.h); the best few are
//     refined by box L-BFGS on the continuous dimensions, then by coordinate steps over
//     integer and categorical dimensions. Finite spaces of up to 20000 configs are
//     scored exhaustively over untried configs instead. Already-tried configs are
//     skipped; when a finite space is exhausted Next returns nullopt.
//  7. Converged searches look for a second basin. GP-EI commits to the first good basin
//     it finds; once the best value has improved by less than 1% of its depth below the
//     initial design's median over the last max(10, d) finished trials, two suggestions
//     in three are exploration
//     steps: observations within 2 length scales of the incumbent are set aside (their
//     targets raised to the initial design's median, which also becomes the prior
//     mean) and log EI is maximised within +-0.15 (unit cube) of the best observation
//     left, so another basin is climbed while every third step keeps refining the first.
//     (On Hartmann-6 this cuts the runs stuck in the 0.12-regret local optimum by about a
//     third.) Exploration steps are listed in notes().
//  8. Trust region (TuRBO-style, gp_trust_region.h), outside exploration steps: all but
//     every third suggestion maximise log EI only inside a box around the best trial
//     since the region's last restart, its side scaled per dimension by the GP's length
//     scales, doubled after 3 improvements in a row, halved after max(4, d) trials
//     without one, and restarted (the next trial becomes the centre; the model keeps
//     every observation) below 1/32 of its initial size. Its state is replayed from the
//     finished values in trial order on every call, so it adds no hidden state. With
//     trials in flight it keeps most of a batch near the incumbent, which the kriging
//     believer and the pending penalty would otherwise spread out. Sequentially it was
//     once off (it cost Hartmann-6 before the prior mean of step 4); with the trend it
//     takes rugged, rotated and shifted functions where EI alone commits to a basin
//     later than TPE (Styblinski-Tang-5 at 50 trials, shifted Ackley and Levy, rotated
//     Levy-7) and lowers Hartmann-6's mean regret (docs/bo-suite.md, ninth round).
//     Regions are listed in notes().
//  9. Flat acquisition: where the best candidate's EI is within a factor 1.1 of the median
//     candidate's, the model prefers no point: the values may be noise it cannot average
//     out, or fine structure it has not resolved. The short-range semivariance of the targets
//     (gp_model.h: half the mean squared difference over the four closest pairs of model
//     points within 0.02 of each other) tells them apart, as a nugget does in kriging:
//     noise keeps it at the noise variance, a continuous function drives it to zero.
//     With fewer such pairs, a near-replicate of the best model point is suggested to
//     make one (with trials in flight, not while pending trials already complete the
//     pairs); where it is at least 0.1 of the fitted noise variance and 0.1 of the
//     targets' variance, the TPE sampler's suggestion for the same history is made
//     instead (its sampling around the good trials does not rest on a fit of the noise);
//     otherwise the acquisition's point. Adopted in the broad suite's sixteenth round
//     (docs/bo-suite.md): on rugged objectives (many equal minima, funnels, ripples) and
//     noisy ones it lowered the regret of more seeds than it raised (856 against 506 over
//     55 problems, both modes and budgets), and it leaves smooth objectives, where the
//     acquisition is never flat, as they were. Its choices are listed in notes().
//
// Cost with n usable trials in d dims: the model uses at most 300 points (above that:
// the 100 best, the 100 most recent and an even spread of the rest) and fits
// hyperparameters on at most 200 of them, so per-suggestion time grows roughly as
// O(min(n,300)^2 (candidates + d)) plus, on refits, O(min(n,200)^3) per likelihood
// evaluation (and O(100^3 + 100^2 d) for the additive kernel); beyond the caps it only
// grows linearly (encoding the history).
//
// Determinism: for the same space, seed and sequence of histories the suggestions are
// identical. The hyperparameter fit is warm-started from the previous call's fit, so a
// fresh sampler given a long history may differ from one that saw it grow (the
// documented exception in sampler.h).
//
// Thread safety: one thread at a time (Sampler contract).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "absl/status/statusor.h"
#include "core/search_space.h"
#include "samplers/encoding.h"
#include "samplers/gp_acquisition.h"
#include "samplers/gp_model.h"
#include "samplers/gp_optimizer.h"
#include "samplers/sampler.h"

namespace sweep::samplers {

struct GpSamplerOptions {
  int initial_design = 0;             // 0: max(5, d + 1)
  int max_model_points = 300;         // points the GP conditions on (fantasies extra)
  int max_fit_points = 200;           // points used to fit hyperparameters
  int refit_all_below = 100;          // refit on every call up to this many observations
  double early_stopped_noise = 0.05;  // extra noise (standardised) for early_terminated
  int enumerate_up_to = 20000;        // finite spaces up to this size are scored exhaustively
  bool additive = true;               // kernel with a first-order additive part (gp_model.h)
  bool power_transform = false;       // Yeo-Johnson warp of the targets (gp_targets.h)
  bool mean_incumbent = true;         // EI incumbent: best posterior mean, not best value
  // Local trust region (step 8): never, only while trials are in flight, or always.
  enum class TrustRegionUse { kNever, kWhilePending, kAlways };
  TrustRegionUse trust_region = TrustRegionUse::kAlways;
  int global_every = 3;  // > 0: every k-th suggestion ignores the region
  // Quadratic prior mean (step 4): ridge per dimension of its fit; 0: always zero mean.
  double trend_ridge = 1.0;
  // Flat acquisition (step 9): the best candidate's log EI within log(flat_acquisition)
  // of the median candidate's (0: never flat).
  double flat_acquisition = 1.1;
  // There, TPE's point when the short-range semivariance is at least this share of the
  // fitted noise variance (0: whenever flat) ...
  double flat_noise_gate = 0.1;
  // ... and at least this share of the targets' standardised variance.
  double flat_noise_share = 0.1;
  // With too few close pairs to tell, a near-replicate of the best point (false: the
  // acquisition's point) ...
  bool flat_probe = true;
  // ... unless pending trials will already complete the pairs.
  bool flat_probe_pending_aware = true;
};

class GpSampler final : public Sampler {
 public:
  // InvalidArgument when the space cannot be encoded (names the parameter).
  static absl::StatusOr<std::unique_ptr<GpSampler>> Create(const core::SearchSpace& space,
                                                           const SamplerOptions& options,
                                                           const GpSamplerOptions& gp = {});

  absl::StatusOr<std::optional<core::Config>> Next(const History& history) override;

  // What the last Next() did with trials it could not use as they are (e.g.
  // "trial 3: objective value is NaN; used as the worst value seen (…)").
  const std::vector<std::string>& notes() const { return notes_; }
  // The hyperparameters of the last fit, if a model was built.
  const std::optional<GpHyperparameters>& hyperparameters() const { return hp_; }
  const Encoding& encoding() const { return encoding_; }
  // Which kernel the last refit chose and the log marginal likelihoods behind the choice.
  struct FitInfo {
    bool additive = false;
    double product_lml = 0;
    std::optional<double> additive_lml;
    // The prior mean's choice: the chosen kernel's LML with zero mean, and with the
    // trend (when fitted) and the penalty the trend had to pay.
    bool trend = false;
    double zero_mean_lml = 0;
    std::optional<double> trend_lml;
    double trend_penalty = 0;
  };
  const FitInfo& fit_info() const { return fit_info_; }

 private:
  struct CachedTrial {
    core::Config config;
    std::vector<double> x;  // encoded and projected
    std::string key;        // canonical config key
  };
  struct Enumerated {
    std::vector<core::Config> configs;
    std::vector<std::vector<double>> x;
    std::vector<std::string> keys;
  };
  using KeySet = std::unordered_set<std::string>;
  // What ModelPoint's steps pass on (defined in the .cc).
  struct Obs;          // one usable or imputed trial
  struct Observed;     // step 1: observations and pending trials
  struct ModelSet;     // step 2: the points the model conditions on
  struct Exploration;  // step 4: whether and where to explore a second basin

  GpSampler(core::SearchSpace space, Encoding encoding, SamplerOptions options,
            GpSamplerOptions gp);

  const CachedTrial& Cache(size_t index, const core::Config& config);

  // Snaps integer/categorical dims to their levels, one-hot groups to a one-hot vector
  // and inactive dims to the neutral value; `active` (optional) receives the mask.
  void Project(double* x, std::vector<char>* active = nullptr) const;
  std::string KeyOf(const std::vector<double>& x, core::Config* config) const;
  int InitialDesignSize() const;
  std::optional<core::Config> InitialPoint(size_t index, const KeySet& tried, uint64_t stream);
  // ModelPoint runs the numbered steps of the .cc, one function each; steps 5b-6 (the
  // acquisition optimiser) are free functions in the .cc.
  absl::StatusOr<std::optional<core::Config>> ModelPoint(const History& history,
                                                         const KeySet& tried, uint64_t stream);
  Observed Observe(const History& history);
  ModelSet BuildModelSet(const std::vector<Obs>& obs) const;
  absl::StatusOr<GpFitResult> FitStructure(const GpData& fit_data, uint64_t stream, bool additive,
                                           int n_model);
  absl::Status Refit(const GpData& data, uint64_t stream);
  bool ChooseAdditive(const GpData& fit_data, const GpFitResult& product, uint64_t stream,
                      int n_model, GpData* compared);
  void ChooseTrend(const GpData& compared, uint64_t stream);
  GpData WithChosenTrend(const GpData& data) const;
  absl::StatusOr<GpModel> ConditionedModel(const GpData& data, uint64_t stream);
  absl::StatusOr<Exploration> MaybeExplore(const std::vector<Obs>& obs, const ModelSet& set,
                                           size_t n_trials, GpModel* model);
  int TrustRegion(const Observed& observed, const ModelSet& set, size_t n_trials,
                  const EncodedSpace& space, Box* box);
  PendingPenalizedLogEi Acquisition(const Observed& observed, const ModelSet& set,
                                    const Exploration& explore, GpModel* model);
  std::optional<core::Config> BestEnumerated(const PendingPenalizedLogEi& acq,
                                             const KeySet& tried) const;
  enum class FlatChoice { kAcquisition, kProbe, kTpe };
  FlatChoice FlatAcquisition(const Observed& observed, const ModelSet& set, const GpModel& model,
                             const std::vector<Scored>& ranked);
  bool ClosePairsPending(const Eigen::MatrixXd& model_x, const Observed& observed) const;

  core::SearchSpace space_;
  Encoding encoding_;
  SamplerOptions options_;
  GpSamplerOptions gp_;
  int dims_ = 0;
  std::vector<double> neutral_;
  std::optional<Enumerated> enumerated_;  // finite, small spaces
  std::unique_ptr<Sampler> flat_fallback_;  // TPE, when flat_acquisition is on (step 9)
  std::optional<uint64_t> cardinality_;

  std::vector<CachedTrial> cache_;
  std::optional<GpHyperparameters> hp_;       // the chosen fit
  std::optional<GpHyperparameters> fits_[2];  // last fit without / with the additive part
  std::optional<GpHyperparameters> trend_fit_;  // last fit to the trend's residual
  FitInfo fit_info_;
  int last_fit_n_ = 0;
  double last_fit_lml_per_point_ = 0;
  std::vector<std::string> notes_;
};

}  // namespace sweep::samplers

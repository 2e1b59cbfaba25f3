// The GP sampler's acquisition optimiser (gp_sampler.h, steps 5b-6): candidates,
// gradient refinement, discrete coordinate steps and the choice of an untried config,
// all in the encoded unit cube.
//
// Thread safety: pure functions; Rng arguments are the caller's.
#pragma once

#include <Eigen/Dense>
#include <boost/random/mersenne_twister.hpp>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/search_space.h"
#include "samplers/encoding.h"
#include "samplers/gp_acquisition.h"
#include "samplers/gp_model.h"

namespace sweep::samplers {

using Rng = boost::random::mt19937_64;

bool IsDiscrete(EncodedDim::Type t);

// `count` consecutive Sobol points from `start`, each coordinate shifted by `shift`
// modulo 1 (Cranley-Patterson rotation), as rows. Falls back to uniform random points
// above Boost's dimension limit.
Eigen::MatrixXd SobolPoints(int dims, uint64_t start, int count, const std::vector<double>& shift,
                            Rng& rng);

// The encoded space as the acquisition optimiser sees it (references, not owned).
struct EncodedSpace {
  const Encoding& encoding;
  const std::vector<double>& neutral;  // the encoding of the empty config
  int dims;

  // Snaps integer/categorical dims to their levels, one-hot groups to a one-hot vector
  // and inactive dims to the neutral value; `active` (optional) receives the mask.
  void Project(double* x, std::vector<char>* active_out = nullptr) const;
  // The canonical key of the decoded point; `config` (optional) receives the config.
  std::string KeyOf(const std::vector<double>& x, core::Config* config) const;
};

struct Scored {
  double log_ei;
  std::vector<double> x;
};

// Where continuous dims are searched.
struct Box {
  Eigen::VectorXd lo, hi;
};

// The unit cube, or +-0.15 around the model point `anchor` (exploration steps; -1: none).
Box SearchBox(const GpData& data, int anchor);

// 5b. Candidates: scrambled Sobol points in the box, perturbations of the best model
// points (of the anchor in exploration steps) and, with `recombine` outside exploration
// steps, recombinations of the best model points; projected and sorted by score, best
// first. Their number shrinks as the model grows (model_size points, fantasies included).
std::vector<Scored> RankCandidates(const EncodedSpace& space, const GpData& data, int anchor,
                                   const Box& box, int model_size, bool recombine,
                                   const PendingPenalizedLogEi& acq, Rng* rng);

// Part of 5b (the GP sampler recombines while its kernel has the additive part, i.e.
// the objective looks close to separable): `count` candidates made of the best points'
// coordinates. Each parameter (a one-hot group as a whole) is copied from one of the
// kRecombinationParents model points that come first in `order` (best first),
// continuous ones jittered by N(0, 0.01^2) and clamped to [0, 1]. When the objective is
// close to a sum of one-dimensional effects (the additive kernel), its minimum combines
// good values that different trials found, which neither Sobol points nor perturbations
// of one point reach in a few hundred tries.
constexpr int kRecombinationParents = 8;
Eigen::MatrixXd Recombinations(const EncodedSpace& space, const GpData& data,
                               const std::vector<int>& order, int count, Rng* rng);

// 5c. Box L-BFGS on the active continuous dims of the best few distinct candidates.
std::vector<Scored> Refine(const EncodedSpace& space, const std::vector<Scored>& ranked,
                           const Box& box, const PendingPenalizedLogEi& acq);

// 5d. Sorts `refined` by score, then takes coordinate steps over the integer and
// categorical dims of the best one while they improve the score.
void CoordinateSteps(const EncodedSpace& space, const PendingPenalizedLogEi& acq,
                     std::vector<Scored>* refined);

// 6. The best-scoring untried config among `refined` and `ranked`; else a random untried
// one; else nullopt, with a note appended to `notes`.
std::optional<core::Config> BestUntried(const EncodedSpace& space, std::vector<Scored> refined,
                                        std::vector<Scored> ranked,
                                        const std::unordered_set<std::string>& tried, Rng* rng,
                                        std::vector<std::string>* notes);

}  // namespace sweep::samplers

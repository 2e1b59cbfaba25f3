// Samplers propose configurations. Each is a pure function of (space, history, seed):
// the same inputs give the same suggestions, so a controller that restarts resumes
// the identical sequence. A Sampler object may keep caches (factorisations, fitted
// hyperparameters) to go faster, but results must not depend on whether a cache was
// warm unless documented (the GP's warm-started fit is the documented exception).
//
// Thread safety: a Sampler is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "core/search_space.h"
#include "core/types.h"

namespace sweep::samplers {

// What a sampler knows of one earlier trial.
struct Observation {
  core::Config config;
  core::TrialState state = core::TrialState::kCompleted;
  // The objective value (already aggregated) if the trial reported one; NaN/inf are
  // treated as "no value" by samplers.
  std::optional<double> value;
  // Intervals the trial reached (for trials stopped early: fewer than finished ones).
  int64_t intervals = 0;
};

struct History {
  // Every trial created so far, in creation order; pending/running ones included
  // (their state tells which), so samplers can avoid duplicates and account for them.
  std::vector<Observation> trials;
};

struct SamplerOptions {
  core::Goal goal = core::Goal::kMaximize;
  uint64_t seed = 0;
};

class Sampler {
 public:
  virtual ~Sampler() = default;

  // Proposes the next configuration, i.e. the one for trial number
  // history.trials.size() + 1. Returns nullopt when the sampler has nothing new to give
  // (grid exhausted, or a finite space fully tried). Non-OK status: a bug or a space the
  // sampler cannot handle, with a message for the user.
  virtual absl::StatusOr<std::optional<core::Config>> Next(const History& history) = 0;
};

enum class Algorithm { kRandom, kSobol, kGrid, kBayesian, kTpe };

// Fails with InvalidArgument when the algorithm cannot serve the space (e.g. grid over
// a continuous parameter), naming the parameter.
absl::StatusOr<std::unique_ptr<Sampler>> MakeSampler(Algorithm algorithm,
                                                     const core::SearchSpace& space,
                                                     const SamplerOptions& options);

}  // namespace sweep::samplers

// Private helpers shared by the samplers in this folder: per-trial random streams,
// duplicate tracking, and indexed enumeration of finite spaces.
//
// Thread safety: GridIndex is immutable after Build (const methods thread-safe);
// SeenKeys and TrialRng are single-threaded objects.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "absl/status/statusor.h"
#include "core/search_space.h"
#include "samplers/encoding.h"
#include "samplers/sampler.h"

namespace sweep::samplers {

// SplitMix64 step: a well-mixed 64-bit output from a counter (Steele et al. 2014).
uint64_t SplitMix64(uint64_t x);

// The random stream of one trial: a function of (seed, trial number, stream id) only, so
// trial k gets the same draws however many trials came before or how they ended.
// mt19937_64 is fully specified by the C++ standard and the conversions below are our
// own, so the sequence is the same on every platform and standard library.
class TrialRng {
 public:
  TrialRng(uint64_t seed, uint64_t trial_number, uint64_t stream = 0);
  uint64_t NextU64() { return engine_(); }
  // Uniform in [0, 1) with 53 random bits.
  double Uniform();
  // Uniform integer in [0, n), n > 0 (rejection sampling, no modulo bias).
  uint64_t Below(uint64_t n);
  std::vector<double> UniformPoint(int dims);

 private:
  std::mt19937_64 engine_;
};

// Keys (core::ConfigKey) of every config in a history, pending and failed included.
// Keeps the previous history's keys so a call costs O(new trials) key computations plus
// cheap map comparisons of the old prefix; the result never depends on that cache.
class SeenKeys {
 public:
  // Returns true when the previous history was a prefix of this one. Histories are
  // append-only; a shorter one, or one whose last entry seen before differs, resets.
  bool Update(const History& history);
  bool Contains(const core::Config& config) const;
  bool Contains(const std::string& key) const { return keys_.count(key) > 0; }
  size_t size() const { return count_; }

 private:
  // Only the count and the last config seen: enough to recognise an extension, without a
  // copy of every config (a 100,000-trial sweep keeps its history once, in the controller).
  size_t count_ = 0;
  core::Config last_;
  std::unordered_set<std::string> keys_;
};

// Enumerates a finite space without materialising it: point k is found by mixed-radix
// decoding over the parameter tree (file order, last parameter fastest; a choice's
// options in order, a nested option expanding its subspace in place).
// Sizes saturate at kSaturated; indices below size() are always valid.
class GridIndex {
 public:
  static constexpr uint64_t kSaturated = uint64_t{1} << 62;

  // InvalidArgument naming the first parameter that does not take finitely many values.
  // The space should have passed Encoding::Build (bounds already validated).
  static absl::StatusOr<GridIndex> Build(const core::SearchSpace& space);

  // Number of points, or kSaturated when there are at least that many.
  uint64_t size() const { return size_; }
  // The k-th point, k < size().
  core::Config At(uint64_t k) const;

 private:
  struct Node;
  struct Option {
    core::ParamValue value;
    uint64_t offset = 0;  // points in the options before this one
    uint64_t count = 1;
    std::vector<Node> subspace;
  };
  struct Node {
    std::string name;
    core::ParamKind kind = core::ParamKind::kChoice;
    uint64_t count = 0;
    double first = 0;  // quantized ranges: round(low / q)
    double q = 0;
    std::vector<Option> options;  // kChoice
  };
  static absl::Status BuildList(const std::vector<core::ParamSpec>& params, std::vector<Node>& out,
                                uint64_t& count);
  static void DecodeList(const std::vector<Node>& nodes, uint64_t k, core::Config& out);

  std::vector<Node> root_;
  uint64_t size_ = 0;
};

// Finds a configuration not in `seen`: tries `first` (when given), then up to
// kMaxDraws uniform draws decoded through `encoding`. For a finite space (`grid` given)
// that does not settle it, it enumerates: uniformly among the unseen points when the
// space has at most kEnumerateLimit points, otherwise the first unseen point after a
// random offset (found within seen.size() + 1 steps). Returns nullopt only when a finite
// space is exhausted; for an infinite space it returns the last draw even if seen.
inline constexpr int kMaxDraws = 64;
inline constexpr uint64_t kEnumerateLimit = uint64_t{1} << 20;
std::optional<core::Config> DrawUnseen(const Encoding& encoding, const GridIndex* grid,
                                       const SeenKeys& seen, TrialRng& rng,
                                       const std::optional<core::Config>& first);

// Observations usable as model data: completed or early-terminated trials with a finite
// value. Returns their indices into history.trials.
std::vector<size_t> FiniteObservations(const History& history);

}  // namespace sweep::samplers

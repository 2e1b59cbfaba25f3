// Random sampling: uniform points of the unit cube decoded by the kIndex Encoding, so each
// parameter gets its own distribution (inverse normal CDF for normals, log-uniform for
// log kinds, uniform over options and over 0..upper-1, only the chosen branch's params).
#include <memory>
#include <optional>
#include <utility>

#include "core/status.h"
#include "samplers/encoding.h"
#include "samplers/factories.h"
#include "samplers/sampler_util.h"

namespace sweep::samplers {
namespace {

// Stream id of the random sampler's draws (other samplers use other ids).
constexpr uint64_t kRandomStream = 0x72616e64;  // "rand"

class RandomSampler : public Sampler {
 public:
  RandomSampler(Encoding encoding, std::optional<GridIndex> grid, uint64_t seed)
      : encoding_(std::move(encoding)), grid_(std::move(grid)), seed_(seed) {}

  absl::StatusOr<std::optional<core::Config>> Next(const History& history) override {
    seen_.Update(history);
    TrialRng rng(seed_, history.trials.size() + 1, kRandomStream);
    return DrawUnseen(encoding_, grid_ ? &*grid_ : nullptr, seen_, rng, std::nullopt);
  }

 private:
  Encoding encoding_;
  std::optional<GridIndex> grid_;  // set when the space is finite
  uint64_t seed_;
  SeenKeys seen_;  // cache only
};

}  // namespace

absl::StatusOr<std::unique_ptr<Sampler>> MakeRandomSampler(const core::SearchSpace& space,
                                                           const SamplerOptions& options) {
  ASSIGN_OR_RETURN(Encoding encoding, Encoding::Build(space, CategoricalEncoding::kIndex));
  std::optional<GridIndex> grid;
  if (core::IsFinite(space)) {
    ASSIGN_OR_RETURN(grid, GridIndex::Build(space));
  }
  return std::make_unique<RandomSampler>(std::move(encoding), std::move(grid), options.seed);
}

}  // namespace sweep::samplers

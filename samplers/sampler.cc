#include "samplers/sampler.h"

#include "samplers/factories.h"

namespace sweep::samplers {

absl::StatusOr<std::unique_ptr<Sampler>> MakeSampler(Algorithm algorithm,
                                                     const core::SearchSpace& space,
                                                     const SamplerOptions& options) {
  switch (algorithm) {
    case Algorithm::kRandom:
      return MakeRandomSampler(space, options);
    case Algorithm::kSobol:
      return MakeSobolSampler(space, options);
    case Algorithm::kGrid:
      return MakeGridSampler(space, options);
    case Algorithm::kTpe:
      return MakeTpeSampler(space, options);
    case Algorithm::kBayesian:
      return MakeGpSampler(space, options);
  }
  return absl::InvalidArgumentError("unknown sampling algorithm");
}

}  // namespace sweep::samplers

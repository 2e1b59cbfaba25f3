// Constructors of each sampler; MakeSampler (sampler.h) dispatches to them.
// Each fails with InvalidArgument (naming the parameter) for a space it cannot serve.
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "samplers/sampler.h"

namespace sweep::samplers {

absl::StatusOr<std::unique_ptr<Sampler>> MakeRandomSampler(const core::SearchSpace& space,
                                                           const SamplerOptions& options);
absl::StatusOr<std::unique_ptr<Sampler>> MakeSobolSampler(const core::SearchSpace& space,
                                                          const SamplerOptions& options);
absl::StatusOr<std::unique_ptr<Sampler>> MakeGridSampler(const core::SearchSpace& space,
                                                         const SamplerOptions& options);
absl::StatusOr<std::unique_ptr<Sampler>> MakeTpeSampler(const core::SearchSpace& space,
                                                        const SamplerOptions& options);
absl::StatusOr<std::unique_ptr<Sampler>> MakeGpSampler(const core::SearchSpace& space,
                                                       const SamplerOptions& options);

}  // namespace sweep::samplers

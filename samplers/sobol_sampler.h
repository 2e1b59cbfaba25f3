// Private: the scrambled Sobol points the Sobol sampler decodes, exposed for tests.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"

namespace sweep::samplers {

// The random digital shift of a seed: one 64-bit word per dimension.
std::vector<uint64_t> SobolShift(uint64_t seed, int dims);

// Point `index` of the Sobol sequence XOR-ed with `shift`, scaled to [0, 1). Point 0 is
// the origin; point i > 0 is the i-th vector a fresh boost::random::sobol engine produces.
// InvalidArgument when boost's tables do not cover shift.size() dimensions.
absl::StatusOr<std::vector<double>> ShiftedSobolPoint(uint64_t index,
                                                      const std::vector<uint64_t>& shift);

}  // namespace sweep::samplers

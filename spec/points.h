// Configurations a user gives instead of the sampler (spec `initial_points`,
// `sweep enqueue --param`), checked against the sweep's search space.
//
// A point must hold every active parameter and nothing else: every top-level parameter,
// plus the entries of the options its choices take (a choice whose options are nested
// spaces takes the option's index, as trial JSON shows it). Values must lie in the space:
// a choice's value is one of its options, randint an integer in [0, upper), a uniform
// within [min, max], a loguniform within [exp(min), exp(max)], quantized kinds a multiple
// of q within the quantized bounds, lognormal kinds positive.
//
// Thread safety: free functions, no shared state.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/search_space.h"

namespace sweep::spec {

// `point` in the types the samplers produce (an integral 3 for a uniform becomes 3.0, a
// 2.0 for a randint becomes 2). InvalidArgument listing every problem, each naming its
// parameter: a value outside the space, a missing parameter, an inactive one, a name not
// in the space (with a close match when there is one).
absl::StatusOr<core::Config> CheckPoint(const core::SearchSpace& space, const core::Config& point);

// A point from "NAME=VALUE" words (`--param lr=0.01`): each value is read as the kind of
// its parameter (a choice matches an option's text), then CheckPoint. InvalidArgument
// naming the word for a malformed or repeated assignment or a value of the wrong type.
absl::StatusOr<core::Config> PointFromAssignments(const core::SearchSpace& space,
                                                  const std::vector<std::string>& assignments);

}  // namespace sweep::spec

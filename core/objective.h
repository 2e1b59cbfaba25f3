// The objective's rules, in one place: a trial's value from its primary-metric reports
// (last or best finite value), "better than" under the goal (core::Better, types.h), and
// the best trial of a sweep. The controller, replay and the CLI all use these.
//
// Thread safety: pure functions and a plain value type.
#pragma once

#include <optional>
#include <vector>

#include "core/types.h"

namespace sweep::core {

// True when there is no best value yet or `value` is strictly better than it.
inline bool Improves(Goal goal, double value, const std::optional<double>& best) {
  return !best || Better(goal, value, *best);
}

// The running aggregate of one attempt's primary-metric reports. Non-finite values are
// ignored: they count as intervals but never become a trial's value.
struct RunningAggregate {
  std::optional<double> last;  // the latest finite value
  std::optional<double> best;  // the best finite value under the goal

  void Add(Goal goal, double value);
  // The trial's value: `last`, or `best` for `aggregation: best`; nullopt without any
  // finite report.
  std::optional<double> Value(Aggregation aggregation) const;
};

// The value of a whole curve, as the controller computes it while the curve grows.
std::optional<double> Aggregate(const Objective& objective, const std::vector<double>& curve);

// The best trial with a finite final value under the sweep's goal; completed trials only,
// or early-terminated ones too when !completed_only. Earlier trials win ties.
std::optional<Trial> BestTrial(const Sweep& sweep, const std::vector<Trial>& trials,
                               bool completed_only);

}  // namespace sweep::core

#include "core/objective.h"

#include <cmath>

namespace sweep::core {

void RunningAggregate::Add(Goal goal, double value) {
  if (!std::isfinite(value)) return;
  last = value;
  if (Improves(goal, value, best)) best = value;
}

std::optional<double> RunningAggregate::Value(Aggregation aggregation) const {
  return aggregation == Aggregation::kBest ? best : last;
}

std::optional<double> Aggregate(const Objective& objective, const std::vector<double>& curve) {
  RunningAggregate aggregate;
  for (double v : curve) aggregate.Add(objective.goal, v);
  return aggregate.Value(objective.aggregation);
}

std::optional<Trial> BestTrial(const Sweep& sweep, const std::vector<Trial>& trials,
                               bool completed_only) {
  std::optional<Trial> best;
  for (const Trial& t : trials) {
    bool eligible = t.state == TrialState::kCompleted ||
                    (!completed_only && t.state == TrialState::kEarlyTerminated);
    if (!eligible || !t.final_value || !std::isfinite(*t.final_value)) continue;
    if (!best || Better(sweep.objective.goal, *t.final_value, *best->final_value)) best = t;
  }
  return best;
}

}  // namespace sweep::core

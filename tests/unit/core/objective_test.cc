#include "core/objective.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"

namespace sweep::core {
namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

Objective MakeObjective(Goal goal, Aggregation aggregation) {
  Objective o;
  o.primary_metric = "accuracy";
  o.goal = goal;
  o.aggregation = aggregation;
  return o;
}

Trial MakeTrial(int64_t id, TrialState state, std::optional<double> value) {
  Trial t;
  t.trial_id = id;
  t.state = state;
  t.final_value = value;
  return t;
}

// The id of BestTrial's answer under `goal`; 0 for none.
int64_t BestId(Goal goal, const std::vector<Trial>& trials, bool completed_only) {
  Sweep sweep;
  sweep.objective = MakeObjective(goal, Aggregation::kLast);
  std::optional<Trial> best = BestTrial(sweep, trials, completed_only);
  return best ? best->trial_id : 0;
}

TEST(ObjectiveTest, ImprovesWithoutABestOrWhenStrictlyBetter) {
  EXPECT_TRUE(Improves(Goal::kMaximize, 0.1, std::nullopt));
  EXPECT_TRUE(Improves(Goal::kMaximize, 0.9, 0.8));
  EXPECT_FALSE(Improves(Goal::kMaximize, 0.8, 0.8));
  EXPECT_TRUE(Improves(Goal::kMinimize, 0.1, 0.2));
  EXPECT_FALSE(Improves(Goal::kMinimize, 0.3, 0.2));
}

TEST(ObjectiveTest, RunningAggregateKeepsLastAndBestFiniteValues) {
  RunningAggregate a;
  EXPECT_EQ(a.Value(Aggregation::kLast), std::nullopt);
  EXPECT_EQ(a.Value(Aggregation::kBest), std::nullopt);
  a.Add(Goal::kMaximize, 0.5);
  a.Add(Goal::kMaximize, 0.9);
  a.Add(Goal::kMaximize, 0.7);
  a.Add(Goal::kMaximize, kNan);  // counts as an interval elsewhere, never as the value
  a.Add(Goal::kMaximize, kInf);
  EXPECT_EQ(a.Value(Aggregation::kLast), 0.7);
  EXPECT_EQ(a.Value(Aggregation::kBest), 0.9);
}

TEST(ObjectiveTest, RunningAggregateBestFollowsTheGoal) {
  RunningAggregate a;
  for (double v : {0.5, 0.2, 0.4}) a.Add(Goal::kMinimize, v);
  EXPECT_EQ(a.Value(Aggregation::kBest), 0.2);
  EXPECT_EQ(a.Value(Aggregation::kLast), 0.4);
}

TEST(ObjectiveTest, AggregateOfACurve) {
  const std::vector<double> curve = {0.3, 0.8, kNan, 0.6};
  EXPECT_EQ(Aggregate(MakeObjective(Goal::kMaximize, Aggregation::kLast), curve), 0.6);
  EXPECT_EQ(Aggregate(MakeObjective(Goal::kMaximize, Aggregation::kBest), curve), 0.8);
  EXPECT_EQ(Aggregate(MakeObjective(Goal::kMinimize, Aggregation::kBest), curve), 0.3);
  EXPECT_EQ(Aggregate(MakeObjective(Goal::kMaximize, Aggregation::kLast), {kNan, -kInf}),
            std::nullopt);
  EXPECT_EQ(Aggregate(MakeObjective(Goal::kMaximize, Aggregation::kBest), {}), std::nullopt);
}

TEST(ObjectiveTest, BestTrialSkipsUnfinishedAndNonFiniteTrials) {
  const std::vector<Trial> trials = {
      MakeTrial(1, TrialState::kCompleted, 0.7),
      MakeTrial(2, TrialState::kRunning, 0.99),
      MakeTrial(3, TrialState::kCompleted, kNan),
      MakeTrial(4, TrialState::kEarlyTerminated, 0.95),
      MakeTrial(5, TrialState::kCompleted, std::nullopt),
      MakeTrial(6, TrialState::kFailed, 0.98),
      MakeTrial(7, TrialState::kCompleted, 0.8),
  };
  EXPECT_EQ(BestId(Goal::kMaximize, trials, /*completed_only=*/true), 7);
  EXPECT_EQ(BestId(Goal::kMaximize, trials, /*completed_only=*/false), 4);
}

TEST(ObjectiveTest, BestTrialMinimizesAndEarlierTrialsWinTies) {
  const std::vector<Trial> trials = {
      MakeTrial(1, TrialState::kCompleted, 0.5),
      MakeTrial(2, TrialState::kCompleted, 0.2),
      MakeTrial(3, TrialState::kCompleted, 0.2),
  };
  EXPECT_EQ(BestId(Goal::kMinimize, trials, /*completed_only=*/true), 2);
  EXPECT_EQ(BestId(Goal::kMinimize, {}, /*completed_only=*/true), 0);
}

}  // namespace
}  // namespace sweep::core

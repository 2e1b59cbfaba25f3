#include "core/types.h"

#include "gtest/gtest.h"

namespace sweep::core {
namespace {

TEST(TypesTest, StateNamesRoundTrip) {
  for (TrialState s : {TrialState::kPending, TrialState::kRunning, TrialState::kCompleted,
                       TrialState::kFailed, TrialState::kEarlyTerminated,
                       TrialState::kCanceled}) {
    EXPECT_EQ(ParseTrialState(TrialStateName(s)), s);
  }
  EXPECT_STREQ(TrialStateName(TrialState::kEarlyTerminated), "early_terminated");
  EXPECT_EQ(ParseAttemptState("preempted"), AttemptState::kPreempted);
  EXPECT_EQ(ParseSweepState("bogus"), std::nullopt);
}

TEST(TypesTest, TerminalStates) {
  EXPECT_FALSE(IsTerminal(TrialState::kPending));
  EXPECT_FALSE(IsTerminal(TrialState::kRunning));
  EXPECT_TRUE(IsTerminal(TrialState::kEarlyTerminated));
  EXPECT_TRUE(IsTerminal(AttemptState::kLost));
  EXPECT_FALSE(IsTerminal(AttemptState::kLeased));
}

TEST(TypesTest, BetterRespectsGoal) {
  EXPECT_TRUE(Better(Goal::kMaximize, 0.9, 0.8));
  EXPECT_FALSE(Better(Goal::kMaximize, 0.8, 0.8));
  EXPECT_TRUE(Better(Goal::kMinimize, 0.1, 0.2));
}

}  // namespace
}  // namespace sweep::core

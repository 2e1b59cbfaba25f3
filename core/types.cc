#include "core/types.h"

#include <array>
#include <utility>

namespace sweep::core {
namespace {

template <typename Enum, size_t N>
std::optional<Enum> ParseByName(const std::string& s, const std::array<const char*, N>& names) {
  for (size_t i = 0; i < N; ++i) {
    if (s == names[i]) return static_cast<Enum>(i);
  }
  return std::nullopt;
}

constexpr std::array<const char*, 4> kSweepStateNames = {"running", "completed", "failed",
                                                         "canceled"};
constexpr std::array<const char*, 6> kTrialStateNames = {"pending", "running",          "completed",
                                                         "failed",  "early_terminated", "canceled"};
constexpr std::array<const char*, 8> kAttemptStateNames = {
    "leased", "running", "succeeded", "failed", "lost", "preempted", "stopped", "interrupted"};

}  // namespace

const char* GoalName(Goal goal) { return goal == Goal::kMaximize ? "maximize" : "minimize"; }

const char* SweepStateName(SweepState s) { return kSweepStateNames[static_cast<int>(s)]; }
const char* TrialStateName(TrialState s) { return kTrialStateNames[static_cast<int>(s)]; }
const char* AttemptStateName(AttemptState s) { return kAttemptStateNames[static_cast<int>(s)]; }

std::optional<SweepState> ParseSweepState(const std::string& s) {
  return ParseByName<SweepState>(s, kSweepStateNames);
}
std::optional<TrialState> ParseTrialState(const std::string& s) {
  return ParseByName<TrialState>(s, kTrialStateNames);
}
std::optional<AttemptState> ParseAttemptState(const std::string& s) {
  return ParseByName<AttemptState>(s, kAttemptStateNames);
}

bool IsTerminal(SweepState s) { return s != SweepState::kRunning; }
bool IsTerminal(TrialState s) { return s != TrialState::kPending && s != TrialState::kRunning; }
bool IsTerminal(AttemptState s) {
  return s != AttemptState::kLeased && s != AttemptState::kRunning;
}

TrialCounts CountTrials(const std::vector<Trial>& trials) {
  TrialCounts c;
  c.total = static_cast<int64_t>(trials.size());
  for (const Trial& t : trials) {
    switch (t.state) {
      case TrialState::kPending:
        ++c.pending;
        break;
      case TrialState::kRunning:
        ++c.running;
        break;
      case TrialState::kCompleted:
        ++c.completed;
        break;
      case TrialState::kFailed:
        ++c.failed;
        break;
      case TrialState::kEarlyTerminated:
        ++c.early_terminated;
        break;
      case TrialState::kCanceled:
        ++c.canceled;
        break;
    }
  }
  return c;
}

}  // namespace sweep::core

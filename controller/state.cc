#include "controller/state.h"

namespace sweep::controller {

void SweepRec::CountEnd(core::TrialState state) {
  if (state == core::TrialState::kCompleted) completed += 1;
  if (state == core::TrialState::kFailed) failed += 1;
  if (state == core::TrialState::kEarlyTerminated) early_terminated += 1;
  if (state == core::TrialState::kCanceled) canceled += 1;
}

core::Event NewEvent(const std::string& sweep_id, int64_t trial_id, const std::string& kind,
                     const std::string& message, int64_t now) {
  core::Event e;
  e.sweep_id = sweep_id;
  e.trial_id = trial_id;
  e.kind = kind;
  e.message = message;
  e.timestamp_ms = now;
  return e;
}

SweepRec& State::AddRunning(std::unique_ptr<SweepRec> sweep) {
  SweepRec& ref = *sweep;
  running[ref.sweep.compute].push_back(ref.sweep.id);
  sweeps[ref.sweep.id] = std::move(sweep);
  return ref;
}

void State::RemoveRunning(const SweepRec& sweep) {
  auto& list = running[sweep.sweep.compute];
  list.erase(std::remove(list.begin(), list.end(), sweep.sweep.id), list.end());
}

std::pair<SweepRec*, TrialRec*> State::LiveAttemptOf(const NodeRec& node) {
  if (!node.lease) return {nullptr, nullptr};
  auto s = sweeps.find(node.lease->first);
  if (s == sweeps.end()) return {nullptr, nullptr};
  TrialRec& t = s->second->trials[node.lease->second - 1];
  if (!t.has_attempt || core::IsTerminal(t.attempt.state) ||
      t.attempt.node_id != node.node.node_id) {
    return {nullptr, nullptr};
  }
  return {s->second.get(), &t};
}

}  // namespace sweep::controller

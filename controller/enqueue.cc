#include "controller/enqueue.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sweep::controller {

TrialRec& EnqueuePoint(Txn& txn, SweepRec& s, core::Config point, int64_t now) {
  TrialRec& t = s.trials.emplace_back();
  t.trial.sweep_id = s.sweep.id;
  t.trial.trial_id = s.Created();
  t.trial.config = std::move(point);
  t.trial.state = core::TrialState::kPending;
  t.trial.created_ms = now;
  t.trial.origin = "enqueued";
  samplers::Observation obs;
  obs.config = t.trial.config;
  obs.state = core::TrialState::kPending;
  s.history.trials.push_back(std::move(obs));
  s.retry_queue.push_back(t.trial.trial_id);
  txn.PutTrial(t);
  std::vector<std::string> params;
  for (const auto& [name, value] : t.trial.config) {
    params.push_back(absl::StrCat(name, "=", core::ParamValueToString(value)));
  }
  txn.AddEvent(s.sweep.id, t.trial.trial_id, "trial_enqueued",
               absl::StrCat("enqueued: ", absl::StrJoin(params, " ")), now);
  txn.wake_pollers = true;
  return t;
}

}  // namespace sweep::controller

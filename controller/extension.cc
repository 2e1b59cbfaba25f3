// ControllerImpl's user-driven additions to a sweep: enqueued points (controller/enqueue.h).
#include "absl/strings/str_cat.h"
#include "controller/controller_impl.h"
#include "controller/enqueue.h"
#include "core/status.h"
#include "spec/points.h"

namespace sweep::controller {

absl::StatusOr<int64_t> ControllerImpl::EnqueueTrial(const std::string& sweep_id,
                                                     const std::vector<std::string>& params) {
  RETURN_IF_ERROR(commits_.Broken());
  std::unique_lock<std::mutex> lock(mu_);
  auto it = state_.sweeps.find(sweep_id);
  if (it == state_.sweeps.end() || it->second->sweep.state != core::SweepState::kRunning) {
    lock.unlock();
    ASSIGN_OR_RETURN(core::Sweep stored, StoredSweep(sweep_id));
    if (core::IsTerminal(stored.state)) {
      return absl::FailedPreconditionError(absl::StrCat("sweep ", sweep_id, " already ended (",
                                                        core::SweepStateName(stored.state), ")"));
    }
    return absl::FailedPreconditionError(
        absl::StrCat("sweep ", sweep_id, " is not run by this controller"));
  }
  SweepRec& s = *it->second;
  ASSIGN_OR_RETURN(core::Config point, spec::PointFromAssignments(s.spec.search_space, params));
  if (s.Created() >= s.max_total) {
    return absl::FailedPreconditionError(absl::StrCat("sweep ", sweep_id, " already created its ",
                                                      s.max_total,
                                                      " trials (limits.max_total_trials)"));
  }
  Txn txn;
  const int64_t id = EnqueuePoint(txn, s, std::move(point), clock_->NowMillis()).trial.trial_id;
  RETURN_IF_ERROR(Finish(txn, lock));
  return id;
}

}  // namespace sweep::controller

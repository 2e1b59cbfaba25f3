// ControllerImpl's user-driven additions to a sweep: enqueued points (controller/enqueue.h),
// and extensions and warm starts (controller/extension.h).
#include "controller/extension.h"

#include "absl/strings/str_cat.h"
#include "controller/controller_impl.h"
#include "controller/enqueue.h"
#include "controller/recovery.h"
#include "core/status.h"
#include "spec/points.h"

namespace sweep::controller {

void SeedWarmStart(SweepRec& s, const workspace::WarmStart& warm) {
  std::vector<samplers::Observation> seeded;
  seeded.reserve(warm.used.size() + s.history.trials.size());
  for (const workspace::WarmTrial& w : warm.used) {
    samplers::Observation& obs = seeded.emplace_back();
    obs.config = w.config;
    obs.state = w.state;
    obs.value = w.value;
    obs.intervals = w.intervals;
  }
  for (samplers::Observation& own : s.history.trials) seeded.push_back(std::move(own));
  s.history.trials = std::move(seeded);
  s.warm = warm.used.size();
}

absl::Status CheckExtendRequest(const ExtendRequest& request) {
  if (request.max_total_trials < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max-total-trials must be at least 1 (got ", request.max_total_trials, ")"));
  }
  if (request.timeout_s < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--timeout must be >= 0 seconds (got ", request.timeout_s, ")"));
  }
  if (request.max_concurrent_trials < 0) {
    return absl::InvalidArgumentError(absl::StrCat("--max-concurrent-trials must be >= 0 (got ",
                                                   request.max_concurrent_trials, ")"));
  }
  return absl::OkStatus();
}

std::string ExtendedMessage(const SweepRec& s, int64_t trials_before) {
  std::string best =
      s.best_value ? absl::StrCat(", best so far ", *s.best_value, " (trial ", s.best_trial, ")")
                   : std::string(", no best yet");
  return absl::StrCat("extension ", s.sweep.extension, ": max_total_trials ", trials_before, " -> ",
                      s.max_total, " (", s.Created(), " trials so far", best,
                      "), max_concurrent_trials ", s.max_concurrent, ", timeout ",
                      s.deadline_ms > 0
                          ? absl::StrCat((s.deadline_ms - s.sweep.extended_ms) / 1000, " s")
                          : std::string("none"));
}

absl::Status ControllerImpl::CheckNotRunningHere(const std::string& sweep_id) {
  auto it = state_.sweeps.find(sweep_id);
  if (it == state_.sweeps.end()) return absl::OkStatus();
  const SweepRec& s = *it->second;
  if (s.sweep.state == core::SweepState::kRunning) {
    return absl::FailedPreconditionError(absl::StrCat(
        "sweep ", sweep_id, " is still running; extend it once it ended (or `sweep cancel` it)"));
  }
  if (!s.live.empty() || s.register_pending || s.end_seq == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("sweep ", sweep_id, " is still stopping its last trials; try again shortly"));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> ControllerImpl::ExtendSweep(const std::string& sweep_id,
                                                    const ExtendRequest& request) {
  RETURN_IF_ERROR(commits_.Broken());
  RETURN_IF_ERROR(CheckExtendRequest(request));
  {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(CheckNotRunningHere(sweep_id));
  }
  ASSIGN_OR_RETURN(core::Sweep stored, StoredSweep(sweep_id));
  if (!core::IsTerminal(stored.state)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "sweep ", sweep_id, " is still running; extend it once it ended (or `sweep cancel` it)"));
  }
  if (!store_->GetCompute(stored.compute).ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot extend sweep ", sweep_id, ": its compute target '", stored.compute,
        "' no longer exists; create it again with `sweep compute create ", stored.compute, "`"));
  }
  const int64_t now = clock_->NowMillis();
  Txn txn;
  absl::StatusOr<std::unique_ptr<SweepRec>> loaded =
      LoadEndedSweep({.store = store_,
                      .snapshots = snapshots_.get(),
                      .snapshot_max_bytes = options_.snapshot_max_bytes,
                      .state = &state_,
                      .lifecycle = &lifecycle_,
                      .scheduler = &scheduler_},
                     txn, stored, now);
  if (absl::IsFailedPrecondition(loaded.status())) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot extend sweep ", sweep_id, ": ", loaded.status().message()));
  }
  if (!loaded.ok()) return loaded.status();
  SweepRec& s = **loaded;
  if (request.max_total_trials <= s.Created()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max-total-trials ", request.max_total_trials, " must be above the ",
                     s.Created(), " trials sweep ", sweep_id,
                     " already has (e.g. --max-total-trials ", 2 * s.Created(), ")"));
  }
  const int64_t before = s.max_total;
  s.sweep.extension += 1;
  s.sweep.extended_ms = now;
  s.sweep.max_total_trials = request.max_total_trials;
  if (request.max_concurrent_trials > 0)
    s.sweep.max_concurrent_trials = request.max_concurrent_trials;
  if (request.timeout_s > 0) s.sweep.timeout_s = request.timeout_s;
  ApplyLimits(s);
  // The first new configuration, asked now: an exhausted space is refused before anything
  // is stored, and the trial gets it (the history cannot change before).
  absl::StatusOr<std::optional<core::Config>> next = s.sampler->Next(s.history);
  if (!next.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot extend sweep ", sweep_id, ": its sampler fails: ", next.status().message()));
  }
  if (!next->has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot extend sweep ", sweep_id, ": its search space is exhausted (all ",
                     s.Created(), " configurations were tried); there is nothing new to run"));
  }
  s.proposal = std::move(**next);
  s.proposal_for = s.history.trials.size();
  s.sweep.state = core::SweepState::kRunning;
  s.sweep.status_message.clear();
  s.sweep.ended_ms = 0;
  txn.batch.sweeps.push_back(s.sweep);
  txn.AddEvent(sweep_id, 0, "sweep_extended", ExtendedMessage(s, before), now);
  txn.wake_pollers = true;
  const int64_t extension = s.sweep.extension;

  std::unique_lock<std::mutex> lock(mu_);
  if (shutdown_) return absl::UnavailableError("the controller is shutting down");
  RETURN_IF_ERROR(CheckNotRunningHere(sweep_id));  // another extension won the race
  state_.sweeps.erase(sweep_id);                   // its ended record, if still kept
  state_.AddRunning(*std::move(loaded));
  RETURN_IF_ERROR(Finish(txn, lock));
  return extension;
}

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

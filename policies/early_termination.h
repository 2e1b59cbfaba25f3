// Early-termination policies with Azure ML semantics (docs/spec.md "Early termination"),
// plus ASHA as an extension. A policy is fed every report of the primary metric in
// the order the controller received them and decides, at evaluation intervals, whether
// the reporting trial should stop. The same code serves the live controller and
// `sweep replay`.
//
// Thread safety: not thread-safe; the controller serialises calls per sweep.
//
// Precise semantics (all policies; "better"/"worse" follow the goal, see core::Better):
// - Evaluation points: interval n (1-based) is evaluated when n % evaluation_interval == 0
//   and n >= delay_evaluation (bandit, median_stopping, truncation_selection). ASHA
//   evaluates only at its rungs (below), skipping rungs < delay_evaluation. At an
//   evaluation point OnReport always returns a Decision, also when the trial cannot be
//   judged (then stop=false and the explanation says why), so every evaluation can be
//   explained later. Reports at other intervals only update the statistics.
// - "Best so far" of a trial at n: its best finite value over intervals 1..n.
// - Non-finite values (NaN, +-inf) are never used as a reference: they are not counted
//   in bests, averages, rankings or medians. A trial whose value at n is non-finite is
//   judged by its best finite value so far; a trial with no finite value yet is not
//   judged (continues, value NaN in the Decision).
// - Trials that ended keep contributing what they reported (except truncation_selection
//   with exclude_finished_jobs). A trial contributes to interval n only if it reported n,
//   so trials with shorter curves simply drop out of later comparisons.
// - A comparison with a threshold is strict: a trial exactly at the threshold continues.
//
// bandit: B(n) = the best of the best-so-far values at n of all trials that reported n
//   (this trial included). slack_amount a: threshold B-a (maximize) / B+a (minimize).
//   slack_factor s: threshold B/(1+s) (maximize) / B*(1+s) (minimize) for B > 0, as in
//   Azure ML (best 0.8, s 0.2: 0.8/1.2 = 0.667). For B < 0 that formula would put the
//   threshold on the wrong side of B (0.8 -> -0.8/1.2 is better than -0.8), so the
//   factor is applied the other way: B*(1+s) (maximize) / B/(1+s) (minimize), keeping
//   the threshold at a relative distance s from B on the losing side. B = 0 gives
//   threshold 0. Stop when the trial's best so far is worse than the threshold.
// median_stopping: the running average of a trial at n is the mean of its finite values
//   over intervals 1..n. M(n) = median of the running averages at n of all trials that
//   reported n, this trial included (the mean of the two middle ones for an even
//   count). Stop when the trial's best so far is worse than M(n). A lone trial is never
//   stopped (its best is never worse than its own average).
// truncation_selection (p = truncation_percentage): the field at n is the trials that
//   reported n (without those that ended, when exclude_finished_jobs), this trial
//   included, each with its value at n (finite values only; this trial uses its best so
//   far if its value at n is not finite). With k trials in the field, c = floor(k*p/100)
//   are truncated, so nothing is stopped while k < ceil(100/p). Ranking is best first
//   and ties favour the trial: it is stopped when at least k-c trials are strictly
//   better, i.e. when its value is worse than the cutoff = the (k-c)-th best value.
// asha: rungs at intervals round(min_interval * reduction_factor^k), k = 0, 1, ...,
//   below max_interval (max_interval is where a full trial ends; nobody is stopped at or
//   beyond it). At a rung r the field is every trial that reported r, with its best so
//   far at r (this trial included). With k trials there, the top ceil(k/rf) continue
//   (ties favour the trial): the trial stops when its value is worse than the cutoff =
//   the ceil(k/rf)-th best. This is asynchronous successive halving in its stopping
//   form: the first trial to reach a rung always continues, later ones must beat the
//   top 1/rf of those that got there before them. evaluation_interval must be 1 (the
//   rungs are the schedule).
//
// Report order: intervals are expected to arrive 1, 2, 3, ... per trial. A report that
// skips intervals treats the skipped ones as non-finite reports; a report at an interval
// the trial already reported restarts the trial's curve from that interval (as if
// ForgetCurve had dropped the tail). Reports with interval < 1 and reports of trials
// that ended are ignored (nullopt). Once a Decision with stop=true was returned for a
// trial's curve, its later reports (sent before the trial exits) still update the
// statistics but get no further Decision.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/policy_settings.h"
#include "core/types.h"

namespace sweep::policies {

class EarlyTerminationPolicy {
 public:
  virtual ~EarlyTerminationPolicy() = default;

  // Trial `trial_id` reported `value` as its interval `interval` (1-based, consecutive
  // per trial). Returns the decision when `interval` is an evaluation point for this
  // policy (a Decision with stop=false is a recorded "continue"), nullopt otherwise.
  // A non-finite value is never used as a reference; a trial reporting one is judged
  // by its best finite value so far (or not judged if it has none).
  // The Decision has trial_id, interval, policy, value, reference, threshold, stop and
  // explanation set; the caller fills sweep_id and timestamp_ms. The explanation reads
  // "stopped at interval 6: best so far 0.61 < 0.6667 = 0.8/(1+0.2), where 0.8 is the
  // best of 12 trials at interval 6" or "continues at interval 6: ..." (DecisionReason
  // strips the verdict prefix). Numbers are shown with 4 significant digits, more when
  // needed to tell the value from its threshold.
  virtual std::optional<core::Decision> OnReport(int64_t trial_id, int64_t interval,
                                                 double value) = 0;

  // The trial ended (completed, failed, stopped, canceled).
  virtual void OnTrialEnded(int64_t trial_id, core::TrialState state) = 0;

  // Drops everything known about the trial's current curve (its attempt was preempted
  // or lost; the next attempt reports from interval 1 again). Also forgets that the
  // trial ended, if it had.
  virtual void ForgetCurve(int64_t trial_id) = 0;
};

// Returns nullptr for PolicyType::kNone.
// Precondition: `settings` passed spec::ValidateEarlyTermination (a parsed spec's always
// have); policies/ may not use spec/, so it does not validate them again. It checks only
// what its arithmetic needs (an evaluation interval >= 1, one bandit slack, a truncation
// percentage >= 1, an ASHA rung ladder) and returns InvalidArgument when that fails.
absl::StatusOr<std::unique_ptr<EarlyTerminationPolicy>> MakeEarlyTerminationPolicy(
    const core::EarlyTermination& settings, core::Goal goal);

// --- Helpers shared with replay/explain and the CLI (pure functions). ---

// One line describing the settings, e.g.
// "bandit (slack_factor 0.2, evaluation_interval 1, delay_evaluation 5)".
std::string DescribeEarlyTermination(const core::EarlyTermination& settings);

// ASHA's rung intervals (core::AshaRungLadder: ascending, distinct, < max_interval);
// empty for other policy types and when the ladder is not defined.
std::vector<int64_t> AshaRungs(const core::EarlyTermination& settings);

// Whether the policy evaluates a trial that reports `interval` (false for kNone).
bool IsEvaluationInterval(const core::EarlyTermination& settings, int64_t interval);

// The first interval the policy evaluates, nullopt for kNone or an ASHA ladder whose
// rungs are all below delay_evaluation.
std::optional<int64_t> FirstEvaluationInterval(const core::EarlyTermination& settings);

// The explanation without its "stopped at interval N: " / "continues at interval N: "
// prefix (the explanation itself if it has none).
std::string DecisionReason(const core::Decision& decision);

}  // namespace sweep::policies

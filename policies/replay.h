// What-if replay of early-termination policies over finished sweeps (`sweep replay`),
// and the story of one trial's recorded decisions (`sweep explain`). Pure functions of
// recorded data; controller/analysis.h reads that data from a store.
//
// Replay feeds the recorded primary-metric reports, in the order they were recorded
// (metric timestamp, then insertion), through a fresh policy exactly as the live
// controller would have: an interrupted attempt (lost, preempted, released) drops its
// curve when it ended and a new attempt of a trial restarts it (ForgetCurve), a
// trial ends (OnTrialEnded, with its recorded state) where its recording ends, and a
// trial the policy stops reports nothing more. Curves cannot be extended: a trial that
// was stopped in the real sweep and survives the replayed policy still ends where it
// ended.
//
// The best trial follows `sweep best`: among trials that completed, the best final value
// (Trial.final_value as recorded; for ReplayEvents without one, the objective's
// aggregation of the trial's last curve, as the controller computes it: its last finite
// value, or its best finite value for `aggregation: best`). Under the policy, trials it
// stops are early-terminated and so no longer candidates; the others keep their recorded
// final values.
//
// Thread safety: pure free functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/policy_settings.h"
#include "core/types.h"
#include "nlohmann/json.hpp"

namespace sweep::policies {

// One recorded happening, in the order the controller saw it.
struct ReplayEvent {
  enum class Kind {
    kReport,   // the trial reported `value` as the next interval of its current curve
    kRestart,  // a new attempt of the trial begins; its curve starts again at interval 1
    kEnd,      // the trial ended in `end_state`
  };
  Kind kind = Kind::kReport;
  int64_t trial_id = 0;
  double value = 0;                                           // kReport
  core::TrialState end_state = core::TrialState::kCompleted;  // kEnd
  std::optional<double> final_value;  // kEnd; nullopt: from the curve and the aggregation
};

struct ReplayStoppedTrial {
  int64_t trial_id = 0;
  int64_t stopped_at = 0;          // interval (of its curve) at which the policy stopped it
  int64_t recorded_intervals = 0;  // primary-metric reports recorded, all attempts
  int64_t intervals_saved = 0;     // recorded reports that would not have happened
  std::string explanation;         // the stopping Decision's explanation
};

struct ReplayReport {
  std::string sweep_id;  // empty for ReplayEvents
  std::string policy;    // DescribeEarlyTermination of the replayed settings
  core::Objective objective;
  int64_t trials = 0;                       // trials with at least one recorded report
  int64_t decisions = 0;                    // evaluations the policy made
  std::vector<ReplayStoppedTrial> stopped;  // ordered by trial_id
  int64_t intervals_without_policy = 0;     // every recorded report
  int64_t intervals_with_policy = 0;        // reports up to and including each stop
  double fraction_saved = 0;                // 1 - with/without (0 when nothing was recorded)
  // The sweep's best completed trial without the policy (nullopt: none completed with a
  // finite value), whether the policy lets it run to the end, and the best under it.
  std::optional<int64_t> best_trial;
  std::optional<double> best_value;
  bool best_survives = true;  // vacuously true when there is no best trial
  std::optional<int64_t> best_trial_with_policy;
  std::optional<double> best_value_with_policy;
};

// Replays `events` through a fresh policy made from `settings` (kNone: nothing is
// stopped). `settings` are validated ones (spec::ValidateEarlyTermination); otherwise
// InvalidArgument as from MakeEarlyTerminationPolicy.
absl::StatusOr<ReplayReport> ReplayEvents(const std::vector<ReplayEvent>& events,
                                          const core::EarlyTermination& settings,
                                          const core::Objective& objective);

// The recorded happenings of a sweep in the order the controller saw them (see the file
// comment): primary-metric `points` (any order; sorted by timestamp here), the trials'
// ends, and the restarts of interrupted attempts (lost, preempted, released).
std::vector<ReplayEvent> RecordedReplayEvents(const std::vector<core::Trial>& trials,
                                              std::vector<core::MetricPoint> points,
                                              const std::vector<core::Attempt>& attempts);

// Human-readable report (several lines, newline-terminated) and its JSON form:
// {"sweep_id", "policy", "primary_metric", "goal", "trials", "decisions",
//  "intervals_without_policy", "intervals_with_policy", "fraction_saved",
//  "best": {"trial_id", "value", "survives"} | null,
//  "best_with_policy": {"trial_id", "value"} | null,
//  "stopped": [{"trial_id", "stopped_at", "recorded_intervals", "intervals_saved",
//               "explanation"}]}. Non-finite numbers become null.
std::string FormatReplayReport(const ReplayReport& report);
nlohmann::json ReplayReportToJson(const ReplayReport& report);

struct ExplainReport {
  std::string sweep_id;
  int64_t trial_id = 0;
  core::TrialState state = core::TrialState::kPending;
  std::string reason;     // the trial's recorded stop/failure reason
  int64_t intervals = 0;  // primary-metric reports recorded for the trial
  std::string policy;     // DescribeEarlyTermination of the sweep's policy, or why unknown
  std::vector<core::Decision> decisions;  // as stored, ordered by interval
  // One line per decision: "interval 5: continues (best so far ...)",
  // "interval 6: stopped: best so far ...". Without decisions, one line saying why:
  // "no early-termination policy", "never evaluated (delay_evaluation 5 not reached: the
  // trial reported 3 intervals)", ...
  std::vector<std::string> lines;
};

// The early-termination story of one trial from its recorded decisions (as stored,
// ordered by interval) and the sweep's policy (an error: the policy is unknown, with the
// message saying why, e.g. the sweep's spec could not be read back).
ExplainReport ExplainDecisions(const core::Trial& trial, std::vector<core::Decision> decisions,
                               const absl::StatusOr<core::EarlyTermination>& policy);

// A heading line ("trial 3 of sweep sw-...: early_terminated; policy: ...") followed by
// the lines, newline-terminated; and the JSON form: {"sweep_id", "trial_id", "state",
// "reason", "intervals", "policy", "lines": [...], "decisions": [{"interval", "value",
// "reference", "threshold", "stop", "explanation"}]}.
std::string FormatExplainReport(const ExplainReport& report);
nlohmann::json ExplainReportToJson(const ExplainReport& report);

}  // namespace sweep::policies

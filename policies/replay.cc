#include "policies/replay.h"

#include <absl/strings/str_cat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <utility>

#include "core/objective.h"
#include "core/status.h"
#include "policies/early_termination.h"

namespace sweep::policies {
namespace {

using core::Goal;

std::string Num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

nlohmann::json JsonNumber(std::optional<double> v) {
  if (!v || !std::isfinite(*v)) return nullptr;
  return *v;
}

// What the recording says about one trial.
struct Recorded {
  int64_t reports = 0;
  std::vector<double> curve;  // its last attempt's curve
  bool ended = false;
  core::TrialState end_state = core::TrialState::kRunning;
  std::optional<double> final_value;
};

}  // namespace

absl::StatusOr<ReplayReport> ReplayEvents(const std::vector<ReplayEvent>& events,
                                          const core::EarlyTermination& settings,
                                          const core::Objective& objective) {
  ASSIGN_OR_RETURN(std::unique_ptr<EarlyTerminationPolicy> policy,
                   MakeEarlyTerminationPolicy(settings, objective.goal));
  ReplayReport report;
  report.policy = DescribeEarlyTermination(settings);
  report.objective = objective;

  // Pass 1: the recording as it happened, without the policy.
  std::map<int64_t, Recorded> recorded;
  for (const ReplayEvent& e : events) {
    Recorded& r = recorded[e.trial_id];
    switch (e.kind) {
      case ReplayEvent::Kind::kReport:
        ++r.reports;
        r.curve.push_back(e.value);
        break;
      case ReplayEvent::Kind::kRestart:
        r.curve.clear();
        break;
      case ReplayEvent::Kind::kEnd:
        r.ended = true;
        r.end_state = e.end_state;
        r.final_value = e.final_value ? e.final_value : core::Aggregate(objective, r.curve);
        break;
    }
  }

  // Pass 2: the same events through the policy.
  struct Replayed {
    int64_t reports = 0;
    int64_t interval = 0;  // of the current curve
    bool stopped = false;
  };
  std::map<int64_t, Replayed> replayed;
  for (const ReplayEvent& e : events) {
    Replayed& r = replayed[e.trial_id];
    if (r.stopped) continue;
    switch (e.kind) {
      case ReplayEvent::Kind::kReport: {
        ++r.reports;
        ++r.interval;
        if (!policy) break;
        std::optional<core::Decision> d = policy->OnReport(e.trial_id, r.interval, e.value);
        if (!d) break;
        ++report.decisions;
        if (!d->stop) break;
        r.stopped = true;
        policy->OnTrialEnded(e.trial_id, core::TrialState::kEarlyTerminated);
        const int64_t total = recorded[e.trial_id].reports;
        report.stopped.push_back(
            {e.trial_id, r.interval, total, total - r.reports, std::move(d->explanation)});
        break;
      }
      case ReplayEvent::Kind::kRestart:
        r.interval = 0;
        if (policy) policy->ForgetCurve(e.trial_id);
        break;
      case ReplayEvent::Kind::kEnd:
        if (policy) policy->OnTrialEnded(e.trial_id, e.end_state);
        break;
    }
  }
  std::sort(report.stopped.begin(), report.stopped.end(),
            [](const auto& a, const auto& b) { return a.trial_id < b.trial_id; });

  for (const auto& [trial_id, r] : recorded) {
    if (r.reports > 0) ++report.trials;
    report.intervals_without_policy += r.reports;
    report.intervals_with_policy += replayed[trial_id].reports;
    if (!r.ended || r.end_state != core::TrialState::kCompleted || !r.final_value ||
        !std::isfinite(*r.final_value)) {
      continue;
    }
    const double v = *r.final_value;
    if (core::Improves(objective.goal, v, report.best_value)) {
      report.best_trial = trial_id;
      report.best_value = v;
    }
    if (replayed[trial_id].stopped) continue;
    if (core::Improves(objective.goal, v, report.best_value_with_policy)) {
      report.best_trial_with_policy = trial_id;
      report.best_value_with_policy = v;
    }
  }
  if (report.best_trial) report.best_survives = !replayed[*report.best_trial].stopped;
  if (report.intervals_without_policy > 0) {
    report.fraction_saved = 1.0 - static_cast<double>(report.intervals_with_policy) /
                                      static_cast<double>(report.intervals_without_policy);
  }
  return report;
}

std::vector<ReplayEvent> RecordedReplayEvents(const std::vector<core::Trial>& trials,
                                              std::vector<core::MetricPoint> points,
                                              const std::vector<core::Attempt>& attempts) {
  // Recorded order: by timestamp; within a millisecond, as listed (per trial, insertion).
  std::stable_sort(points.begin(), points.end(),
                   [](const auto& a, const auto& b) { return a.timestamp_ms < b.timestamp_ms; });
  struct Timed {
    int64_t timestamp_ms;
    ReplayEvent event;
  };
  std::vector<Timed> timeline;
  std::map<int64_t, std::pair<int32_t, int64_t>> last;  // trial -> (attempt, last point time)
  for (const core::MetricPoint& p : points) {
    auto it = last.find(p.trial_id);
    if (it != last.end() && it->second.first != p.attempt) {
      ReplayEvent restart;
      restart.kind = ReplayEvent::Kind::kRestart;
      restart.trial_id = p.trial_id;
      timeline.push_back({p.timestamp_ms, restart});
    }
    last[p.trial_id] = {p.attempt, p.timestamp_ms};
    ReplayEvent report;
    report.trial_id = p.trial_id;
    report.value = p.value;
    timeline.push_back({p.timestamp_ms, report});
  }
  // An interrupted attempt (lost, preempted, or released while the trial went on) left
  // the statistics when it ended, as it did live: restart the trial's curve there.
  std::map<int64_t, const core::Trial*> trial_by_id;
  for (const core::Trial& t : trials) trial_by_id[t.trial_id] = &t;
  for (const core::Attempt& a : attempts) {
    auto t = trial_by_id.find(a.trial_id);
    if (t == trial_by_id.end() || !last.count(a.trial_id) || a.ended_ms == 0) continue;
    const bool released = a.state == core::AttemptState::kStopped &&
                          (a.attempt < t->second->attempts || !core::IsTerminal(t->second->state));
    if (a.state != core::AttemptState::kLost && a.state != core::AttemptState::kPreempted &&
        a.state != core::AttemptState::kInterrupted && !released) {
      continue;
    }
    ReplayEvent restart;
    restart.kind = ReplayEvent::Kind::kRestart;
    restart.trial_id = a.trial_id;
    timeline.push_back({a.ended_ms, restart});
  }
  for (const core::Trial& t : trials) {
    auto it = last.find(t.trial_id);
    if (it == last.end() || !core::IsTerminal(t.state)) continue;
    ReplayEvent end;
    end.kind = ReplayEvent::Kind::kEnd;
    end.trial_id = t.trial_id;
    end.end_state = t.state;
    end.final_value = t.final_value;
    timeline.push_back({std::max(t.ended_ms, it->second.second), end});
  }
  // Ends were appended after every report, so at equal times they come last.
  std::stable_sort(timeline.begin(), timeline.end(),
                   [](const Timed& a, const Timed& b) { return a.timestamp_ms < b.timestamp_ms; });
  std::vector<ReplayEvent> events;
  events.reserve(timeline.size());
  for (Timed& t : timeline) events.push_back(std::move(t.event));

  return events;
}

std::string FormatReplayReport(const ReplayReport& r) {
  const std::string& metric = r.objective.primary_metric;
  std::string out =
      absl::StrCat(r.sweep_id.empty() ? "replay" : "replay of sweep " + r.sweep_id, " (",
                   core::GoalName(r.objective.goal), " ", metric, ") with ", r.policy, "\n");
  char pct[32];
  std::snprintf(pct, sizeof pct, "%.1f%%", 100 * r.fraction_saved);
  absl::StrAppend(&out, "trials: ", r.trials, ", evaluations: ", r.decisions,
                  ", stopped by the policy: ", r.stopped.size(), "\n");
  absl::StrAppend(&out, "intervals: ", r.intervals_without_policy, " without the policy, ",
                  r.intervals_with_policy, " with it (", pct, " saved)\n");
  if (r.best_trial) {
    absl::StrAppend(&out, "best trial without the policy: ", *r.best_trial, " (", metric, "=",
                    Num(*r.best_value), "), ",
                    r.best_survives ? "survives the policy" : "STOPPED by the policy", "\n");
  } else {
    absl::StrAppend(&out, "best trial without the policy: none (no completed trial)\n");
  }
  if (r.best_trial_with_policy) {
    absl::StrAppend(&out, "best trial under the policy: ", *r.best_trial_with_policy, " (", metric,
                    "=", Num(*r.best_value_with_policy), ")\n");
  } else {
    absl::StrAppend(&out, "best trial under the policy: none\n");
  }
  for (const ReplayStoppedTrial& s : r.stopped) {
    absl::StrAppend(&out, "  trial ", s.trial_id, ": saved ", s.intervals_saved, " of ",
                    s.recorded_intervals, " intervals; ", s.explanation, "\n");
  }
  return out;
}

nlohmann::json ReplayReportToJson(const ReplayReport& r) {
  nlohmann::json stopped = nlohmann::json::array();
  for (const ReplayStoppedTrial& s : r.stopped) {
    stopped.push_back({{"trial_id", s.trial_id},
                       {"stopped_at", s.stopped_at},
                       {"recorded_intervals", s.recorded_intervals},
                       {"intervals_saved", s.intervals_saved},
                       {"explanation", s.explanation}});
  }
  nlohmann::json best = nullptr;
  if (r.best_trial) {
    best = {{"trial_id", *r.best_trial},
            {"value", JsonNumber(r.best_value)},
            {"survives", r.best_survives}};
  }
  nlohmann::json best_with = nullptr;
  if (r.best_trial_with_policy) {
    best_with = {{"trial_id", *r.best_trial_with_policy},
                 {"value", JsonNumber(r.best_value_with_policy)}};
  }
  return {{"sweep_id", r.sweep_id},
          {"policy", r.policy},
          {"primary_metric", r.objective.primary_metric},
          {"goal", core::GoalName(r.objective.goal)},
          {"trials", r.trials},
          {"decisions", r.decisions},
          {"intervals_without_policy", r.intervals_without_policy},
          {"intervals_with_policy", r.intervals_with_policy},
          {"fraction_saved", r.fraction_saved},
          {"best", best},
          {"best_with_policy", best_with},
          {"stopped", stopped}};
}

ExplainReport ExplainDecisions(const core::Trial& trial, std::vector<core::Decision> decisions,
                               const absl::StatusOr<core::EarlyTermination>& policy) {
  ExplainReport report;
  report.sweep_id = trial.sweep_id;
  report.trial_id = trial.trial_id;
  report.state = trial.state;
  report.reason = trial.reason;
  report.intervals = trial.intervals;
  std::optional<core::EarlyTermination> settings;
  std::string unreadable;
  if (policy.ok()) {
    settings = *policy;
    report.policy = DescribeEarlyTermination(*settings);
  } else {
    unreadable = std::string(policy.status().message());
    report.policy =
        absl::StrCat("unknown (the sweep's spec could not be read back: ", unreadable, ")");
  }

  for (const core::Decision& d : decisions) {
    report.lines.push_back(
        d.stop ? absl::StrCat("interval ", d.interval, ": stopped: ", DecisionReason(d))
               : absl::StrCat("interval ", d.interval, ": continues (", DecisionReason(d), ")"));
  }
  report.decisions = std::move(decisions);
  if (!report.lines.empty()) return report;

  std::string why;
  if (!settings) {
    why = absl::StrCat(
        "no decisions recorded (the sweep's spec could not be read back to say "
        "why: ",
        unreadable, ")");
  } else if (settings->type == core::PolicyType::kNone) {
    why = "no early-termination policy";
  } else {
    const std::optional<int64_t> first = FirstEvaluationInterval(*settings);
    const std::string reported = absl::StrCat("the trial reported ", trial.intervals,
                                              trial.intervals == 1 ? " interval" : " intervals");
    if (!first) {
      why = absl::StrCat("never evaluated (no ASHA rung at or after delay_evaluation ",
                         settings->delay_evaluation, ")");
    } else if (trial.intervals < settings->delay_evaluation) {
      why = absl::StrCat("never evaluated (delay_evaluation ", settings->delay_evaluation,
                         " not reached: ", reported, ")");
    } else if (trial.intervals < *first) {
      why = absl::StrCat("never evaluated (its first evaluation would be at interval ", *first,
                         "; ", reported, ")");
    } else {
      why = absl::StrCat("never evaluated: no decision was recorded although ", reported,
                         " and the first evaluation is at interval ", *first);
    }
  }
  report.lines.push_back(std::move(why));
  return report;
}

std::string FormatExplainReport(const ExplainReport& r) {
  std::string out = absl::StrCat("trial ", r.trial_id, " of sweep ", r.sweep_id, ": ",
                                 core::TrialStateName(r.state));
  if (!r.reason.empty()) absl::StrAppend(&out, " (", r.reason, ")");
  absl::StrAppend(&out, "; policy: ", r.policy, "\n");
  for (const std::string& line : r.lines) absl::StrAppend(&out, line, "\n");
  return out;
}

nlohmann::json ExplainReportToJson(const ExplainReport& r) {
  nlohmann::json decisions = nlohmann::json::array();
  for (const core::Decision& d : r.decisions) {
    decisions.push_back({{"interval", d.interval},
                         {"value", JsonNumber(d.value)},
                         {"reference", JsonNumber(d.reference)},
                         {"threshold", JsonNumber(d.threshold)},
                         {"stop", d.stop},
                         {"explanation", d.explanation}});
  }
  return {{"sweep_id", r.sweep_id},
          {"trial_id", r.trial_id},
          {"state", core::TrialStateName(r.state)},
          {"reason", r.reason},
          {"intervals", r.intervals},
          {"policy", r.policy},
          {"lines", r.lines},
          {"decisions", decisions}};
}

}  // namespace sweep::policies

// Sweeps to draw, for the report tests: fixed records, so the plots are fixed too.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "core/search_space.h"
#include "report/report_data.h"

namespace sweep::report::testing {

inline core::ParamSpec Param(const std::string& name, core::ParamKind kind, double lo, double hi) {
  core::ParamSpec p;
  p.name = name;
  p.kind = kind;
  p.min_value = lo;
  p.max_value = hi;
  return p;
}

inline core::ParamSpec Choice(const std::string& name, std::vector<core::ParamValue> values) {
  core::ParamSpec p;
  p.name = name;
  p.kind = core::ParamKind::kChoice;
  for (core::ParamValue& v : values) p.options.push_back({std::move(v), false, {}});
  return p;
}

inline core::Trial MakeTrial(int64_t id, core::TrialState state, std::optional<double> value,
                             core::Config config) {
  core::Trial t;
  t.sweep_id = "sw-0123456789ab";
  t.trial_id = id;
  t.state = state;
  t.final_value = value;
  t.config = std::move(config);
  t.created_ms = 1'700'000'000'000 + id * 1000;
  if (state != core::TrialState::kPending) t.started_ms = t.created_ms + 100;
  if (core::IsTerminal(state)) t.ended_ms = t.started_ms + 5000 + id * 10;
  return t;
}

inline core::Sweep MakeSweep(core::Goal goal) {
  core::Sweep s;
  s.id = "sw-0123456789ab";
  s.name = "quickstart";
  s.compute = "cpu-cluster";
  s.sampling_algorithm = "random";
  s.objective.primary_metric = "accuracy";
  s.objective.goal = goal;
  s.max_total_trials = 12;
  s.state = core::SweepState::kCompleted;
  s.status_message = "8 trials: 4 completed";
  s.created_ms = 1'700'000'000'000;
  s.ended_ms = 1'700'000'060'000;
  return s;
}

// A flat space (lr loguniform, l2 choice, hidden choice) and 8 trials in every state.
inline ReportInput FlatSweep() {
  using core::TrialState;
  ReportInput in;
  in.sweep = MakeSweep(core::Goal::kMaximize);
  core::SearchSpace space;
  space.params = {Param("lr", core::ParamKind::kLogUniform, -5, 0),
                  Choice("l2", {0.0, 0.0001, 0.001}), Choice("hidden", {int64_t{4}, int64_t{8}})};
  in.space = space;
  auto cfg = [](double lr, double l2, int64_t hidden) {
    return core::Config{{"lr", lr}, {"l2", l2}, {"hidden", hidden}};
  };
  in.trials = {
      MakeTrial(1, TrialState::kCompleted, 0.80, cfg(0.01, 0.0, 4)),
      MakeTrial(2, TrialState::kCompleted, 0.91, cfg(0.3, 0.001, 8)),
      MakeTrial(3, TrialState::kEarlyTerminated, 0.55, cfg(0.007, 0.0001, 4)),
      MakeTrial(4, TrialState::kFailed, std::nullopt, cfg(0.9, 0.0, 8)),
      MakeTrial(5, TrialState::kCompleted, 0.94, cfg(0.5, 0.0, 8)),
      MakeTrial(6, TrialState::kCompleted, 0.62, cfg(0.0069, 0.001, 4)),
      MakeTrial(7, TrialState::kRunning, 0.70, cfg(0.05, 0.0001, 8)),
      MakeTrial(8, TrialState::kPending, std::nullopt, cfg(0.2, 0.0, 4)),
  };
  in.trials[3].reason = "exited with code 1: <boom> & \"quotes\"";
  for (const core::Trial& t : in.trials) {
    if (!t.final_value) continue;
    int64_t n = t.state == TrialState::kEarlyTerminated ? 3 : 6;
    std::vector<CurvePoint>& curve = in.curves[t.trial_id];
    for (int64_t i = 1; i <= n; ++i) {
      curve.push_back({i, *t.final_value * (1 - 0.5 / static_cast<double>(i * i))});
    }
    curve.back().value = *t.final_value;
  }
  in.curves[1].push_back({7, NAN});  // non-finite reports are not drawn
  in.generated_ms = 1'700'000'100'000;
  return in;
}

// A nested space: estimator = svm {model: svm, C loguniform} | rf {model: rf, depth randint}.
inline ReportInput NestedSweep() {
  using core::TrialState;
  ReportInput in;
  in.sweep = MakeSweep(core::Goal::kMinimize);
  in.sweep.objective.primary_metric = "loss";
  core::ParamSpec estimator;
  estimator.name = "estimator";
  estimator.kind = core::ParamKind::kChoice;
  core::ParamSpec depth;
  depth.name = "depth";
  depth.kind = core::ParamKind::kRandint;
  depth.upper = 10;
  estimator.options = {
      {int64_t{0},
       true,
       {Choice("model", {std::string("svm")}), Param("C", core::ParamKind::kLogUniform, -3, 5)}},
      {int64_t{1}, true, {Choice("model", {std::string("rf")}), depth}},
  };
  core::SearchSpace space;
  space.params = {estimator};
  in.space = space;
  auto svm = [](double c) {
    return core::Config{{"estimator", int64_t{0}}, {"model", std::string("svm")}, {"C", c}};
  };
  auto rf = [](int64_t d) {
    return core::Config{{"estimator", int64_t{1}}, {"model", std::string("rf")}, {"depth", d}};
  };
  in.trials = {
      MakeTrial(1, TrialState::kCompleted, 0.30, svm(0.1)),
      MakeTrial(2, TrialState::kCompleted, 0.12, rf(7)),
      MakeTrial(3, TrialState::kCompleted, 0.45, svm(50)),
      MakeTrial(4, TrialState::kCompleted, 0.10, rf(9)),
      MakeTrial(5, TrialState::kFailed, std::nullopt, svm(2)),
  };
  return in;
}

}  // namespace sweep::report::testing

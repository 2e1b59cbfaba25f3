// Builds finished sweeps by hand in an InMemoryStore for the replay/explain tests.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/types.h"
#include "gtest/gtest.h"
#include "store/store.h"

namespace sweep::controller::testing {

// A spec that spec::ParseSpec accepts, with the given early_termination line.
inline std::string SpecYaml(const std::string& early_termination, const std::string& goal) {
  std::string yaml =
      "type: sweep\n"
      "trial:\n"
      "  command: python3 train.py --lr ${{search_space.lr}}\n"
      "compute: cpu-cluster\n"
      "search_space:\n"
      "  lr: {type: uniform, min_value: 0, max_value: 1}\n"
      "objective: {primary_metric: accuracy, goal: " +
      goal + "}\n";
  if (!early_termination.empty()) yaml += "early_termination: " + early_termination + "\n";
  yaml += "limits: {max_total_trials: 10}\n";
  return yaml;
}

class SweepBuilder {
 public:
  SweepBuilder(store::Store* store, std::string sweep_id) : store_(store) {
    sweep_.id = std::move(sweep_id);
    sweep_.name = "test";
    sweep_.compute = "cpu-cluster";
    sweep_.objective.primary_metric = "accuracy";
    sweep_.state = core::SweepState::kCompleted;
  }

  SweepBuilder& Goal(core::Goal goal) {
    sweep_.objective.goal = goal;
    return *this;
  }
  SweepBuilder& State(core::SweepState state) {
    sweep_.state = state;
    return *this;
  }
  SweepBuilder& Spec(const std::string& yaml, const std::string& path = "") {
    sweep_.spec_yaml = yaml;
    sweep_.spec_path = path;
    return *this;
  }

  // A trial whose primary-metric curve is reported one point per `step_ms` from
  // `start_ms` (attempt 1), ending `step_ms` after its last point. final_value defaults
  // to the last value.
  SweepBuilder& Trial(int64_t trial_id, const std::vector<double>& curve, int64_t start_ms,
                      core::TrialState state = core::TrialState::kCompleted,
                      std::optional<double> final_value = std::nullopt, int64_t step_ms = 10) {
    core::Trial t;
    t.sweep_id = sweep_.id;
    t.trial_id = trial_id;
    t.state = state;
    t.final_value =
        final_value ? final_value : (curve.empty() ? std::nullopt : std::optional(curve.back()));
    t.intervals = static_cast<int64_t>(curve.size());
    t.attempts = 1;
    t.started_ms = start_ms;
    t.ended_ms = start_ms + step_ms * static_cast<int64_t>(curve.size());
    batch_.trials.push_back(t);
    for (size_t i = 0; i < curve.size(); ++i) {
      Point(trial_id, 1, static_cast<int64_t>(i) + 1, curve[i],
            start_ms + step_ms * static_cast<int64_t>(i));
    }
    return *this;
  }

  // A bare trial record (for trials whose points are added with Point).
  SweepBuilder& TrialRecord(int64_t trial_id, core::TrialState state,
                            std::optional<double> final_value, int64_t intervals, int64_t ended_ms,
                            const std::string& reason = "") {
    core::Trial t;
    t.sweep_id = sweep_.id;
    t.trial_id = trial_id;
    t.state = state;
    t.final_value = final_value;
    t.intervals = intervals;
    t.ended_ms = ended_ms;
    t.reason = reason;
    batch_.trials.push_back(t);
    return *this;
  }

  SweepBuilder& Point(int64_t trial_id, int32_t attempt, int64_t interval, double value,
                      int64_t timestamp_ms, const std::string& name = "accuracy") {
    core::MetricPoint p;
    p.sweep_id = sweep_.id;
    p.trial_id = trial_id;
    p.attempt = attempt;
    p.name = name;
    p.value = value;
    p.interval = name == "accuracy" ? interval : 0;
    p.timestamp_ms = timestamp_ms;
    batch_.metrics.push_back(p);
    return *this;
  }

  SweepBuilder& Decision(core::Decision d) {
    d.sweep_id = sweep_.id;
    batch_.decisions.push_back(std::move(d));
    return *this;
  }

  void Commit() {
    store::WriteBatch batch;
    batch.sweeps.push_back(sweep_);
    batch.Append(std::move(batch_));
    absl::Status status = store_->Commit(batch);
    ASSERT_TRUE(status.ok()) << status;
  }

 private:
  store::Store* store_;
  core::Sweep sweep_;
  store::WriteBatch batch_;
};

}  // namespace sweep::controller::testing

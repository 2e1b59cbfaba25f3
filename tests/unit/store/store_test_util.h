// Record builders, a temp dir and full-field dumps for the store tests. Dumps print
// doubles in hex (%a), so "equal dumps" means bit-for-bit equal values, NaN included.
#pragma once

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <variant>

#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "core/types.h"
#include "gtest/gtest.h"

namespace sweep::store::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "sweep-store-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The value of a StatusOr, by value (so range-for over it is safe); a failure fails the
// test and yields T{}.
template <typename T>
T Must(absl::StatusOr<T> result) {
  EXPECT_TRUE(result.ok()) << result.status();
  if (!result.ok()) return T{};
  return *std::move(result);
}

inline core::ComputeTarget MakeCompute(const std::string& name, int64_t max_nodes = 4) {
  core::ComputeTarget c;
  c.name = name;
  c.type = "amlcompute";
  c.provider = "local";
  c.min_nodes = 0;
  c.max_nodes = max_nodes;
  c.vm_size = "STANDARD_D2";
  c.vm_priority = "lowpriority";
  c.idle_seconds_before_scaledown = 60;
  c.properties_json = R"({"partition":"gpu"})";
  c.created_ms = 1000;
  return c;
}

inline core::Sweep MakeSweep(const std::string& id, int64_t created_ms = 1000) {
  core::Sweep s;
  s.id = id;
  s.name = "name-" + id;
  s.spec_yaml = "type: sweep\n";
  s.spec_path = "/specs/" + id + ".yml";
  s.compute = "cpu-cluster";
  s.objective.primary_metric = "accuracy";
  s.objective.goal = core::Goal::kMinimize;
  s.objective.aggregation = core::Aggregation::kBest;
  s.sampling_algorithm = "bayesian";
  s.max_total_trials = 40;
  s.snapshot_digest = std::string(64, 'a');
  s.environment = "sklearn-env@3";
  s.extension = 2;
  s.extended_ms = created_ms + 5;
  s.max_concurrent_trials = 3;
  s.timeout_s = 60;
  s.warm_start = {"sw-aaaaaaaaaaaa", "sw-bbbbbbbbbbbb"};
  s.state = core::SweepState::kRunning;
  s.created_ms = created_ms;
  return s;
}

inline core::Trial MakeTrial(const std::string& sweep_id, int64_t trial_id) {
  core::Trial t;
  t.sweep_id = sweep_id;
  t.trial_id = trial_id;
  t.config = {{"lr", 0.001 * static_cast<double>(trial_id)},
              {"layers", int64_t{trial_id}},
              {"model", std::string("svm")},
              {"bias", true}};
  t.state = core::TrialState::kRunning;
  t.created_ms = 1000 + trial_id;
  t.started_ms = 2000 + trial_id;
  return t;
}

inline core::Attempt MakeAttempt(const std::string& sweep_id, int64_t trial_id, int32_t attempt,
                                 uint64_t token) {
  core::Attempt a;
  a.sweep_id = sweep_id;
  a.trial_id = trial_id;
  a.attempt = attempt;
  a.node_id = "node-1";
  a.fencing_token = token;
  a.state = core::AttemptState::kRunning;
  a.started_ms = 3000;
  a.expires_ms = 33000;
  return a;
}

inline core::MetricPoint MakeMetric(const std::string& sweep_id, int64_t trial_id,
                                    const std::string& name, double value, int64_t timestamp_ms) {
  core::MetricPoint m;
  m.sweep_id = sweep_id;
  m.trial_id = trial_id;
  m.attempt = 1;
  m.name = name;
  m.value = value;
  m.step = 0;
  m.interval = 0;
  m.timestamp_ms = timestamp_ms;
  return m;
}

inline core::Event MakeEvent(const std::string& sweep_id, int64_t trial_id,
                             const std::string& kind) {
  core::Event e;
  e.sweep_id = sweep_id;
  e.trial_id = trial_id;
  e.kind = kind;
  e.message = "about " + kind;
  e.timestamp_ms = 5000;
  return e;
}

inline core::Decision MakeDecision(const std::string& sweep_id, int64_t trial_id, int64_t interval,
                                   bool stop = false) {
  core::Decision d;
  d.sweep_id = sweep_id;
  d.trial_id = trial_id;
  d.interval = interval;
  d.policy = "bandit";
  d.value = 0.5;
  d.reference = 0.9;
  d.threshold = 0.8;
  d.stop = stop;
  d.explanation = "0.5 < 0.8";
  d.timestamp_ms = 6000;
  return d;
}

inline core::Node MakeNode(const std::string& node_id) {
  core::Node n;
  n.node_id = node_id;
  n.compute = "cpu-cluster";
  n.hostname = "host-" + node_id;
  n.pid = 4242;
  n.state = "busy";
  n.registered_ms = 100;
  n.last_seen_ms = 200;
  return n;
}

inline std::string Hex(double v) { return absl::StrFormat("%a", v); }

inline std::string Dump(const core::ParamValue& v) {
  if (const double* d = std::get_if<double>(&v)) return "double:" + Hex(*d);
  if (const int64_t* i = std::get_if<int64_t>(&v)) return absl::StrCat("int:", *i);
  if (const bool* b = std::get_if<bool>(&v)) return absl::StrCat("bool:", *b);
  return "string:" + std::get<std::string>(v);
}

inline std::string Dump(const core::ComputeTarget& c) {
  return absl::StrCat(c.name, "|", c.type, "|", c.provider, "|", c.min_nodes, "|", c.max_nodes, "|",
                      c.vm_size, "|", c.vm_priority, "|", c.idle_seconds_before_scaledown, "|",
                      c.properties_json, "|", c.created_ms);
}

inline std::string Dump(const core::Sweep& s) {
  return absl::StrCat(
      s.id, "|", s.name, "|", s.spec_yaml, "|", s.spec_path, "|", s.compute, "|",
      core::SweepStateName(s.state), "|", s.status_message, "|", s.created_ms, "|", s.ended_ms, "|",
      s.objective.primary_metric, "|", core::GoalName(s.objective.goal), "|",
      static_cast<int>(s.objective.aggregation), "|", s.sampling_algorithm, "|", s.max_total_trials,
      "|", s.snapshot_digest, "|", s.environment, "|", s.extension, "|", s.extended_ms, "|",
      s.max_concurrent_trials, "|", s.timeout_s, "|", absl::StrJoin(s.warm_start, ","));
}

inline std::string Dump(const core::Trial& t) {
  std::string config;
  for (const auto& [name, value] : t.config) absl::StrAppend(&config, name, "=", Dump(value), ";");
  return absl::StrCat(t.sweep_id, "|", t.trial_id, "|", config, "|", core::TrialStateName(t.state),
                      "|", t.final_value ? Hex(*t.final_value) : "none", "|", t.intervals, "|",
                      t.attempts, "|", t.retries, "|", t.reason, "|", t.created_ms, "|",
                      t.started_ms, "|", t.ended_ms);
}

inline std::string Dump(const core::Attempt& a) {
  return absl::StrCat(a.sweep_id, "|", a.trial_id, "|", a.attempt, "|", a.node_id, "|",
                      a.fencing_token, "|", core::AttemptStateName(a.state), "|", a.started_ms, "|",
                      a.expires_ms, "|", a.ended_ms, "|", a.exit_code, "|", a.error);
}

inline std::string Dump(const core::MetricPoint& m) {
  return absl::StrCat(m.sweep_id, "|", m.trial_id, "|", m.attempt, "|", m.name, "|", Hex(m.value),
                      "|", m.step, "|", m.interval, "|", m.timestamp_ms);
}

inline std::string Dump(const core::Event& e) {
  return absl::StrCat(e.id, "|", e.sweep_id, "|", e.trial_id, "|", e.kind, "|", e.message, "|",
                      e.timestamp_ms);
}

inline std::string Dump(const core::Decision& d) {
  return absl::StrCat(d.sweep_id, "|", d.trial_id, "|", d.interval, "|", d.policy, "|",
                      Hex(d.value), "|", Hex(d.reference), "|", Hex(d.threshold), "|", d.stop, "|",
                      d.explanation, "|", d.timestamp_ms);
}

inline std::string Dump(const core::Node& n) {
  return absl::StrCat(n.node_id, "|", n.compute, "|", n.hostname, "|", n.pid, "|", n.state, "|",
                      n.registered_ms, "|", n.last_seen_ms);
}

inline core::Environment MakeEnvironment(const std::string& name, int64_t version) {
  core::Environment e;
  e.name = name;
  e.version = version;
  e.kind = "system_managed";
  e.setup_command = "pip install -r requirements.txt";
  // Bytes JSON could not carry as text: NUL and invalid UTF-8.
  e.files = {{"requirements.txt", std::string("numpy\0\xff\n", 8)}, {"setup.cfg", ""}};
  e.digest = absl::StrCat("digest-", name, "-", version);
  e.created_ms = 1000 + version;
  return e;
}

inline core::Model MakeModel(const std::string& name, int64_t version, const std::string& sweep_id,
                             int64_t trial_id) {
  core::Model m;
  m.name = name;
  m.version = version;
  m.sweep_id = sweep_id;
  m.trial_id = trial_id;
  m.attempt = 2;
  m.primary_metric = "loss";
  m.goal = core::Goal::kMinimize;
  m.metric_value = 0.25;
  m.params_json = R"({"lr":0.1})";
  m.tags = {{"stage", "prod"}, {"owner", "ml team"}};
  m.manifest_digest = std::string(64, 'a');
  m.total_bytes = 1234;
  m.created_ms = 5000 + version;
  return m;
}

inline std::string Dump(const core::Environment& e) {
  std::string files;
  for (const auto& f : e.files)
    absl::StrAppend(&files, f.name, "=", absl::CHexEscape(f.content), ";");
  return absl::StrCat(e.name, "|", e.version, "|", e.kind, "|", e.python, "|", e.setup_command, "|",
                      files, "|", e.digest, "|", e.created_ms);
}

inline std::string Dump(const core::Model& m) {
  std::string tags;
  for (const auto& [k, v] : m.tags) absl::StrAppend(&tags, k, "=", v, ";");
  return absl::StrCat(m.name, "|", m.version, "|", m.sweep_id, "|", m.trial_id, "|", m.attempt, "|",
                      m.primary_metric, "|", core::GoalName(m.goal), "|",
                      m.metric_value ? Hex(*m.metric_value) : "none", "|", m.params_json, "|", tags,
                      "|", m.manifest_digest, "|", m.total_bytes, "|", m.created_ms);
}

template <typename T>
std::vector<std::string> DumpAll(const std::vector<T>& records) {
  std::vector<std::string> out;
  for (const T& r : records) out.push_back(Dump(r));
  return out;
}

}  // namespace sweep::store::testing

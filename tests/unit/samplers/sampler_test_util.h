// Builders of search spaces and a driver loop for sampler tests.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/search_space.h"
#include "gtest/gtest.h"
#include "samplers/sampler.h"

namespace sweep::samplers::testing {

inline core::ParamSpec Range(std::string name, core::ParamKind kind, double lo, double hi,
                             double q = 0) {
  core::ParamSpec p;
  p.name = std::move(name);
  p.kind = kind;
  p.min_value = lo;
  p.max_value = hi;
  p.q = q;
  return p;
}

inline core::ParamSpec Uniform(std::string name, double lo, double hi) {
  return Range(std::move(name), core::ParamKind::kUniform, lo, hi);
}

inline core::ParamSpec Normal(std::string name, core::ParamKind kind, double mu, double sigma,
                              double q = 0) {
  core::ParamSpec p;
  p.name = std::move(name);
  p.kind = kind;
  p.mu = mu;
  p.sigma = sigma;
  p.q = q;
  return p;
}

inline core::ParamSpec Randint(std::string name, int64_t upper) {
  core::ParamSpec p;
  p.name = std::move(name);
  p.kind = core::ParamKind::kRandint;
  p.upper = upper;
  return p;
}

inline core::ParamSpec Choice(std::string name, std::vector<core::ParamValue> values) {
  core::ParamSpec p;
  p.name = std::move(name);
  p.kind = core::ParamKind::kChoice;
  for (auto& v : values) p.options.push_back({v, false, {}});
  return p;
}

// A choice whose options are nested spaces; option i has value int64 i.
inline core::ParamSpec NestedChoice(std::string name,
                                    std::vector<std::vector<core::ParamSpec>> branches) {
  core::ParamSpec p;
  p.name = std::move(name);
  p.kind = core::ParamKind::kChoice;
  for (size_t i = 0; i < branches.size(); ++i) {
    p.options.push_back({core::ParamValue(static_cast<int64_t>(i)), true, branches[i]});
  }
  return p;
}

inline core::SearchSpace Space(std::vector<core::ParamSpec> params) {
  core::SearchSpace s;
  s.params = std::move(params);
  return s;
}

inline Observation Obs(core::Config config, core::TrialState state = core::TrialState::kCompleted,
                       std::optional<double> value = std::nullopt) {
  Observation o;
  o.config = std::move(config);
  o.state = state;
  o.value = value;
  return o;
}

using Objective = std::function<std::optional<double>(const core::Config&)>;

// Asks `sampler` for up to n configs, appending each to `history` as a completed trial
// valued by `objective` (no value when it is null). Stops early at nullopt.
inline std::vector<core::Config> RunTrials(Sampler& sampler, int n, History& history,
                                           const Objective& objective = nullptr) {
  std::vector<core::Config> out;
  for (int i = 0; i < n; ++i) {
    absl::StatusOr<std::optional<core::Config>> next = sampler.Next(history);
    EXPECT_TRUE(next.ok()) << next.status();
    if (!next.ok() || !next->has_value()) break;
    Observation o;
    o.config = **next;
    o.state = core::TrialState::kCompleted;
    if (objective) o.value = objective(o.config);
    history.trials.push_back(o);
    out.push_back(**next);
  }
  return out;
}

inline std::vector<core::Config> RunTrials(Sampler& sampler, int n,
                                           const Objective& objective = nullptr) {
  History history;
  return RunTrials(sampler, n, history, objective);
}

inline double Num(const core::ParamValue& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  return std::get<double>(v);
}

}  // namespace sweep::samplers::testing

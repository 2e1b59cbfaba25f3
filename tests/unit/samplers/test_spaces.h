// Builders of search spaces for sampler tests.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/search_space.h"

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

}  // namespace sweep::samplers::testing

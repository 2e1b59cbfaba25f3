// The search space of a sweep and the configurations sampled from it.
//
// Semantics follow Azure ML sweep jobs:
//   choice(values)                 one of the values; a value may be a nested space
//   randint(upper)                 integer in [0, upper)
//   uniform(min, max)              real in [min, max]
//   quniform(min, max, q)          round(uniform(min, max) / q) * q
//   loguniform(min, max)           exp(uniform(min, max)): the bounds are exponents
//   qloguniform(min, max, q)       round(exp(uniform(min, max)) / q) * q
//   normal(mu, sigma)              real from N(mu, sigma)
//   qnormal(mu, sigma, q)          round(normal(mu, sigma) / q) * q
//   lognormal(mu, sigma)           exp(normal(mu, sigma))
//   qlognormal(mu, sigma, q)       round(exp(normal(mu, sigma)) / q) * q
//
// Nested (conditional) spaces: a `choice` option may be a mapping whose entries are
// constants or parameter expressions. When such an option is chosen, the config holds
// the choice parameter set to the option's index (int) and every entry of the mapping
// under its own name; entries of options not chosen are absent ("inactive").
// A constant entry is stored as a one-value choice.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "nlohmann/json_fwd.hpp"

namespace sweep::core {

// One parameter value. Integers stay integers (randint, integer choices); quantized
// real expressions yield doubles, as in Azure ML.
using ParamValue = std::variant<int64_t, double, std::string, bool>;

// A sampled configuration: parameter name -> value, only active parameters.
using Config = std::map<std::string, ParamValue>;

enum class ParamKind {
  kChoice,
  kRandint,
  kUniform,
  kQUniform,
  kLogUniform,
  kQLogUniform,
  kNormal,
  kQNormal,
  kLogNormal,
  kQLogNormal,
};

struct ParamSpec;

// One option of a choice: a plain value, or (is_subspace) a nested space.
struct ChoiceOption {
  ParamValue value;                 // the value; for a subspace, its index
  bool is_subspace = false;
  std::vector<ParamSpec> subspace;  // entries of the mapping, in file order
};

struct ParamSpec {
  std::string name;
  ParamKind kind = ParamKind::kUniform;
  // kRandint: upper (exclusive). Ranges: min_value/max_value. Normals: mu/sigma.
  int64_t upper = 0;
  double min_value = 0, max_value = 0;
  double mu = 0, sigma = 1;
  double q = 0;                      // quantization step, q* kinds only
  std::vector<ChoiceOption> options;  // kChoice only
};

struct SearchSpace {
  std::vector<ParamSpec> params;  // in file order
};

// Kind names as written in a spec ("choice", "randint", ...).
const char* ParamKindName(ParamKind kind);
std::optional<ParamKind> ParseParamKind(const std::string& name);

bool IsQuantized(ParamKind kind);
bool IsLogScaled(ParamKind kind);   // loguniform, qloguniform, lognormal, qlognormal
bool IsNormal(ParamKind kind);      // the four normal kinds (unbounded)

// Applies quantization round(x / q) * q when the kind is quantized.
double Quantize(ParamKind kind, double q, double x);

// Number of distinct configurations, or nullopt if the space is infinite
// (any continuous parameter anywhere) or larger than 2^62.
std::optional<uint64_t> Cardinality(const SearchSpace& space);

// True when every parameter (nested ones included) takes finitely many values:
// choice, randint, and quantized bounded ranges (quniform, qloguniform).
bool IsFinite(const SearchSpace& space);

// All values a finite parameter can take, in ascending / file order.
// Precondition: the parameter is finite (see IsFinite); nested options yield their index.
std::vector<ParamValue> FiniteValues(const ParamSpec& param);

// Canonical text of a config, stable across runs: used to detect duplicates.
std::string ConfigKey(const Config& config);

// Human text of a value: integers without a point, doubles with up to 17 significant
// digits ("0.001", "3", "svm", "true").
std::string ParamValueToString(const ParamValue& value);

// JSON conversions. Integers stay JSON integers, doubles JSON numbers.
nlohmann::json ParamValueToJson(const ParamValue& value);
nlohmann::json ConfigToJson(const Config& config);
// Fails (nullopt) on nested arrays/objects or null.
std::optional<ParamValue> ParamValueFromJson(const nlohmann::json& json);
std::optional<Config> ConfigFromJson(const nlohmann::json& json);

// Human-readable, indented description of a space (for `sweep validate`).
std::string DescribeSpace(const SearchSpace& space);
// Machine-readable description of a space.
nlohmann::json SpaceToJson(const SearchSpace& space);

}  // namespace sweep::core

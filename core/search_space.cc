#include "core/search_space.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <set>
#include <sstream>

#include "nlohmann/json.hpp"

namespace sweep::core {
namespace {

struct KindName {
  ParamKind kind;
  const char* name;
};
constexpr KindName kKindNames[] = {
    {ParamKind::kChoice, "choice"},           {ParamKind::kRandint, "randint"},
    {ParamKind::kUniform, "uniform"},         {ParamKind::kQUniform, "quniform"},
    {ParamKind::kLogUniform, "loguniform"},   {ParamKind::kQLogUniform, "qloguniform"},
    {ParamKind::kNormal, "normal"},           {ParamKind::kQNormal, "qnormal"},
    {ParamKind::kLogNormal, "lognormal"},     {ParamKind::kQLogNormal, "qlognormal"},
};

constexpr uint64_t kCardinalityCap = uint64_t{1} << 62;

// Saturating arithmetic for cardinalities; kCardinalityCap means "too large".
uint64_t SatMul(uint64_t a, uint64_t b) {
  if (a == 0 || b == 0) return 0;
  if (a > kCardinalityCap / b) return kCardinalityCap;
  return a * b;
}
uint64_t SatAdd(uint64_t a, uint64_t b) { return std::min(kCardinalityCap, a + b); }

bool ParamIsFinite(const ParamSpec& p);

bool SpaceIsFinite(const std::vector<ParamSpec>& params) {
  for (const ParamSpec& p : params) {
    if (!ParamIsFinite(p)) return false;
  }
  return true;
}

bool ParamIsFinite(const ParamSpec& p) {
  switch (p.kind) {
    case ParamKind::kChoice:
      for (const ChoiceOption& o : p.options) {
        if (o.is_subspace && !SpaceIsFinite(o.subspace)) return false;
      }
      return true;
    case ParamKind::kRandint:
      return true;
    case ParamKind::kQUniform:
    case ParamKind::kQLogUniform:
      return p.q > 0;
    default:
      return false;
  }
}

// Distinct quantized values of a bounded quantized range, ascending.
std::vector<double> QuantizedRangeValues(const ParamSpec& p) {
  double lo = p.min_value, hi = p.max_value;
  if (p.kind == ParamKind::kQLogUniform) {
    lo = std::exp(lo);
    hi = std::exp(hi);
  }
  std::vector<double> values;
  double first = std::round(lo / p.q);
  double last = std::round(hi / p.q);
  for (double k = first; k <= last && values.size() < (1u << 20); k += 1) {
    values.push_back(k * p.q);
  }
  return values;
}

uint64_t SpaceCardinality(const std::vector<ParamSpec>& params);

uint64_t ParamCardinality(const ParamSpec& p) {
  switch (p.kind) {
    case ParamKind::kChoice: {
      uint64_t total = 0;
      for (const ChoiceOption& o : p.options) {
        total = SatAdd(total, o.is_subspace ? SpaceCardinality(o.subspace) : 1);
      }
      return total;
    }
    case ParamKind::kRandint:
      return static_cast<uint64_t>(std::max<int64_t>(p.upper, 0));
    default:
      return QuantizedRangeValues(p).size();
  }
}

uint64_t SpaceCardinality(const std::vector<ParamSpec>& params) {
  uint64_t total = 1;
  for (const ParamSpec& p : params) total = SatMul(total, ParamCardinality(p));
  return total;
}

std::string FormatDouble(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[40];
  // Shortest representation that round-trips.
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

void DescribeParams(const std::vector<ParamSpec>& params, int indent, std::ostringstream& out) {
  std::string pad(indent, ' ');
  for (const ParamSpec& p : params) {
    out << pad << p.name << ": " << ParamKindName(p.kind) << "(";
    switch (p.kind) {
      case ParamKind::kChoice: {
        bool first = true;
        for (const ChoiceOption& o : p.options) {
          if (!first) out << ", ";
          first = false;
          if (o.is_subspace) {
            out << "{#" << ParamValueToString(o.value) << "}";
          } else if (std::holds_alternative<std::string>(o.value)) {
            out << '"' << std::get<std::string>(o.value) << '"';
          } else {
            out << ParamValueToString(o.value);
          }
        }
        break;
      }
      case ParamKind::kRandint:
        out << "upper=" << p.upper;
        break;
      case ParamKind::kNormal:
      case ParamKind::kLogNormal:
        out << "mu=" << FormatDouble(p.mu) << ", sigma=" << FormatDouble(p.sigma);
        break;
      case ParamKind::kQNormal:
      case ParamKind::kQLogNormal:
        out << "mu=" << FormatDouble(p.mu) << ", sigma=" << FormatDouble(p.sigma)
            << ", q=" << FormatDouble(p.q);
        break;
      case ParamKind::kQUniform:
      case ParamKind::kQLogUniform:
        out << "min_value=" << FormatDouble(p.min_value)
            << ", max_value=" << FormatDouble(p.max_value) << ", q=" << FormatDouble(p.q);
        break;
      default:
        out << "min_value=" << FormatDouble(p.min_value)
            << ", max_value=" << FormatDouble(p.max_value);
    }
    out << ")";
    if (p.kind == ParamKind::kLogUniform || p.kind == ParamKind::kQLogUniform) {
      out << "  # values in [" << FormatDouble(std::exp(p.min_value)) << ", "
          << FormatDouble(std::exp(p.max_value)) << "]";
    }
    out << "\n";
    if (p.kind == ParamKind::kChoice) {
      for (const ChoiceOption& o : p.options) {
        if (!o.is_subspace) continue;
        out << pad << "  when " << p.name << " = " << ParamValueToString(o.value) << ":\n";
        DescribeParams(o.subspace, indent + 4, out);
      }
    }
  }
}

nlohmann::json ParamsToJson(const std::vector<ParamSpec>& params) {
  nlohmann::json out = nlohmann::json::array();
  for (const ParamSpec& p : params) {
    nlohmann::json j = {{"name", p.name}, {"type", ParamKindName(p.kind)}};
    switch (p.kind) {
      case ParamKind::kChoice: {
        nlohmann::json values = nlohmann::json::array();
        for (const ChoiceOption& o : p.options) {
          if (o.is_subspace) {
            values.push_back({{"index", ParamValueToJson(o.value)},
                              {"search_space", ParamsToJson(o.subspace)}});
          } else {
            values.push_back(ParamValueToJson(o.value));
          }
        }
        j["values"] = values;
        break;
      }
      case ParamKind::kRandint:
        j["upper"] = p.upper;
        break;
      case ParamKind::kNormal:
      case ParamKind::kLogNormal:
      case ParamKind::kQNormal:
      case ParamKind::kQLogNormal:
        j["mu"] = p.mu;
        j["sigma"] = p.sigma;
        break;
      default:
        j["min_value"] = p.min_value;
        j["max_value"] = p.max_value;
    }
    if (IsQuantized(p.kind)) j["q"] = p.q;
    out.push_back(j);
  }
  return out;
}

}  // namespace

const char* ParamKindName(ParamKind kind) {
  for (const KindName& k : kKindNames) {
    if (k.kind == kind) return k.name;
  }
  return "?";
}

std::optional<ParamKind> ParseParamKind(const std::string& name) {
  for (const KindName& k : kKindNames) {
    if (name == k.name) return k.kind;
  }
  return std::nullopt;
}

bool IsQuantized(ParamKind kind) {
  return kind == ParamKind::kQUniform || kind == ParamKind::kQLogUniform ||
         kind == ParamKind::kQNormal || kind == ParamKind::kQLogNormal;
}

bool IsLogScaled(ParamKind kind) {
  return kind == ParamKind::kLogUniform || kind == ParamKind::kQLogUniform ||
         kind == ParamKind::kLogNormal || kind == ParamKind::kQLogNormal;
}

bool IsNormal(ParamKind kind) {
  return kind == ParamKind::kNormal || kind == ParamKind::kQNormal ||
         kind == ParamKind::kLogNormal || kind == ParamKind::kQLogNormal;
}

double Quantize(ParamKind kind, double q, double x) {
  if (!IsQuantized(kind) || q <= 0) return x;
  return std::round(x / q) * q;
}

std::optional<uint64_t> Cardinality(const SearchSpace& space) {
  if (!IsFinite(space)) return std::nullopt;
  uint64_t n = SpaceCardinality(space.params);
  if (n >= kCardinalityCap) return std::nullopt;
  return n;
}

bool IsFinite(const SearchSpace& space) { return SpaceIsFinite(space.params); }

std::vector<ParamValue> FiniteValues(const ParamSpec& param) {
  std::vector<ParamValue> values;
  switch (param.kind) {
    case ParamKind::kChoice:
      for (const ChoiceOption& o : param.options) values.push_back(o.value);
      break;
    case ParamKind::kRandint:
      for (int64_t i = 0; i < param.upper; ++i) values.push_back(i);
      break;
    default:
      for (double v : QuantizedRangeValues(param)) values.push_back(v);
  }
  return values;
}

std::string ParamValueToString(const ParamValue& value) {
  return std::visit(
      [](const auto& v) -> std::string {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, int64_t>) {
          return std::to_string(v);
        } else if constexpr (std::is_same_v<T, double>) {
          return FormatDouble(v);
        } else if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else {
          return v;
        }
      },
      value);
}

std::string ConfigKey(const Config& config) {
  // The JSON text of a std::map is ordered by key, hence canonical.
  return ConfigToJson(config).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json ParamValueToJson(const ParamValue& value) {
  return std::visit([](const auto& v) { return nlohmann::json(v); }, value);
}

nlohmann::json ConfigToJson(const Config& config) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, value] : config) out[name] = ParamValueToJson(value);
  return out;
}

std::optional<ParamValue> ParamValueFromJson(const nlohmann::json& json) {
  if (json.is_boolean()) return ParamValue(json.get<bool>());
  if (json.is_number_integer()) return ParamValue(json.get<int64_t>());
  if (json.is_number()) return ParamValue(json.get<double>());
  if (json.is_string()) return ParamValue(json.get<std::string>());
  return std::nullopt;
}

std::optional<Config> ConfigFromJson(const nlohmann::json& json) {
  if (!json.is_object()) return std::nullopt;
  Config config;
  for (const auto& [name, value] : json.items()) {
    std::optional<ParamValue> v = ParamValueFromJson(value);
    if (!v) return std::nullopt;
    config[name] = *v;
  }
  return config;
}

std::string DescribeSpace(const SearchSpace& space) {
  std::ostringstream out;
  DescribeParams(space.params, 0, out);
  return out.str();
}

nlohmann::json SpaceToJson(const SearchSpace& space) { return ParamsToJson(space.params); }

}  // namespace sweep::core

#include "spec/points.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <set>
#include <variant>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "spec/yaml_reader.h"

namespace sweep::spec {
namespace {

using core::ParamKind;
using core::ParamSpec;
using core::ParamValue;

const ParamSpec* FindParam(const std::vector<ParamSpec>& params, const std::string& name) {
  for (const ParamSpec& p : params) {
    if (p.name == name) return &p;
    for (const core::ChoiceOption& o : p.options) {
      if (const ParamSpec* found = FindParam(o.subspace, name)) return found;
    }
  }
  return nullptr;
}

void AllNames(const std::vector<ParamSpec>& params, std::vector<std::string>& out) {
  for (const ParamSpec& p : params) {
    out.push_back(p.name);
    for (const core::ChoiceOption& o : p.options) AllNames(o.subspace, out);
  }
}

std::optional<double> AsNumber(const ParamValue& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  if (const auto* d = std::get_if<double>(&v)) return *d;
  return std::nullopt;
}

bool SameValue(const ParamValue& a, const ParamValue& b) {
  std::optional<double> x = AsNumber(a), y = AsNumber(b);
  if (x && y) return *x == *y;
  return a == b;
}

// Inside [lo, hi] up to rounding (bounds such as exp(min) are computed).
bool Within(double x, double lo, double hi) {
  const double tol = 1e-9 * std::max({1.0, std::fabs(lo), std::fabs(hi)});
  return x >= lo - tol && x <= hi + tol;
}

bool MultipleOf(double x, double q) {
  const double k = x / q;
  return std::fabs(k - std::round(k)) <= 1e-9 * std::max(1.0, std::fabs(k));
}

std::string Range(double lo, double hi) {
  return absl::StrCat("[", core::ParamValueToString(lo), ", ", core::ParamValueToString(hi), "]");
}

// The canonical value of `p` for `v`, or why it is not in the space; `option` is set to
// the chosen option of a choice.
absl::StatusOr<ParamValue> CheckValue(const ParamSpec& p, const ParamValue& v, size_t& option) {
  const std::string text = core::ParamValueToString(v);
  if (p.kind == ParamKind::kChoice) {
    std::vector<std::string> names;
    for (size_t i = 0; i < p.options.size(); ++i) {
      if (SameValue(p.options[i].value, v)) {
        option = i;
        return p.options[i].value;
      }
      names.push_back(core::ParamValueToString(p.options[i].value));
    }
    return absl::InvalidArgumentError(absl::StrCat("value ", text, " is not one of its choices (",
                                                   absl::StrJoin(names, ", "), ")"));
  }
  std::optional<double> x = AsNumber(v);
  if (!x || !std::isfinite(*x)) {
    return absl::InvalidArgumentError(absl::StrCat("value ", text, " is not a finite number (",
                                                   core::ParamKindName(p.kind), ")"));
  }
  const double q = p.q;
  double lo = -INFINITY, hi = INFINITY;
  switch (p.kind) {
    case ParamKind::kRandint:
      if (*x != std::round(*x) || *x < 0 || *x >= static_cast<double>(p.upper)) {
        return absl::InvalidArgumentError(
            absl::StrCat("value ", text, " is not an integer in [0, ", p.upper, ")"));
      }
      return static_cast<int64_t>(*x);
    case ParamKind::kUniform:
      lo = p.min_value, hi = p.max_value;
      break;
    case ParamKind::kLogUniform:
      lo = std::exp(p.min_value), hi = std::exp(p.max_value);
      break;
    case ParamKind::kQUniform:
      lo = core::Quantize(p.kind, q, p.min_value), hi = core::Quantize(p.kind, q, p.max_value);
      break;
    case ParamKind::kQLogUniform:
      lo = core::Quantize(p.kind, q, std::exp(p.min_value));
      hi = core::Quantize(p.kind, q, std::exp(p.max_value));
      break;
    case ParamKind::kLogNormal:
      if (*x <= 0) return absl::InvalidArgumentError(absl::StrCat("value ", text, " is not > 0"));
      break;
    case ParamKind::kQLogNormal:
      lo = 0;
      break;
    default:  // normal, qnormal: any real
      break;
  }
  if (!Within(*x, lo, hi)) {
    return absl::InvalidArgumentError(absl::StrCat("value ", text, " is outside ", Range(lo, hi),
                                                   " (", core::ParamKindName(p.kind), ")"));
  }
  if (core::IsQuantized(p.kind) && q > 0) {
    if (!MultipleOf(*x, q)) {
      return absl::InvalidArgumentError(
          absl::StrCat("value ", text, " is not a multiple of q=", core::ParamValueToString(q)));
    }
    return core::Quantize(p.kind, q, *x);
  }
  return *x;
}

void Walk(const std::vector<ParamSpec>& params, const core::Config& in, const std::string& why,
          core::Config& out, std::vector<std::string>& errors) {
  for (const ParamSpec& p : params) {
    auto it = in.find(p.name);
    if (it == in.end()) {
      errors.push_back(absl::StrCat("parameter '", p.name, "' is missing", why));
      continue;
    }
    size_t option = 0;
    absl::StatusOr<ParamValue> value = CheckValue(p, it->second, option);
    if (!value.ok()) {
      errors.push_back(absl::StrCat("parameter '", p.name, "': ", value.status().message()));
      continue;
    }
    out[p.name] = *value;
    if (p.kind == ParamKind::kChoice && p.options[option].is_subspace) {
      Walk(p.options[option].subspace, in,
           absl::StrCat(" (active because '", p.name, "' is ", core::ParamValueToString(*value),
                        ")"),
           out, errors);
    }
  }
}

absl::StatusOr<ParamValue> ValueFromText(const ParamSpec& p, const std::string& text) {
  if (p.kind == ParamKind::kChoice) {
    for (const core::ChoiceOption& o : p.options) {
      if (core::ParamValueToString(o.value) == text) return o.value;
    }
  }
  if (int64_t i = 0; absl::SimpleAtoi(text, &i)) return i;
  if (double d = 0; absl::SimpleAtod(text, &d)) return d;
  if (p.kind == ParamKind::kChoice) return ParamValue(text);  // CheckPoint names the choices
  return absl::InvalidArgumentError(absl::StrCat("'", text, "' is not a number"));
}

}  // namespace

absl::StatusOr<core::Config> CheckPoint(const core::SearchSpace& space, const core::Config& point) {
  core::Config out;
  std::vector<std::string> errors;
  Walk(space.params, point, "", out, errors);
  std::vector<std::string> names;
  AllNames(space.params, names);
  for (const auto& [name, value] : point) {
    if (out.count(name) > 0) continue;
    if (FindParam(space.params, name) != nullptr) {
      // A named prefix: clang before 16 cannot capture a structured binding.
      const std::string prefix = absl::StrCat("parameter '", name, "':");
      if (std::none_of(errors.begin(), errors.end(),
                       [&prefix](const std::string& e) { return e.rfind(prefix, 0) == 0; })) {
        errors.push_back(absl::StrCat("parameter '", name,
                                      "' is inactive here (it belongs to an option of a choice "
                                      "that this point does not take)"));
      }
      continue;
    }
    std::string error = absl::StrCat("unknown parameter '", name, "' (not in the search space");
    if (std::optional<std::string> close = internal::ClosestMatch(name, names)) {
      absl::StrAppend(&error, "; did you mean '", *close, "'?");
    }
    errors.push_back(error + ")");
  }
  if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "; "));
  return out;
}

absl::StatusOr<core::Config> PointFromAssignments(const core::SearchSpace& space,
                                                  const std::vector<std::string>& assignments) {
  core::Config point;
  std::vector<std::string> names;
  AllNames(space.params, names);
  for (const std::string& word : assignments) {
    const size_t eq = word.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--param '", word, "': expected NAME=VALUE, e.g. --param lr=0.01"));
    }
    const std::string name = word.substr(0, eq);
    if (point.count(name) > 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--param '", word, "': '", name, "' is given twice"));
    }
    const ParamSpec* p = FindParam(space.params, name);
    if (p == nullptr) {
      std::string error = absl::StrCat("--param '", word, "': unknown parameter '", name,
                                       "' (not in the search space");
      if (std::optional<std::string> close = internal::ClosestMatch(name, names)) {
        absl::StrAppend(&error, "; did you mean '", *close, "'?");
      }
      return absl::InvalidArgumentError(error + ")");
    }
    absl::StatusOr<ParamValue> value = ValueFromText(*p, word.substr(eq + 1));
    if (!value.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--param '", word, "': ", value.status().message()));
    }
    point[name] = *value;
  }
  return CheckPoint(space, point);
}

}  // namespace sweep::spec

#include "samplers/encoding.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "boost/math/distributions/normal.hpp"
#include "core/status.h"

namespace sweep::samplers {
namespace {

using core::ChoiceOption;
using core::Config;
using core::ParamKind;
using core::ParamSpec;
using core::ParamValue;

// Normals are clamped away from 0 and 1 so the quantile stays finite.
constexpr double kNormalEps = 1e-9;

double Clamp01(double x) {
  if (std::isnan(x)) return 0.5;
  return std::clamp(x, 0.0, 1.0);
}

double StdNormalQuantile(double p) {
  static const boost::math::normal_distribution<double> kStd(0.0, 1.0);
  if (std::isnan(p)) p = 0.5;
  return boost::math::quantile(kStd, std::clamp(p, kNormalEps, 1.0 - kNormalEps));
}

double StdNormalCdf(double z) {
  static const boost::math::normal_distribution<double> kStd(0.0, 1.0);
  if (std::isnan(z)) return 0.5;
  if (std::isinf(z)) return z > 0 ? 1.0 : 0.0;
  return boost::math::cdf(kStd, z);
}

std::optional<double> AsNumber(const ParamValue& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  if (const auto* d = std::get_if<double>(&v)) return *d;
  return std::nullopt;
}

// Values compare by type first; integers and doubles also compare numerically because
// a config that went through JSON or a user's hands may have changed 3 into 3.0.
bool SameValue(const ParamValue& a, const ParamValue& b) {
  if (a == b) return true;
  std::optional<double> x = AsNumber(a), y = AsNumber(b);
  return x && y && *x == *y;
}

int LevelsOf(const ParamSpec& p) {
  return p.kind == ParamKind::kChoice ? static_cast<int>(p.options.size())
                                      : static_cast<int>(p.upper);
}

// Index of the option a config value selects, or -1.
int FindOption(const ParamSpec& p, const ParamValue& value) {
  for (size_t i = 0; i < p.options.size(); ++i) {
    if (SameValue(p.options[i].value, value)) return static_cast<int>(i);
  }
  return -1;
}

absl::Status ParamError(const ParamSpec& p, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("search_space parameter '", p.name, "' (",
                                                 core::ParamKindName(p.kind), "): ", what));
}

absl::Status ValidateParam(const ParamSpec& p) {
  if (p.name.empty()) return absl::InvalidArgumentError("search_space parameter without a name");
  auto finite = [](double v) { return std::isfinite(v); };
  switch (p.kind) {
    case ParamKind::kChoice:
      if (p.options.empty()) return ParamError(p, "choice needs at least one value");
      if (p.options.size() > (1u << 30)) return ParamError(p, "too many values");
      return absl::OkStatus();
    case ParamKind::kRandint:
      if (p.upper < 1) {
        return ParamError(p, absl::StrCat("upper must be at least 1, got ", p.upper));
      }
      if (p.upper > (int64_t{1} << 30)) {
        return ParamError(p, absl::StrCat("upper must be at most 2^30, got ", p.upper));
      }
      return absl::OkStatus();
    case ParamKind::kUniform:
    case ParamKind::kQUniform:
    case ParamKind::kLogUniform:
    case ParamKind::kQLogUniform:
      if (!finite(p.min_value) || !finite(p.max_value)) {
        return ParamError(p, "min_value and max_value must be finite numbers");
      }
      if (!(p.max_value > p.min_value)) {
        return ParamError(p, absl::StrCat("max_value (", core::ParamValueToString(p.max_value),
                                          ") must be greater than min_value (",
                                          core::ParamValueToString(p.min_value), ")"));
      }
      if (IsLogScaled(p.kind) && (!finite(std::exp(p.max_value)))) {
        return ParamError(p, "max_value is an exponent and exp(max_value) overflows");
      }
      break;
    default:  // the normal kinds
      if (!finite(p.mu) || !finite(p.sigma)) {
        return ParamError(p, "mu and sigma must be finite numbers");
      }
      if (!(p.sigma > 0)) {
        return ParamError(
            p, absl::StrCat("sigma must be positive, got ", core::ParamValueToString(p.sigma)));
      }
  }
  if (core::IsQuantized(p.kind) && !(p.q > 0 && finite(p.q))) {
    return ParamError(
        p, absl::StrCat("q must be a positive number, got ", core::ParamValueToString(p.q)));
  }
  return absl::OkStatus();
}

// Checks every parameter and that no two parameters that can be active together share a
// name (the config is a flat map, so they would overwrite each other). Options of one
// choice are exclusive, so their subspaces may reuse names. Collects into `names` every
// name the list can produce.
absl::Status ValidateSpace(const std::vector<ParamSpec>& params, std::set<std::string>& names) {
  for (const ParamSpec& p : params) {
    RETURN_IF_ERROR(ValidateParam(p));
    std::set<std::string> mine = {p.name};
    if (p.kind == ParamKind::kChoice) {
      for (const ChoiceOption& o : p.options) {
        if (!o.is_subspace) continue;
        std::set<std::string> branch;
        RETURN_IF_ERROR(ValidateSpace(o.subspace, branch));
        if (branch.count(p.name)) {
          return ParamError(p, "a nested option defines a parameter with the choice's own name");
        }
        mine.insert(branch.begin(), branch.end());
      }
    }
    for (const std::string& n : mine) {
      if (!names.insert(n).second) {
        return absl::InvalidArgumentError(absl::StrCat(
            "search_space parameter '", n,
            "' is defined twice where both can be active at once (names must be unique, "
            "except between options of the same choice)"));
      }
    }
  }
  return absl::OkStatus();
}

void BuildDims(const std::vector<ParamSpec>& params, CategoricalEncoding categorical,
               int parent_dim, int parent_option, int& next_group, std::vector<EncodedDim>& dims) {
  for (const ParamSpec& p : params) {
    EncodedDim d;
    d.param = p.name;
    d.parent_param_dim = parent_dim;
    d.parent_option = parent_option;
    int choice_dim = static_cast<int>(dims.size());
    if (p.kind == ParamKind::kChoice) {
      d.levels = LevelsOf(p);
      if (categorical == CategoricalEncoding::kIndex) {
        d.type = EncodedDim::Type::kCategoricalIndex;
        dims.push_back(d);
      } else {
        d.type = EncodedDim::Type::kOneHot;
        d.one_hot_group = next_group++;
        for (int i = 0; i < d.levels; ++i) {
          d.one_hot_option = i;
          dims.push_back(d);
        }
      }
      for (size_t i = 0; i < p.options.size(); ++i) {
        if (!p.options[i].is_subspace) continue;
        BuildDims(p.options[i].subspace, categorical, choice_dim, static_cast<int>(i), next_group,
                  dims);
      }
    } else if (p.kind == ParamKind::kRandint) {
      d.type = EncodedDim::Type::kInteger;
      d.levels = LevelsOf(p);
      dims.push_back(d);
    } else {
      d.type = EncodedDim::Type::kContinuous;
      dims.push_back(d);
    }
  }
}

double DecodeReal(const ParamSpec& p, double x) {
  double v;
  if (core::IsNormal(p.kind)) {
    v = p.mu + p.sigma * StdNormalQuantile(x);
  } else {
    v = p.min_value + Clamp01(x) * (p.max_value - p.min_value);
  }
  if (core::IsLogScaled(p.kind)) v = std::exp(v);
  v = core::Quantize(p.kind, p.q, v);
  // round() can give -0.0, whose key ("-0.0") would differ from the grid's 0.0.
  return v == 0 ? 0.0 : v;
}

std::optional<double> EncodeReal(const ParamSpec& p, double v) {
  if (std::isnan(v)) return std::nullopt;
  if (core::IsLogScaled(p.kind)) v = v > 0 ? std::log(v) : -HUGE_VAL;
  if (core::IsNormal(p.kind)) {
    double z = (v - p.mu) / p.sigma;
    return std::clamp(StdNormalCdf(z), kNormalEps, 1.0 - kNormalEps);
  }
  if (std::isinf(v)) return v > 0 ? 1.0 : 0.0;
  return Clamp01((v - p.min_value) / (p.max_value - p.min_value));
}

// Bin centre of level i of n.
double Centre(int i, int n) { return (i + 0.5) / n; }

int BinOf(double x, int n) { return std::min(static_cast<int>(std::floor(Clamp01(x) * n)), n - 1); }

// The walkers below visit the space in the same order BuildDims laid the dims out;
// `cursor` is the next dim index.
class Walker {
 public:
  Walker(CategoricalEncoding categorical) : categorical_(categorical) {}

  int ChoiceWidth(const ParamSpec& p) const {
    return categorical_ == CategoricalEncoding::kIndex ? 1 : static_cast<int>(p.options.size());
  }

  void Decode(const std::vector<ParamSpec>& params, const std::vector<double>& x, bool active,
              size_t& cursor, Config& out) const {
    for (const ParamSpec& p : params) {
      if (p.kind != ParamKind::kChoice) {
        double xi = x[cursor++];
        if (!active) continue;
        if (p.kind == ParamKind::kRandint) {
          out[p.name] = static_cast<int64_t>(BinOf(xi, LevelsOf(p)));
        } else {
          out[p.name] = DecodeReal(p, xi);
        }
        continue;
      }
      int chosen;
      if (categorical_ == CategoricalEncoding::kIndex) {
        chosen = BinOf(x[cursor], LevelsOf(p));
      } else {
        chosen = 0;
        for (int i = 1; i < LevelsOf(p); ++i) {
          if (x[cursor + i] > x[cursor + chosen]) chosen = i;
        }
      }
      cursor += ChoiceWidth(p);
      if (active) out[p.name] = p.options[chosen].value;
      for (size_t i = 0; i < p.options.size(); ++i) {
        if (!p.options[i].is_subspace) continue;
        Decode(p.options[i].subspace, x, active && static_cast<int>(i) == chosen, cursor, out);
      }
    }
  }

  // Writes encoded values (when `x`) and/or the activity mask (when `mask`).
  void Encode(const std::vector<ParamSpec>& params, const Config& config, bool active,
              size_t& cursor, std::vector<double>* x, std::vector<bool>* mask) const {
    for (const ParamSpec& p : params) {
      auto it = active ? config.find(p.name) : config.end();
      if (p.kind != ParamKind::kChoice) {
        double xi = 0.5;
        if (it != config.end()) {
          std::optional<double> v = AsNumber(it->second);
          if (v && p.kind == ParamKind::kRandint) {
            int n = LevelsOf(p);
            xi = Centre(static_cast<int>(std::clamp(std::round(*v), 0.0, n - 1.0)), n);
          } else if (v) {
            xi = EncodeReal(p, *v).value_or(0.5);
          }
        }
        if (x) (*x)[cursor] = xi;
        if (mask) (*mask)[cursor] = active;
        ++cursor;
        continue;
      }
      int n = LevelsOf(p);
      int chosen = it != config.end() ? FindOption(p, it->second) : -1;
      for (int i = 0; i < ChoiceWidth(p); ++i) {
        if (x) {
          if (categorical_ == CategoricalEncoding::kIndex) {
            (*x)[cursor + i] = chosen >= 0 ? Centre(chosen, n) : 0.5;
          } else {
            (*x)[cursor + i] = chosen >= 0 ? (i == chosen ? 1.0 : 0.0) : 1.0 / n;
          }
        }
        if (mask) (*mask)[cursor + i] = active;
      }
      cursor += ChoiceWidth(p);
      for (size_t i = 0; i < p.options.size(); ++i) {
        if (!p.options[i].is_subspace) continue;
        Encode(p.options[i].subspace, config, active && static_cast<int>(i) == chosen, cursor, x,
               mask);
      }
    }
  }

 private:
  CategoricalEncoding categorical_;
};

}  // namespace

absl::StatusOr<Encoding> Encoding::Build(const core::SearchSpace& space,
                                         CategoricalEncoding categorical) {
  if (space.params.empty()) return absl::InvalidArgumentError("the search space is empty");
  std::set<std::string> names;
  RETURN_IF_ERROR(ValidateSpace(space.params, names));
  Encoding e;
  e.space_ = space;
  e.categorical_ = categorical;
  int next_group = 0;
  BuildDims(space.params, categorical, -1, -1, next_group, e.dims_);
  return e;
}

core::Config Encoding::Decode(const std::vector<double>& x) const {
  std::vector<double> padded = x;
  padded.resize(dims_.size(), 0.5);  // tolerate a short vector rather than read past it
  Config out;
  size_t cursor = 0;
  Walker(categorical_).Decode(space_.params, padded, true, cursor, out);
  return out;
}

std::vector<double> Encoding::Encode(const core::Config& config) const {
  std::vector<double> x(dims_.size(), 0.5);
  size_t cursor = 0;
  Walker(categorical_).Encode(space_.params, config, true, cursor, &x, nullptr);
  return x;
}

std::vector<bool> Encoding::ActiveMask(const core::Config& config) const {
  std::vector<bool> mask(dims_.size(), false);
  size_t cursor = 0;
  Walker(categorical_).Encode(space_.params, config, true, cursor, nullptr, &mask);
  return mask;
}

}  // namespace sweep::samplers

#include "report/report_data.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace sweep::report {
namespace {

using core::ParamKind;
using core::ParamSpec;

// Label of a nested option: the text of its constant entries ("svm"), else "option N".
std::string OptionLabel(const core::ChoiceOption& option, size_t index) {
  std::string label;
  for (const ParamSpec& entry : option.subspace) {
    bool constant = entry.kind == ParamKind::kChoice && entry.options.size() == 1 &&
                    !entry.options[0].is_subspace;
    if (!constant) continue;
    if (!label.empty()) label += " ";
    label += core::ParamValueToString(entry.options[0].value);
  }
  return label.empty() ? "option " + std::to_string(index) : label;
}

// A nested constant (`model: svm` inside an option) names its option; it gets no axis.
bool IsNestedConstant(const ParamSpec& p, bool nested) {
  return nested && p.kind == ParamKind::kChoice && p.options.size() == 1 &&
         !p.options[0].is_subspace;
}

// The range the spec gives a numeric parameter, in value units; nullopt for unbounded ones.
std::optional<std::pair<double, double>> SpecRange(const ParamSpec& p) {
  switch (p.kind) {
    case ParamKind::kUniform:
    case ParamKind::kQUniform:
      return std::pair{p.min_value, p.max_value};
    case ParamKind::kLogUniform:
    case ParamKind::kQLogUniform:
      return std::pair{std::exp(p.min_value), std::exp(p.max_value)};
    case ParamKind::kRandint:
      return std::pair{0.0, static_cast<double>(std::max<int64_t>(0, p.upper - 1))};
    default:
      return std::nullopt;
  }
}

class AxisSet {
 public:
  ParamAxis& Get(const std::string& name, bool* created) {
    auto it = index_.find(name);
    *created = it == index_.end();
    if (!*created) return axes_[it->second];
    index_[name] = axes_.size();
    ParamAxis& axis = axes_.emplace_back();
    axis.name = name;
    return axis;
  }
  ParamAxis* Find(const std::string& name) {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : &axes_[it->second];
  }
  std::vector<ParamAxis> Take() { return std::move(axes_); }
  // Names that get no axis (nested constants), also when trials have them.
  std::set<std::string> skipped;

 private:
  std::vector<ParamAxis> axes_;
  std::map<std::string, size_t> index_;
};

void AddCategory(ParamAxis& axis, const std::string& key, const std::string& label) {
  if (std::find(axis.category_keys.begin(), axis.category_keys.end(), key) !=
      axis.category_keys.end()) {
    return;
  }
  axis.category_keys.push_back(key);
  axis.categories.push_back(label);
}

void CollectSpace(const std::vector<ParamSpec>& params, bool nested, AxisSet& axes) {
  for (const ParamSpec& p : params) {
    if (IsNestedConstant(p, nested)) {
      axes.skipped.insert(p.name);
      continue;
    }
    bool created = false;
    ParamAxis& axis = axes.Get(p.name, &created);
    if (created) axis.spec_kind = core::ParamKindName(p.kind);
    if (p.kind == ParamKind::kChoice) {
      axis.kind = AxisKind::kCategorical;
      for (size_t i = 0; i < p.options.size(); ++i) {
        const core::ChoiceOption& o = p.options[i];
        std::string key = core::ParamValueToString(o.value);
        AddCategory(axis, key, o.is_subspace ? OptionLabel(o, i) : key);
      }
    } else if (axis.kind != AxisKind::kCategorical) {
      if (created) axis.kind = core::IsLogScaled(p.kind) ? AxisKind::kLog : AxisKind::kLinear;
      if (auto range = SpecRange(p)) {
        axis.min = created ? range->first : std::min(axis.min, range->first);
        axis.max = created ? range->second : std::max(axis.max, range->second);
      } else if (created) {
        axis.min = INFINITY;  // filled from the values
        axis.max = -INFINITY;
      }
    }
    // Entries of nested options, after their choice.
    for (const core::ChoiceOption& o : p.options) {
      if (o.is_subspace) CollectSpace(o.subspace, /*nested=*/true, axes);
    }
  }
}

bool IsNumber(const core::ParamValue& v) {
  return std::holds_alternative<int64_t>(v) || std::holds_alternative<double>(v);
}

double ToNumber(const core::ParamValue& v) {
  if (const int64_t* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  return std::get<double>(v);
}

// Parameters the space does not know, from the trials' values; ranges and categories
// widened to every value a trial has.
void CollectValues(const std::vector<core::Trial>& trials, AxisSet& axes,
                   std::set<std::string>& inferred) {
  for (const core::Trial& t : trials) {
    for (const auto& [name, value] : t.config) {
      if (axes.skipped.contains(name) && axes.Find(name) == nullptr) continue;
      bool created = false;
      ParamAxis& axis = axes.Get(name, &created);
      if (created) {
        inferred.insert(name);
        axis.kind = IsNumber(value) ? AxisKind::kLinear : AxisKind::kCategorical;
        axis.min = INFINITY;
        axis.max = -INFINITY;
      }
      if (axis.kind == AxisKind::kCategorical) {
        std::string key = core::ParamValueToString(value);
        AddCategory(axis, key, key);
      } else if (IsNumber(value) && std::isfinite(ToNumber(value))) {
        axis.min = std::min(axis.min, ToNumber(value));
        axis.max = std::max(axis.max, ToNumber(value));
      }
    }
  }
}

}  // namespace

std::vector<ParamAxis> BuildParamAxes(const ReportInput& input) {
  AxisSet axes;
  if (input.space) CollectSpace(input.space->params, /*nested=*/false, axes);
  std::set<std::string> inferred;
  CollectValues(input.trials, axes, inferred);
  std::vector<ParamAxis> out = axes.Take();
  // Parameters only the trials have go last, by name (the map order of configs).
  std::stable_partition(out.begin(), out.end(),
                        [&](const ParamAxis& a) { return !inferred.contains(a.name); });
  for (ParamAxis& axis : out) {
    if (axis.kind != AxisKind::kCategorical && !(axis.min <= axis.max)) {
      axis.min = 0;  // no finite value at all
      axis.max = 1;
    }
    if (axis.kind == AxisKind::kLog && axis.min <= 0) axis.kind = AxisKind::kLinear;
    for (const core::Trial& t : input.trials) {
      if (!t.config.contains(axis.name)) axis.conditional = true;
    }
  }
  return out;
}

std::optional<double> AxisValue(const ParamAxis& axis, const core::Config& config) {
  auto it = config.find(axis.name);
  if (it == config.end()) return std::nullopt;
  if (axis.kind == AxisKind::kCategorical) {
    std::string key = core::ParamValueToString(it->second);
    auto k = std::find(axis.category_keys.begin(), axis.category_keys.end(), key);
    if (k == axis.category_keys.end()) return std::nullopt;
    return static_cast<double>(k - axis.category_keys.begin());
  }
  if (!IsNumber(it->second)) return std::nullopt;
  double v = ToNumber(it->second);
  if (!std::isfinite(v) || (axis.kind == AxisKind::kLog && v <= 0)) return std::nullopt;
  return v;
}

std::vector<const core::Trial*> TrialsWithValue(const ReportInput& input) {
  std::vector<const core::Trial*> out;
  for (const core::Trial& t : input.trials) {
    if (t.final_value && std::isfinite(*t.final_value)) out.push_back(&t);
  }
  return out;
}

}  // namespace sweep::report

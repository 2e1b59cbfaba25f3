#include "spec/search_space_parser.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <regex>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sweep::spec::internal {
namespace {

using core::ChoiceOption;
using core::ParamKind;
using core::ParamSpec;
using core::ParamValue;

constexpr const char* kAllKinds =
    "choice, randint, uniform, quniform, loguniform, qloguniform, normal, qnormal, "
    "lognormal, qlognormal";

std::vector<std::string> AllKindNames() {
  return {"choice",      "randint", "uniform", "quniform",  "loguniform",
          "qloguniform", "normal",  "qnormal", "lognormal", "qlognormal"};
}

// The settings of each kind, in the order inline arguments are given.
std::vector<std::string> KindSettings(ParamKind kind) {
  switch (kind) {
    case ParamKind::kChoice:
      return {"values"};
    case ParamKind::kRandint:
      return {"upper"};
    case ParamKind::kUniform:
    case ParamKind::kLogUniform:
      return {"min_value", "max_value"};
    case ParamKind::kQUniform:
    case ParamKind::kQLogUniform:
      return {"min_value", "max_value", "q"};
    case ParamKind::kNormal:
    case ParamKind::kLogNormal:
      return {"mu", "sigma"};
    case ParamKind::kQNormal:
    case ParamKind::kQLogNormal:
      return {"mu", "sigma", "q"};
  }
  return {};
}

std::string Num(double v) { return core::ParamValueToString(v); }

std::string ValueForMessage(const ParamValue& v) {
  if (std::holds_alternative<std::string>(v)) return Quote(std::get<std::string>(v));
  return core::ParamValueToString(v);
}

struct NameSite {
  std::string path;
  Location loc;
};
// Names that can be active together with a given parameter, with where they are defined.
using NameSet = std::map<std::string, NameSite>;

class SpaceParser {
 public:
  explicit SpaceParser(Reader& reader) : r_(reader) {}

  // Parses a space mapping: the top level (nested = false) or a choice option.
  std::vector<ParamSpec> ParseSpace(const Mapping& map, bool nested, int depth, NameSet& names);

  std::vector<ParamSite> TakeSites() { return std::move(sites_); }

 private:
  std::optional<ParamSpec> ParseEntry(const Field& f, bool nested, int depth, NameSet& names);
  std::optional<ParamSpec> ParseExpressionMapping(const Field& f, int depth, NameSet& names);
  std::optional<ParamSpec> ParseInline(const Field& f, ParamKind kind, const std::string& args,
                                       int depth, NameSet& names);
  std::optional<ParamSpec> BuildParam(const std::string& name, ParamKind kind, Mapping& settings,
                                      bool has_type_key, int depth, NameSet& names);
  bool ParseChoiceValues(const Field& values, ParamSpec& p, int depth, NameSet& names);
  bool TooMany();

  Reader& r_;
  std::vector<ParamSite> sites_;
  bool reported_too_many_ = false;
  bool after_cut_ = false;  // the previous entry was an expression cut at a comma
};

bool SpaceParser::TooMany() { return sites_.size() >= kMaxParameters || r_.Overwhelmed(); }

std::vector<ParamSpec> SpaceParser::ParseSpace(const Mapping& map, bool nested, int depth,
                                               NameSet& names) {
  std::vector<ParamSpec> params;
  for (const Field& f : map.fields()) {
    if (TooMany()) {
      if (!reported_too_many_ && !r_.Overwhelmed()) {
        r_.Error(f.key_loc, f.path,
                 absl::StrCat("the search space has more than ", kMaxParameters, " parameters"));
        reported_too_many_ = true;
      }
      return params;
    }
    if (!IsValidName(f.key)) {
      // The rest of an expression cut at a comma (`1)` of `uniform(0, 1)`): already reported.
      if (after_cut_ && f.key.find(')') != std::string::npos) continue;
      r_.Error(f.key_loc, f.path,
               absl::StrCat("invalid parameter name ", Quote(f.key),
                            ": use letters, digits and '_', not starting with a digit"));
      continue;
    }
    if (f.key.size() > kMaxParameterNameLength) {
      r_.Error(f.key_loc, f.path,
               absl::StrCat("parameter name is ", f.key.size(), " characters long; at most ",
                            kMaxParameterNameLength, " are allowed"));
      continue;
    }
    after_cut_ = false;
    size_t site = sites_.size();
    sites_.push_back({f.key, f.path, f.key_loc, std::nullopt});
    NameSet inner;  // names defined inside this parameter's options
    std::optional<ParamSpec> p = ParseEntry(f, nested, depth, inner);
    if (p) sites_[site].kind = p->kind;
    if (auto it = inner.find(f.key); it != inner.end()) {
      r_.Error(it->second.loc, it->second.path,
               absl::StrCat("duplicate parameter name ", Quote(f.key),
                            ": it is the choice this option belongs to (", f.path, ")"));
      inner.erase(it);
    }
    inner.emplace(f.key, NameSite{f.path, f.key_loc});
    for (auto& [name, where] : inner) {
      auto [it, inserted] = names.emplace(name, where);
      if (!inserted) {
        r_.Error(where.loc, where.path,
                 absl::StrCat("duplicate parameter name ", Quote(name), " (already defined at ",
                              it->second.path, ", line ", it->second.loc.line,
                              "); names may repeat only in different options of one choice"));
      }
    }
    if (p) params.push_back(std::move(*p));
  }
  return params;
}

std::optional<ParamSpec> SpaceParser::ParseEntry(const Field& f, bool nested, int depth,
                                                 NameSet& names) {
  const YAML::Node& v = f.value;
  if (v.IsMap()) return ParseExpressionMapping(f, depth, names);
  if (v.IsSequence()) {
    r_.Error(f.loc, f.path,
             "a list is not a parameter expression; write {type: choice, values: [...]}");
    return std::nullopt;
  }
  if (!v.IsDefined() || v.IsNull()) {
    r_.Error(f.loc, f.path,
             nested ? "needs a value: a constant or a parameter expression"
                    : "needs a parameter expression, e.g. {type: uniform, min_value: 0, "
                      "max_value: 1}");
    return std::nullopt;
  }
  // Azure's inline form: `uniform(0.1, 1)`, `choice('a', 'b')`.
  static const std::regex kInline(R"(^\s*([A-Za-z_]+)\s*\(([\s\S]*)\)\s*$)");
  // What is left of one when YAML split it at a comma inside {...}: `uniform(0`.
  static const std::regex kCut(R"(^\s*([A-Za-z_]+)\s*\([^)]*$)");
  std::smatch m;
  const std::string& text = v.Scalar();
  bool plain = v.Tag() == "?" || v.Tag() == "!";
  if (v.Tag() == "?" && std::regex_match(text, m, kCut) &&
      core::ParseParamKind(absl::AsciiStrToLower(m[1].str()))) {
    if (text.find(',') != std::string::npos) {
      r_.Error(f.loc, f.path, absl::StrCat("missing ')' in ", Quote(text)));
      return std::nullopt;
    }
    r_.Error(f.loc, f.path,
             absl::StrCat("the expression ", Quote(text + "..."),
                          " was cut at a comma: inside {...} or [...] YAML splits at commas, "
                          "so quote it, e.g. '",
                          m[1].str(),
                          absl::AsciiStrToLower(m[1].str()) == "choice" ? "(1, 2)'" : "(0, 1)'"));
    after_cut_ = true;
    return std::nullopt;
  }
  if (plain && std::regex_match(text, m, kInline)) {
    std::optional<ParamKind> kind = core::ParseParamKind(absl::AsciiStrToLower(m[1].str()));
    if (kind) return ParseInline(f, *kind, m[2].str(), depth, names);
    if (!nested) {
      std::string message = absl::StrCat("unknown parameter type ", Quote(m[1].str()));
      if (auto close = ClosestMatch(m[1].str(), AllKindNames())) {
        absl::StrAppend(&message, " (did you mean ", Quote(*close), "?)");
      }
      r_.Error(f.loc, f.path, absl::StrCat(message, "; expected one of ", kAllKinds));
      return std::nullopt;
    }
  }
  if (!nested) {
    r_.Error(f.loc, f.path,
             absl::StrCat("must be a parameter expression such as {type: choice, values: [...]} "
                          "or 'uniform(0, 1)', got ",
                          Quote(text), " (constants are allowed only inside nested choices)"));
    return std::nullopt;
  }
  // A constant inside a nested option: stored as a one-value choice.
  std::optional<Scalar> s = ResolveScalar(v);
  ParamSpec p;
  p.name = f.key;
  p.kind = ParamKind::kChoice;
  ChoiceOption option;
  if (std::holds_alternative<bool>(*s)) {
    option.value = std::get<bool>(*s);
  } else if (std::holds_alternative<int64_t>(*s)) {
    option.value = std::get<int64_t>(*s);
  } else if (std::holds_alternative<double>(*s)) {
    if (!std::isfinite(std::get<double>(*s))) {
      r_.Error(f.loc, f.path, absl::StrCat("must be a finite number, got ", text));
      return std::nullopt;
    }
    option.value = std::get<double>(*s);
  } else if (std::holds_alternative<std::string>(*s)) {
    option.value = std::get<std::string>(*s);
  } else {
    r_.Error(f.loc, f.path, "needs a value: a constant or a parameter expression");
    return std::nullopt;
  }
  p.options.push_back(std::move(option));
  return p;
}

std::optional<ParamSpec> SpaceParser::ParseExpressionMapping(const Field& f, int depth,
                                                             NameSet& names) {
  Mapping m(r_, f.value, f.path, f.loc);
  const Field* type = m.Require("type", absl::StrCat("one of ", kAllKinds));
  if (type == nullptr) return std::nullopt;
  std::optional<std::string> type_name = r_.String(*type);
  if (!type_name) return std::nullopt;
  std::optional<ParamKind> kind = core::ParseParamKind(absl::AsciiStrToLower(*type_name));
  if (!kind) {
    std::string message = absl::StrCat("unknown parameter type ", Quote(*type_name));
    if (auto close = ClosestMatch(*type_name, AllKindNames())) {
      absl::StrAppend(&message, " (did you mean ", Quote(*close), "?)");
    }
    r_.Error(type->loc, type->path, absl::StrCat(message, "; expected one of ", kAllKinds));
    return std::nullopt;
  }
  return BuildParam(f.key, *kind, m, /*has_type_key=*/true, depth, names);
}

std::optional<ParamSpec> SpaceParser::ParseInline(const Field& f, ParamKind kind,
                                                  const std::string& args_text, int depth,
                                                  NameSet& names) {
  // Every problem inside the string is reported at the string itself.
  std::optional<Location> previous = r_.override_location();
  r_.SetOverride(f.loc);
  std::optional<ParamSpec> result;
  const char* kind_name = core::ParamKindName(kind);
  // The argument list reads as a YAML flow sequence, which gives quoting and typing
  // ('1' is a string, 1 an integer) the same meaning as in the rest of the spec.
  YAML::Node args;
  try {
    args = YAML::Load("[" + args_text + "]");
  } catch (const YAML::Exception& e) {
    r_.Error(f.loc, f.path,
             absl::StrCat("cannot read the arguments of ", Quote(f.value.Scalar()), ": ", e.msg));
    r_.SetOverride(previous);
    return std::nullopt;
  }
  std::vector<Field> fields;
  auto add = [&](const std::string& key, YAML::Node value) {
    for (const Field& existing : fields) {
      if (existing.key == key) {
        r_.Error(f.loc, f.path, absl::StrCat(kind_name, ": ", Quote(key), " is given twice"));
        return;
      }
    }
    fields.push_back({key, JoinPath(f.path, key), value, f.loc, f.loc});
  };
  bool ok = true;
  if (kind == ParamKind::kChoice) {
    // choice(1, 2, 3) and choice([1, 2, 3]) both list the values.
    add("values", args.size() == 1 && args[0].IsSequence() ? args[0] : args);
  } else {
    std::vector<std::string> settings = KindSettings(kind);
    static const std::regex kKeyword(R"(^\s*([A-Za-z_]+)\s*=\s*([\s\S]*)$)");
    for (size_t i = 0; i < args.size(); ++i) {
      YAML::Node a = args[i];
      std::smatch m;
      std::string text = a.IsScalar() ? a.Scalar() : "";
      if (a.IsMap() && a.size() == 1) {  // uniform(min_value: 0, max_value: 1)
        auto it = a.begin();
        add(it->first.Scalar(), it->second);
      } else if (a.IsScalar() && a.Tag() == "?" && std::regex_match(text, m, kKeyword)) {
        YAML::Node value;
        try {
          value = YAML::Load(m[2].str());
        } catch (const YAML::Exception&) {
          value = YAML::Node(m[2].str());
        }
        add(m[1].str(), value);
      } else if (i < settings.size()) {
        add(settings[i], a);
      } else {
        r_.Error(f.loc, f.path,
                 absl::StrCat(kind_name, " takes ", settings.size(), " argument",
                              settings.size() == 1 ? "" : "s", " (", absl::StrJoin(settings, ", "),
                              "), got ", args.size()));
        ok = false;
        break;
      }
    }
  }
  if (ok) {
    Mapping m(r_, std::move(fields), f.path, f.loc);
    result = BuildParam(f.key, kind, m, /*has_type_key=*/false, depth, names);
  }
  r_.SetOverride(previous);
  return result;
}

std::optional<ParamSpec> SpaceParser::BuildParam(const std::string& name, ParamKind kind,
                                                 Mapping& m, bool has_type_key, int depth,
                                                 NameSet& names) {
  const char* kind_name = core::ParamKindName(kind);
  std::vector<std::string> settings = KindSettings(kind);
  std::vector<std::string> allowed = settings;
  if (has_type_key) allowed.push_back("type");
  for (const Field& f : m.fields()) {
    if (std::find(allowed.begin(), allowed.end(), f.key) != allowed.end()) continue;
    std::string message = absl::StrCat("unknown key ", Quote(f.key), " for ", kind_name);
    if (f.key == "q" && !core::IsQuantized(kind) && kind != ParamKind::kChoice &&
        kind != ParamKind::kRandint) {
      absl::StrAppend(&message, "; a quantization step needs type 'q", kind_name, "'");
    } else {
      if (auto close = ClosestMatch(f.key, allowed)) {
        absl::StrAppend(&message, " (did you mean ", Quote(*close), "?)");
      }
      absl::StrAppend(&message, "; ", kind_name, " takes ", absl::StrJoin(settings, ", "));
    }
    r_.Error(f.key_loc, m.path(), message);
  }

  ParamSpec p;
  p.name = name;
  p.kind = kind;
  bool ok = true;
  auto require_number = [&](const char* key) -> std::optional<double> {
    const Field* f =
        m.Require(key, absl::StrCat(kind_name, " takes ", absl::StrJoin(settings, ", ")));
    if (f == nullptr) return std::nullopt;
    return r_.FiniteNumber(*f);
  };
  switch (kind) {
    case ParamKind::kChoice: {
      const Field* values = m.Require("values", "a list of the values to choose from");
      ok = values != nullptr && ParseChoiceValues(*values, p, depth, names);
      break;
    }
    case ParamKind::kRandint: {
      const Field* upper = m.Require("upper", "randint(upper) draws integers 0..upper-1");
      std::optional<int64_t> v = upper ? r_.Integer(*upper) : std::nullopt;
      if (v && *v < 1) {
        r_.Error(upper->loc, upper->path,
                 absl::StrCat("must be at least 1 (randint draws integers 0..upper-1), got ", *v));
        v.reset();
      }
      ok = v.has_value();
      if (ok) p.upper = *v;
      break;
    }
    case ParamKind::kUniform:
    case ParamKind::kQUniform:
    case ParamKind::kLogUniform:
    case ParamKind::kQLogUniform: {
      std::optional<double> lo = require_number("min_value");
      std::optional<double> hi = require_number("max_value");
      ok = lo && hi;
      if (ok && !(*lo < *hi)) {
        const Field* f = m.Get("max_value");
        r_.Error(f->loc, f->path,
                 absl::StrCat("must be greater than min_value (", Num(*hi), " <= ", Num(*lo), ")"));
        ok = false;
      }
      if (ok && core::IsLogScaled(kind) && !std::isfinite(std::exp(*hi))) {
        const Field* f = m.Get("max_value");
        r_.Error(f->loc, f->path,
                 absl::StrCat("exp(", Num(*hi), ") overflows: ", kind_name,
                              " bounds are natural-log exponents (max_value: -1 means "
                              "e^-1 = 0.37)"));
        ok = false;
      }
      if (ok) {
        p.min_value = *lo;
        p.max_value = *hi;
      }
      break;
    }
    case ParamKind::kNormal:
    case ParamKind::kQNormal:
    case ParamKind::kLogNormal:
    case ParamKind::kQLogNormal: {
      std::optional<double> mu = require_number("mu");
      std::optional<double> sigma = require_number("sigma");
      if (sigma && *sigma <= 0) {
        const Field* f = m.Get("sigma");
        r_.Error(f->loc, f->path, absl::StrCat("must be greater than 0, got ", Num(*sigma)));
        sigma.reset();
      }
      ok = mu && sigma;
      if (ok) {
        p.mu = *mu;
        p.sigma = *sigma;
      }
      break;
    }
  }
  if (core::IsQuantized(kind)) {
    std::optional<double> q = require_number("q");
    if (q && *q <= 0) {
      const Field* f = m.Get("q");
      r_.Error(f->loc, f->path,
               absl::StrCat("must be greater than 0 (the quantization step), got ", Num(*q)));
      q.reset();
    }
    if (q) {
      p.q = *q;
    } else {
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return p;
}

bool SpaceParser::ParseChoiceValues(const Field& values, ParamSpec& p, int depth, NameSet& names) {
  const YAML::Node& list = values.value;
  if (!list.IsSequence()) {
    r_.Error(values.loc, values.path,
             absl::StrCat("must be a list of values, e.g. [1, 2, 3]",
                          list.IsScalar() ? ", got " + Quote(list.Scalar()) : ""));
    return false;
  }
  if (list.size() == 0) {
    r_.Error(values.loc, values.path, "must list at least one value");
    return false;
  }
  if (list.size() > kMaxChoiceValues) {
    r_.Error(values.loc, values.path,
             absl::StrCat("lists ", list.size(), " values; a choice may list at most ",
                          kMaxChoiceValues));
    return false;
  }
  size_t mappings = 0;
  for (const YAML::Node& v : list) mappings += v.IsMap() ? 1 : 0;
  if (mappings > 0 && mappings < list.size()) {
    r_.Error(values.loc, values.path,
             "cannot mix plain values and nested search spaces (mappings); write every "
             "option as a mapping, e.g. {model: svm}");
    return false;
  }
  bool ok = true;
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node& v = list[i];
    std::string path = absl::StrCat(values.path, "[", i, "]");
    Location loc = r_.Loc(v, values.loc);
    ChoiceOption option;
    if (v.IsMap()) {
      if (depth + 1 > kMaxNestingDepth) {
        r_.Error(
            loc, path,
            absl::StrCat("nested search spaces may be at most ", kMaxNestingDepth, " levels deep"));
        return false;
      }
      Mapping option_map(r_, v, path, loc);
      NameSet option_names;
      option.value = static_cast<int64_t>(i);
      option.is_subspace = true;
      option.subspace = ParseSpace(option_map, /*nested=*/true, depth + 1, option_names);
      // Different options of one choice may reuse names: they are never active together.
      for (auto& entry : option_names) names.insert(entry);
      p.options.push_back(std::move(option));
      continue;
    }
    if (v.IsSequence()) {
      r_.Error(loc, path, "a choice value cannot be a list");
      ok = false;
      continue;
    }
    std::optional<Scalar> s = ResolveScalar(v);
    if (std::holds_alternative<std::monostate>(*s)) {
      r_.Error(loc, path, "null is not a valid choice value (quote it for the string 'null')");
      ok = false;
      continue;
    }
    if (std::holds_alternative<bool>(*s)) {
      option.value = std::get<bool>(*s);
    } else if (std::holds_alternative<int64_t>(*s)) {
      option.value = std::get<int64_t>(*s);
    } else if (std::holds_alternative<double>(*s)) {
      if (!std::isfinite(std::get<double>(*s))) {
        r_.Error(loc, path, absl::StrCat("must be a finite number, got ", v.Scalar()));
        ok = false;
        continue;
      }
      option.value = std::get<double>(*s);
    } else {
      option.value = std::get<std::string>(*s);
    }
    for (size_t j = 0; j < p.options.size(); ++j) {
      if (p.options[j].value == option.value) {
        r_.Error(loc, path,
                 absl::StrCat("duplicate value ", ValueForMessage(option.value), " (also ",
                              values.path, "[", j, "])"));
        ok = false;
      }
    }
    p.options.push_back(std::move(option));
  }
  return ok;
}

}  // namespace

bool IsValidName(absl::string_view name) {
  if (name.empty()) return false;
  if (!(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

ParsedSpace ParseSearchSpace(Reader& reader, const Field& field) {
  ParsedSpace out;
  Mapping map(reader, field.value, field.path, field.loc,
              "a mapping of parameter names to expressions");
  if (!map.ok()) return out;
  if (map.fields().empty()) {
    reader.Error(field.loc, field.path, "must define at least one parameter");
    return out;
  }
  SpaceParser parser(reader);
  NameSet names;
  out.space.params = parser.ParseSpace(map, /*nested=*/false, 0, names);
  out.sites = parser.TakeSites();
  return out;
}

}  // namespace sweep::spec::internal

#include "spec/yaml_reader.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <regex>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sweep::spec::internal {
namespace {

// Levenshtein distance. Neither the standard library, abseil nor Boost offer one, and
// the inputs are short key names, so the textbook O(n*m) table is plenty.
size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string DescribeScalarForMessage(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "nothing";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  std::optional<Scalar> s = ResolveScalar(node);
  if (s && std::holds_alternative<std::string>(*s)) return "the string " + Quote(node.Scalar());
  return node.Scalar();
}

}  // namespace

std::optional<Scalar> ResolveScalar(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return Scalar(std::monostate());
  if (!node.IsScalar()) return std::nullopt;
  const std::string& text = node.Scalar();
  // "!" marks quoted and block scalars; an explicit !!str tag also forces a string.
  if (node.Tag() != "?" && node.Tag() != "") return Scalar(text);
  static const std::regex kNull("null|Null|NULL|~");
  static const std::regex kTrue("true|True|TRUE");
  static const std::regex kFalse("false|False|FALSE");
  static const std::regex kDecimal("[-+]?[0-9]+");
  static const std::regex kOctal("0o[0-7]+");
  static const std::regex kHex("0x[0-9a-fA-F]+");
  static const std::regex kFloat("[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
  static const std::regex kInf("[-+]?(\\.inf|\\.Inf|\\.INF)");
  static const std::regex kNan("\\.nan|\\.NaN|\\.NAN");
  if (text.empty() || std::regex_match(text, kNull)) return Scalar(std::monostate());
  if (std::regex_match(text, kTrue)) return Scalar(true);
  if (std::regex_match(text, kFalse)) return Scalar(false);
  auto parse_int = [&](const std::string& digits, int base) -> std::optional<Scalar> {
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(digits.c_str(), &end, base);
    if (errno == ERANGE) return Scalar(std::strtod(text.c_str(), nullptr));
    return Scalar(static_cast<int64_t>(v));
  };
  if (std::regex_match(text, kDecimal)) return parse_int(text, 10);
  if (std::regex_match(text, kOctal)) return parse_int(text.substr(2), 8);
  if (std::regex_match(text, kHex)) return parse_int(text.substr(2), 16);
  if (std::regex_match(text, kFloat)) return Scalar(std::strtod(text.c_str(), nullptr));
  if (std::regex_match(text, kInf)) {
    return Scalar(text[0] == '-' ? -std::numeric_limits<double>::infinity()
                                 : std::numeric_limits<double>::infinity());
  }
  if (std::regex_match(text, kNan)) return Scalar(std::numeric_limits<double>::quiet_NaN());
  return Scalar(text);
}

std::optional<std::string> ClosestMatch(absl::string_view word,
                                        const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  size_t best_distance = std::numeric_limits<size_t>::max();
  std::string lower_word = absl::AsciiStrToLower(word);
  for (const std::string& candidate : candidates) {
    std::string lower_candidate = absl::AsciiStrToLower(candidate);
    size_t d = EditDistance(lower_word, lower_candidate);
    // "min" for "min_value", "code_dir" for "code": a prefix of 3+ characters is close.
    size_t shorter = std::min(lower_word.size(), lower_candidate.size());
    if (shorter >= 3 && lower_word.compare(0, shorter, lower_candidate, 0, shorter) == 0) {
      d = std::min<size_t>(d, 1);
    }
    size_t limit = std::clamp<size_t>(candidate.size() / 3, 1, 3);
    if (d <= limit && d < best_distance) {
      best = candidate;
      best_distance = d;
    }
  }
  return best;
}

std::string JoinPath(absl::string_view parent, absl::string_view key) {
  if (parent.empty()) return std::string(key);
  return absl::StrCat(parent, ".", key);
}

std::string Quote(absl::string_view text) { return absl::StrCat("'", text, "'"); }

std::optional<std::string> Keyword(Reader& r, const Field& f,
                                   const std::vector<std::string>& choices) {
  std::optional<std::string> text = r.String(f);
  if (!text) return std::nullopt;
  std::string value = absl::AsciiStrToLower(absl::StripAsciiWhitespace(*text));
  if (std::find(choices.begin(), choices.end(), value) != choices.end()) return value;
  std::string message = absl::StrCat("unknown value ", Quote(*text));
  if (auto close = ClosestMatch(value, choices)) {
    absl::StrAppend(&message, " (did you mean ", Quote(*close), "?)");
  }
  absl::StrAppend(&message, "; expected one of ", absl::StrJoin(choices, ", "));
  r.Error(f.loc, f.path, message);
  return std::nullopt;
}

void Diagnostics::Add(Location loc, absl::string_view path, absl::string_view message) {
  std::string text = absl::StrCat(source_, ":", loc.line, ":", loc.column, ": ");
  if (!path.empty()) absl::StrAppend(&text, path, ": ");
  absl::StrAppend(&text, message);
  errors_.push_back({loc, std::move(text)});
}

void Diagnostics::Merge(const Diagnostics& other) {
  for (Error e : other.errors_) {
    e.file = 1;
    errors_.push_back(std::move(e));
  }
}

absl::Status Diagnostics::ToStatus() const {
  if (errors_.empty()) return absl::OkStatus();
  std::vector<Error> sorted = errors_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Error& a, const Error& b) {
    if (a.file != b.file) return a.file < b.file;
    return a.loc.line != b.loc.line ? a.loc.line < b.loc.line : a.loc.column < b.loc.column;
  });
  std::vector<std::string> lines;
  std::set<std::string> seen;  // the same problem reached twice is reported once
  size_t hidden = 0;
  for (const Error& e : sorted) {
    if (!seen.insert(e.text).second) continue;
    if (lines.size() < kMaxShown) {
      lines.push_back(e.text);
    } else {
      ++hidden;
    }
  }
  if (hidden > 0) lines.push_back(absl::StrCat("... and ", hidden, " more errors"));
  return absl::InvalidArgumentError(absl::StrJoin(lines, "\n"));
}

Location Reader::Loc(const YAML::Node& node, Location fallback) const {
  if (override_) return *override_;
  if (!node.IsDefined()) return fallback;
  YAML::Mark mark = node.Mark();
  if (mark.is_null() || mark.line < 0) return fallback;
  if (node.IsNull()) {
    bool written = false;
    if (text_ != nullptr && mark.pos >= 0 && static_cast<size_t>(mark.pos) < text_->size()) {
      absl::string_view at = absl::string_view(*text_).substr(mark.pos);
      for (absl::string_view word : {"null", "Null", "NULL", "~"}) {
        if (absl::StartsWith(at, word)) written = true;
      }
    }
    if (!written) return fallback;
  }
  return {mark.line + 1, mark.column + 1};
}

std::optional<std::string> Reader::String(const Field& field) {
  if (field.value.IsScalar()) return field.value.Scalar();
  Error(field.loc, field.path,
        absl::StrCat("must be a string, got ", DescribeScalarForMessage(field.value)));
  return std::nullopt;
}

std::optional<double> Reader::FiniteNumber(const Field& field) {
  std::optional<Scalar> s = ResolveScalar(field.value);
  double v = 0;
  if (s && std::holds_alternative<int64_t>(*s)) {
    v = static_cast<double>(std::get<int64_t>(*s));
  } else if (s && std::holds_alternative<double>(*s)) {
    v = std::get<double>(*s);
  } else {
    Error(field.loc, field.path,
          absl::StrCat("must be a number, got ", DescribeScalarForMessage(field.value)));
    return std::nullopt;
  }
  if (!std::isfinite(v)) {
    Error(field.loc, field.path,
          absl::StrCat("must be a finite number, got ", field.value.Scalar()));
    return std::nullopt;
  }
  return v;
}

std::optional<int64_t> Reader::Integer(const Field& field) {
  std::optional<Scalar> s = ResolveScalar(field.value);
  if (s && std::holds_alternative<int64_t>(*s)) return std::get<int64_t>(*s);
  if (s && std::holds_alternative<double>(*s)) {
    double v = std::get<double>(*s);
    // 2^63 is exactly representable; anything at or beyond it does not fit.
    if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9.2233720368547758e18) {
      return static_cast<int64_t>(v);
    }
  }
  Error(field.loc, field.path,
        absl::StrCat("must be an integer, got ", DescribeScalarForMessage(field.value)));
  return std::nullopt;
}

std::optional<int64_t> Reader::PositiveInteger(const Field& field) {
  std::optional<int64_t> v = Integer(field);
  if (!v) return std::nullopt;
  if (*v <= 0) {
    Error(field.loc, field.path, absl::StrCat("must be a positive integer, got ", *v));
    return std::nullopt;
  }
  return v;
}

std::optional<bool> Reader::Bool(const Field& field) {
  std::optional<Scalar> s = ResolveScalar(field.value);
  if (s && std::holds_alternative<bool>(*s)) return std::get<bool>(*s);
  Error(field.loc, field.path,
        absl::StrCat("must be true or false, got ", DescribeScalarForMessage(field.value)));
  return std::nullopt;
}

Mapping::Mapping(Reader& reader, const YAML::Node& node, std::string path, Location loc,
                 absl::string_view what)
    : reader_(reader), path_(std::move(path)), loc_(reader.Loc(node, loc)) {
  if (!node.IsMap()) {
    ok_ = false;
    reader_.Error(loc_, path_,
                  absl::StrCat("must be ", what, ", got ", DescribeScalarForMessage(node)));
    return;
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    // Copies: the iterator's pair is a temporary proxy.
    YAML::Node key = it->first;
    YAML::Node value = it->second;
    Location key_loc = reader_.Loc(key, loc_);
    if (!key.IsScalar()) {
      reader_.Error(key_loc, path_, "keys must be plain names, not lists or mappings");
      continue;
    }
    Field field;
    field.key = key.Scalar();
    field.path = JoinPath(path_, field.key);
    field.value = value;
    field.key_loc = key_loc;
    field.loc = reader_.Loc(field.value, key_loc);
    if (const Field* previous = Get(field.key)) {
      reader_.Error(
          key_loc, field.path,
          absl::StrCat("duplicate key (first given at line ", previous->key_loc.line, ")"));
      continue;
    }
    fields_.push_back(std::move(field));
  }
}

Mapping::Mapping(Reader& reader, std::vector<Field> fields, std::string path, Location loc)
    : reader_(reader), path_(std::move(path)), loc_(loc), fields_(std::move(fields)) {}

const Field* Mapping::Get(absl::string_view key) const {
  for (const Field& f : fields_) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

const Field* Mapping::Require(absl::string_view key, absl::string_view hint) {
  const Field* f = Get(key);
  if (f == nullptr && ok_) {
    reader_.Error(loc_, path_,
                  absl::StrCat("missing required key ", Quote(key), hint.empty() ? "" : " (", hint,
                               hint.empty() ? "" : ")"));
  }
  return f;
}

void Mapping::CheckKeys(const std::vector<std::string>& allowed, absl::string_view extra_hint) {
  for (const Field& f : fields_) {
    if (std::find(allowed.begin(), allowed.end(), f.key) != allowed.end()) continue;
    std::string message = absl::StrCat("unknown key ", Quote(f.key));
    if (std::optional<std::string> close = ClosestMatch(f.key, allowed)) {
      absl::StrAppend(&message, " (did you mean ", Quote(*close), "?)");
    }
    if (!extra_hint.empty()) absl::StrAppend(&message, "; ", extra_hint);
    reader_.Error(f.key_loc, path_, message);
  }
}

}  // namespace sweep::spec::internal

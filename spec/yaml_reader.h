// Internal helpers of the spec parser: error collection with file:line:col, typed
// reading of YAML scalars (YAML 1.2 core schema) and checked access to mappings.
// Not part of the component API; used by spec.cc and search_space_parser.cc.
//
// Thread safety: a Reader and the objects built on it belong to one parse.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "yaml-cpp/yaml.h"

namespace sweep::spec::internal {

// 1-based position in the spec text.
struct Location {
  int line = 1;
  int column = 1;
};

// A YAML scalar resolved with the YAML 1.2 core schema (what Azure users expect from
// `1`, `0.5`, `true`). Quoted and block scalars are always strings. monostate = null.
using Scalar = std::variant<std::monostate, bool, int64_t, double, std::string>;

// Resolves a scalar or null node; nullopt for sequences and mappings.
std::optional<Scalar> ResolveScalar(const YAML::Node& node);

// The closest candidate to `word` by edit distance, if close enough to be a likely
// typo (case differences count as close).
std::optional<std::string> ClosestMatch(absl::string_view word,
                                        const std::vector<std::string>& candidates);

std::string JoinPath(absl::string_view parent, absl::string_view key);

// Text of a scalar for messages: quoted when it is a string.
std::string Quote(absl::string_view text);

class Reader;
struct Field;

// Reads a keyword case-insensitively (as Azure ML does): the lower-case value when it is
// one of `choices` (lower case), else nullopt after reporting it with the choices and a
// close match.
std::optional<std::string> Keyword(Reader& reader, const Field& field,
                                   const std::vector<std::string>& choices);

// Collects every error of one parse.
class Diagnostics {
 public:
  explicit Diagnostics(std::string source) : source_(std::move(source)) {}

  // `path` may be empty for errors about the document as a whole.
  void Add(Location loc, absl::string_view path, absl::string_view message);
  bool empty() const { return errors_.empty(); }
  size_t size() const { return errors_.size(); }
  // InvalidArgument listing the errors sorted by position, one per line:
  // "SOURCE:LINE:COL: PATH: message"; after kMaxShown of them, a count of the rest.
  static constexpr size_t kMaxShown = 100;
  absl::Status ToStatus() const;
  // Takes `other`'s errors (another file's, e.g. a component's), listed after this
  // source's own.
  void Merge(const Diagnostics& other);

 private:
  struct Error {
    Location loc;
    std::string text;
    int file = 0;  // 0: this source; 1: merged from another
  };
  std::string source_;
  std::vector<Error> errors_;
};

// One `key: value` entry of a mapping.
struct Field {
  std::string key;
  std::string path;  // full key path, e.g. "search_space.lr.min_value"
  YAML::Node value;
  Location key_loc;
  Location loc;  // of the value; of the key when the value is empty
};

// Typed access to YAML nodes that reports problems to Diagnostics.
class Reader {
 public:
  // `text` (not owned, may be null) is the parsed source: it tells an explicit `null`
  // from an empty value, whose yaml-cpp position is that of the next token.
  explicit Reader(Diagnostics& diagnostics, const std::string* text = nullptr)
      : diagnostics_(diagnostics), text_(text) {}

  Diagnostics& diagnostics() { return diagnostics_; }

  void Error(Location loc, absl::string_view path, absl::string_view message) {
    diagnostics_.Add(override_.value_or(loc), path, message);
  }

  // Location of a node; `fallback` when the node has no position (empty value) or
  // while an override is set (expressions written inline in one string).
  Location Loc(const YAML::Node& node, Location fallback) const;

  // While set, every error and location is reported at `loc`.
  void SetOverride(std::optional<Location> loc) { override_ = loc; }
  std::optional<Location> override_location() const { return override_; }

  // True once so many errors were found that parsing further only costs time.
  bool Overwhelmed() const { return diagnostics_.size() >= 2 * Diagnostics::kMaxShown; }

  // Value readers; each reports its own error (naming field.path) and returns nullopt.
  std::optional<std::string> String(const Field& field);  // any non-null scalar's text
  std::optional<double> FiniteNumber(const Field& field);
  std::optional<int64_t> Integer(const Field& field);  // integral floats accepted
  std::optional<int64_t> PositiveInteger(const Field& field);
  std::optional<bool> Bool(const Field& field);

 private:
  Diagnostics& diagnostics_;
  const std::string* text_;
  std::optional<Location> override_;
};

// The entries of a mapping node, in file order, with duplicate keys and non-scalar
// keys reported. A node that is not a mapping is reported ("must be a mapping") and
// yields an empty, !ok() Mapping.
class Mapping {
 public:
  Mapping(Reader& reader, const YAML::Node& node, std::string path, Location loc,
          absl::string_view what = "a mapping");
  // An already-built list of fields (expressions written inline).
  Mapping(Reader& reader, std::vector<Field> fields, std::string path, Location loc);

  bool ok() const { return ok_; }
  const std::string& path() const { return path_; }
  Location loc() const { return loc_; }
  const std::vector<Field>& fields() const { return fields_; }

  const Field* Get(absl::string_view key) const;
  // Reports "missing required key 'KEY'" (plus `hint`) at the mapping when absent.
  const Field* Require(absl::string_view key, absl::string_view hint = "");
  // Reports every key not in `allowed`, suggesting a close match. `extra_hint`, when
  // non-empty, is appended to each message.
  void CheckKeys(const std::vector<std::string>& allowed, absl::string_view extra_hint = "");

 private:
  Reader& reader_;
  std::string path_;
  Location loc_;
  bool ok_ = true;
  std::vector<Field> fields_;
};

}  // namespace sweep::spec::internal

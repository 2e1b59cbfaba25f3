// Internal: parses the `search_space` section of a spec into a core::SearchSpace
// (all ten Azure ML expressions, mapping and inline forms, nested choices), reporting
// every problem with its location. Used by spec.cc.
//
// Thread safety: a parse uses only its own Reader.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/search_space.h"
#include "spec/yaml_reader.h"

namespace sweep::spec::internal {

// Where a parameter (at any nesting level) is defined.
struct ParamSite {
  std::string name;
  std::string path;                     // e.g. "search_space.model.values[0].C"
  Location loc;                         // of its key
  std::optional<core::ParamKind> kind;  // nullopt when its expression was invalid
};

struct ParsedSpace {
  core::SearchSpace space;
  // Every parameter name seen, valid expression or not, in file order: later checks
  // (grid, ${{search_space.X}} references) use it without cascading errors.
  std::vector<ParamSite> sites;
};

// Limits that keep hostile specs (deep nesting, alias bombs) cheap to reject.
inline constexpr int kMaxNestingDepth = 8;
inline constexpr size_t kMaxParameters = 10000;
// Longest parameter name, and most values one choice may list.
inline constexpr size_t kMaxParameterNameLength = 128;
inline constexpr size_t kMaxChoiceValues = 10000;

// `field` is the `search_space` entry of the root mapping.
ParsedSpace ParseSearchSpace(Reader& reader, const Field& field);

// Parameter and input names: [A-Za-z_][A-Za-z0-9_]*.
bool IsValidName(absl::string_view name);

}  // namespace sweep::spec::internal

// The trial command template: word splitting and ${{...}} references.
//
// The template is split into words by rules written here rather than by a shell or
// wordexp(3): trials run without a shell, so a parameter value such as
// "1; rm -rf ~" must reach the program as one argv element and never be interpreted,
// and splitting must happen before substitution (a value with spaces stays one word).
// wordexp would expand variables, globs and `$(...)`, which is exactly what must not
// happen, and no library offers POSIX quoting with a separate substitution step.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sweep::spec {

// One piece of a word: literal text, or the body of a ${{...}} reference
// ("search_space.lr", surrounding blanks trimmed).
struct CommandSegment {
  bool is_reference = false;
  std::string text;
};

// One word of the template, before substitution.
struct CommandWord {
  std::vector<CommandSegment> segments;

  bool HasReference() const;
  // The literal text when the word has no reference.
  std::string Literal() const;
};

// Splits like a POSIX shell, without expansion: blanks separate words; '...' keeps
// everything literally; "..." keeps everything but \" \\ \$ \` and \<newline>;
// outside quotes a backslash escapes the next character and \<newline> joins lines.
// ${{...}} is recognised anywhere (also inside quotes, as Azure ML substitutes before
// any shell would run); \${{ outside single quotes keeps it literal. Unquoted shell
// operators (; & | < > `) and $( are rejected: nothing would interpret them.
// InvalidArgument (message without location) on unterminated quotes or references.
absl::StatusOr<std::vector<CommandWord>> SplitCommand(absl::string_view command);

// A parsed reference body.
struct CommandReference {
  enum class Kind { kSearchSpace, kInputs };
  Kind kind = Kind::kSearchSpace;
  std::string name;
};

// Parses "search_space.NAME" / "inputs.NAME"; InvalidArgument for anything else.
absl::StatusOr<CommandReference> ParseCommandReference(absl::string_view body);

}  // namespace sweep::spec

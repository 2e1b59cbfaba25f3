// The trial command template: words, ${{...}} references, and whether a shell runs it.
//
// A command without shell syntax runs directly as an argv: it is split into words by the
// rules written here (quotes, backslashes; no expansion), before substitution, so a
// value with spaces stays one word. A command that uses shell syntax (&&, ||, ;, |,
// redirections, $VAR, globs, `cd`, ...) runs as Azure ML runs it, through `bash -c`;
// there every substituted value is pasted shell-quoted for the place it stands in
// (core/shell_quote.h), so a value such as "1; rm -rf ~" is always exactly one word and
// never code. wordexp(3) is not used: it would expand the values themselves.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sweep::spec {

// The quoting a ${{...}} reference stands in, which decides how its value is pasted.
enum class QuoteContext { kNone, kSingle, kDouble, kAnsiC };

// One piece of a word: literal text, or the body of a ${{...}} reference
// ("search_space.lr", surrounding blanks trimmed).
struct CommandSegment {
  bool is_reference = false;
  // Literal: the text after quote removal (what direct execution passes); reference: the
  // body.
  std::string text;
  // Literal: the text exactly as written (what the shell gets).
  std::string raw;
  QuoteContext context = QuoteContext::kNone;  // references only
};

// One word of the template, before substitution.
struct CommandWord {
  std::vector<CommandSegment> segments;
  // The shell text between the previous word and this one, as written: blanks,
  // operators, comments ("" for the first word unless the command starts with them).
  std::string before;

  bool HasReference() const;
  // The literal text when the word has no reference.
  std::string Literal() const;
};

struct ParsedCommand {
  std::vector<CommandWord> words;
  std::string trailing;  // shell text after the last word
  // Empty when the command can run without a shell; else its first shell feature and
  // where, e.g. "'&&' at character 9", "'$HOME' at character 1", "'cd' (a shell builtin)".
  std::string shell_syntax;
};

// Splits like a POSIX shell, without expansion: blanks separate words; '...' keeps
// everything literally; "..." keeps everything but \" \\ \$ \` and \<newline>;
// outside quotes a backslash escapes the next character and \<newline> joins lines.
// Shell syntax is noted (ParsedCommand::shell_syntax) and kept as written for the shell;
// operators, $(...), backquotes and ${...} also end or nest words as a shell would.
// ${{...}} is recognised anywhere (also inside quotes, as Azure ML substitutes before any
// shell runs); \${{ outside single quotes keeps it literal. InvalidArgument (message
// without location) on unterminated quotes, substitutions or references, and on a
// reference inside backquotes, ${...} or $((...)), where no quoting keeps a value one
// word.
absl::StatusOr<ParsedCommand> ParseCommand(absl::string_view command);

// ParseCommand's words only.
absl::StatusOr<std::vector<CommandWord>> SplitCommand(absl::string_view command);

// A parsed reference body.
struct CommandReference {
  enum class Kind { kSearchSpace, kInputs, kOutputs };
  Kind kind = Kind::kSearchSpace;
  std::string name;
};

// Parses "search_space.NAME" / "inputs.NAME" / "outputs.NAME"; InvalidArgument for
// anything else.
absl::StatusOr<CommandReference> ParseCommandReference(absl::string_view body);

// `fragment` (a complete shell word, e.g. core::ShellQuote(value)) written so that it
// stays that one word where a reference stood in `context`: the surrounding quotes are
// closed before it and reopened after it.
std::string PasteInContext(QuoteContext context, const std::string& fragment);

}  // namespace sweep::spec

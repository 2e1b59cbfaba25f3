#include "spec/command.h"

#include <cctype>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "spec/search_space_parser.h"

namespace sweep::spec {
namespace {

// Where the lexer stands, innermost last; the top level (no entry) splits words.
enum class Ctx { kSingle, kDouble, kAnsiC, kSubst, kParen, kBacktick, kBrace, kArith };

// Words a shell runs itself: as the first word they need a shell (no such program).
constexpr absl::string_view kBuiltins[] = {
    "cd",       "export", "source", ".",    "set",   "unset",  "eval", "exec",     "alias",
    "ulimit",   "umask",  "pushd",  "popd", "shopt", "trap",   "read", "declare",  "local",
    "readonly", "let",    "if",     "for",  "while", "until",  "case", "function", "{",
    "!",        "[[",     "((",     "exit", "time",  "typeset"};

bool IsNameStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsNameChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

class Lexer {
 public:
  explicit Lexer(absl::string_view command) : s_(command) {}

  absl::StatusOr<ParsedCommand> Run();

 private:
  char At(size_t i) const { return i < s_.size() ? s_[i] : '\0'; }
  bool Top() const { return stack_.empty(); }
  Ctx Inner() const { return stack_.back().first; }
  void Push(Ctx ctx) { stack_.emplace_back(ctx, i_); }
  void Pop() { stack_.pop_back(); }

  // Appends to the current word (starting it): `raw` for the shell, `cooked` for exec.
  void Append(absl::string_view raw, absl::string_view cooked);
  void Append(absl::string_view text) { Append(text, text); }
  void EndWord();
  void Shell(absl::string_view what, size_t pos, absl::string_view kind = "");

  absl::Status Reference();
  void TopChar(char c);
  void Code(char c);  // inside $(...), (...), ${...}, $((...))
  void Double(char c);
  // A '$' outside single quotes: ANSI-C quotes (not in double quotes), substitutions,
  // parameter expansions; a plain '$' otherwise.
  void Dollar(bool in_double);
  void Backslash(bool in_double);
  void SemanticShell();

  absl::string_view s_;
  size_t i_ = 0;
  std::vector<std::pair<Ctx, size_t>> stack_;
  ParsedCommand out_;
  CommandWord word_;
  bool in_word_ = false;
};

void Lexer::Append(absl::string_view raw, absl::string_view cooked) {
  if (word_.segments.empty() || word_.segments.back().is_reference) {
    word_.segments.push_back({});
  }
  word_.segments.back().raw.append(raw.data(), raw.size());
  word_.segments.back().text.append(cooked.data(), cooked.size());
  in_word_ = true;
}

void Lexer::EndWord() {
  if (!in_word_) return;
  out_.words.push_back(std::move(word_));
  word_ = CommandWord();
  in_word_ = false;
}

void Lexer::Shell(absl::string_view what, size_t pos, absl::string_view kind) {
  if (!out_.shell_syntax.empty()) return;
  out_.shell_syntax =
      absl::StrCat("'", what, "'", kind.empty() ? "" : " ", kind, " at character ", pos + 1);
}

absl::Status Lexer::Reference() {
  size_t end = s_.find("}}", i_ + 3);
  if (end == absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("unterminated '${{' at character ", i_ + 1, ": close it with '}}'"));
  }
  CommandSegment segment;
  segment.is_reference = true;
  segment.text = std::string(absl::StripAsciiWhitespace(s_.substr(i_ + 3, end - i_ - 3)));
  segment.raw = std::string(s_.substr(i_, end + 2 - i_));
  if (!Top()) {
    switch (Inner()) {
      case Ctx::kSingle:
        segment.context = QuoteContext::kSingle;
        break;
      case Ctx::kDouble:
        segment.context = QuoteContext::kDouble;
        break;
      case Ctx::kAnsiC:
        segment.context = QuoteContext::kAnsiC;
        break;
      case Ctx::kSubst:
      case Ctx::kParen:
        break;
      case Ctx::kBacktick:
      case Ctx::kBrace:
      case Ctx::kArith: {
        const char* where = Inner() == Ctx::kBacktick ? "backquotes `...`"
                            : Inner() == Ctx::kBrace  ? "a parameter expansion ${...}"
                                                      : "an arithmetic expansion $((...))";
        return absl::InvalidArgumentError(absl::StrCat(
            "${{", segment.text, "}} at character ", i_ + 1, " stands inside ", where,
            ", where no quoting keeps a value one word; move it out (use $(...) instead of "
            "backquotes, or compute in the program)"));
      }
    }
  }
  word_.segments.push_back(std::move(segment));
  in_word_ = true;
  i_ = end + 2;
  return absl::OkStatus();
}

void Lexer::Backslash(bool in_double) {
  char next = At(i_ + 1);
  if (i_ + 1 >= s_.size()) {
    Append("\\");
    ++i_;
    return;
  }
  if (next == '\n') {  // line continuation: nothing for exec, kept for the shell
    if (in_word_) {
      Append(s_.substr(i_, 2), "");
    } else {
      word_.before.append(s_.substr(i_, 2).data(), 2);
    }
  } else if (in_double && absl::string_view("\"\\$`").find(next) == absl::string_view::npos) {
    Append(s_.substr(i_, 1));  // "\n" inside double quotes stays a backslash and an n
    ++i_;
    return;
  } else {
    Append(s_.substr(i_, 2), s_.substr(i_ + 1, 1));
  }
  i_ += 2;
}

void Lexer::Dollar(bool in_double) {
  char next = At(i_ + 1);
  if (next == '\'' && !in_double) {
    Shell("$'...'", i_, "(ANSI-C quoting)");
    Append("$'", "");
    Push(Ctx::kAnsiC);
    i_ += 2;
  } else if (next == '(' && At(i_ + 2) == '(') {
    Shell("$((", i_);
    Push(Ctx::kArith);
    Append(s_.substr(i_, 3));
    i_ += 3;
  } else if (next == '(') {
    Shell("$(", i_);
    Push(Ctx::kSubst);
    Append(s_.substr(i_, 2));
    i_ += 2;
  } else if (next == '{') {
    Shell("${", i_);
    Push(Ctx::kBrace);
    Append(s_.substr(i_, 2));
    i_ += 2;
  } else if (IsNameStart(next) || std::isdigit(static_cast<unsigned char>(next)) ||
             absl::string_view("@*#?$!-").find(next) != absl::string_view::npos) {
    size_t end = i_ + 2;
    while (IsNameStart(next) && end < s_.size() && IsNameChar(s_[end])) ++end;
    Shell(s_.substr(i_, end - i_), i_);
    Append("$");
    ++i_;
  } else {
    Append("$");
    ++i_;
  }
}

void Lexer::TopChar(char c) {
  auto separator = [&](size_t len) {
    EndWord();
    word_.before.append(s_.substr(i_, len).data(), len);
    i_ += len;
  };
  switch (c) {
    case ' ':
    case '\t':
    case '\r':
    case '\n':
      separator(1);
      return;
    case '\'':
      Append("'", "");
      Push(Ctx::kSingle);
      ++i_;
      return;
    case '"':
      Append("\"", "");
      Push(Ctx::kDouble);
      ++i_;
      return;
    case '\\':
      Backslash(false);
      return;
    case '$':
      Dollar(false);
      return;
    case '`':
      Shell("`", i_);
      Append("`");
      Push(Ctx::kBacktick);
      ++i_;
      return;
    case ';':
    case '&':
    case '|':
    case '<':
    case '>':
    case '(':
    case ')': {
      size_t len = (c != '(' && c != ')' && At(i_ + 1) == c) ? 2 : 1;
      Shell(s_.substr(i_, len), i_);
      separator(len);
      return;
    }
    case '#':
      if (!in_word_) {  // a comment, to the end of the line, references and all
        Shell("#", i_, "(a comment)");
        size_t end = s_.find('\n', i_);
        if (end == absl::string_view::npos) end = s_.size();
        separator(end - i_);
        return;
      }
      break;
    case '*':
    case '?':
    case '[':
      Shell(s_.substr(i_, 1), i_, "(a glob)");
      break;
    case '~':
      if (!in_word_) Shell("~", i_, "(the home directory)");
      break;
    default:
      break;
  }
  Append(s_.substr(i_, 1));
  ++i_;
}

void Lexer::Code(char c) {
  switch (c) {
    case '\'':
      Push(Ctx::kSingle);
      break;
    case '"':
      Push(Ctx::kDouble);
      break;
    case '\\':
      Backslash(false);
      return;
    case '$':
      Dollar(false);
      return;
    case '`':
      Push(Ctx::kBacktick);
      break;
    case '(':
      if (Inner() != Ctx::kBrace) Push(Ctx::kParen);
      break;
    case ')':
      if (Inner() == Ctx::kArith && At(i_ + 1) == ')') {
        Pop();
        Append("))");
        i_ += 2;
        return;
      }
      if (Inner() == Ctx::kSubst || Inner() == Ctx::kParen) Pop();
      break;
    case '}':
      if (Inner() == Ctx::kBrace) Pop();
      break;
    default:
      break;
  }
  Append(s_.substr(i_, 1));
  ++i_;
}

void Lexer::Double(char c) {
  if (c == '"') {
    Pop();
    Append("\"", "");
    ++i_;
  } else if (c == '\\') {
    Backslash(true);
  } else if (c == '$') {
    Dollar(true);
  } else if (c == '`') {
    Shell("`", i_);
    Append("`");
    Push(Ctx::kBacktick);
    ++i_;
  } else {
    Append(s_.substr(i_, 1));
    ++i_;
  }
}

void Lexer::SemanticShell() {
  if (!out_.shell_syntax.empty() || out_.words.empty()) return;
  const CommandWord& first = out_.words.front();
  if (first.segments.empty() || first.segments.front().is_reference) return;
  const CommandSegment& lead = first.segments.front();
  if (first.segments.size() == 1 && lead.raw == lead.text) {
    for (absl::string_view builtin : kBuiltins) {
      if (lead.text == builtin) {
        out_.shell_syntax = absl::StrCat("'", builtin, "' (a shell builtin) as the first word");
        return;
      }
    }
  }
  size_t n = 0;
  while (n < lead.raw.size() && (n == 0 ? IsNameStart(lead.raw[n]) : IsNameChar(lead.raw[n]))) {
    ++n;
  }
  if (n > 0 && n < lead.raw.size() && lead.raw[n] == '=') {
    out_.shell_syntax =
        absl::StrCat("'", lead.raw.substr(0, n + 1), "' (a variable assignment) as the first word");
  }
}

absl::StatusOr<ParsedCommand> Lexer::Run() {
  while (i_ < s_.size()) {
    if (s_.substr(i_, 3) == "${{") {
      if (absl::Status st = Reference(); !st.ok()) return st;
      continue;
    }
    char c = s_[i_];
    if (Top()) {
      TopChar(c);
      continue;
    }
    switch (Inner()) {
      case Ctx::kSingle:
        if (c == '\'') Pop();
        Append(s_.substr(i_, 1), c == '\'' ? "" : s_.substr(i_, 1));
        ++i_;
        break;
      case Ctx::kAnsiC:
      case Ctx::kBacktick:
        if (c == '\\' && i_ + 1 < s_.size()) {
          Append(s_.substr(i_, 2));
          i_ += 2;
          break;
        }
        if (c == (Inner() == Ctx::kAnsiC ? '\'' : '`')) Pop();
        Append(s_.substr(i_, 1));
        ++i_;
        break;
      case Ctx::kDouble:
        Double(c);
        break;
      default:
        Code(c);
        break;
    }
  }
  if (!Top()) {
    auto [ctx, pos] = stack_.back();
    switch (ctx) {
      case Ctx::kSingle:
        return absl::InvalidArgumentError(
            absl::StrCat("unterminated single quote opened at character ", pos + 1));
      case Ctx::kDouble:
        return absl::InvalidArgumentError(
            absl::StrCat("unterminated double quote opened at character ", pos + 1));
      default:
        return absl::InvalidArgumentError(absl::StrCat("unterminated '",
                                                       ctx == Ctx::kBacktick ? "`"
                                                       : ctx == Ctx::kAnsiC  ? "$'"
                                                       : ctx == Ctx::kBrace  ? "${"
                                                                             : "(",
                                                       "' opened at character ", pos + 1));
    }
  }
  if (in_word_) {
    EndWord();
  } else {
    out_.trailing = std::move(word_.before);
  }
  SemanticShell();
  return std::move(out_);
}

}  // namespace

bool CommandWord::HasReference() const {
  for (const CommandSegment& s : segments) {
    if (s.is_reference) return true;
  }
  return false;
}

std::string CommandWord::Literal() const {
  std::string out;
  for (const CommandSegment& s : segments) {
    if (!s.is_reference) out += s.text;
  }
  return out;
}

absl::StatusOr<ParsedCommand> ParseCommand(absl::string_view command) {
  return Lexer(command).Run();
}

absl::StatusOr<std::vector<CommandWord>> SplitCommand(absl::string_view command) {
  absl::StatusOr<ParsedCommand> parsed = ParseCommand(command);
  if (!parsed.ok()) return parsed.status();
  return std::move(parsed->words);
}

absl::StatusOr<CommandReference> ParseCommandReference(absl::string_view body) {
  CommandReference ref;
  absl::string_view name;
  if (body.substr(0, 13) == "search_space.") {
    ref.kind = CommandReference::Kind::kSearchSpace;
    name = body.substr(13);
  } else if (body.substr(0, 7) == "inputs.") {
    ref.kind = CommandReference::Kind::kInputs;
    name = body.substr(7);
  } else if (body.substr(0, 8) == "outputs.") {
    ref.kind = CommandReference::Kind::kOutputs;
    name = body.substr(8);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported reference '${{", body,
                     "}}': use ${{search_space.NAME}}, ${{inputs.NAME}} or ${{outputs.NAME}}"));
  }
  if (!internal::IsValidName(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid reference '${{", body, "}}': '", name, "'", " is not a valid name"));
  }
  ref.name = std::string(name);
  return ref;
}

std::string PasteInContext(QuoteContext context, const std::string& fragment) {
  switch (context) {
    case QuoteContext::kNone:
      return fragment;
    case QuoteContext::kSingle:
      return absl::StrCat("'", fragment, "'");
    case QuoteContext::kDouble:
      return absl::StrCat("\"", fragment, "\"");
    case QuoteContext::kAnsiC:
      return absl::StrCat("'", fragment, "$'");
  }
  return fragment;
}

}  // namespace sweep::spec

#include "spec/command.h"

#include <cctype>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "spec/search_space_parser.h"
#include "spec/spec.h"

namespace sweep::spec {
namespace {

constexpr absl::string_view kOperators = ";&|<>`";

void AppendLiteral(CommandWord& word, absl::string_view text) {
  if (word.segments.empty() || word.segments.back().is_reference) {
    word.segments.push_back({false, ""});
  }
  word.segments.back().text.append(text.data(), text.size());
}

void AddNames(const std::vector<core::ParamSpec>& params, std::set<std::string>& names) {
  for (const core::ParamSpec& p : params) {
    names.insert(p.name);
    for (const core::ChoiceOption& o : p.options) AddNames(o.subspace, names);
  }
}

// "--lr", "-x": an option that a following value belongs to. "-1" is a number.
bool IsOptionWord(const CommandWord& word) {
  if (word.HasReference()) return false;
  std::string text = word.Literal();
  if (text.size() < 2 || text[0] != '-') return false;
  return !(std::isdigit(static_cast<unsigned char>(text[1])) || text[1] == '.');
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

absl::StatusOr<std::vector<CommandWord>> SplitCommand(absl::string_view command) {
  enum class Quote { kNone, kSingle, kDouble };  // the quoting in effect
  std::vector<CommandWord> words;
  CommandWord word;
  bool in_word = false;  // a word has started (even an empty one, from '')
  Quote quote = Quote::kNone;
  size_t quote_start = 0;
  size_t i = 0;
  const size_t n = command.size();
  while (i < n) {
    if (command.substr(i, 3) == "${{") {
      size_t end = command.find("}}", i + 3);
      if (end == absl::string_view::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat("unterminated '${{' at character ", i + 1, ": close it with '}}'"));
      }
      std::string body(absl::StripAsciiWhitespace(command.substr(i + 3, end - i - 3)));
      word.segments.push_back({true, std::move(body)});
      in_word = true;
      i = end + 2;
      continue;
    }
    char c = command[i];
    if (quote == Quote::kSingle) {
      if (c == '\'') {
        quote = Quote::kNone;
      } else {
        AppendLiteral(word, absl::string_view(&command[i], 1));
      }
      ++i;
      continue;
    }
    if (quote == Quote::kDouble) {
      if (c == '"') {
        quote = Quote::kNone;
        ++i;
      } else if (c == '\\' && i + 1 < n &&
                 absl::string_view("\"\\$`\n").find(command[i + 1]) != absl::string_view::npos) {
        if (command[i + 1] != '\n') AppendLiteral(word, command.substr(i + 1, 1));
        i += 2;
      } else {
        AppendLiteral(word, command.substr(i, 1));
        ++i;
      }
      continue;
    }
    // Outside quotes.
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (in_word) {
        words.push_back(std::move(word));
        word = CommandWord();
        in_word = false;
      }
      ++i;
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c == '\'' ? Quote::kSingle : Quote::kDouble;
      quote_start = i;
      in_word = true;
      // An empty quoted word is still a word: make it exist.
      AppendLiteral(word, "");
      ++i;
      continue;
    }
    if (c == '\\') {
      if (i + 1 < n && command[i + 1] == '\n') {
        i += 2;  // line continuation
        continue;
      }
      AppendLiteral(word, command.substr(i + 1 < n ? i + 1 : i, 1));
      in_word = true;
      i += 2;
      continue;
    }
    if (kOperators.find(c) != absl::string_view::npos ||
        (c == '$' && i + 1 < n && command[i + 1] == '(')) {
      std::string op = c == '$' ? "$(" : std::string(1, c);
      return absl::InvalidArgumentError(absl::StrCat(
          "unquoted '", op, "' at character ", i + 1,
          " is shell syntax, but the command runs without a shell (no pipes, redirections, "
          "';', '&&' or substitutions); quote it to pass it literally, or move the pipeline "
          "into a script"));
    }
    AppendLiteral(word, command.substr(i, 1));
    in_word = true;
    ++i;
  }
  if (quote != Quote::kNone) {
    return absl::InvalidArgumentError(absl::StrCat("unterminated ",
                                                   quote == Quote::kSingle ? "single" : "double",
                                                   " quote opened at character ", quote_start + 1));
  }
  if (in_word) words.push_back(std::move(word));
  return words;
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
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "unsupported reference '${{", body, "}}': use ${{search_space.NAME}} or ${{inputs.NAME}}"));
  }
  if (!internal::IsValidName(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid reference '${{", body, "}}': '", name, "'", " is not a valid name"));
  }
  ref.name = std::string(name);
  return ref;
}

absl::StatusOr<std::vector<std::string>> BuildArgv(const SweepSpec& spec,
                                                   const core::Config& config) {
  absl::StatusOr<std::vector<CommandWord>> words = SplitCommand(spec.trial.command);
  if (!words.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("trial.command: ", words.status().message()));
  }
  std::set<std::string> names;
  AddNames(spec.search_space.params, names);
  std::vector<std::string> argv;
  // Index in `words` of the word argv.back() came from, to drop an option before it.
  std::optional<size_t> last_emitted;
  for (size_t w = 0; w < words->size(); ++w) {
    const CommandWord& word = (*words)[w];
    std::string out;
    bool inactive = false;
    for (const CommandSegment& segment : word.segments) {
      if (!segment.is_reference) {
        out += segment.text;
        continue;
      }
      absl::StatusOr<CommandReference> ref = ParseCommandReference(segment.text);
      if (!ref.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("trial.command: ", ref.status().message()));
      }
      if (ref->kind == CommandReference::Kind::kInputs) {
        auto it = spec.inputs.find(ref->name);
        if (it == spec.inputs.end()) {
          return absl::InvalidArgumentError(
              absl::StrCat("trial.command: ${{inputs.", ref->name, "}} names no entry of inputs"));
        }
        out += it->second;
        continue;
      }
      if (names.count(ref->name) == 0) {
        return absl::InvalidArgumentError(absl::StrCat("trial.command: ${{search_space.", ref->name,
                                                       "}} names no parameter of search_space"));
      }
      auto it = config.find(ref->name);
      if (it == config.end()) {
        inactive = true;  // defined in an option that was not chosen
      } else {
        out += core::ParamValueToString(it->second);
      }
    }
    if (inactive) {
      if (last_emitted == w - 1 && w > 0 && IsOptionWord((*words)[w - 1])) {
        argv.pop_back();
        last_emitted.reset();
      }
      continue;
    }
    argv.push_back(std::move(out));
    last_emitted = w;
  }
  if (argv.empty()) {
    return absl::InvalidArgumentError("trial.command: no words left to run");
  }
  return argv;
}

}  // namespace sweep::spec

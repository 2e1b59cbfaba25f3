// BuildTrialCommand: one trial's command line from the template and a configuration.
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/shell_quote.h"
#include "spec/command.h"
#include "spec/spec.h"

namespace sweep::spec {
namespace {

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

bool IsBlank(const std::string& text) {
  return text.find_first_not_of(" \t\r\n") == std::string::npos;
}

// One word, substituted both ways.
struct Rendered {
  std::string exec;   // for direct execution
  std::string shell;  // for the shell
  bool inactive = false;
  bool kept = true;
};

class Builder {
 public:
  Builder(const SweepSpec& spec, const core::Config& config) : spec_(spec), config_(config) {
    AddNames(spec.search_space.params, names_);
  }

  absl::StatusOr<TrialCommand> Build();

 private:
  // Substitutes one reference into `out`.
  absl::Status Substitute(const CommandSegment& segment, Rendered& out);
  void PasteValue(const CommandSegment& segment, const std::string& value, Rendered& out) {
    out.exec += value;
    out.shell += PasteInContext(segment.context, core::ShellQuote(value));
  }
  // The parameter's value, or inactive.
  void Parameter(const CommandSegment& segment, const std::string& name, Rendered& out) {
    auto it = config_.find(name);
    if (it == config_.end()) {
      out.inactive = true;  // defined in an option that was not chosen
    } else {
      PasteValue(segment, core::ParamValueToString(it->second), out);
    }
  }

  const SweepSpec& spec_;
  const core::Config& config_;
  std::set<std::string> names_;
  std::vector<std::string> outputs_used_;
};

absl::Status Builder::Substitute(const CommandSegment& segment, Rendered& out) {
  absl::StatusOr<CommandReference> ref = ParseCommandReference(segment.text);
  if (!ref.ok()) return ref.status();
  switch (ref->kind) {
    case CommandReference::Kind::kSearchSpace:
      if (names_.count(ref->name) == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("${{search_space.", ref->name, "}} names no parameter of search_space"));
      }
      Parameter(segment, ref->name, out);
      return absl::OkStatus();
    case CommandReference::Kind::kInputs: {
      if (spec_.trial.search_space_inputs.count(ref->name) > 0) {
        Parameter(segment, ref->name, out);
        return absl::OkStatus();
      }
      auto it = spec_.inputs.find(ref->name);
      if (it == spec_.inputs.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("${{inputs.", ref->name, "}} names no entry of inputs"));
      }
      PasteValue(segment, it->second, out);
      return absl::OkStatus();
    }
    case CommandReference::Kind::kOutputs: {
      if (spec_.trial.outputs.count(ref->name) == 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("${{outputs.", ref->name, "}} names no entry of outputs"));
      }
      // The name is a plain identifier: inside double quotes only the variable expands.
      out.exec += absl::StrCat("outputs/", ref->name);
      out.shell +=
          PasteInContext(segment.context, absl::StrCat("\"$SWEEP_OUTPUTS_DIR/", ref->name, "\""));
      outputs_used_.push_back(ref->name);
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<TrialCommand> Builder::Build() {
  absl::StatusOr<ParsedCommand> parsed = ParseCommand(spec_.trial.command);
  if (!parsed.ok()) return parsed.status();
  std::vector<Rendered> words(parsed->words.size());
  for (size_t w = 0; w < words.size(); ++w) {
    for (const CommandSegment& segment : parsed->words[w].segments) {
      if (!segment.is_reference) {
        words[w].exec += segment.text;
        words[w].shell += segment.raw;
      } else if (absl::Status s = Substitute(segment, words[w]); !s.ok()) {
        return s;
      }
    }
    if (!words[w].inactive) continue;
    words[w].kept = false;
    // Only the option word just before it (nothing but blanks between) goes with it.
    if (w > 0 && words[w - 1].kept && IsOptionWord(parsed->words[w - 1]) &&
        IsBlank(parsed->words[w].before)) {
      words[w - 1].kept = false;
    }
  }
  TrialCommand out;
  out.why_shell = parsed->shell_syntax;
  if (out.why_shell.empty() && !outputs_used_.empty()) {
    out.why_shell = absl::StrCat("'${{outputs.", outputs_used_.front(),
                                 "}}' (a directory whose path only the node knows)");
  }
  out.shell = !out.why_shell.empty();
  if (!out.shell) {
    for (Rendered& r : words) {
      if (r.kept) out.argv.push_back(std::move(r.exec));
    }
    if (out.argv.empty()) return absl::InvalidArgumentError("no words left to run");
    return out;
  }
  std::string script;
  std::vector<std::string> dirs;
  for (const std::string& name :
       std::set<std::string>(outputs_used_.begin(), outputs_used_.end())) {
    if (spec_.trial.outputs.at(name) != "uri_file") {
      dirs.push_back(absl::StrCat("\"$SWEEP_OUTPUTS_DIR/", name, "\""));
    }
  }
  if (!dirs.empty()) absl::StrAppend(&script, "mkdir -p ", absl::StrJoin(dirs, " "), " || exit\n");
  bool any = false;
  for (size_t w = 0; w < words.size(); ++w) {
    script += parsed->words[w].before;
    if (!words[w].kept) continue;
    script += words[w].shell;
    any = true;
  }
  script += parsed->trailing;
  if (!any) return absl::InvalidArgumentError("no words left to run");
  out.argv = {kTrialShell, "-c", std::move(script)};
  return out;
}

}  // namespace

absl::StatusOr<TrialCommand> BuildTrialCommand(const SweepSpec& spec, const core::Config& config) {
  absl::StatusOr<TrialCommand> built = Builder(spec, config).Build();
  if (!built.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("trial.command: ", built.status().message()));
  }
  return built;
}

absl::StatusOr<std::vector<std::string>> BuildArgv(const SweepSpec& spec,
                                                   const core::Config& config) {
  absl::StatusOr<TrialCommand> built = BuildTrialCommand(spec, config);
  if (!built.ok()) return built.status();
  return std::move(built->argv);
}

}  // namespace sweep::spec

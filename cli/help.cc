#include "cli/help.h"

#include <iostream>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace sweep::cli {
namespace {

// Examples by command path ("compute create"); docs/cli.md has the same ones.
const std::map<std::string, std::vector<std::string>>& Examples() {
  static const auto* examples = new std::map<std::string, std::vector<std::string>>{
      {"run",
       {"sweep run examples/quickstart/sweep.yml",
        "sweep run spec.yml --listen 0.0.0.0:7070 --node-wait-seconds 120 -q",
        "sweep run spec.yml --warm-start sw-3fa --warm-start sw-9c1"}},
      {"worker",
       {"sweep worker --server 10.0.0.5:7070 --compute cpu-cluster --token-file ~/sweep-token"}},
      {"validate", {"sweep validate examples/quickstart/sweep.yml --json"}},
      {"ls", {"sweep ls --json"}},
      {"show", {"sweep show sw-3fa"}},
      {"trials", {"sweep trials sw-3fa --sort accuracy --top 5", "sweep trials sw-3fa --csv"}},
      {"best", {"sweep best sw-3fa --json"}},
      {"metrics", {"sweep metrics sw-3fa 7 --name accuracy --csv"}},
      {"cancel", {"sweep cancel sw-3fa"}},
      {"enqueue", {"sweep enqueue sw-3fa --param lr=0.01 --param hidden=8"}},
      {"extend",
       {"sweep extend sw-3fa --max-total-trials 60",
        "sweep extend sw-3fa --max-total-trials 80 --timeout 3600 --server 10.0.0.5:7070"}},
      {"explain", {"sweep explain sw-3fa 7"}},
      {"replay", {"sweep replay sw-3fa --policy bandit --slack-factor 0.2 --delay-evaluation 5"}},
      {"server", {"sweep server --listen 0.0.0.0:7070 --workspace /srv/sweep"}},
      {"submit", {"sweep submit sweep.yml --server 10.0.0.5:7070 --token-file ~/sweep-token"}},
      {"compute", {"sweep compute list"}},
      {"compute create",
       {"sweep compute create gpu-pool --min-nodes 0 --max-nodes 4",
        "sweep compute create hpc --type amlcompute --provider slurm --partition debug "
        "--vm-size Standard_DS1_v2 --max-nodes 4"}},
      {"compute update", {"sweep compute update gpu-pool --max-nodes 8"}},
      {"compute list", {"sweep compute list --json"}},
      {"compute show", {"sweep compute show cpu-cluster --json"}},
      {"compute delete", {"sweep compute delete gpu-pool"}},
      {"compute attach",
       {"sweep compute attach gpu-box --type remotevm --address 10.0.0.7 --username alice "
        "--private-key-file ~/.ssh/id_ed25519"}},
      {"artifacts", {"sweep artifacts sw-3fa 4 --download ./best-model"}},
      {"environment", {"sweep environment list"}},
      {"environment create",
       {"sweep environment create torch-env --setup 'python3 -m venv \"$SWEEP_ENV_DIR\"' "
        "--file requirements.txt"}},
      {"environment list", {"sweep environment list --json"}},
      {"environment show", {"sweep environment show torch-env@1"}},
      {"models", {"sweep models list"}},
      {"models register",
       {"sweep models register --sweep sw-3fa --name digits-clf --tag stage=dev"}},
      {"models list", {"sweep models list --json"}},
      {"models show", {"sweep models show digits-clf:1"}},
      {"models download", {"sweep models download digits-clf:1 --to ./model"}},
      {"watch", {"sweep watch sw-3fa", "sweep watch sw-3fa --server 10.0.0.5:7070 --plain"}},
      {"report", {"sweep report sw-3fa --out report.html"}},
      {"plot", {"sweep plot sw-3fa --kind convergence --out convergence.svg"}},
      {"completion",
       {"source <(sweep completion bash)",
        "sweep completion zsh > \"${fpath[1]}/_sweep\"   # then restart zsh"}},
  };
  return *examples;
}

// Every subcommand, as defined (get_subcommands() without a filter gives the parsed ones).
std::vector<CLI::App*> Subcommands(CLI::App& cmd) {
  return cmd.get_subcommands(std::function<bool(CLI::App*)>());
}
std::vector<const CLI::App*> Subcommands(const CLI::App& cmd) {
  return cmd.get_subcommands(std::function<bool(const CLI::App*)>());
}

void SetFooters(CLI::App& cmd, const std::string& path) {
  for (CLI::App* sub : Subcommands(cmd)) {
    const std::string sub_path = path.empty() ? sub->get_name() : path + " " + sub->get_name();
    auto it = Examples().find(sub_path);
    sub->footer(it == Examples().end()
                    ? std::string("\nExample: (none yet)")
                    : absl::StrCat(it->second.size() > 1 ? "\nExamples:\n  " : "\nExample:\n  ",
                                   absl::StrJoin(it->second, "\n  ")));
    SetFooters(*sub, sub_path);
  }
}

// The words that may follow a command: its subcommands and its options' long and short
// names (with --help).
std::vector<std::string> Words(const CLI::App& cmd) {
  std::vector<std::string> words;
  for (const CLI::App* sub : Subcommands(cmd)) words.push_back(sub->get_name());
  for (const CLI::Option* opt : cmd.get_options()) {
    for (const std::string& name : opt->get_lnames()) words.push_back("--" + name);
    for (const std::string& name : opt->get_snames()) words.push_back("-" + name);
  }
  return words;
}

// One `case` arm per command path: " compute create") words="...";;
void CaseArms(const CLI::App& cmd, const std::string& path, std::string& arms,
              std::vector<std::string>& paths) {
  absl::StrAppend(&arms, "    \"", path, "\") words=\"", absl::StrJoin(Words(cmd), " "), "\" ;;\n");
  for (const CLI::App* sub : Subcommands(cmd)) {
    const std::string sub_path = absl::StrCat(path, " ", sub->get_name());
    paths.push_back(sub_path);
    CaseArms(*sub, sub_path, arms, paths);
  }
}

}  // namespace

void AddExamples(CLI::App& app) { SetFooters(app, ""); }

std::string BashCompletion(const CLI::App& app) {
  std::string arms;
  std::vector<std::string> paths;
  CaseArms(app, "", arms, paths);
  std::vector<std::string> quoted;
  for (const std::string& p : paths) quoted.push_back(absl::StrCat("\"", p, "\""));
  return absl::StrCat(
      "# bash completion for sweep: source <(sweep completion bash)\n"
      "_sweep() {\n"
      "  local cur=\"${COMP_WORDS[COMP_CWORD]}\" path=\"\" words=\"\" i\n"
      "  # The command path so far: the words before the cursor that name a subcommand.\n"
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "    case \"$path ${COMP_WORDS[i]}\" in\n"
      "      ",
      absl::StrJoin(quoted, "|"),
      ") path=\"$path ${COMP_WORDS[i]}\" ;;\n"
      "    esac\n"
      "  done\n"
      "  case \"$path\" in\n",
      arms,
      "  esac\n"
      "  COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
      "}\n"
      "complete -o default -F _sweep sweep\n");
}

std::string ZshCompletion(const CLI::App& app) {
  return absl::StrCat(
      "#compdef sweep\n"
      "# zsh completion for sweep: sweep completion zsh > \"${fpath[1]}/_sweep\", or\n"
      "# source <(sweep completion zsh). It runs the bash completion through bashcompinit.\n"
      "autoload -U +X bashcompinit && bashcompinit\n",
      BashCompletion(app));
}

void AddCompletionCommand(CLI::App& app, std::string& shell, std::function<int()>& action) {
  auto* cmd = app.add_subcommand(
      "completion", "Print a shell completion script for sweep's commands and options");
  cmd->add_option("shell", shell, "bash or zsh")->required()->check(CLI::IsMember({"bash", "zsh"}));
  cmd->callback([&app, &shell, &action] {
    action = [&app, &shell] {
      std::cout << (shell == "bash" ? BashCompletion(app) : ZshCompletion(app));
      return 0;
    };
  });
}

}  // namespace sweep::cli

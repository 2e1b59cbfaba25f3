// Help that teaches: every command's --help has a one-line purpose and an example, the
// completion scripts complete commands and options, and older Azure ML forms get a hint.
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/e2e_util.h"

namespace sweep::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The subcommands a --help output lists under "Subcommands:".
std::vector<std::string> SubcommandsIn(const std::string& help) {
  std::vector<std::string> names;
  size_t at = help.find("\nSubcommands:\n");
  if (at == std::string::npos) return names;
  std::istringstream lines(help.substr(at + 14));
  std::string line;
  while (std::getline(lines, line) && line.rfind("  ", 0) == 0) {
    std::string name = line.substr(line.find_first_not_of(' '));
    names.push_back(name.substr(0, name.find(' ')));
  }
  return names;
}

// Every command path below `path` (e.g. {"compute", "create"}), checked on the way.
void CheckHelp(const std::vector<std::string>& path, int* checked) {
  std::vector<std::string> argv = path;
  argv.push_back("--help");
  CommandResult r = RunSweep(argv);
  std::string where;
  for (const std::string& p : path) where += (where.empty() ? "" : " ") + p;
  ASSERT_EQ(r.exit_code, 0) << where << r.err;
  if (!path.empty()) {
    // CLI11 prints the purpose first, then the usage; the example is the footer.
    std::string purpose = r.out.substr(0, r.out.find('\n'));
    EXPECT_FALSE(purpose.empty() || purpose.rfind("Usage", 0) == 0) << where << r.out;
    EXPECT_THAT(r.out, HasSubstr("\nExample")) << where;
    EXPECT_THAT(r.out, HasSubstr("\n  sweep " + where)) << where << ": an example of itself";
    EXPECT_THAT(r.out, Not(HasSubstr("(none yet)"))) << where;
    ++*checked;
  }
  for (const std::string& sub : SubcommandsIn(r.out)) {
    std::vector<std::string> next = path;
    next.push_back(sub);
    CheckHelp(next, checked);
  }
}

TEST(HelpE2E, EveryCommandHasAPurposeAndAnExample) {
  int checked = 0;
  CheckHelp({}, &checked);
  EXPECT_GE(checked, 35) << "22 commands, compute (6), environment (3) and models (4)";
}

// What bash completes for `line` (the cursor after its last word; "" = a new word).
std::string Complete(const std::string& script, const std::vector<std::string>& words) {
  std::string array;
  for (const std::string& w : words) array += " '" + w + "'";
  CommandResult r = RunCommand({"bash", "-c",
                                script + "\nCOMP_WORDS=(" + array +
                                    "); COMP_CWORD=" + std::to_string(words.size() - 1) +
                                    "; _sweep; echo \"${COMPREPLY[*]}\""});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

TEST(HelpE2E, BashCompletionCompletesCommandsSubcommandsAndOptions) {
  CommandResult bash = RunSweep({"completion", "bash"});
  ASSERT_EQ(bash.exit_code, 0) << bash.err;
  EXPECT_THAT(bash.out, HasSubstr("complete -o default -F _sweep sweep"));
  EXPECT_EQ(Complete(bash.out, {"sweep", "re"}), "replay report\n");
  EXPECT_EQ(Complete(bash.out, {"sweep", "compute", "cr"}), "create\n");
  EXPECT_EQ(Complete(bash.out, {"sweep", "compute", "create", "hpc", "--parti"}), "--partition\n");
  EXPECT_EQ(Complete(bash.out, {"sweep", "--workspace", "ws", "run", "spec.yml", "--node-w"}),
            "--node-wait-seconds\n");
  EXPECT_EQ(Complete(bash.out, {"sweep", "plot", "sw-1", "--k"}), "--kind\n");
  EXPECT_EQ(Complete(bash.out, {"sweep", "compl"}), "completion\n");

  CommandResult zsh = RunSweep({"completion", "zsh"});
  ASSERT_EQ(zsh.exit_code, 0) << zsh.err;
  EXPECT_EQ(zsh.out.rfind("#compdef sweep\n", 0), 0u);
  EXPECT_THAT(zsh.out, HasSubstr("bashcompinit"));
  EXPECT_THAT(zsh.out, HasSubstr(bash.out)) << "zsh runs the same completion";

  CommandResult fish = RunSweep({"completion", "fish"});
  EXPECT_EQ(fish.exit_code, 2);
  EXPECT_THAT(fish.err, HasSubstr("fish not in {bash,zsh}")) << fish.err;
  EXPECT_EQ(RunSweep({"completion"}).exit_code, 2);
}

TEST(HelpE2E, ValidateHintsAtARemoteInputAndKeepsTheSpecValid) {
  TempDir dir;
  std::string spec =
      dir.Write("remote.yml",
                "type: sweep\n"
                "trial: {command: 'echo ${{inputs.data}}'}\n"
                "compute: cpu-cluster\n"
                "search_space: {x: {type: choice, values: [1]}}\n"
                "objective: {primary_metric: a, goal: maximize}\n"
                "inputs:\n"
                "  data: {type: uri_folder, path: azureml://datastores/d/paths/x}\n");
  CommandResult r = RunSweep({"validate", spec});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("hint: " + spec +
                               ":7:34: inputs.data.path: 'azureml://datastores/d/paths/x' is a "
                               "remote URI: Sweep reads local paths"));
  EXPECT_THAT(r.err, HasSubstr("give its path, e.g. `path: ./data`"));
  nlohmann::json j = ParseJson(RunSweep({"validate", spec, "--json"}));
  EXPECT_EQ(j["valid"], true);
  ASSERT_EQ(j["hints"].size(), 1u);
  EXPECT_THAT(j["hints"][0].get<std::string>(), HasSubstr("is a remote URI"));
}

// `sweep worker --keep-attempts` takes a count: a negative or non-numeric one is refused
// before the worker reads its token or contacts anything.
TEST(HelpE2E, WorkerRefusesABadKeepAttempts) {
  for (const char* bad : {"-1", "many"}) {
    CommandResult r = RunSweep({"worker", "--server", "127.0.0.1:1", "--compute", "c",
                                "--token-file", "/nonexistent/token", "--keep-attempts", bad});
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_THAT(r.err, HasSubstr("--keep-attempts")) << bad;
    EXPECT_THAT(r.err, Not(HasSubstr("token"))) << bad << ": refused before the token is read";
  }
}

}  // namespace
}  // namespace sweep::e2e

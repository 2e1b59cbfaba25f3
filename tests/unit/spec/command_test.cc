// Command templates: word splitting, references, and BuildArgv.
#include "spec/command.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spec/spec.h"

namespace sweep::spec {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Renders split words as strings, references as {{body}}.
std::vector<std::string> Words(const std::string& command) {
  absl::StatusOr<std::vector<CommandWord>> words = SplitCommand(command);
  EXPECT_TRUE(words.ok()) << words.status();
  std::vector<std::string> out;
  if (!words.ok()) return out;
  for (const CommandWord& w : *words) {
    std::string text;
    for (const CommandSegment& s : w.segments) {
      text += s.is_reference ? "{{" + s.text + "}}" : s.text;
    }
    out.push_back(text);
  }
  return out;
}

std::string SplitError(const std::string& command) {
  absl::StatusOr<std::vector<CommandWord>> words = SplitCommand(command);
  EXPECT_FALSE(words.ok()) << command;
  return words.ok() ? "" : std::string(words.status().message());
}

TEST(SplitCommandTest, BlanksSeparateWords) {
  EXPECT_THAT(Words("python3  train.py\t--epochs 3\n--fast"),
              ElementsAre("python3", "train.py", "--epochs", "3", "--fast"));
  EXPECT_THAT(Words("   "), ElementsAre());
}

TEST(SplitCommandTest, Quoting) {
  EXPECT_THAT(Words("echo 'a b' \"c d\" e\\ f"), ElementsAre("echo", "a b", "c d", "e f"));
  EXPECT_THAT(Words("echo 'it\"s' \"it's\""), ElementsAre("echo", "it\"s", "it's"));
  EXPECT_THAT(Words("echo \"a \\\"q\\\" \\\\ \\$HOME \\n\""),
              ElementsAre("echo", "a \"q\" \\ $HOME \\n"));
  EXPECT_THAT(Words("echo '\\n' a'b'\"c\"d"), ElementsAre("echo", "\\n", "abcd"));
  EXPECT_THAT(Words("echo '' \"\" x"), ElementsAre("echo", "", "", "x"));
  EXPECT_THAT(Words("echo a\\\nb c"), ElementsAre("echo", "ab", "c"));
  EXPECT_THAT(Words("echo 'a;b|c>d' \"x && y\""), ElementsAre("echo", "a;b|c>d", "x && y"));
  // Shell syntax is kept as written for the shell (ParseCommandTest below).
  EXPECT_THAT(Words("echo $HOME ~ *.py"), ElementsAre("echo", "$HOME", "~", "*.py"));
}

TEST(SplitCommandTest, References) {
  EXPECT_THAT(Words("train --lr ${{search_space.lr}} --x=${{ search_space.x }}b"),
              ElementsAre("train", "--lr", "{{search_space.lr}}", "--x={{search_space.x}}b"));
  // Inside quotes too (Azure substitutes before any shell would run); a blank inside the
  // braces does not split the word.
  EXPECT_THAT(Words("train '${{search_space.a}} x' \"${{inputs.d}}\""),
              ElementsAre("train", "{{search_space.a}} x", "{{inputs.d}}"));
  // \${{ keeps the text literal.
  EXPECT_THAT(Words("echo \\${{search_space.a}}"), ElementsAre("echo", "${{search_space.a}}"));
}

TEST(SplitCommandTest, Errors) {
  EXPECT_EQ(SplitError("echo 'abc"), "unterminated single quote opened at character 6");
  EXPECT_EQ(SplitError("echo \"abc"), "unterminated double quote opened at character 6");
  EXPECT_EQ(SplitError("train ${{search_space.lr"),
            "unterminated '${{' at character 7: close it with '}}'");
  EXPECT_EQ(SplitError("echo $(date"), "unterminated '(' opened at character 6");
  EXPECT_EQ(SplitError("echo `date"), "unterminated '`' opened at character 6");
  // No quoting keeps a value one word inside backquotes, ${...} or $((...)).
  EXPECT_THAT(SplitError("echo `echo ${{search_space.a}}`"),
              HasSubstr("${{search_space.a}} at character 12 stands inside backquotes"));
  EXPECT_THAT(SplitError("echo ${X:-${{search_space.a}}}"),
              HasSubstr("stands inside a parameter expansion ${...}"));
  EXPECT_THAT(SplitError("echo $(( ${{search_space.a}} * 2 ))"),
              HasSubstr("stands inside an arithmetic expansion $((...))"));
}

// What makes a command run through the shell, and where it was found.
std::string ShellSyntax(const std::string& command) {
  absl::StatusOr<ParsedCommand> parsed = ParseCommand(command);
  EXPECT_TRUE(parsed.ok()) << command << ": " << parsed.status();
  return parsed.ok() ? parsed->shell_syntax : "?";
}

TEST(ParseCommandTest, ShellSyntaxIsFound) {
  EXPECT_EQ(ShellSyntax("python3 train.py --lr ${{search_space.lr}} 'a;b' \"x && y\" \\$HOME"), "");
  EXPECT_EQ(ShellSyntax("cd src && python train.py"), "'&&' at character 8");
  EXPECT_EQ(ShellSyntax("cd src"), "'cd' (a shell builtin) as the first word");
  EXPECT_EQ(ShellSyntax("pip install 'mlflow<2.19' -q && python train.py"), "'&&' at character 30");
  EXPECT_EQ(ShellSyntax("a || b"), "'||' at character 3");
  EXPECT_EQ(ShellSyntax("train | tee log"), "'|' at character 7");
  EXPECT_EQ(ShellSyntax("train; rm x"), "';' at character 6");
  EXPECT_EQ(ShellSyntax("train > log.txt"), "'>' at character 7");
  EXPECT_EQ(ShellSyntax("train 2>>err.txt"), "'>>' at character 8");
  EXPECT_EQ(ShellSyntax("train < in"), "'<' at character 7");
  EXPECT_EQ(ShellSyntax("$HOME/venv/bin/python t.py"), "'$HOME' at character 1");
  EXPECT_EQ(ShellSyntax("echo \"$USER\""), "'$USER' at character 7");
  EXPECT_EQ(ShellSyntax("echo ${HOME}"), "'${' at character 6");
  EXPECT_EQ(ShellSyntax("echo $(date)"), "'$(' at character 6");
  EXPECT_EQ(ShellSyntax("echo `date`"), "'`' at character 6");
  EXPECT_EQ(ShellSyntax("python *.py"), "'*' (a glob) at character 8");
  EXPECT_EQ(ShellSyntax("ls ~/data"), "'~' (the home directory) at character 4");
  EXPECT_EQ(ShellSyntax("train # a note"), "'#' (a comment) at character 7");
  EXPECT_EQ(ShellSyntax("OMP_NUM_THREADS=1 python t.py"),
            "'OMP_NUM_THREADS=' (a variable assignment) as the first word");
  EXPECT_EQ(ShellSyntax("export A=1\npython t.py"), "'export' (a shell builtin) as the first word");
  // Quoted or escaped, the same characters are text.
  EXPECT_EQ(ShellSyntax("echo '$HOME' \\* \"a|b\" x#y --a=~"), "");
}

TEST(ParseCommandTest, KeepsTheShellTextAroundWords) {
  absl::StatusOr<ParsedCommand> parsed =
      ParseCommand("cd src&&python t.py --x \"a ${{search_space.x}}\" > log.txt # done\n");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  std::vector<std::string> raw;
  for (const CommandWord& w : parsed->words) {
    std::string text = "[" + w.before + "]";
    for (const CommandSegment& s : w.segments)
      text += s.is_reference ? "{{" + s.text + "}}" : s.raw;
    raw.push_back(text);
  }
  EXPECT_THAT(raw, ElementsAre("[]cd", "[ ]src", "[&&]python", "[ ]t.py", "[ ]--x",
                               "[ ]\"a {{search_space.x}}\"", "[ > ]log.txt"));
  EXPECT_EQ(parsed->trailing, " # done\n");
  EXPECT_EQ(parsed->words[5].segments[1].context, QuoteContext::kDouble);
}

TEST(ParseCommandReferenceTest, Kinds) {
  absl::StatusOr<CommandReference> ref = ParseCommandReference("search_space.lr");
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->kind, CommandReference::Kind::kSearchSpace);
  EXPECT_EQ(ref->name, "lr");
  ref = ParseCommandReference("inputs.data_1");
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->kind, CommandReference::Kind::kInputs);
  EXPECT_EQ(ref->name, "data_1");
  ref = ParseCommandReference("outputs.model");
  ASSERT_TRUE(ref.ok());
  EXPECT_EQ(ref->kind, CommandReference::Kind::kOutputs);
  EXPECT_EQ(ParseCommandReference("jobs.model").status().message(),
            "unsupported reference '${{jobs.model}}': use ${{search_space.NAME}}, "
            "${{inputs.NAME}} or ${{outputs.NAME}}");
  EXPECT_EQ(ParseCommandReference("search_space.a-b").status().message(),
            "invalid reference '${{search_space.a-b}}': 'a-b' is not a valid name");
  EXPECT_FALSE(ParseCommandReference("search_space.").ok());
}

// A spec parsed from text, with a nested choice so some parameters can be inactive.
SweepSpec MakeSpec(const std::string& command) {
  absl::StatusOr<SweepSpec> spec = ParseSpec(
      "type: sweep\n"
      "trial:\n"
      "  command: >-\n"
      "    " +
          command +
          "\n"
          "inputs:\n"
          "  data: /data/train set.csv\n"
          "  epochs: 10\n"
          "compute: cpu-cluster\n"
          "search_space:\n"
          "  lr: {type: loguniform, min_value: -9, max_value: -1}\n"
          "  note: {type: choice, values: ['a b', '; rm -rf ~', '$(reboot)', \"it's\"]}\n"
          "  model:\n"
          "    type: choice\n"
          "    values:\n"
          "      - {model_name: svm, C: {type: uniform, min_value: 0, max_value: 1}}\n"
          "      - {model_name: forest, depth: {type: randint, upper: 8}}\n"
          "objective: {primary_metric: accuracy, goal: maximize}\n",
      "spec.yml", "/tmp");
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.ok() ? *spec : SweepSpec();
}

TEST(BuildArgvTest, SubstitutesValuesFormattedLikeParamValueToString) {
  SweepSpec spec = MakeSpec(
      "python3 train.py --lr ${{search_space.lr}} --model ${{search_space.model_name}} "
      "--choice=${{search_space.model}} --epochs ${{inputs.epochs}}");
  core::Config config = {{"lr", 0.001},
                         {"note", std::string("a b")},
                         {"model", int64_t{0}},
                         {"model_name", std::string("svm")},
                         {"C", 0.5}};
  absl::StatusOr<std::vector<std::string>> argv = BuildArgv(spec, config);
  ASSERT_TRUE(argv.ok()) << argv.status();
  EXPECT_THAT(*argv, ElementsAre("python3", "train.py", "--lr", "0.001", "--model", "svm",
                                 "--choice=0", "--epochs", "10"));
}

TEST(BuildArgvTest, ValuesNeverSplitOrRunAsShell) {
  SweepSpec spec = MakeSpec("train --note ${{search_space.note}} --data ${{inputs.data}}");
  for (const char* note : {"a b", "; rm -rf ~", "$(reboot)", "it's"}) {
    core::Config config = {{"lr", 0.1},
                           {"note", std::string(note)},
                           {"model", int64_t{1}},
                           {"model_name", std::string("forest")},
                           {"depth", int64_t{3}}};
    absl::StatusOr<std::vector<std::string>> argv = BuildArgv(spec, config);
    ASSERT_TRUE(argv.ok()) << argv.status();
    EXPECT_THAT(*argv, ElementsAre("train", "--note", note, "--data", "/data/train set.csv"));
  }
}

TEST(BuildArgvTest, SubstitutionInsideAWordAndQuotes) {
  SweepSpec spec = MakeSpec(
      "train --tag=run_${{search_space.model_name}}_${{search_space.depth}} "
      "'${{search_space.note}} !' \"x ${{inputs.epochs}}\"");
  core::Config config = {{"lr", 0.1},
                         {"note", std::string("; rm -rf ~")},
                         {"model", int64_t{1}},
                         {"model_name", std::string("forest")},
                         {"depth", int64_t{7}}};
  absl::StatusOr<std::vector<std::string>> argv = BuildArgv(spec, config);
  ASSERT_TRUE(argv.ok()) << argv.status();
  EXPECT_THAT(*argv, ElementsAre("train", "--tag=run_forest_7", "; rm -rf ~ !", "x 10"));
}

TEST(BuildArgvTest, InactiveParametersAreDroppedWithTheirOption) {
  SweepSpec spec = MakeSpec(
      "train --C ${{search_space.C}} --depth ${{search_space.depth}} -d ${{search_space.depth}} "
      "--c=${{search_space.C}} ${{search_space.depth}} -1 ${{search_space.C}} "
      "--model ${{search_space.model_name}}");
  core::Config svm = {{"lr", 0.1},
                      {"note", std::string("a b")},
                      {"model", int64_t{0}},
                      {"model_name", std::string("svm")},
                      {"C", 0.25}};
  absl::StatusOr<std::vector<std::string>> argv = BuildArgv(spec, svm);
  ASSERT_TRUE(argv.ok()) << argv.status();
  // depth is inactive: "--depth X", "-d X", and the bare word go; "-1" is a number, kept.
  EXPECT_THAT(*argv,
              ElementsAre("train", "--C", "0.25", "--c=0.25", "-1", "0.25", "--model", "svm"));

  core::Config forest = {{"lr", 0.1},
                         {"note", std::string("a b")},
                         {"model", int64_t{1}},
                         {"model_name", std::string("forest")},
                         {"depth", int64_t{4}}};
  argv = BuildArgv(spec, forest);
  ASSERT_TRUE(argv.ok()) << argv.status();
  // C is inactive: "--C X" and "--c=X" go; before the last C, "-1" is not an option.
  EXPECT_THAT(*argv,
              ElementsAre("train", "--depth", "4", "-d", "4", "4", "-1", "--model", "forest"));
}

TEST(BuildArgvTest, OnlyTheImmediatelyPrecedingOptionIsDropped) {
  SweepSpec spec = MakeSpec("train --verbose --C ${{search_space.C}} ${{search_space.C}}");
  core::Config forest = {{"lr", 0.1},
                         {"note", std::string("a b")},
                         {"model", int64_t{1}},
                         {"model_name", std::string("forest")},
                         {"depth", int64_t{4}}};
  absl::StatusOr<std::vector<std::string>> argv = BuildArgv(spec, forest);
  ASSERT_TRUE(argv.ok()) << argv.status();
  EXPECT_THAT(*argv, ElementsAre("train", "--verbose"));
}

TEST(BuildArgvTest, UnknownReferencesFail) {
  SweepSpec spec = MakeSpec("train --lr ${{search_space.lr}}");
  core::Config config = {{"lr", 0.1}};
  spec.trial.command = "train --m ${{search_space.momentum}}";
  EXPECT_EQ(BuildArgv(spec, config).status().message(),
            "trial.command: ${{search_space.momentum}} names no parameter of search_space");
  spec.trial.command = "train --d ${{inputs.valid}}";
  EXPECT_EQ(BuildArgv(spec, config).status().message(),
            "trial.command: ${{inputs.valid}} names no entry of inputs");
  spec.trial.command = "train ${{outputs.x}}";
  EXPECT_EQ(BuildArgv(spec, config).status().message(),
            "trial.command: ${{outputs.x}} names no entry of outputs");
  spec.trial.command = "train ${{job.x}}";
  EXPECT_THAT(BuildArgv(spec, config).status().message(),
              HasSubstr("trial.command: unsupported reference '${{job.x}}'"));
  spec.trial.command = "train 'open";
  EXPECT_EQ(BuildArgv(spec, config).status().code(), absl::StatusCode::kInvalidArgument);
  spec.trial.command = "${{search_space.C}}";
  EXPECT_EQ(BuildArgv(spec, config).status().message(), "trial.command: no words left to run");
}

TEST(BuildArgvTest, BoolAndIntegerValues) {
  absl::StatusOr<SweepSpec> spec = ParseSpec(
      "type: sweep\ntrial: {command: 'run ${{search_space.flag}} ${{search_space.n}} "
      "${{search_space.x}}'}\ncompute: cpu-cluster\n"
      "search_space: {flag: 'choice(true, false)', n: randint(4), x: 'quniform(0, 10, 1)'}\n"
      "objective: {primary_metric: a, goal: maximize}\n",
      "spec.yml", "/tmp");
  ASSERT_TRUE(spec.ok()) << spec.status();
  absl::StatusOr<std::vector<std::string>> argv =
      BuildArgv(*spec, {{"flag", false}, {"n", int64_t{3}}, {"x", 4.0}});
  ASSERT_TRUE(argv.ok()) << argv.status();
  EXPECT_THAT(*argv, ElementsAre("run", "false", "3", "4"));
}

}  // namespace
}  // namespace sweep::spec

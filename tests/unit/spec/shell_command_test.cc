// Commands run through the shell: every substituted value is one word and never code.
// These tests really run bash on the built script and read back the argv it produced.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "core/shell_quote.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spec/spec.h"

namespace sweep::spec {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

// Runs argv (argv[0] an absolute path) with SWEEP_OUTPUTS_DIR set; returns its stdout.
std::string RunArgv(const std::vector<std::string>& argv, const std::string& outputs_dir) {
  int fds[2];
  if (::pipe(fds) != 0) return "<pipe failed>";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    ::close(fds[1]);
    ::setenv("SWEEP_OUTPUTS_DIR", outputs_dir.c_str(), 1);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, n);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  return out;
}

std::vector<std::string> SplitNul(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\0') {
      out.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "shell-cmd-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

SweepSpec SpecWith(const std::string& command, const std::string& dir) {
  SweepSpec spec;
  spec.trial.command = command;
  spec.inputs["dir"] = dir;
  for (const char* name : {"note", "C"}) {
    core::ParamSpec p;
    p.name = name;
    p.kind = core::ParamKind::kChoice;
    spec.search_space.params.push_back(p);
  }
  spec.trial.outputs["model"] = "uri_folder";
  spec.trial.outputs["report"] = "uri_file";
  return spec;
}

const std::vector<std::string>& HostileValues() {
  static const std::vector<std::string> values = {"a b",
                                                  "; touch INJECTED1",
                                                  "$(touch INJECTED2)",
                                                  "`touch INJECTED3`",
                                                  "it's",
                                                  "\"quoted\"",
                                                  "line1\nline2",
                                                  "\ntouch INJECTED4\n",
                                                  "",
                                                  "$HOME",
                                                  "*",
                                                  "\\",
                                                  "'",
                                                  "--x",
                                                  " leading",
                                                  "a'b\"c$d`e\\f|g&h>i<j",
                                                  "&& touch INJECTED5",
                                                  "${{search_space.note}}",
                                                  "~",
                                                  "-1"};
  return values;
}

TEST_F(TempDirTest, HostileValuesStayOneArgumentInEveryQuoting) {
  SweepSpec spec = SpecWith(
      "cd ${{inputs.dir}} && printf '%s\\0' ${{search_space.note}} x${{search_space.note}}y "
      "\"d ${{search_space.note}}\" 's ${{search_space.note}}' $'a ${{search_space.note}}' "
      "\"$(printf '%s.' ${{search_space.note}})\" --opt ${{search_space.C}} end "
      "# ${{search_space.note}}",
      dir_);
  for (const std::string& note : HostileValues()) {
    SCOPED_TRACE(note);
    absl::StatusOr<TrialCommand> command = BuildTrialCommand(spec, {{"note", note}});
    ASSERT_TRUE(command.ok()) << command.status();
    ASSERT_TRUE(command->shell);
    EXPECT_EQ(command->why_shell, "'&&' at character 20");
    ASSERT_EQ(command->argv.size(), 3u);
    EXPECT_EQ(command->argv[0], "/bin/bash");
    EXPECT_EQ(command->argv[1], "-c");
    std::vector<std::string> args = SplitNul(RunArgv(command->argv, dir_ + "/outputs"));
    // C is inactive: "--opt" and its value are gone.
    EXPECT_THAT(args, ElementsAre(note, "x" + note + "y", "d " + note, "s " + note, "a " + note,
                                  note + ".", "end"));
  }
  for (const auto& entry : fs::directory_iterator(dir_)) {
    ADD_FAILURE() << "a value ran as code and created " << entry.path();
  }
}

TEST_F(TempDirTest, ShQuotingWorksToo) {
  // A node without bash runs the script with sh: the quoting is POSIX.
  SweepSpec spec =
      SpecWith("printf '%s\\0' ${{search_space.note}} \"${{search_space.note}}\" | cat", dir_);
  for (const std::string& note : HostileValues()) {
    SCOPED_TRACE(note);
    absl::StatusOr<TrialCommand> command = BuildTrialCommand(spec, {{"note", note}});
    ASSERT_TRUE(command.ok()) << command.status();
    std::vector<std::string> argv = command->argv;
    argv[0] = "/bin/sh";
    EXPECT_THAT(SplitNul(RunArgv(argv, dir_)), ElementsAre(note, note));
  }
}

TEST_F(TempDirTest, OutputsAreDirectoriesUnderTheAttemptsOutputs) {
  SweepSpec spec = SpecWith("printf '%s\\0' ${{outputs.model}} \"r=${{outputs.report}}\"", dir_);
  absl::StatusOr<TrialCommand> command = BuildTrialCommand(spec, {});
  ASSERT_TRUE(command.ok()) << command.status();
  // No shell syntax, but only the node knows the path: the shell reads it.
  EXPECT_TRUE(command->shell);
  EXPECT_EQ(command->why_shell,
            "'${{outputs.model}}' (a directory whose path only the node knows)");
  EXPECT_THAT(command->argv[2], HasSubstr("mkdir -p \"$SWEEP_OUTPUTS_DIR/model\" || exit\n"));
  const std::string outputs = dir_ + "/my outputs";
  fs::create_directories(outputs);
  EXPECT_THAT(SplitNul(RunArgv(command->argv, outputs)),
              ElementsAre(outputs + "/model", "r=" + outputs + "/report"));
  EXPECT_TRUE(fs::is_directory(outputs + "/model"));
  // A uri_file output is a path to write, not a directory.
  EXPECT_FALSE(fs::exists(outputs + "/report"));
}

TEST(TrialCommandTest, CommandsWithoutShellSyntaxRunDirectly) {
  SweepSpec spec = SpecWith("python3 t.py --note ${{search_space.note}} '$HOME' a\\&\\&b", "/d");
  absl::StatusOr<TrialCommand> command = BuildTrialCommand(spec, {{"note", std::string("; x")}});
  ASSERT_TRUE(command.ok()) << command.status();
  EXPECT_FALSE(command->shell);
  EXPECT_EQ(command->why_shell, "");
  EXPECT_THAT(command->argv, ElementsAre("python3", "t.py", "--note", "; x", "$HOME", "a&&b"));
}

TEST(TrialCommandTest, InactiveWordsDropWithTheirOptionButNotAcrossOperators) {
  SweepSpec spec = SpecWith("a --c ${{search_space.C}} && b --c; ${{search_space.C}} x", "/d");
  absl::StatusOr<TrialCommand> command = BuildTrialCommand(spec, {{"note", std::string("n")}});
  ASSERT_TRUE(command.ok()) << command.status();
  // The second "--c" is not next to the reference (a ';' stands between): it stays.
  EXPECT_EQ(command->argv[2], "a   && b --c;  x");
}

TEST(TrialCommandTest, ShellQuoteIsOneWord) {
  EXPECT_EQ(core::ShellQuote(""), "''");
  EXPECT_EQ(core::ShellQuote("it's"), "'it'\\''s'");
  EXPECT_EQ(core::ShellQuote("$(x)"), "'$(x)'");
}

}  // namespace
}  // namespace sweep::spec

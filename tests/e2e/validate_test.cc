// Every invalid spec under tests/data/specs/invalid is refused by `sweep validate`
// and `sweep run` with exit 2 and its message, and nothing is written.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/e2e/e2e_util.h"

namespace sweep::e2e {
namespace {
namespace fs = std::filesystem;

// The first line of each invalid spec is "# expect: <substring of the message>".
std::string ExpectedMessage(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  const std::string prefix = "# expect: ";
  return line.rfind(prefix, 0) == 0 ? line.substr(prefix.size()) : "";
}

std::vector<fs::path> SpecsIn(const std::string& dir) {
  std::vector<fs::path> paths;
  for (const auto& e : fs::directory_iterator(SourceDir() + "/tests/data/specs/" + dir)) {
    if (e.path().extension() == ".yml") paths.push_back(e.path());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

TEST(ValidateE2E, InvalidSpecsExitTwoWithTheirMessage) {
  std::vector<fs::path> specs = SpecsIn("invalid");
  ASSERT_GE(specs.size(), 30u);
  for (const fs::path& spec : specs) {
    std::string expected = ExpectedMessage(spec);
    ASSERT_FALSE(expected.empty()) << spec << " lacks its '# expect:' line";
    CommandResult r = RunSweep({"validate", spec.string()});
    EXPECT_EQ(r.exit_code, 2) << spec;
    EXPECT_NE(r.err.find(expected), std::string::npos)
        << spec << ": expected '" << expected << "' in:\n"
        << r.err;
  }
}

// Every file under `dir`, relative to it.
std::vector<std::string> FilesUnder(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    files.push_back(fs::relative(e.path(), dir).string());
  }
  return files;
}

TEST(ValidateE2E, RunRefusesInvalidSpecsAndWritesNothing) {
  // Where a refused run could write: an existing empty workspace directory, and one that
  // does not exist yet.
  TempDir dir;
  const std::string empty_ws = dir.path() + "/empty";
  const std::string new_ws = dir.path() + "/new";
  fs::create_directories(empty_ws);
  for (const fs::path& spec : SpecsIn("invalid")) {
    for (const std::string& ws : {empty_ws, new_ws}) {
      CommandResult r = RunSweep({"run", spec.string(), "--workspace", ws});
      EXPECT_EQ(r.exit_code, 2) << spec << r.err;
      EXPECT_NE(r.err.find(ExpectedMessage(spec)), std::string::npos) << spec << r.err;
      EXPECT_EQ(FilesUnder(empty_ws), std::vector<std::string>{}) << spec << " wrote into it";
      EXPECT_FALSE(fs::exists(new_ws)) << spec << " created the workspace";
    }
  }
}

TEST(ValidateE2E, ValidSpecsAndExamplesPass) {
  std::vector<fs::path> specs = SpecsIn("valid");
  specs.push_back(SourceDir() + "/examples/quickstart/sweep.yml");
  specs.push_back(SourceDir() + "/examples/sklearn-automl/sweep.yml");
  specs.push_back(SourceDir() + "/examples/iris-mlflow/sweep.yml");
  for (const fs::path& spec : specs) {
    CommandResult r = RunSweep({"validate", spec.string()});
    EXPECT_EQ(r.exit_code, 0) << spec << r.err;
    EXPECT_NE(r.out.find("is valid"), std::string::npos) << r.out;
    CommandResult j = RunSweep({"validate", spec.string(), "--json"});
    EXPECT_EQ(ParseJson(j)["valid"], true);
  }
}

TEST(ValidateE2E, MissingSpecFileIsAUsageError) {
  CommandResult r = RunSweep({"validate", "/nonexistent/spec.yml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("/nonexistent/spec.yml"), std::string::npos) << r.err;
}

TEST(ValidateE2E, UsageErrorsExitTwo) {
  EXPECT_EQ(RunSweep({}).exit_code, 2);
  EXPECT_EQ(RunSweep({"frobnicate"}).exit_code, 2);
  EXPECT_EQ(RunSweep({"trials"}).exit_code, 2);
  CommandResult help = RunSweep({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("validate"), std::string::npos);
  CommandResult run_help = RunSweep({"run", "--help"});
  EXPECT_EQ(run_help.exit_code, 0);
  EXPECT_NE(run_help.out.find("--listen"), std::string::npos);
}

TEST(ValidateE2E, QueriesOnAMissingWorkspaceSayWhere) {
  TempDir dir;
  CommandResult r = RunSweep({"ls", "--workspace", dir.path() + "/nowhere"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find(dir.path() + "/nowhere"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace sweep::e2e

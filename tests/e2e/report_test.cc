// `sweep report` and `sweep plot` on a real sweep (nested space, early termination, a
// failed trial): the files, their bad inputs, the same output through a server, and the
// report rendered by headless Chromium without a console error (the screenshot is kept in
// <build>/test-artifacts/).
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/e2e_util.h"
#include "tests/test_services.h"

namespace sweep::e2e {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A nested space (svm with C, rf with depth), a bandit policy that stops the weak trials,
// and trial 7 failing.
std::string WriteNestedSweep(const TempDir& dir) {
  dir.Write("code/train.py",
            "import json, math, os, sys, time\n"
            "p = json.loads(os.environ['SWEEP_PARAMS'])\n"
            "if os.environ['SWEEP_TRIAL_ID'] == '7':\n"
            "    sys.exit(3)\n"
            "if p['model'] == 'svm':\n"
            "    base = 0.6 + 0.3 * math.exp(-abs(math.log10(p['C']) - 1))\n"
            "else:\n"
            "    base = 0.7 + 0.02 * p['depth']\n"
            "for epoch in range(1, 7):\n"
            "    print(f'epoch={epoch} accuracy={base * (1 - 0.5 / epoch):.4f}', flush=True)\n"
            "    time.sleep(0.15)\n");
  return dir.Write("sweep.yml",
                   "type: sweep\n"
                   "display_name: nested-demo\n"
                   "trial: {code: code, command: python3 train.py}\n"
                   "compute: azureml:cpu-cluster\n"
                   "sampling_algorithm: {type: random, seed: 3}\n"
                   "search_space:\n"
                   "  estimator:\n"
                   "    type: choice\n"
                   "    values:\n"
                   "      - {model: svm, C: {type: loguniform, min_value: -3, max_value: 6}}\n"
                   "      - {model: rf, depth: {type: randint, upper: 10}}\n"
                   "objective: {primary_metric: accuracy, goal: maximize}\n"
                   "early_termination: {type: bandit, slack_factor: 0.05, "
                   "evaluation_interval: 1, delay_evaluation: 2}\n"
                   "limits: {max_total_trials: 10, max_concurrent_trials: 2}\n");
}

class ReportE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    CommandResult run =
        RunSweep({"run", WriteNestedSweep(*dir_), "--json", "--workspace", Ws()}, 300);
    ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
    id_ = new std::string(ParseJson(run)["id"].get<std::string>());
  }
  static void TearDownTestSuite() {
    delete dir_;
    delete id_;
  }
  static std::string Ws() { return dir_->path() + "/ws"; }

  static TempDir* dir_;
  static std::string* id_;
};
TempDir* ReportE2E::dir_ = nullptr;
std::string* ReportE2E::id_ = nullptr;

TEST_F(ReportE2E, WritesASelfContainedReport) {
  std::string out = dir_->path() + "/report.html";
  CommandResult r = RunSweep({"report", id_->substr(0, 6), "--out", out, "--workspace", Ws()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("wrote the report of " + *id_ + " to " + out));
  std::string html = ReadAll(out);
  for (const char* section :
       {"convergence", "parallel", "importance", "scatter", "curves", "trials"}) {
    EXPECT_THAT(html, HasSubstr(std::string("<section id=\"") + section + "\">")) << section;
  }
  EXPECT_THAT(html, HasSubstr("nested-demo"));
  EXPECT_THAT(html, HasSubstr("PED-ANOVA"));
  EXPECT_THAT(html, HasSubstr(">inactive<"));           // C or depth in every trial
  EXPECT_THAT(html, HasSubstr("class=\"stop-mark\""));  // the bandit stopped some trials
  EXPECT_THAT(html, HasSubstr("exited with code 3"));
  EXPECT_THAT(html, Not(HasSubstr("<script")));

  // --json says where it went; - writes to stdout.
  CommandResult j = RunSweep({"report", *id_, "--out", out, "--json", "--workspace", Ws()});
  ASSERT_EQ(j.exit_code, 0) << j.err;
  EXPECT_EQ(ParseJson(j)["path"], out);
  CommandResult stdout_report = RunSweep({"report", *id_, "--out", "-", "--workspace", Ws()});
  ASSERT_EQ(stdout_report.exit_code, 0);
  EXPECT_THAT(stdout_report.out, HasSubstr("<!DOCTYPE html>"));
}

TEST_F(ReportE2E, PlotsOneKindPerFile) {
  for (const char* kind : {"convergence", "parallel", "curves", "importance"}) {
    std::string out = dir_->path() + "/" + kind + ".svg";
    CommandResult r = RunSweep({"plot", *id_, "--kind", kind, "--out", out, "--workspace", Ws()});
    ASSERT_EQ(r.exit_code, 0) << kind << ": " << r.err;
    std::string svg = ReadAll(out);
    EXPECT_THAT(svg, HasSubstr("<?xml version=\"1.0\""));
    EXPECT_THAT(svg, HasSubstr(std::string("class=\"plot ") + kind + "\"")) << kind;
  }
  // One mark per trial in the convergence plot: the 10 trials.
  std::string svg = ReadAll(dir_->path() + "/convergence.svg");
  std::regex mark("class=\"mark [^\"]*\" data-trial=\"(\\d+)\"");
  EXPECT_EQ(
      std::distance(std::sregex_iterator(svg.begin(), svg.end(), mark), std::sregex_iterator()),
      10);
  // The default file name.
  CommandResult r = RunCommand({"sh", "-c",
                                "cd " + dir_->path() + " && " + SweepBinary() + " plot " + *id_ +
                                    " --kind curves --workspace " + Ws()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir_->path() + "/" + *id_ + "-curves.svg"));
}

TEST_F(ReportE2E, BadInputsAreClearAndWriteNothing) {
  CommandResult kind = RunSweep({"plot", *id_, "--kind", "scatter", "--workspace", Ws()});
  EXPECT_EQ(kind.exit_code, 2);
  EXPECT_THAT(kind.err, HasSubstr("scatter not in {convergence,parallel,curves,importance}"));

  CommandResult dir =
      RunSweep({"report", *id_, "--out", dir_->path() + "/missing/r.html", "--workspace", Ws()});
  EXPECT_EQ(dir.exit_code, 2);
  EXPECT_THAT(dir.err, HasSubstr("missing does not exist"));
  EXPECT_FALSE(fs::exists(dir_->path() + "/missing"));

  CommandResult is_dir = RunSweep({"report", *id_, "--out", dir_->path(), "--workspace", Ws()});
  EXPECT_EQ(is_dir.exit_code, 2);
  EXPECT_THAT(is_dir.err, HasSubstr("is a directory"));

  CommandResult unknown = RunSweep({"report", "sw-nope", "--workspace", Ws()});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("no sweep 'sw-nope'"));

  CommandResult no_ws = RunSweep({"report", *id_, "--workspace", dir_->path() + "/none"});
  EXPECT_NE(no_ws.exit_code, 0);
  EXPECT_FALSE(fs::exists(dir_->path() + "/none"));
}

TEST_F(ReportE2E, SameReportThroughAServer) {
  BackgroundSweep server({"server", "--listen", "127.0.0.1:0", "--json", "--workspace", Ws()});
  nlohmann::json banner = nlohmann::json::parse(server.WaitFirstLine(60), nullptr, false);
  ASSERT_FALSE(banner.is_discarded());
  std::string address = banner["address"];
  std::string local = dir_->path() + "/local.svg", remote = dir_->path() + "/remote.svg";
  ASSERT_EQ(
      RunSweep({"plot", *id_, "--kind", "parallel", "--out", local, "--workspace", Ws()}).exit_code,
      0);
  CommandResult r = RunSweep({"plot", *id_, "--kind", "parallel", "--out", remote, "--server",
                              address, "--token-file", Ws() + "/token"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(ReadAll(local), ReadAll(remote));
  CommandResult report = RunSweep({"report", *id_, "--out", dir_->path() + "/remote.html",
                                   "--server", address, "--token-file", Ws() + "/token"});
  EXPECT_EQ(report.exit_code, 0) << report.err;
  server.Signal(SIGTERM);
  EXPECT_EQ(server.Wait(60).exit_code, 0);
}

// Headless Chromium: the flags keep it from touching the network or any profile.
CommandResult Chromium(const std::string& html, const std::string& png, const TempDir& profile) {
  return RunCommand(
      {"chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
       "--no-first-run", "--disable-background-networking", "--disable-component-update",
       "--disable-sync", "--user-data-dir=" + profile.path(), "--enable-logging=stderr", "--v=0",
       "--hide-scrollbars", "--window-size=1280,4000", "--screenshot=" + png, "file://" + html},
      120);
}

// Console messages (SVG attribute errors, failed loads, ...) Chromium logged.
std::vector<std::string> ConsoleLines(const CommandResult& r) {
  std::vector<std::string> lines;
  std::istringstream in(r.out + r.err);
  for (std::string line; std::getline(in, line);) {
    if (line.find(":CONSOLE") != std::string::npos) lines.push_back(line);
  }
  return lines;
}

TEST_F(ReportE2E, ChromiumRendersItWithoutConsoleErrors) {
  SWEEP_REQUIRE_TOOL("chromium", "chromium");
  std::string html = dir_->path() + "/rendered.html";
  ASSERT_EQ(RunSweep({"report", *id_, "--out", html, "--workspace", Ws()}).exit_code, 0);
  fs::create_directories(SWEEP_ARTIFACT_DIR);
  std::string png = std::string(SWEEP_ARTIFACT_DIR) + "/report.png";
  fs::remove(png);
  TempDir profile;
  CommandResult r = Chromium(html, png, profile);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(ConsoleLines(r), ::testing::IsEmpty()) << r.err;
  ASSERT_TRUE(fs::exists(png)) << r.err;
  EXPECT_GT(fs::file_size(png), 50'000u);  // a page of plots, not a blank one

  // The check sees errors: the same page with a broken SVG attribute logs one.
  std::string broken = dir_->path() + "/broken.html";
  std::ofstream(broken) << std::regex_replace(ReadAll(html), std::regex("r=\"3.5\""), "r=\"3.5/\"");
  TempDir profile2;
  CommandResult b = Chromium(broken, dir_->path() + "/broken.png", profile2);
  EXPECT_THAT(ConsoleLines(b), Not(::testing::IsEmpty()));
}

}  // namespace
}  // namespace sweep::e2e

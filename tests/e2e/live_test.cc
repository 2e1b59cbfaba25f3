// The live view, driven like a user in a terminal: tmux runs `sweep run` and
// `sweep watch` in a pseudo-terminal of a fixed size, and the test reads the screen.
// Also: `sweep run --json` prints pure JSON, and without a terminal both commands print
// log lines.
#include <unistd.h>

#include <filesystem>
#include <fstream>
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

// A tmux server of its own, running one command in a 110x36 window. Its socket is in the
// test's directory (-S), so nothing is left in /tmp/tmux-UID.
class Tmux {
 public:
  Tmux(const TempDir& dir, const std::string& command)
      : socket_(dir.path() + "/tmux-" + std::to_string(++count_) + ".sock") {
    CommandResult r = RunCommand({"tmux", "-S", socket_, "new-session", "-d", "-x", "110", "-y",
                                  "36", "env -u SWEEP_WORKSPACE " + command});
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  ~Tmux() { RunCommand({"tmux", "-S", socket_, "kill-server"}); }

  // The screen's text; with `escapes`, its colour sequences too.
  std::string Screen(bool escapes = false) const {
    std::vector<std::string> argv = {"tmux", "-S", socket_, "capture-pane", "-p", "-t", "0"};
    if (escapes) argv.push_back("-e");
    return RunCommand(argv).out;
  }
  void Keys(const std::string& keys) const {
    RunCommand({"tmux", "-S", socket_, "send-keys", "-t", "0", keys});
  }
  // Waits until the screen shows `text`; the screen when it does not.
  ::testing::AssertionResult Shows(const std::string& text, int timeout_s = 60) const {
    std::string screen;
    if (WaitFor(
            [&] {
              screen = Screen();
              return screen.find(text) != std::string::npos;
            },
            timeout_s)) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "the screen never showed '" << text << "':\n" << screen;
  }

 private:
  static inline int count_ = 0;
  std::string socket_;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Trial 1 ends at once with accuracy 0.5; the others report twice and then run for a
// minute, so the test has time to look.
std::string SlowSpec(const TempDir& dir, int total = 6) {
  dir.Write("code/train.py",
            "import os, time\n"
            "trial = int(os.environ['SWEEP_TRIAL_ID'])\n"
            "print(f'accuracy={0.5 if trial == 1 else 0.1 * trial}', flush=True)\n"
            "if trial != 1:\n"
            "    time.sleep(0.3)\n"
            "    print(f'accuracy={0.11 * trial}', flush=True)\n"
            "    time.sleep(60)\n");
  return dir.Write("sweep.yml",
                   "type: sweep\n"
                   "display_name: slow\n"
                   "trial: {code: code, command: python3 train.py}\n"
                   "compute: azureml:cpu-cluster\n"
                   "sampling_algorithm: {type: random, seed: 1}\n"
                   "search_space:\n"
                   "  x: {type: uniform, min_value: 0, max_value: 1}\n"
                   "objective: {primary_metric: accuracy, goal: maximize}\n"
                   "limits: {max_total_trials: " +
                       std::to_string(total) + ", max_concurrent_trials: 2}\n");
}

std::string Sh(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : " ") + std::string("'") + w + "'";
  return out;
}

TEST(LiveE2E, RunJsonIsPureJson) {
  TempDir dir;
  dir.Write("code/train.py", "print('accuracy=0.5')\n");
  std::string spec = dir.Write("s.yml",
                               "type: sweep\n"
                               "trial: {code: code, command: python3 train.py}\n"
                               "compute: azureml:cpu-cluster\n"
                               "search_space: {x: {type: choice, values: [1, 2]}}\n"
                               "sampling_algorithm: grid\n"
                               "objective: {primary_metric: accuracy, goal: maximize}\n");
  CommandResult r = RunSweep({"run", spec, "--json", "--workspace", dir.path() + "/ws"}, 120);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);  // the whole stdout
  ASSERT_FALSE(j.is_discarded()) << "stdout is not one JSON document:\n" << r.out;
  EXPECT_EQ(j["id"].get<std::string>().rfind("sw-", 0), 0u);
  EXPECT_EQ(j["state"], "completed");
}

TEST(LiveE2E, RunOnATerminalDrawsTheViewAndCtrlCAsks) {
  SWEEP_REQUIRE_TOOL("tmux", "tmux");
  TempDir dir;
  std::string ws = dir.path() + "/ws", exit_file = dir.path() + "/exit";
  Tmux tmux(dir, Sh({SweepBinary(), "run", SlowSpec(dir), "--workspace", ws}) + "; echo $? > " +
                     exit_file + "; sleep 600");
  ASSERT_TRUE(tmux.Shows("running  TRIAL  NODE"));
  ASSERT_TRUE(tmux.Shows("best     accuracy=0.5 (trial 1)"));
  std::string screen = tmux.Screen();
  EXPECT_THAT(screen, HasSubstr("slow  running  random on cpu-cluster, maximize accuracy"));
  EXPECT_THAT(screen, HasSubstr("progress ["));
  EXPECT_THAT(screen, HasSubstr("1 completed  2 running"));
  EXPECT_THAT(screen, HasSubstr("trials/min   elapsed"));
  EXPECT_THAT(screen, HasSubstr("node-"));
  EXPECT_THAT(screen, HasSubstr("events   "));
  EXPECT_THAT(screen, HasSubstr("Ctrl-C to cancel the sweep"));
  // The latest report of a running trial (its second one) and its interval.
  ASSERT_TRUE(tmux.Shows("  2         0.2"));
  // Redrawn in place: the header is on the screen once.
  screen = tmux.Screen();
  size_t first = screen.find("progress [");
  EXPECT_EQ(screen.find("progress [", first + 1), std::string::npos) << screen;
  EXPECT_THAT(tmux.Screen(/*escapes=*/true), HasSubstr("\x1b["));  // in colour

  // Ctrl-C asks; any other key keeps waiting; c cancels.
  tmux.Keys("C-c");
  ASSERT_TRUE(tmux.Shows("[c] cancel sw-"));
  EXPECT_THAT(tmux.Screen(), HasSubstr("[w] keep waiting"));
  tmux.Keys("w");
  ASSERT_TRUE(tmux.Shows("Ctrl-C to cancel the sweep"));
  EXPECT_THAT(tmux.Screen(), Not(HasSubstr("[c] cancel")));
  tmux.Keys("C-c");
  ASSERT_TRUE(tmux.Shows("[c] cancel sw-"));
  tmux.Keys("c");
  ASSERT_TRUE(tmux.Shows("canceled after"));
  EXPECT_TRUE(WaitFor([&] { return fs::exists(exit_file) && !ReadAll(exit_file).empty(); }, 30));
  EXPECT_EQ(ReadAll(exit_file), "1\n");
  EXPECT_TRUE(WaitFor([&] { return FindWorkers(ws).empty(); }, 30)) << "orphan workers";
}

TEST(LiveE2E, WatchThroughAServerDetachesOrCancels) {
  SWEEP_REQUIRE_TOOL("tmux", "tmux");
  TempDir dir;
  std::string ws = dir.path() + "/ws";
  BackgroundSweep server({"server", "--listen", "127.0.0.1:0", "--json", "--workspace", ws});
  nlohmann::json banner = nlohmann::json::parse(server.WaitFirstLine(60), nullptr, false);
  ASSERT_FALSE(banner.is_discarded());
  std::string address = banner["address"];
  std::vector<std::string> remote = {"--server", address, "--token-file", ws + "/token"};
  std::vector<std::string> submit = {"submit", SlowSpec(dir)};
  submit.insert(submit.end(), remote.begin(), remote.end());
  CommandResult submitted = RunSweep(submit);
  ASSERT_EQ(submitted.exit_code, 0) << submitted.err;
  std::string id = submitted.out.substr(0, submitted.out.find('\n'));
  std::vector<std::string> watch = {SweepBinary(), "watch", id};
  watch.insert(watch.end(), remote.begin(), remote.end());
  std::string exit_file = dir.path() + "/exit";

  {  // NO_COLOR: no colours, the same view; d detaches and the sweep runs on.
    Tmux tmux(dir, "NO_COLOR=1 " + Sh(watch) + "; echo $? > " + exit_file + "; sleep 600");
    ASSERT_TRUE(tmux.Shows("running  TRIAL  NODE"));
    EXPECT_THAT(tmux.Screen(true), Not(HasSubstr("\x1b[3")));  // no colour codes
    tmux.Keys("C-c");
    ASSERT_TRUE(tmux.Shows("[d] detach (it keeps running)"));
    tmux.Keys("d");
    ASSERT_TRUE(tmux.Shows("detached from " + id));
    EXPECT_TRUE(WaitFor([&] { return ReadAll(exit_file) == "0\n"; }, 30));
  }
  std::vector<std::string> show = {"show", id, "--json"};
  show.insert(show.end(), remote.begin(), remote.end());
  EXPECT_EQ(ParseJson(RunSweep(show))["state"], "running");

  fs::remove(exit_file);
  {  // Watching again; c cancels it through the server.
    Tmux tmux(dir, Sh(watch) + "; echo $? > " + exit_file + "; sleep 600");
    ASSERT_TRUE(tmux.Shows("running  TRIAL  NODE"));
    tmux.Keys("C-c");
    ASSERT_TRUE(tmux.Shows("[c] cancel " + id));
    tmux.Keys("c");
    ASSERT_TRUE(tmux.Shows("canceled after"));
    EXPECT_TRUE(WaitFor([&] { return ReadAll(exit_file) == "1\n"; }, 30));
  }
  EXPECT_EQ(ParseJson(RunSweep(show))["state"], "canceled");
  server.Signal(SIGTERM);
  EXPECT_EQ(server.Wait(60).exit_code, 0);
  EXPECT_TRUE(WaitFor([&] { return FindWorkers(ws).empty(); }, 30)) << "orphan workers";
}

TEST(LiveE2E, WithoutATerminalWatchPrintsLogLines) {
  TempDir dir;
  std::string ws = dir.path() + "/ws";
  BackgroundSweep run({"run", SlowSpec(dir, 2), "--workspace", ws});
  std::string id = run.WaitFirstLine(60);  // not a terminal: today's id line first
  ASSERT_EQ(id.rfind("sw-", 0), 0u) << id;
  BackgroundSweep watcher({"watch", id, "--workspace", ws});  // stdout is a file
  ASSERT_TRUE(WaitFor(
      [&] {
        return ParseJson(
                   RunSweep({"trials", id, "--state", "running", "--json", "--workspace", ws}))
                   .size() == 1;
      },
      60));
  ASSERT_EQ(RunSweep({"cancel", id, "--workspace", ws}).exit_code, 0);
  CommandResult watch = watcher.Wait(60);
  EXPECT_EQ(watch.exit_code, 1) << watch.out << watch.err;  // it ended canceled
  EXPECT_THAT(watch.out, HasSubstr("trial 1 started"));
  EXPECT_THAT(watch.out, HasSubstr("sweep canceled"));
  EXPECT_THAT(watch.out, Not(HasSubstr("progress [")));
  EXPECT_THAT(watch.out, Not(HasSubstr("\x1b[")));
  EXPECT_EQ(run.Wait(60).exit_code, 1);
}

TEST(LiveE2E, BadWatchInputs) {
  TempDir dir;
  CommandResult none = RunSweep({"watch", "sw-nope", "--workspace", dir.path() + "/ws"});
  EXPECT_NE(none.exit_code, 0);
  EXPECT_THAT(none.err, HasSubstr("sweep: error:"));
  CommandResult missing = RunSweep({"watch"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.err, HasSubstr("sweep is required"));
}

}  // namespace
}  // namespace sweep::e2e

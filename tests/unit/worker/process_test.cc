// The real posix launcher: argv without a shell, process groups, stop with grace.
#include "worker/process.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/fault_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spdlog/sinks/ostream_sink.h"
#include "tests/test_process.h"
#include "tests/unit/worker/test_files.h"
#include "worker/logging.h"

namespace sweep::worker {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

using ::sweep::worker::testing::ReadFile;

// True while `pid` exists and is not a zombie (PID 1 of a container may never reap).
bool Alive(pid_t pid) { return testutil::ProcessAlive(pid); }

// Polls `pred` for up to 10 s (a generous bound, not a timing assertion).
template <typename Pred>
bool Eventually(Pred pred) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

std::map<std::string, std::string> BaseEnv() { return {{"PATH", "/usr/local/bin:/usr/bin:/bin"}}; }

// Each test runs twice: with the reader watching the exit (a pidfd), and as on a kernel
// without pidfd_open, where a second thread waits for the exit.
class ProcessTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::replace(name.begin(), name.end(), '/', '-');
    dir_ = fs::path(::testing::TempDir()) / ("process-" + std::to_string(::getpid()) + "-" + name);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    if (NoExitWatch()) env_.HideExitWatch();
    launcher_ = NewPosixProcessLauncher(&env_);
  }
  static bool NoExitWatch() { return GetParam(); }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes an executable script into the test directory.
  std::string Script(const std::string& name, const std::string& body) {
    fs::path path = dir_ / name;
    std::ofstream(path) << "#!/bin/sh\n" << body;
    fs::permissions(path, fs::perms::owner_all);
    return path.string();
  }

  // Runs to completion, collecting the lines.
  ExitInfo Run(LaunchSpec spec) {
    spec.on_stdout_line = [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(mu_);
      out_.push_back(line);
    };
    spec.on_stderr_line = [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(mu_);
      err_.push_back(line);
    };
    auto process = launcher_->Launch(spec);
    EXPECT_TRUE(process.ok()) << process.status();
    if (!process.ok()) return {};
    return *(*process)->Wait(-1);
  }

  fs::path dir_;
  core::FaultEnv env_{core::Env::Default()};
  std::unique_ptr<ProcessLauncher> launcher_;
  std::mutex mu_;
  std::vector<std::string> out_, err_;
};

TEST_P(ProcessTest, ArgvReachesTheChildAsIsWithoutAShell) {
  std::string script =
      Script("args.sh", "for a in \"$@\"; do printf '%s\\n' \"$a\"; done > \"$OUT\"\n");
  LaunchSpec spec;
  spec.argv = {script, "; rm -rf ~", "$(touch pwned)", "a b", "*", "`touch pwned2`"};
  spec.env = BaseEnv();
  spec.env["OUT"] = (dir_ / "argv.txt").string();
  spec.working_dir = dir_.string();
  ExitInfo exit = Run(spec);
  EXPECT_EQ(exit.exit_code, 0);
  EXPECT_EQ(ReadFile(dir_ / "argv.txt"), "; rm -rf ~\n$(touch pwned)\na b\n*\n`touch pwned2`\n");
  EXPECT_FALSE(fs::exists(dir_ / "pwned"));
  EXPECT_FALSE(fs::exists(dir_ / "pwned2"));
}

TEST_P(ProcessTest, EchoGetsOneArgument) {
  LaunchSpec spec;
  spec.argv = {"/bin/echo", "; rm -rf ~", "&&", "true"};
  spec.env = BaseEnv();
  EXPECT_EQ(Run(spec).exit_code, 0);
  EXPECT_THAT(out_, ElementsAre("; rm -rf ~ && true"));
}

TEST_P(ProcessTest, OutputIsTeedIntoLogsAndLines) {
  LaunchSpec spec;
  spec.argv = {"sh", "-c", "echo out1; echo err1 >&2; echo out2; printf partial"};
  spec.env = BaseEnv();
  spec.stdout_log = (dir_ / "stdout.log").string();
  spec.stderr_log = (dir_ / "stderr.log").string();
  EXPECT_EQ(Run(spec).exit_code, 0);
  EXPECT_THAT(out_, ElementsAre("out1", "out2", "partial"));
  EXPECT_THAT(err_, ElementsAre("err1"));
  EXPECT_EQ(ReadFile(dir_ / "stdout.log"), "out1\nout2\npartial");
  EXPECT_EQ(ReadFile(dir_ / "stderr.log"), "err1\n");
}

TEST_P(ProcessTest, EnvironmentWorkingDirAndStdin) {
  fs::create_directories(dir_ / "work");
  LaunchSpec spec;
  // `cat` must see end of input at once (stdin is /dev/null).
  spec.argv = {"sh", "-c", "cat; echo \"foo=$FOO\"; pwd; echo \"home=${HOME:-unset}\""};
  spec.env = BaseEnv();
  spec.env["FOO"] = "bar baz";
  spec.working_dir = (dir_ / "work").string();
  EXPECT_EQ(Run(spec).exit_code, 0);
  EXPECT_THAT(out_,
              ElementsAre("foo=bar baz", fs::canonical(dir_ / "work").string(), "home=unset"));
}

TEST_P(ProcessTest, ExitCodeAndSignal) {
  LaunchSpec spec;
  spec.env = BaseEnv();
  spec.argv = {"sh", "-c", "exit 3"};
  ExitInfo exit = Run(spec);
  EXPECT_EQ(exit.exit_code, 3);
  EXPECT_EQ(exit.signal, 0);
  EXPECT_EQ(DescribeExit(exit), "exit code 3");

  spec.argv = {"sh", "-c", "kill -SEGV $$"};
  exit = Run(spec);
  EXPECT_EQ(exit.exit_code, -1);
  EXPECT_EQ(exit.signal, SIGSEGV);
  EXPECT_EQ(DescribeExit(exit), "killed by signal 11 (SIGSEGV)");
}

TEST_P(ProcessTest, CommandNotFound) {
  LaunchSpec spec;
  spec.argv = {"xyz-no-such-command"};
  spec.env = BaseEnv();
  auto process = launcher_->Launch(spec);
  ASSERT_FALSE(process.ok());
  EXPECT_EQ(process.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(process.status().message(),
            "cannot run 'xyz-no-such-command': No such file or directory");
}

TEST_P(ProcessTest, NotExecutable) {
  fs::path path = dir_ / "data.txt";
  std::ofstream(path) << "hello\n";
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
  LaunchSpec spec;
  spec.argv = {path.string()};
  spec.env = BaseEnv();
  auto process = launcher_->Launch(spec);
  ASSERT_FALSE(process.ok());
  EXPECT_EQ(process.status().message(), "cannot run '" + path.string() + "': Permission denied");
}

TEST_P(ProcessTest, EmptyArgvAndMissingWorkingDir) {
  LaunchSpec spec;
  auto empty = launcher_->Launch(spec);
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(empty.status().message(), "cannot run an empty command");

  spec.argv = {"/bin/true"};
  spec.working_dir = (dir_ / "missing").string();
  auto missing = launcher_->Launch(spec);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("working directory '"));
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("missing' does not exist"));
}

// A log that cannot be created must not stop the trial: its lines still reach the agent,
// and the worker's log says which file is missing and why.
TEST_P(ProcessTest, ALogThatCannotBeCreatedIsReportedAndTheTrialRuns) {
  std::ostringstream worker_log;
  struct Capture {  // the worker's log also goes to worker_log while the test runs
    explicit Capture(std::ostringstream& out) {
      Log()->sinks().push_back(std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
    }
    ~Capture() { Log()->sinks().pop_back(); }
  } capture(worker_log);
  LaunchSpec spec;
  spec.argv = {"/bin/sh", "-c", "echo acc=1; echo oops >&2"};
  spec.env = BaseEnv();
  spec.stdout_log = (dir_ / "no-dir" / "stdout.log").string();
  spec.stderr_log = (dir_ / "stderr.log").string();
  EXPECT_EQ(Run(spec).exit_code, 0);
  EXPECT_THAT(out_, ElementsAre("acc=1"));
  EXPECT_THAT(err_, ElementsAre("oops"));
  EXPECT_EQ(ReadFile(dir_ / "stderr.log"), "oops\n");
  EXPECT_THAT(worker_log.str(),
              HasSubstr("cannot create log file '" + (dir_ / "no-dir" / "stdout.log").string() +
                        "': No such file or directory; this output of the trial is not kept"));
}

// A stream the trial never writes to costs no file: creating an inode was the largest part
// of starting an attempt.
TEST_P(ProcessTest, AStreamTheTrialNeverWritesToHasNoLogFile) {
  LaunchSpec spec;
  spec.argv = {"/bin/sh", "-c", "echo loss=1"};
  spec.env = BaseEnv();
  spec.stdout_log = (dir_ / "stdout.log").string();
  spec.stderr_log = (dir_ / "stderr.log").string();
  EXPECT_EQ(Run(spec).exit_code, 0);
  EXPECT_EQ(ReadFile(dir_ / "stdout.log"), "loss=1\n");
  EXPECT_FALSE(fs::exists(dir_ / "stderr.log"));
  // A log left by an earlier attempt in a reused directory is emptied when written again.
  std::ofstream(dir_ / "stderr.log") << "old\n";
  spec.argv = {"/bin/sh", "-c", "echo new >&2"};
  EXPECT_EQ(Run(spec).exit_code, 0);
  EXPECT_EQ(ReadFile(dir_ / "stderr.log"), "new\n");
}

TEST_P(ProcessTest, AFullDiskCutsTheLogButNotTheTrial) {
  core::FaultEnv faults(core::Env::Default());
  if (NoExitWatch()) faults.HideExitWatch();
  faults.DiskFullAfter(10, (dir_ / "stdout.log").string());
  std::unique_ptr<ProcessLauncher> launcher = NewPosixProcessLauncher(&faults);
  std::vector<std::string> lines;
  std::mutex mu;
  LaunchSpec spec;
  spec.argv = {"/bin/sh", "-c", "for i in 1 2 3 4 5 6; do echo line-$i; done"};
  spec.env = BaseEnv();
  spec.stdout_log = (dir_ / "stdout.log").string();
  spec.on_stdout_line = [&](const std::string& line) {
    std::lock_guard<std::mutex> lock(mu);
    lines.push_back(line);
  };
  auto process = launcher->Launch(spec);
  ASSERT_TRUE(process.ok()) << process.status();
  std::optional<ExitInfo> exit = (*process)->Wait(-1);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, 0);
  EXPECT_EQ(lines.size(), 6u);                              // every line reached the agent
  EXPECT_EQ(ReadFile(dir_ / "stdout.log"), "line-1\nlin");  // the log stopped at 10 bytes

  faults.Clear();
  faults.FailWrites((dir_ / "stderr.log").string(), EROFS);
  spec.argv = {"/bin/sh", "-c", "echo loss=2; echo warning >&2"};
  spec.stderr_log = (dir_ / "stderr.log").string();
  lines.clear();
  std::vector<std::string> err_lines;
  spec.on_stderr_line = [&](const std::string& line) {
    std::lock_guard<std::mutex> lock(mu);
    err_lines.push_back(line);
  };
  auto read_only = launcher->Launch(spec);
  ASSERT_TRUE(read_only.ok()) << read_only.status();
  exit = (*read_only)->Wait(-1);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, 0);
  EXPECT_THAT(lines, ElementsAre("loss=2"));
  EXPECT_THAT(err_lines, ElementsAre("warning"));
  EXPECT_FALSE(fs::exists(dir_ / "stderr.log"));
}

// Metric backpressure holds the reader back for longer than the drain window after the
// command exited: what the command wrote before it exited is still read to the end (the
// window was counted in wall time, and the rest of the pipe was dropped).
TEST_P(ProcessTest, OutputWrittenBeforeExitIsReadEvenWhenTheReaderIsHeldBack) {
  std::vector<std::string> lines;
  std::mutex mu;
  LaunchSpec spec;
  spec.argv = {"/bin/sh", "-c", "echo first; sleep 0.2; echo second; echo third"};
  spec.env = BaseEnv();
  spec.on_stdout_line = [&](const std::string& line) {
    if (line == "first") std::this_thread::sleep_for(std::chrono::milliseconds(3'000));
    std::lock_guard<std::mutex> lock(mu);
    lines.push_back(line);
  };
  auto process = launcher_->Launch(spec);
  ASSERT_TRUE(process.ok()) << process.status();
  std::optional<ExitInfo> exit = (*process)->Wait(-1);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, 0);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_THAT(lines, ElementsAre("first", "second", "third"));
}

// Starts `argv`, returns once it printed its first stdout line (the readiness mark).
std::unique_ptr<Process> StartAndWaitReady(ProcessLauncher* launcher, LaunchSpec spec,
                                           std::string* first_line) {
  auto ready = std::make_shared<std::promise<std::string>>();
  auto fired = std::make_shared<std::once_flag>();
  spec.on_stdout_line = [ready, fired](const std::string& line) {
    std::call_once(*fired, [&] { ready->set_value(line); });
  };
  std::future<std::string> future = ready->get_future();
  auto process = launcher->Launch(spec);
  EXPECT_TRUE(process.ok()) << process.status();
  if (!process.ok()) return nullptr;
  EXPECT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  *first_line = future.get();
  return std::move(*process);
}

TEST_P(ProcessTest, StopKillsChildAndGrandchild) {
  LaunchSpec spec;
  spec.argv = {"sh", "-c", "sleep 1000 & echo $!; wait"};
  spec.env = BaseEnv();
  std::string line;
  std::unique_ptr<Process> process = StartAndWaitReady(launcher_.get(), spec, &line);
  ASSERT_NE(process, nullptr);
  pid_t grandchild = std::stoi(line);
  pid_t child = static_cast<pid_t>(process->pid());
  ASSERT_TRUE(Alive(grandchild));
  ASSERT_TRUE(Alive(child));
  EXPECT_EQ(::getpgid(grandchild), child);  // the child leads its own group

  ExitInfo exit = StopProcess(process.get(), 5'000);
  EXPECT_EQ(exit.signal, SIGTERM);
  EXPECT_TRUE(Eventually([&] { return !Alive(grandchild); }));
  EXPECT_FALSE(Alive(child));
}

TEST_P(ProcessTest, SigtermIgnoredGetsSigkillAfterGrace) {
  LaunchSpec spec;
  // Ignored signals are inherited, so the grandchild `sleep` ignores SIGTERM too.
  spec.argv = {"sh", "-c", "trap '' TERM; sleep 1000 & echo $!; wait; wait; wait"};
  spec.env = BaseEnv();
  std::string line;
  std::unique_ptr<Process> process = StartAndWaitReady(launcher_.get(), spec, &line);
  ASSERT_NE(process, nullptr);
  pid_t grandchild = std::stoi(line);

  ExitInfo exit = StopProcess(process.get(), 300);
  EXPECT_EQ(exit.signal, SIGKILL);
  EXPECT_EQ(exit.exit_code, -1);
  EXPECT_TRUE(Eventually([&] { return !Alive(grandchild); }));
}

TEST_P(ProcessTest, GracefulExitOnSigterm) {
  LaunchSpec spec;
  spec.argv = {"sh", "-c",
               "trap 'echo bye; exit 0' TERM; echo ready; while :; do sleep 0.05; done"};
  spec.env = BaseEnv();
  std::vector<std::string> lines;
  std::mutex mu;
  auto ready = std::make_shared<std::promise<void>>();
  spec.on_stdout_line = [&, ready](const std::string& line) {
    std::lock_guard<std::mutex> lock(mu);
    lines.push_back(line);
    if (line == "ready") ready->set_value();
  };
  auto process = launcher_->Launch(spec);
  ASSERT_TRUE(process.ok());
  ASSERT_EQ(ready->get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  ExitInfo exit = StopProcess(process->get(), 10'000);
  EXPECT_EQ(exit.exit_code, 0);
  EXPECT_EQ(exit.signal, 0);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_THAT(lines, ElementsAre("ready", "bye"));
}

TEST_P(ProcessTest, LeftoverGrandchildIsKilledWhenCommandExits) {
  LaunchSpec spec;
  // The background sleep keeps stdout open; the command itself exits at once.
  spec.argv = {"sh", "-c", "sleep 1000 & echo $!"};
  spec.env = BaseEnv();
  pid_t grandchild = 0;
  spec.on_stdout_line = [&](const std::string& line) { grandchild = std::stoi(line); };
  auto process = launcher_->Launch(spec);
  ASSERT_TRUE(process.ok());
  std::optional<ExitInfo> exit = (*process)->Wait(-1);
  ASSERT_TRUE(exit.has_value());
  EXPECT_EQ(exit->exit_code, 0);
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(Eventually([&] { return !Alive(grandchild); }));
}

TEST_P(ProcessTest, WaitTimesOutWhileRunningAndDestructorKills) {
  LaunchSpec spec;
  spec.argv = {"sleep", "1000"};
  spec.env = BaseEnv();
  auto process = launcher_->Launch(spec);
  ASSERT_TRUE(process.ok());
  pid_t pid = static_cast<pid_t>((*process)->pid());
  EXPECT_FALSE((*process)->Wait(50).has_value());
  process->reset();
  EXPECT_FALSE(Alive(pid));
}

// Fault 11: stdout.log grew without bound. It stops at log_max_bytes with a note, while
// every line still reaches the agent.
TEST_P(ProcessTest, ALogStopsAtItsCapWithANote) {
  LaunchSpec spec;
  spec.argv = {"sh", "-c", "i=0; while [ $i -lt 200 ]; do echo line-$i; i=$((i+1)); done"};
  spec.env = BaseEnv();
  spec.stdout_log = (dir_ / "stdout.log").string();
  spec.log_max_bytes = 100;
  EXPECT_EQ(Run(spec).exit_code, 0);
  EXPECT_EQ(out_.size(), 200u);
  const std::string log = ReadFile(dir_ / "stdout.log");
  EXPECT_EQ(log.substr(0, 14), "line-0\nline-1\n");
  EXPECT_EQ(log.substr(100), "\n[sweep: log cut at 100 bytes; later output not kept]\n");
}

// A command that closes its output and runs on is still waited for, in both modes: the
// reader, done with the pipes, waits for the exit itself.
TEST_P(ProcessTest, ACommandThatClosesItsOutputEarlyIsWaitedFor) {
  LaunchSpec spec;
  spec.argv = {"/bin/sh", "-c", "echo early; exec >&- 2>&-; sleep 0.2; exit 3"};
  spec.env = BaseEnv();
  EXPECT_EQ(Run(spec).exit_code, 3);
  EXPECT_THAT(out_, ElementsAre("early"));
}

// Fault 6: a SIGKILLed worker left its trial running with PPID 1.
TEST_P(ProcessTest, ATrialDiesWithTheThreadThatLaunchedIt) {
  std::promise<int64_t> pid;
  std::thread launcher_thread([&] {
    LaunchSpec spec;
    spec.argv = {"sleep", "300"};
    spec.env = BaseEnv();
    auto process = launcher_->Launch(spec);
    ASSERT_TRUE(process.ok()) << process.status();
    pid.set_value((*process)->pid());
    process->release();  // as if the worker died: nobody stops or reaps it
  });
  const pid_t child = static_cast<pid_t>(pid.get_future().get());
  launcher_thread.join();
  EXPECT_TRUE(Eventually([&] { return !Alive(child); })) << "pid " << child << " runs on";
}

INSTANTIATE_TEST_SUITE_P(ExitWatch, ProcessTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "WaitingThread" : "Pidfd";
                         });

}  // namespace
}  // namespace sweep::worker

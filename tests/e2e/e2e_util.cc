#include "tests/e2e/e2e_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "gtest/gtest.h"

namespace sweep::e2e {
namespace fs = std::filesystem;

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// fork/exec with stdout/stderr redirected to files; stdin from /dev/null.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& out_path,
            const std::string& err_path) {
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    int in = open("/dev/null", O_RDONLY);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    unsetenv("SWEEP_WORKSPACE");
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  return pid;
}

// Ends a process the test gave up on: SIGTERM first, so a `sweep` stops what it started
// (its workers run in process groups of their own), then SIGKILL to its group.
void Stop(pid_t pid) {
  ::kill(pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) != 0) return;  // reaped (or not ours)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(-pid, SIGKILL);
  ::kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
}

// Waits up to timeout_s; on timeout stops the process. Returns exit code or -1.
int WaitPid(pid_t pid, int timeout_s) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (r < 0) return -1;
    if (std::chrono::steady_clock::now() > deadline) {
      Stop(pid);
      ADD_FAILURE() << "command timed out after " << timeout_s << " s";
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "sweep-e2e-XXXXXX").string();
  path_ = mkdtemp(tmpl.data());
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string TempDir::Write(const std::string& name, const std::string& content) const {
  fs::path p = fs::path(path_) / name;
  fs::create_directories(p.parent_path());
  std::ofstream(p) << content;
  return p.string();
}

std::string SweepBinary() { return SWEEP_BINARY; }
std::string SourceDir() { return SWEEP_SOURCE_DIR; }

CommandResult RunCommand(const std::vector<std::string>& argv, int timeout_s) {
  TempDir dir;
  std::string out = dir.path() + "/out", err = dir.path() + "/err";
  pid_t pid = Spawn(argv, out, err);
  CommandResult result;
  result.exit_code = WaitPid(pid, timeout_s);
  result.out = ReadFile(out);
  result.err = ReadFile(err);
  return result;
}

CommandResult RunSweep(const std::vector<std::string>& args, int timeout_s) {
  std::vector<std::string> argv{SweepBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, timeout_s);
}

BackgroundSweep::BackgroundSweep(const std::vector<std::string>& args) {
  out_path_ = dir_.path() + "/out";
  err_path_ = dir_.path() + "/err";
  std::vector<std::string> argv{SweepBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_ = Spawn(argv, out_path_, err_path_);
}

std::string SleepSpec(const TempDir& dir, const std::string& name, double seconds, int trials) {
  return dir.Write(name,
                   "type: sweep\n"
                   "trial:\n"
                   "  command: sh -c 'sleep " +
                       std::to_string(seconds) +
                       "; echo score=${{search_space.a}}'\n"
                       "compute: azureml:cpu-cluster\n"
                       "sampling_algorithm: grid\n"
                       "search_space:\n"
                       "  a: {type: choice, values: [1, 2, 3, 4, 5, 6]}\n"
                       "objective: {primary_metric: score, goal: maximize}\n"
                       "limits: {max_total_trials: " +
                       std::to_string(trials) + ", max_concurrent_trials: 2}\n");
}

ServerProcess::ServerProcess(const std::string& ws, int timeout_s)
    : ws_(ws), proc_({"server", "--listen", "127.0.0.1:0", "--json", "--workspace", ws}) {
  nlohmann::json j = nlohmann::json::parse(proc_.WaitFirstLine(timeout_s), nullptr, false);
  if (!j.is_discarded() && j.contains("address")) address_ = j["address"];
}

CommandResult ServerProcess::Run(std::vector<std::string> args, int timeout_s) const {
  args.insert(args.end(), {"--server", address_, "--token-file", ws_ + "/token"});
  return RunSweep(args, timeout_s);
}

CommandResult ServerProcess::Stop(int timeout_s) {
  proc_.Signal(SIGTERM);
  return proc_.Wait(timeout_s);
}

BackgroundSweep::~BackgroundSweep() {
  if (pid_ > 0) {
    int status;
    if (waitpid(pid_, &status, WNOHANG) == 0) Stop(pid_);
  }
}

std::string BackgroundSweep::WaitFirstLine(int timeout_s) {
  std::string line;
  WaitFor(
      [&] {
        std::string out = ReadFile(out_path_);
        size_t nl = out.find('\n');
        if (nl == std::string::npos) return false;
        line = out.substr(0, nl);
        return true;
      },
      timeout_s);
  return line;
}

CommandResult BackgroundSweep::Wait(int timeout_s) {
  CommandResult result;
  result.exit_code = WaitPid(pid_, timeout_s);
  pid_ = -1;
  result.out = ReadFile(out_path_);
  result.err = ReadFile(err_path_);
  return result;
}

nlohmann::json ParseJson(const CommandResult& result) {
  nlohmann::json j = nlohmann::json::parse(result.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON:\n" << result.out << "\nstderr:\n" << result.err;
  return j;
}

std::vector<pid_t> FindWorkers(const std::string& needle) {
  std::vector<pid_t> pids;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = ReadFile(entry.path().string() + "/cmdline");
    for (char& c : cmdline) {
      if (c == '\0') c = ' ';
    }
    if (cmdline.find(" worker ") != std::string::npos &&
        cmdline.find(needle) != std::string::npos) {
      pids.push_back(std::stoi(name));
    }
  }
  return pids;
}

bool WaitFor(const std::function<bool()>& predicate, int timeout_s) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return predicate();
}

}  // namespace sweep::e2e

// Helpers for end-to-end tests that drive the built `sweep` binary as a user would.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace sweep::e2e {

struct CommandResult {
  int exit_code = -1;  // -1: killed by a signal or timed out
  std::string out;
  std::string err;
};

// A fresh temporary directory, removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string Write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

// Runs `sweep ARGS...` with SWEEP_WORKSPACE unset, waiting at most timeout_s.
CommandResult RunSweep(const std::vector<std::string>& args, int timeout_s = 120);

// Runs any argv (argv[0] resolved on PATH).
CommandResult RunCommand(const std::vector<std::string>& argv, int timeout_s = 120);

// A `sweep` process running in the background with its output sent to files.
class BackgroundSweep {
 public:
  explicit BackgroundSweep(const std::vector<std::string>& args);
  ~BackgroundSweep();  // stops it if still running: SIGTERM, then SIGKILL after 60 s
  pid_t pid() const { return pid_; }
  // Waits for the first stdout line (the sweep id), up to timeout_s; "" on failure.
  std::string WaitFirstLine(int timeout_s = 60);
  // Waits for exit; returns the exit code (-1 on signal/timeout) and fills out/err.
  CommandResult Wait(int timeout_s = 300);
  void Signal(int sig) const { ::kill(pid_, sig); }

 private:
  pid_t pid_ = -1;
  std::string out_path_, err_path_;
  TempDir dir_;
};

// A `sweep server --json` on an ephemeral port of 127.0.0.1 for workspace `ws`, with the
// address it printed ("" when it printed none within timeout_s).
class ServerProcess {
 public:
  explicit ServerProcess(const std::string& ws, int timeout_s = 300);
  const std::string& address() const { return address_; }
  // `sweep ARGS... --server ADDR --token-file <ws>/token`.
  CommandResult Run(std::vector<std::string> args, int timeout_s = 300) const;
  // SIGTERM, then its exit.
  CommandResult Stop(int timeout_s = 300);

 private:
  std::string ws_;
  BackgroundSweep proc_;
  std::string address_;
};

// Writes spec `name` into `dir`: a grid over a in 1..6, each trial sleeping `seconds` and
// printing score=a, at most `trials` trials, 2 at once, on the local cpu-cluster.
std::string SleepSpec(const TempDir& dir, const std::string& name, double seconds, int trials);

// Parses the stdout of a --json command; fails the current test on bad JSON.
nlohmann::json ParseJson(const CommandResult& result);

// Pids of `sweep worker` processes whose command line contains `needle`.
std::vector<pid_t> FindWorkers(const std::string& needle);

// Polls `predicate` every 100 ms up to timeout_s; true once it held.
bool WaitFor(const std::function<bool()>& predicate, int timeout_s);

std::string SweepBinary();
std::string SourceDir();

}  // namespace sweep::e2e

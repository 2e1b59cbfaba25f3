// Running a trial command. The agent goes through ProcessLauncher so tests can fake
// processes; PosixProcessLauncher is the real one.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/env.h"

namespace sweep::worker {

// The most a trial's stdout.log / stderr.log keeps: past it the log ends with a note and
// later output is not written (its metric lines are still read).
inline constexpr int64_t kMaxLogBytes = int64_t{64} << 20;

struct LaunchSpec {
  // argv[0] is searched in the worker's PATH; no shell is involved, every element
  // reaches the child exactly as given.
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;  // the child's complete environment
  std::string working_dir;                 // empty: the worker's
  // Files that receive a copy of the child's stdout / stderr, created (or emptied) at the
  // stream's first byte: no file for a stream the child never writes to. One that cannot
  // be created is skipped with a warning in the worker's log; the trial runs on and its
  // lines still reach the callbacks. Empty: no copy.
  std::string stdout_log;
  std::string stderr_log;
  int64_t log_max_bytes = kMaxLogBytes;  // cap of each log file
  // Called with each line of stdout / stderr (without '\n'), on a reader thread, in
  // order per stream. Must not block for long.
  std::function<void(const std::string&)> on_stdout_line;
  std::function<void(const std::string&)> on_stderr_line;
};

// exit_code (-1 when killed by a signal) and signal (0 unless killed by one).
using ExitInfo = core::ExitStatus;

// A launched process. Thread-safe.
class Process {
 public:
  // Kills the process group (SIGKILL) if still running and waits for it.
  virtual ~Process() = default;

  virtual int64_t pid() const = 0;

  // Waits up to timeout_ms of real time (negative: forever) until the process has
  // exited and its output has been drained (every line delivered to the callbacks
  // and logs). nullopt while it is still running.
  virtual std::optional<ExitInfo> Wait(int64_t timeout_ms) = 0;

  // Sends `sig` to the process's whole group (the command and what it spawned).
  // No-op once the process has been reaped.
  virtual void SignalGroup(int sig) = 0;
};

class ProcessLauncher {
 public:
  virtual ~ProcessLauncher() = default;
  // Starts the process. FailedPrecondition "cannot run 'xyz': <strerror>" when it
  // cannot be executed (not found, not executable), InvalidArgument for an empty argv,
  // Internal for system failures (pipes, fork).
  virtual absl::StatusOr<std::unique_ptr<Process>> Launch(const LaunchSpec& spec) = 0;
};

// Through env->Spawn: the child gets its own process group, stdin from /dev/null,
// stdout/stderr through pipes read by one reader thread (teed into the log files, written
// through `env`; a failing log write never stops the trial), which also reaps the child
// when the kernel lets it watch the exit (else a second thread waits), default signal dispositions
// and an empty signal mask. When the command exits, whatever it left behind in its process
// group is killed (SIGKILL) so no trial outlives its attempt. The child is also killed
// (SIGKILL, PR_SET_PDEATHSIG) when the thread that launched it ends, so a trial dies with
// a worker that is itself killed: call Launch from a thread that lives as long as the
// process should (the agent's). Thread-safe. `env` is not owned and must outlive the
// launcher and its processes.
std::unique_ptr<ProcessLauncher> NewPosixProcessLauncher(core::Env* env = core::Env::Default());

// Stops a process: SIGTERM to its group, then SIGKILL if it has not exited after
// grace_ms of real time. Returns how it exited.
ExitInfo StopProcess(Process* process, int64_t grace_ms);

// "exit code 3", "killed by signal 9 (SIGKILL)".
std::string DescribeExit(const ExitInfo& exit);

}  // namespace sweep::worker

// Preparing one attempt of a trial: its directory, its environment, and the words of
// its failure. Pure helpers of the agent, separated so they are tested on their own.
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/env.h"
#include "worker/controller_client.h"
#include "worker/process.h"

namespace sweep::worker {

// "<sweep>-<trial>-<attempt>-<fencing token>", characters outside [A-Za-z0-9_.-]
// replaced by '_' so a sweep id can never escape the attempts directory.
std::string AttemptDirName(const LeaseRef& ref);

// The trial's output logs in its attempt directory.
inline constexpr char kStdoutLogName[] = "stdout.log";
inline constexpr char kStderrLogName[] = "stderr.log";

// What an attempt directory keeps once its attempt is terminal and reported.
inline constexpr const char* kKeptAttemptFiles[] = {kStdoutLogName, kStderrLogName,
                                                    "metrics.jsonl"};

// Removes from an attempt directory everything but kKeptAttemptFiles (the code copy, what
// the trial wrote) and, when keep_outputs (they were not uploaded), outputs/. An empty
// outputs/ becomes the spare (SpareOutputsDir) the next PrepareAttemptDir renames into
// place, when there is none yet. The Env's error naming the entry when one cannot be
// removed.
absl::Status TidyAttemptDir(const std::string& dir, bool keep_outputs, core::Env* env);

// `<attempts dir>/.spare-outputs`: an empty outputs/ kept for the next attempt.
inline constexpr char kSpareOutputsName[] = ".spare-outputs";
std::string SpareOutputsDir(const std::string& attempt_dir);

// Creates a fresh `<work_dir>/attempts/<AttemptDirName>/` (removing a leftover one of
// the same name; the retention's spare, when there is one, is renamed into place with its
// empty logs), copies the contents of `code_dir` (the cached code snapshot) into it
// when set (recursively; symlinks are copied as links, not followed) and creates
// `outputs/` inside, all through `env`. Returns the directory's absolute path.
// FailedPrecondition when code_dir is not a directory; when the file system refuses, an
// error naming the path ("cannot create attempt directory '...': ...", "cannot copy code
// from ...") with the Env's code and errno.
absl::StatusOr<std::string> PrepareAttemptDir(const std::string& work_dir, const LeaseGrant& lease,
                                              const std::string& code_dir,
                                              core::Env* env = core::Env::Default());

// The trial's environment, later entries winning: `base` (the worker's environment,
// "NAME=value" strings), then AZUREML_RUN_ID=<sweep>_<trial>, then the lease's env,
// then the attempt's own variables SWEEP_METRICS_FILE, SWEEP_OUTPUTS_DIR,
// SWEEP_ATTEMPT_DIR, SWEEP_SWEEP_ID, SWEEP_TRIAL_ID, SWEEP_ATTEMPT, SWEEP_NODE_ID.
std::map<std::string, std::string> BuildTrialEnv(const std::vector<std::string>& base,
                                                 const LeaseGrant& lease,
                                                 const std::string& attempt_dir);

// The worker process's own environment as "NAME=value" strings.
std::vector<std::string> CurrentEnvironment();

// The last `max_lines` lines of a stream (each cut to max_line_bytes). Thread-safe.
class TailBuffer {
 public:
  explicit TailBuffer(size_t max_lines = 20, size_t max_line_bytes = 1000)
      : max_lines_(max_lines), max_line_bytes_(max_line_bytes) {}
  void Add(const std::string& line);
  std::vector<std::string> Lines() const;

 private:
  const size_t max_lines_;
  const size_t max_line_bytes_;
  mutable std::mutex mu_;
  std::deque<std::string> lines_;
};

// The `error` of a failed completion: "exit code 3" or "killed by signal 11 (SIGSEGV)",
// then, when there is any, "; last lines of stderr:\n" and the tail.
std::string FailureMessage(const ExitInfo& exit, const std::vector<std::string>& stderr_tail);

}  // namespace sweep::worker

// Preparing a trial's workspace environment on a node
// (docs/artifacts-environments-models.md, "Environments").
//
// user_managed: nothing is built. With a python path, that interpreter must be
//   executable on this node; a directory holding `python` and `python3` links to it goes
//   first on PATH and SWEEP_PYTHON names it.
// system_managed: the setup command is the user's own build script, so it runs through
//   `/bin/sh -c` (process group, output captured like a trial's), with cwd = a directory
//   holding the definition's files and SWEEP_ENV_DIR = the directory it builds into.
//   It runs once per node per definition digest:
//     <cache_dir>/<digest>/files/      the definition files
//     <cache_dir>/<digest>/env/        SWEEP_ENV_DIR; <env>/bin goes first on PATH
//     <cache_dir>/<digest>/setup.log   stdout and stderr of the setup command
//     <cache_dir>/<digest>/ready       written last, after the command exited 0
//     <cache_dir>/<digest>/failed      the failure message, after a failed build
//     <cache_dir>/<digest>.lock        flock held while building
//   A built environment is reused while the definition (and so the digest) is unchanged.
//   Concurrent Prepare calls for one digest, in this process or in other workers sharing
//   the cache directory, wait for a single build (flock). A failed build is remembered
//   for its digest and not retried: every later Prepare fails at once with the same
//   message (a new environment version has a new digest and builds afresh).
//
// Thread safety: Prepare may be called concurrently.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/env.h"
#include "core/types.h"
#include "worker/process.h"

namespace sweep::worker {

struct PreparedEnvironment {
  std::vector<std::string> path_prefix;    // directories put first on PATH, in order
  std::map<std::string, std::string> env;  // SWEEP_ENV_DIR / SWEEP_PYTHON
};

// Called about every poll interval while Prepare waits for a build (its own or another
// worker's); returning false abandons the wait (the build is killed if it is ours and is
// not recorded as failed).
using KeepGoing = std::function<bool()>;

class EnvironmentCache {
 public:
  // `cache_dir` is created on first use; `launcher` (not owned) runs setup commands.
  // `base_env` ("NAME=value" strings) is the setup command's environment before
  // SWEEP_ENV_DIR is added. Files, locks and waits go through `env` (not owned).
  EnvironmentCache(std::string cache_dir, ProcessLauncher* launcher,
                   std::vector<std::string> base_env, int64_t poll_interval_ms = 100,
                   core::Env* env = core::Env::Default());

  // FailedPrecondition for a python that is not executable here, or a failed build:
  // "environment 'NAME' version N: setup command failed (exit code 3); last lines of
  // setup.log:\n..." (also when remembered from an earlier attempt). Cancelled when
  // keep_going returned false. Internal for file system failures, naming the path.
  absl::StatusOr<PreparedEnvironment> Prepare(const core::Environment& environment,
                                              const KeepGoing& keep_going);

 private:
  absl::StatusOr<PreparedEnvironment> PrepareUserManaged(const core::Environment& environment);
  absl::StatusOr<PreparedEnvironment> PrepareSystemManaged(const core::Environment& environment,
                                                           const KeepGoing& keep_going);
  // Runs the setup command into `dir` (which the caller has locked). OK, a failure
  // message written to dir/failed (FailedPrecondition), or Cancelled.
  absl::Status Build(const core::Environment& environment, const std::string& dir,
                     const KeepGoing& keep_going);

  const std::string cache_dir_;
  ProcessLauncher* const launcher_;
  const std::vector<std::string> base_env_;
  const int64_t poll_interval_ms_;
  core::Env* const env_;
};

// `env` with the prepared variables set and the prefix put first on PATH.
void ApplyEnvironment(const PreparedEnvironment& prepared, std::map<std::string, std::string>& env);

// argv[0] found in the prefix directories when it is a bare name present there (the
// child's PATH is not used to look up the program), else argv unchanged.
std::vector<std::string> ResolveInPrefix(const PreparedEnvironment& prepared,
                                         std::vector<std::string> argv);

}  // namespace sweep::worker

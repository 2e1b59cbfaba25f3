// How many finished attempt directories a node keeps (`sweep worker --keep-attempts`).
// Without a bound, `<work_dir>/attempts/` grows by one directory per attempt forever
// (100,000 after a 100,000-trial sweep on one node).
#pragma once

#include <deque>
#include <string>

#include "absl/status/status.h"
#include "core/env.h"

namespace sweep::worker {

// The default of `sweep worker --keep-attempts`.
inline constexpr int kDefaultKeepAttempts = 1000;

// `<attempts dir>/.spare-attempt`: an emptied directory of a removed attempt, renamed into
// place by the next PrepareAttemptDir instead of a directory being created, with its
// stdout.log and stderr.log kept empty (creating an inode was the largest single cost of
// starting an attempt, and on a file system without a journal ext4 scans past every inode
// freed in the last minute to allocate one).
inline constexpr char kSpareAttemptName[] = ".spare-attempt";

// Keeps the directories of at most `keep` finished attempts under `attempts_dir`, the
// newest: each Finished() beyond that removes the oldest. Load() first takes in what an
// earlier worker on the same work dir left (oldest modification time first), so the bound
// holds across restarts. Entries whose names start with '.' (the spares) are not attempts.
// Not thread-safe: the agent's thread only.
class AttemptRetention {
 public:
  // keep >= 0; 0 removes a finished attempt's directory at once.
  AttemptRetention(std::string attempts_dir, int keep, core::Env* env);

  // Takes in the attempt directories already there (none when the directory is missing).
  // The Env's error naming the directory when it exists but cannot be listed.
  absl::Status Load();

  // `dir` (an attempt directory under attempts_dir) finished; removes the oldest beyond
  // `keep`, keeping one emptied as the spare. The Env's error naming the directory that
  // could not be removed (it is forgotten, so one bad entry does not stop the others).
  absl::Status Finished(const std::string& dir);

  size_t size() const { return dirs_.size(); }

 private:
  // Evicts the oldest directories beyond keep_; the first error, after trying them all.
  absl::Status Trim();
  absl::Status Evict(const std::string& dir);

  const std::string attempts_dir_;
  const int keep_;
  core::Env* const env_;
  std::deque<std::string> dirs_;  // oldest first
};

}  // namespace sweep::worker

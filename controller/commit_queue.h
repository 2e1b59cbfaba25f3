// Group commit: how the controller makes its changes durable before it answers.
//
// A caller mutates the controller's memory under its own mutex, enqueues the batch of rows
// it changed (still under that mutex, so batches are ordered like the mutations), releases
// it and waits until the batch is durable. Whichever waiter finds no commit in flight
// merges every pending batch into one commit, so concurrent calls share one transaction
// (and one fsync).
//
// A commit that fails because another process holds the store's lock (store::IsBusy) is
// retried with backoff for up to CommitRetry::busy_budget_ms; any other Unavailable failure
// (disk full, I/O error) a few times (CommitRetry::other_retries). Nothing of a failed
// commit is written, so retrying the same merged batch is safe.
// If a commit still fails, memory is ahead of the store: the queue is broken for good, every
// later wait fails Internal, and nothing is acknowledged that is not durable. Recreating
// the controller reloads the durable state.
//
// Thread safety: thread-safe. Its mutex is never held while committing or calling the
// listener, and callers may hold their own mutex while calling Enqueue (never WaitDurable).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "absl/status/status.h"
#include "core/types.h"
#include "store/store.h"

namespace sweep::controller {

// How failed commits are retried before the queue breaks.
struct CommitRetry {
  int64_t busy_budget_ms = 20'000;  // a busy store: retried for this long in all
  int other_retries = 2;            // other Unavailable failures: this many more tries
  int64_t first_backoff_ms = 50;    // doubled after each try, up to max_backoff_ms
  int64_t max_backoff_ms = 2'000;
  // Injected in tests; default: std::this_thread::sleep_for and the steady clock.
  std::function<void(int64_t)> sleep_ms = {};
  std::function<int64_t()> now_ms = {};
};

class CommitQueue {
 public:
  // Makes one (merged) batch durable; all of it or nothing (store::Store::Commit).
  using CommitFn = std::function<absl::Status(const store::WriteBatch&)>;
  explicit CommitQueue(CommitFn commit, CommitRetry retry = {});

  // Called for every committed event, in commit order, on the committing thread, after
  // the commit; it must not call back into the controller.
  void SetListener(std::function<void(const core::Event&)> listener);

  // Queues `batch` behind everything queued before (leaving `batch` empty) and returns the
  // sequence number to wait for. An empty batch is not queued and gets the last number:
  // an answer may rest on a change another call made and has not seen durable yet.
  uint64_t Enqueue(store::WriteBatch& batch);

  // Blocks until everything up to `seq` is durable, committing pending batches itself
  // when no other waiter does. The broken status (Internal) once a commit failed.
  absl::Status WaitDurable(uint64_t seq);

  // OK, or the Internal error every call gets since a commit failed.
  absl::Status Broken() const;

 private:
  // commit_ with the retries of retry_.
  absl::Status CommitWithRetries(const store::WriteBatch& batch);

  const CommitFn commit_;
  CommitRetry retry_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<store::WriteBatch> pending_;
  uint64_t next_seq_ = 0;
  uint64_t durable_seq_ = 0;
  bool committing_ = false;
  absl::Status broken_;
  std::function<void(const core::Event&)> listener_;
};

}  // namespace sweep::controller

// WalCheckpointer: moves a SQLite connection's WAL checkpoints off its commit path.
//
// With synchronous=NORMAL a WAL commit only appends to the log; the fsyncs happen at
// checkpoints, which SQLite by default runs inside the commit that crosses 1000 log pages.
// On a busy disk that one commit then waits tens to hundreds of milliseconds, and every
// controller answer queued behind it (a lease grant, a completion) waits too. Here the
// writer's connection stops checkpointing itself; after each commit its WAL hook wakes a
// thread that checkpoints (PASSIVE: never blocks the writer or readers) on a connection of
// its own. If that thread falls far behind, the commit that finds the log past
// `inline_pages` checkpoints in place, as SQLite would, so the log stays bounded.
//
// Durability is unchanged: a commit is in the log (and the OS) before it returns either way.
// Thread safety: Start/destruction by the connection's owner; the hook runs on whichever
// thread commits on `db` (SQLite calls it with the connection in use, never concurrently).
#pragma once

#include <sqlite3.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace sweep::store {

class WalCheckpointer {
 public:
  struct Options {
    int wake_pages = 1000;    // log pages after a commit that wake the thread
    int inline_pages = 8000;  // log pages at which the committing thread checkpoints itself
  };

  // Takes over `db`'s checkpoints (autocheckpoint off, a WAL hook installed) and starts the
  // thread with its own read-write connection to `path`. nullptr (and `db` untouched) when
  // `db` is not in WAL mode. An error naming `path` when the second connection cannot open.
  // `db` must outlive the result.
  static absl::StatusOr<std::unique_ptr<WalCheckpointer>> Start(sqlite3* db,
                                                                const std::string& path,
                                                                Options options);
  static absl::StatusOr<std::unique_ptr<WalCheckpointer>> Start(sqlite3* db,
                                                                const std::string& path) {
    return Start(db, path, Options());
  }

  // Stops the thread and closes its connection; `db` checkpoints itself again. Call before
  // closing `db`.
  ~WalCheckpointer();

  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Checkpoints the thread has completed (for tests and diagnostics).
  int64_t completed() const;

 private:
  WalCheckpointer(sqlite3* db, sqlite3* own, Options options);
  static int OnCommit(void* self, sqlite3* db, const char* schema, int log_pages);
  void Run();

  sqlite3* const db_;
  sqlite3* const own_;
  const Options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool wanted_ = false;
  bool stop_ = false;
  int64_t completed_ = 0;
  std::thread thread_;
};

}  // namespace sweep::store

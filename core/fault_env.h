// An Env for tests that wraps another one and injects faults: a disk that fills up after N
// bytes, writes or reads that fail with an errno (EIO, ENOSPC, ...), a read-only directory
// (EROFS / EACCES), bytes corrupted on their way out of a file, a wall clock stepped
// forward or backward, spawns that fail. Everything else passes through to the base Env.
//
//   core::FaultEnv env(core::Env::Default());
//   env.DiskFullAfter(1 << 20, dir + "/artifacts");   // ENOSPC past 1 MiB written there
//   env.MakeReadOnly(dir);                            // EROFS on any change under dir
//   env.CorruptReads(dir + "/snapshots/blobs");       // reads there return flipped bytes
//   env.StepClock(-3'600'000);                        // the wall clock jumps back an hour
//
// A fault applies to the paths under its prefix (compared after lexically_normal; "" is
// every path; a file's prefix also covers the temporary file WriteFileAtomically writes it
// through), to the operations its mask names, from when it is added until it is removed.
// Files opened before a fault was added see it too (it is checked on every call). A failing
// call fails like the real one would: the same words, ErrnoOf(status) is the injected errno.
//
// Thread safety: all methods are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/env.h"

namespace sweep::core {

class FaultEnv final : public Env {
 public:
  // Operation classes a fault can target.
  enum Op : uint32_t {
    kRead = 1,      // ReadFile, RandomAccessFile::Read, ReadSymlink, ListDir
    kWrite = 2,     // creating or opening a file for writing, WritableFile::Append
    kSync = 4,      // WritableFile::Sync, SyncDir
    kMetadata = 8,  // CreateDirs, MakeTempDir, Rename, Remove*, SetPermissions,
                    // CreateSymlink, OpenLockFile
    kSpawn = 16,    // Spawn (the prefix is matched against argv[0])
    kAll = 31,
  };

  struct Fault {
    std::string path_prefix;  // "" matches every path
    uint32_t ops = kWrite;
    int error = EIO;  // the errno the call fails with
    // kWrite: this many bytes (counted from when the fault is added, over every file under
    // the prefix) are written before writes fail; an Append crossing the limit writes its
    // first part, then fails. < 0: fail at once.
    int64_t after_bytes = -1;
    // kRead: do not fail; flip every bit of the first byte of each read instead.
    bool corrupt = false;
  };

  explicit FaultEnv(Env* base);  // not owned; must outlive this Env
  ~FaultEnv() override;

  // Adds a fault; returns its id for Remove.
  int Add(Fault fault);
  void Remove(int id);
  void Clear();

  // The common faults.
  int DiskFullAfter(int64_t bytes, std::string prefix = "") {
    return Add({std::move(prefix), kWrite, ENOSPC, bytes});
  }
  int FailWrites(std::string prefix, int error = EIO) {
    return Add({std::move(prefix), kWrite, error});
  }
  int FailReads(std::string prefix, int error = EIO) {
    return Add({std::move(prefix), kRead, error});
  }
  int FailSyncs(std::string prefix, int error = EIO) {
    return Add({std::move(prefix), kSync, error});
  }
  // Nothing under the prefix can be created, written, synced, renamed or removed.
  int MakeReadOnly(std::string prefix, int error = EROFS) {
    return Add({std::move(prefix), kWrite | kSync | kMetadata, error});
  }
  int CorruptReads(std::string prefix) {
    return Add({std::move(prefix), kRead, 0, -1, /*corrupt=*/true});
  }
  int FailSpawns(std::string argv0_prefix = "", int error = EAGAIN) {
    return Add({std::move(argv0_prefix), kSpawn, error});
  }

  // Children spawned from now on look as on a kernel without pidfd_open:
  // Subprocess::WatchesExit() false, so their reader must wait for the exit apart.
  void HideExitWatch() { hide_exit_watch_ = true; }

  // Moves the wall clock (clock()) by delta_ms, cumulatively; the monotonic clock is not
  // moved, as on a real machine whose time is set.
  void StepClock(int64_t delta_ms);

  // Bytes written through this Env (successful Appends) since it was created.
  int64_t bytes_written() const;

  // Called with every operation's class and path as the operation is checked, just before
  // it runs, whether a fault applies or not: tests record the order of operations with it
  // (e.g. that a file was synced before its record was committed). Set it before the Env
  // is in use; it runs on the calling thread, outside this Env's lock.
  using Observer = std::function<void(Op op, const std::string& path)>;
  void SetObserver(Observer observer) { observer_ = std::move(observer); }

  // Env. The default arguments repeat Env's, so a FaultEnv is called like an Env.
  absl::StatusOr<std::string> ReadFile(const std::string& path) override;
  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path, const WritableFileOptions& options = {}) override;
  absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path, bool no_follow = false) override;
  absl::StatusOr<FileInfo> Stat(const std::string& path, bool follow_symlinks = true) override;
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) override;
  absl::Status CreateDirs(const std::string& path) override;
  absl::StatusOr<std::string> MakeTempDir(const std::string& dir,
                                          const std::string& prefix) override;
  absl::Status Rename(const std::string& from, const std::string& to) override;
  absl::Status RemoveFile(const std::string& path) override;
  absl::Status RemoveAll(const std::string& path) override;
  absl::Status SetPermissions(const std::string& path, mode_t mode) override;
  absl::Status CreateSymlink(const std::string& target, const std::string& link) override;
  absl::StatusOr<std::string> ReadSymlink(const std::string& link) override;
  absl::Status SyncDir(const std::string& path) override;
  absl::StatusOr<std::unique_ptr<FileLock>> OpenLockFile(const std::string& path) override;
  Clock* clock() override;
  Clock* monotonic_clock() override;
  void SleepForMillis(int64_t ms) override;
  absl::StatusOr<std::string> RandomBytes(size_t n) override;
  absl::StatusOr<std::unique_ptr<Subprocess>> Spawn(const SpawnOptions& options) override;
  bool ProcessExists(int64_t pid) override;

  // Used by the wrapped files: the errno a call of `op` on `path` fails with (0: none).
  // For kWrite, `bytes` is the size of the write and *allowed how much of it may still be
  // written (all of it when the result is 0).
  int Check(uint32_t op, const std::string& path, int64_t bytes = 0, int64_t* allowed = nullptr);
  bool Corrupts(const std::string& path);
  void CountWritten(int64_t bytes);

 private:
  class SteppedClock;

  Env* const base_;
  std::unique_ptr<SteppedClock> clock_;
  std::atomic<bool> hide_exit_watch_{false};
  mutable std::mutex mu_;
  int next_id_ = 1;                 // guarded by mu_
  std::map<int, Fault> faults_;     // guarded by mu_
  std::map<int, int64_t> written_;  // bytes written under each after_bytes fault; guarded by mu_
  int64_t bytes_written_ = 0;       // guarded by mu_
  Observer observer_;               // set before use (SetObserver)
};

}  // namespace sweep::core

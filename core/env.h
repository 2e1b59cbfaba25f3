// The operating system as Sweep uses it: files, processes, time and randomness. Every
// component reaches the OS through an Env so tests can inject faults (a full disk, a failing
// write, a read-only directory, corrupt bytes, a clock step) with FaultEnv (core/fault_env.h).
// Env::Default() is the real one (POSIX, Linux).
//
// Errors: a non-OK status names the operation and the path ("cannot write /x/y: No space left
// on device"); ENOENT is NotFound, EACCES PermissionDenied, anything else Internal. The errno
// travels with the status: ErrnoOf(status) gives it (0 when there is none), so a caller can
// tell ENOSPC from EROFS without parsing text.
//
// Paths are used as given (relative ones against the process's working directory); path
// arithmetic (joining, lexically_normal, absolute) is std::filesystem::path's business.
//
// Thread safety: Env methods are thread-safe. A WritableFile, RandomAccessFile or FileLock is
// used by one thread at a time; a Subprocess is thread-safe as its comment says.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/clock.h"

namespace sweep::core {

// "<what> <path>: <strerror(err)>" with the code the header describes and `err` attached.
absl::Status ErrnoStatus(int err, absl::string_view what, absl::string_view path);
// The same in a caller's own words for a failed Env call: "<what> <path>: <strerror>" with
// the errno of `cause` (or "<what> <path>: <its message>" when it has none).
absl::Status ErrnoStatus(const absl::Status& cause, absl::string_view what, absl::string_view path);
// The errno attached by ErrnoStatus (or AttachErrno); 0 when there is none.
int ErrnoOf(const absl::Status& status);
// `status` carrying `err`, for statuses built with their own code and words.
absl::Status AttachErrno(absl::Status status, int err);

// --- files ---

enum class FileType { kRegular, kDirectory, kSymlink, kOther };

struct FileInfo {
  FileType type = FileType::kOther;
  int64_t size = 0;
  mode_t mode = 0;  // permission bits (07777)
  int64_t mtime_ms = 0;
  bool is_regular() const { return type == FileType::kRegular; }
  bool is_directory() const { return type == FileType::kDirectory; }
};

struct WritableFileOptions {
  mode_t mode = 0644;      // when the file is created
  bool append = false;     // keep the content and write at its end; else truncate
  bool exclusive = false;  // fail (EEXIST) when the file exists
  bool no_follow = false;  // fail (ELOOP) when the path is a symbolic link
};

// A file written front to back. Destroying it closes it without a sync.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Writes all of `data` at the end. On failure part of it may have been written.
  virtual absl::Status Append(std::string_view data) = 0;
  virtual absl::Status Sync() = 0;  // fsync: the data is on disk
  virtual absl::Status Close() = 0;
  // The file's size: what it held when opened (append) plus what was appended since.
  virtual int64_t size() const = 0;
};

class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Up to n bytes from offset; fewer only at the end of the file.
  virtual absl::StatusOr<std::string> Read(int64_t offset, size_t n) = 0;
  virtual absl::StatusOr<int64_t> Size() = 0;
};

// An exclusive flock(2) on a lock file, between processes and between threads that open it
// separately. Released when destroyed (or the process dies).
class FileLock {
 public:
  virtual ~FileLock() = default;
  virtual absl::Status Lock() = 0;  // blocks until held
  virtual bool TryLock() = 0;       // false when another holder has it
};

struct AtomicWriteOptions {
  mode_t mode = 0644;
  // fsync the directory after the rename, so the new name survives a crash. Off for many
  // files written into one directory that the caller syncs once (SyncDir) at the end.
  bool sync_dir = true;
};

// --- processes ---

// Where one standard stream of a spawned process goes.
struct Stdio {
  enum class Kind { kInherit, kDevNull, kPipe, kFile, kStdout };
  Kind kind = Kind::kInherit;
  std::string path;     // kFile
  bool append = false;  // kFile: append (create if missing) instead of truncating
  mode_t mode = 0644;   // kFile: when created

  static Stdio Inherit() { return Of(Kind::kInherit); }
  static Stdio DevNull() { return Of(Kind::kDevNull); }
  // stdin: Subprocess::WriteInput; stdout / stderr: Subprocess::ReadOutput.
  static Stdio Pipe() { return Of(Kind::kPipe); }
  // stdin reads the file; stdout / stderr write it.
  static Stdio File(std::string path, bool append = false) {
    Stdio s = Of(Kind::kFile);
    s.path = std::move(path);
    s.append = append;
    return s;
  }
  static Stdio SameAsStdout() { return Of(Kind::kStdout); }  // stderr only

 private:
  static Stdio Of(Kind kind) {
    Stdio s;
    s.kind = kind;
    return s;
  }
};

struct SpawnOptions {
  // argv[0] is looked up on this process's PATH when it has no '/'. No shell is involved.
  std::vector<std::string> argv;
  // The child's complete environment; nullopt: this process's own.
  std::optional<std::map<std::string, std::string>> env;
  std::string working_dir;  // "": this process's; a relative kFile path is opened before it
  Stdio stdin_to = Stdio::DevNull();
  Stdio stdout_to = Stdio::Inherit();
  Stdio stderr_to = Stdio::Inherit();
  bool new_process_group = false;  // the child leads a new group (see SignalGroup)
  // The child starts with an empty signal mask and every signal at its default action
  // (the parent may block some or ignore SIGPIPE); false: it inherits both.
  bool reset_signals = true;
  // Non-zero: the child gets this signal when its parent dies (Linux PR_SET_PDEATHSIG).
  // NOTE: the "parent" is the THREAD that called Spawn; spawn from a thread that lives as
  // long as the child should. Uses fork/exec instead of posix_spawn.
  int parent_death_signal = 0;
};

struct ExitStatus {
  int32_t exit_code = 0;  // -1 when killed by a signal
  int32_t signal = 0;     // the signal that killed it, 0 otherwise
};

// A spawned child. Destroying it closes its pipes; it neither kills nor reaps the child, so
// reap it first. Signal, SignalGroup, WaitForExit and Reap may be called from any thread;
// ReadOutput and WriteInput from one thread each.
class Subprocess {
 public:
  virtual ~Subprocess() = default;
  virtual int64_t pid() const = 0;

  // Waits up to timeout_ms for output on the piped stdout / stderr and hands what it read to
  // sink(1 or 2, bytes). False when every piped output has reached its end (or was closed),
  // or none is piped. When WatchesExit(), it also returns early once the child has exited.
  virtual bool ReadOutput(int timeout_ms,
                          const std::function<void(int stream, std::string_view data)>& sink) = 0;
  // Whether ReadOutput notices the child's exit (a pidfd; not on kernels before 5.3). Then
  // one thread can read the output and reap the child, with no thread blocked in a wait.
  virtual bool WatchesExit() const = 0;
  // Whether a ReadOutput call has seen the child exit (it stays a zombie until Reap).
  // Always false unless WatchesExit().
  virtual bool ExitSeen() const = 0;
  // Stops reading: closes the read ends (a writer then gets SIGPIPE / EPIPE).
  virtual void CloseOutput() = 0;
  // Writes to the piped stdin; CloseInput sends end-of-file.
  virtual absl::Status WriteInput(std::string_view data) = 0;
  virtual void CloseInput() = 0;

  // Blocks until the child has exited, without reaping it: until Reap, its pid (and group
  // id) cannot be reused, so Signal / SignalGroup never hit another process.
  virtual void WaitForExit() = 0;
  // Waits, reaps and says how it ended; the same answer on every call. Internal when the
  // status was lost (someone else reaped the child, e.g. SIGCHLD ignored).
  virtual absl::StatusOr<ExitStatus> Reap() = 0;
  // kill(2) to the child / to its process group (new_process_group); no-op once reaped.
  virtual void Signal(int sig) = 0;
  virtual void SignalGroup(int sig) = 0;
};

// --- the Env ---

class Env {
 public:
  virtual ~Env() = default;
  // The POSIX implementation; process-wide, never destroyed.
  static Env* Default();

  // Files. The whole file; NotFound / PermissionDenied / Internal naming the path
  // ("cannot read PATH: ...").
  virtual absl::StatusOr<std::string> ReadFile(const std::string& path) = 0;
  virtual absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path, const WritableFileOptions& options = {}) = 0;
  virtual absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(
      const std::string& path, bool no_follow = false) = 0;
  // NotFound when missing; follow_symlinks false: a link is described, not its target.
  virtual absl::StatusOr<FileInfo> Stat(const std::string& path, bool follow_symlinks = true) = 0;
  // The names in a directory (no "." or ".."), sorted.
  virtual absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) = 0;
  virtual absl::Status CreateDirs(const std::string& path) = 0;  // with parents; OK if present
  // A new directory `<dir>/<prefix>XXXXXX` (mkdtemp); returns its path.
  virtual absl::StatusOr<std::string> MakeTempDir(const std::string& dir,
                                                  const std::string& prefix) = 0;
  // rename(2): replaces a file or an empty directory at `to`.
  virtual absl::Status Rename(const std::string& from, const std::string& to) = 0;
  virtual absl::Status RemoveFile(const std::string& path) = 0;  // NotFound when missing
  virtual absl::Status RemoveAll(const std::string& path) = 0;   // recursive; OK when missing
  virtual absl::Status SetPermissions(const std::string& path, mode_t mode) = 0;
  virtual absl::Status CreateSymlink(const std::string& target, const std::string& link) = 0;
  virtual absl::StatusOr<std::string> ReadSymlink(const std::string& link) = 0;
  virtual absl::Status SyncDir(const std::string& path) = 0;  // a rename or create in it is durable
  // Opens (creating, 0644) a lock file without locking it.
  virtual absl::StatusOr<std::unique_ptr<FileLock>> OpenLockFile(const std::string& path) = 0;

  // Time. Wall clock (ms since the epoch; may step) and a monotonic clock (ms since an
  // arbitrary start; never steps): measure intervals and deadlines with the latter.
  virtual Clock* clock() = 0;
  virtual Clock* monotonic_clock() = 0;
  virtual void SleepForMillis(int64_t ms) = 0;

  // Randomness: n bytes from the kernel's CSPRNG.
  virtual absl::StatusOr<std::string> RandomBytes(size_t n) = 0;

  // Processes. Spawn: InvalidArgument for an empty argv; FailedPrecondition "cannot run
  // 'ARGV0': <strerror>" when the program cannot be executed (errno attached: ENOENT when
  // it is not found); Internal "cannot create a pipe: ..." (or fork) for system failures;
  // the ErrnoStatus naming the path when a Stdio::File cannot be opened.
  virtual absl::StatusOr<std::unique_ptr<Subprocess>> Spawn(const SpawnOptions& options) = 0;
  // Whether a process with this pid exists (also when it is not ours to signal).
  virtual bool ProcessExists(int64_t pid) = 0;

  // --- helpers built on the methods above (one implementation for every Env) ---

  // Writes through `<path>.tmp.<pid>.<n>`: write, fsync, rename, and (sync_dir) directory
  // fsync, so readers never see a partial file and a crash leaves the old or the new
  // content. The temporary file is removed on failure.
  absl::Status WriteFileAtomically(const std::string& path, std::string_view content,
                                   const AtomicWriteOptions& options = {});
  // Creates or truncates `path` and writes `content` (no fsync).
  absl::Status WriteFile(const std::string& path, std::string_view content, mode_t mode = 0644);
  // A copy of a regular file with its permission bits; fsynced before it is closed when
  // `sync` (not its directory entry: SyncDir).
  absl::Status CopyFile(const std::string& from, const std::string& to, bool sync = false);
  bool Exists(const std::string& path);       // follows symlinks
  bool IsDirectory(const std::string& path);  // follows symlinks
  int64_t NowMillis() { return clock()->NowMillis(); }
  int64_t MonotonicMillis() { return monotonic_clock()->NowMillis(); }
  // 64 random bits for seeding a generator; falls back to the clocks if the kernel fails.
  uint64_t RandomSeed();
};

}  // namespace sweep::core

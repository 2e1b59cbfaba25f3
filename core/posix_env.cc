// Env::Default(): files, time and randomness on POSIX (Linux). Processes: posix_process.cc.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>
#include <thread>

#include "absl/strings/str_cat.h"
#include "core/env.h"
#include "core/posix_process.h"

namespace sweep::core {
namespace {

absl::Status Errno(absl::string_view what, absl::string_view path) {
  return ErrnoStatus(errno, what, path);
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(int fd, std::string path, int64_t size)
      : fd_(fd), path_(std::move(path)), size_(size) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  absl::Status Append(std::string_view data) override {
    if (fd_ < 0) return ErrnoStatus(EBADF, "cannot write", path_);
    while (!data.empty()) {
      ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Errno("cannot write", path_);
      data.remove_prefix(static_cast<size_t>(n));
      size_ += n;
    }
    return absl::OkStatus();
  }

  absl::Status Sync() override {
    if (fd_ < 0 || ::fsync(fd_) != 0) return Errno("cannot flush", path_);
    return absl::OkStatus();
  }

  absl::Status Close() override {
    if (fd_ < 0) return absl::OkStatus();
    int rc = ::close(fd_);
    fd_ = -1;
    if (rc != 0) return Errno("cannot close", path_);
    return absl::OkStatus();
  }

  int64_t size() const override { return size_; }

 private:
  int fd_;
  const std::string path_;
  int64_t size_;
};

class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixRandomAccessFile() override { ::close(fd_); }

  absl::StatusOr<std::string> Read(int64_t offset, size_t n) override {
    std::string data(n, '\0');
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::pread(fd_, data.data() + got, n - got, static_cast<off_t>(offset + got));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return Errno("cannot read", path_);
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    data.resize(got);
    return data;
  }

  absl::StatusOr<int64_t> Size() override {
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return Errno("cannot stat", path_);
    return static_cast<int64_t>(st.st_size);
  }

 private:
  const int fd_;
  const std::string path_;
};

class PosixFileLock final : public FileLock {
 public:
  PosixFileLock(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixFileLock() override { ::close(fd_); }

  absl::Status Lock() override {
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) return Errno("cannot lock", path_);
    }
    return absl::OkStatus();
  }
  bool TryLock() override { return ::flock(fd_, LOCK_EX | LOCK_NB) == 0; }

 private:
  const int fd_;
  const std::string path_;
};

FileType TypeOf(mode_t mode) {
  if (S_ISREG(mode)) return FileType::kRegular;
  if (S_ISDIR(mode)) return FileType::kDirectory;
  if (S_ISLNK(mode)) return FileType::kSymlink;
  return FileType::kOther;
}

class PosixEnv final : public Env {
 public:
  absl::StatusOr<std::string> ReadFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Errno("cannot read", path);
    std::string content;
    char buffer[1 << 16];
    while (true) {
      ssize_t n = ::read(fd, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        absl::Status s = Errno("cannot read", path);
        ::close(fd);
        return s;
      }
      if (n == 0) break;
      content.append(buffer, static_cast<size_t>(n));
    }
    ::close(fd);
    return content;
  }

  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(
      const std::string& path, const WritableFileOptions& options) override {
    // No O_TRUNC: an existing file is emptied below only when it holds data. ext4 marks
    // every truncated inode (even an empty one) to write its new data back at close
    // (auto_da_alloc, the replace-by-truncate guard), which would cost a disk write per
    // reused, already empty file (a worker's attempt logs past --keep-attempts).
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (options.append ? O_APPEND : 0) |
                (options.exclusive ? O_EXCL : 0) | (options.no_follow ? O_NOFOLLOW : 0);
    int fd = ::open(path.c_str(), flags, options.mode);
    if (fd < 0) return Errno(options.append ? "cannot open" : "cannot create", path);
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
      absl::Status s = Errno("cannot stat", path);
      ::close(fd);
      return s;
    }
    int64_t size = S_ISREG(st.st_mode) ? static_cast<int64_t>(st.st_size) : 0;
    if (!options.append && size > 0) {
      if (::ftruncate(fd, 0) != 0) {
        absl::Status s = Errno("cannot create", path);
        ::close(fd);
        return s;
      }
      size = 0;
    }
    return std::unique_ptr<WritableFile>(new PosixWritableFile(fd, path, size));
  }

  absl::StatusOr<std::unique_ptr<RandomAccessFile>> NewRandomAccessFile(const std::string& path,
                                                                        bool no_follow) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (no_follow ? O_NOFOLLOW : 0));
    if (fd < 0) return Errno("cannot read", path);
    return std::unique_ptr<RandomAccessFile>(new PosixRandomAccessFile(fd, path));
  }

  absl::StatusOr<FileInfo> Stat(const std::string& path, bool follow_symlinks) override {
    struct stat st {};
    int rc = follow_symlinks ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st);
    if (rc != 0) return Errno("cannot stat", path);
    FileInfo info;
    info.type = TypeOf(st.st_mode);
    info.size = static_cast<int64_t>(st.st_size);
    info.mode = st.st_mode & 07777;
    info.mtime_ms = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1'000'000;
    return info;
  }

  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) override {
    DIR* dir = ::opendir(path.c_str());
    if (dir == nullptr) return Errno("cannot list", path);
    std::vector<std::string> names;
    errno = 0;
    while (dirent* entry = ::readdir(dir)) {
      std::string_view name = entry->d_name;
      if (name != "." && name != "..") names.emplace_back(name);
      errno = 0;
    }
    int err = errno;
    ::closedir(dir);
    if (err != 0) return ErrnoStatus(err, "cannot list", path);
    std::sort(names.begin(), names.end());
    return names;
  }

  absl::Status CreateDirs(const std::string& path) override {
    // The usual case, a new directory in an existing one, in one system call; anything
    // else (parents missing, already there) goes the long way.
    if (::mkdir(path.c_str(), 0777) == 0) return absl::OkStatus();
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) return ErrnoStatus(ec.value(), "cannot create", path);
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> MakeTempDir(const std::string& dir,
                                          const std::string& prefix) override {
    const bool slash = !dir.empty() && dir.back() == '/';
    std::string pattern = absl::StrCat(dir, slash ? "" : "/", prefix, "XXXXXX");
    if (::mkdtemp(pattern.data()) == nullptr) {
      return Errno("cannot create a directory under", dir);
    }
    return pattern;
  }

  absl::Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return Errno(absl::StrCat("cannot rename ", from, " to"), to);
    }
    return absl::OkStatus();
  }

  absl::Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return Errno("cannot remove", path);
    return absl::OkStatus();
  }

  absl::Status RemoveAll(const std::string& path) override {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    if (ec && ec.value() != ENOENT) return ErrnoStatus(ec.value(), "cannot remove", path);
    return absl::OkStatus();
  }

  absl::Status SetPermissions(const std::string& path, mode_t mode) override {
    if (::chmod(path.c_str(), mode) != 0) return Errno("cannot change the mode of", path);
    return absl::OkStatus();
  }

  absl::Status CreateSymlink(const std::string& target, const std::string& link) override {
    if (::symlink(target.c_str(), link.c_str()) != 0) return Errno("cannot create link", link);
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> ReadSymlink(const std::string& link) override {
    std::string target(256, '\0');
    while (true) {
      ssize_t n = ::readlink(link.c_str(), target.data(), target.size());
      if (n < 0) return Errno("cannot read link", link);
      if (static_cast<size_t>(n) < target.size()) {
        target.resize(static_cast<size_t>(n));
        return target;
      }
      target.resize(target.size() * 2);
    }
  }

  absl::Status SyncDir(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Errno("cannot open directory", path);
    int rc = ::fsync(fd);
    int err = errno;
    ::close(fd);
    if (rc != 0) return ErrnoStatus(err, "cannot sync directory", path);
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<FileLock>> OpenLockFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Errno("cannot open lock file", path);
    return std::unique_ptr<FileLock>(new PosixFileLock(fd, path));
  }

  Clock* clock() override { return SystemClock::Default(); }
  Clock* monotonic_clock() override { return SteadyClock::Default(); }
  void SleepForMillis(int64_t ms) override {
    if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  }

  absl::StatusOr<std::string> RandomBytes(size_t n) override {
    std::string bytes(n, '\0');
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::getrandom(bytes.data() + got, n - got, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return Errno("cannot read random bytes from", "the kernel");
      got += static_cast<size_t>(r);
    }
    return bytes;
  }

  absl::StatusOr<std::unique_ptr<Subprocess>> Spawn(const SpawnOptions& options) override {
    return SpawnPosix(options);
  }

  bool ProcessExists(int64_t pid) override {
    if (pid <= 0) return false;  // 0 and -1 would name groups
    return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
  }
};

}  // namespace

Env* Env::Default() {
  static Env* env = new PosixEnv();
  return env;
}

}  // namespace sweep::core

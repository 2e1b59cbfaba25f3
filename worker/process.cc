#include "worker/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "worker/logging.h"
#include "worker/metric_parser.h"

extern char** environ;

namespace sweep::worker {
namespace {

// After the command exits, how long to keep reading output from descendants that left
// its process group (and so escaped the group kill) before giving up on them.
constexpr int64_t kDrainAfterExitMs = 2'000;

std::string ErrnoText(int err) { return std::strerror(err); }

void CloseFd(int* fd) {
  if (*fd >= 0) ::close(*fd);
  *fd = -1;
}

void WriteAll(int fd, const char* data, size_t size) {
  while (size > 0 && fd >= 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // a full disk must not stop the trial; the pipe keeps being drained
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
}

ExitInfo DecodeWaitStatus(int status) {
  ExitInfo exit;
  if (WIFEXITED(status)) {
    exit.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    exit.exit_code = -1;
    exit.signal = WTERMSIG(status);
  } else {
    exit.exit_code = -1;
  }
  return exit;
}

// One output stream of the child: its pipe, its log file, its line callback.
struct Stream {
  int pipe_fd = -1;
  int log_fd = -1;
  std::function<void(const std::string&)> on_line;
  LineSplitter splitter;

  void Deliver(const std::vector<std::string>& lines) {
    if (!on_line) return;
    for (const std::string& line : lines) on_line(line);
  }
  // End of stream: the unterminated last line, then close.
  void Finish() {
    if (std::optional<std::string> rest = splitter.Finish(); rest && on_line) on_line(*rest);
    CloseFd(&pipe_fd);
    CloseFd(&log_fd);
  }
};

class PosixProcess final : public Process {
 public:
  PosixProcess(pid_t pid, Stream out, Stream err) : pid_(pid) {
    streams_[0] = std::move(out);
    streams_[1] = std::move(err);
    reader_ = std::thread([this] { ReadLoop(); });
    waiter_ = std::thread([this] { WaitLoop(); });
  }

  ~PosixProcess() override {
    SignalGroup(SIGKILL);
    waiter_.join();
    reader_.join();
  }

  int64_t pid() const override { return pid_; }

  std::optional<ExitInfo> Wait(int64_t timeout_ms) override {
    std::unique_lock<std::mutex> lock(mu_);
    auto done = [this] { return reaped_ && drained_; };
    if (timeout_ms < 0) {
      cv_.wait(lock, done);
    } else if (!cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), done)) {
      return std::nullopt;
    }
    return exit_;
  }

  void SignalGroup(int sig) override {
    std::lock_guard<std::mutex> lock(mu_);
    // Until reaped, the (possibly zombie) leader keeps the group id from being reused.
    if (!reaped_) ::kill(-pid_, sig);
  }

 private:
  void WaitLoop() {
    siginfo_t info;
    std::memset(&info, 0, sizeof(info));
    // WNOWAIT: the leader stays a zombie, so its group id stays ours while we kill
    // whatever the command left running in it.
    int rc;
    do {
      rc = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOWAIT);
    } while (rc < 0 && errno == EINTR);
    std::lock_guard<std::mutex> lock(mu_);
    if (rc == 0) ::kill(-pid_, SIGKILL);
    int status = 0;
    pid_t reaped;
    do {
      reaped = ::waitpid(pid_, &status, 0);
    } while (reaped < 0 && errno == EINTR);
    if (reaped == pid_) {
      exit_ = DecodeWaitStatus(status);
    } else {
      // Someone else reaped it (SIGCHLD ignored, or a waitpid(-1) elsewhere).
      Log()->warn("lost the exit status of pid {}: {}", pid_, ErrnoText(errno));
      exit_ = ExitInfo{-1, 0};
    }
    reaped_ = true;
    reaped_at_ = std::chrono::steady_clock::now();
    cv_.notify_all();
  }

  void ReadLoop() {
    char buffer[64 * 1024];
    while (streams_[0].pipe_fd >= 0 || streams_[1].pipe_fd >= 0) {
      pollfd fds[2];
      for (int i = 0; i < 2; ++i) {
        fds[i].fd = streams_[i].pipe_fd;
        fds[i].events = POLLIN;
        fds[i].revents = 0;
      }
      int rc = ::poll(fds, 2, 100);
      if (rc < 0 && errno != EINTR) break;
      for (int i = 0; i < 2 && rc > 0; ++i) {
        if (fds[i].fd < 0 || fds[i].revents == 0) continue;
        Stream& stream = streams_[i];
        ssize_t n = ::read(stream.pipe_fd, buffer, sizeof(buffer));
        if (n > 0) {
          WriteAll(stream.log_fd, buffer, static_cast<size_t>(n));
          stream.Deliver(stream.splitter.Append(std::string_view(buffer, static_cast<size_t>(n))));
        } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
          stream.Finish();
        }
      }
      std::lock_guard<std::mutex> lock(mu_);
      if (reaped_ && std::chrono::steady_clock::now() - reaped_at_ >
                         std::chrono::milliseconds(kDrainAfterExitMs)) {
        break;  // a descendant escaped the group and holds the pipe open
      }
    }
    streams_[0].Finish();
    streams_[1].Finish();
    std::lock_guard<std::mutex> lock(mu_);
    drained_ = true;
    cv_.notify_all();
  }

  const pid_t pid_;
  Stream streams_[2];  // owned by the reader thread once started
  std::thread reader_;
  std::thread waiter_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool reaped_ = false;
  bool drained_ = false;
  std::chrono::steady_clock::time_point reaped_at_;
  ExitInfo exit_;
};

class PosixProcessLauncher final : public ProcessLauncher {
 public:
  absl::StatusOr<std::unique_ptr<Process>> Launch(const LaunchSpec& spec) override {
    if (spec.argv.empty() || spec.argv[0].empty()) {
      return absl::InvalidArgumentError("cannot run an empty command");
    }
    if (!spec.working_dir.empty()) {
      struct stat st;
      if (::stat(spec.working_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
        return absl::FailedPreconditionError(
            absl::StrCat("working directory '", spec.working_dir, "' does not exist"));
      }
    }
    Stream out, err;
    out.on_line = spec.on_stdout_line;
    err.on_line = spec.on_stderr_line;
    auto cleanup = [&] {
      for (Stream* s : {&out, &err}) {
        CloseFd(&s->pipe_fd);
        CloseFd(&s->log_fd);
      }
    };
    for (auto [stream, path] : {std::pair{&out, &spec.stdout_log}, {&err, &spec.stderr_log}}) {
      if (path->empty()) continue;
      stream->log_fd = ::open(path->c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (stream->log_fd < 0) {
        int e = errno;
        cleanup();
        return absl::InternalError(
            absl::StrCat("cannot create log file '", *path, "': ", ErrnoText(e)));
      }
    }
    int out_pipe[2], err_pipe[2];
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
      int e = errno;
      cleanup();
      return absl::InternalError(absl::StrCat("cannot create a pipe: ", ErrnoText(e)));
    }
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
      int e = errno;
      ::close(out_pipe[0]);
      ::close(out_pipe[1]);
      cleanup();
      return absl::InternalError(absl::StrCat("cannot create a pipe: ", ErrnoText(e)));
    }
    out.pipe_fd = out_pipe[0];
    err.pipe_fd = err_pipe[0];

    // Everything the child needs is built before spawning: posix_spawn (vfork-like)
    // is safe in this multi-threaded process, and reports exec failures to us.
    std::vector<char*> argv;
    for (const std::string& arg : spec.argv) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    std::vector<std::string> env_strings;
    env_strings.reserve(spec.env.size());
    for (const auto& [key, value] : spec.env) env_strings.push_back(key + "=" + value);
    std::vector<char*> envp;
    for (std::string& entry : env_strings) envp.push_back(entry.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
    if (!spec.working_dir.empty()) {
      posix_spawn_file_actions_addchdir_np(&actions, spec.working_dir.c_str());
    }
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup(&attr, 0);  // a new group led by the child
    sigset_t signals;
    sigemptyset(&signals);
    posix_spawnattr_setsigmask(&attr, &signals);
    sigfillset(&signals);  // ignored signals (gRPC ignores SIGPIPE) back to default
    posix_spawnattr_setsigdefault(&attr, &signals);

    pid_t pid = 0;
    int rc = ::posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    if (rc != 0) {
      cleanup();
      return absl::FailedPreconditionError(
          absl::StrCat("cannot run '", spec.argv[0], "': ", ErrnoText(rc)));
    }
    for (int fd : {out.pipe_fd, err.pipe_fd}) {
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    }
    return std::unique_ptr<Process>(new PosixProcess(pid, std::move(out), std::move(err)));
  }
};

}  // namespace

std::unique_ptr<ProcessLauncher> NewPosixProcessLauncher() {
  return std::make_unique<PosixProcessLauncher>();
}

ExitInfo StopProcess(Process* process, int64_t grace_ms) {
  process->SignalGroup(SIGTERM);
  if (std::optional<ExitInfo> exit = process->Wait(grace_ms < 0 ? 0 : grace_ms)) return *exit;
  process->SignalGroup(SIGKILL);
  return *process->Wait(-1);
}

std::string DescribeExit(const ExitInfo& exit) {
  if (exit.signal > 0) {
    const char* abbrev = sigabbrev_np(exit.signal);
    return abbrev ? absl::StrCat("killed by signal ", exit.signal, " (SIG", abbrev, ")")
                  : absl::StrCat("killed by signal ", exit.signal);
  }
  return absl::StrCat("exit code ", exit.exit_code);
}

}  // namespace sweep::worker

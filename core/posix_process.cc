#include "core/posix_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

extern char** environ;

namespace sweep::core {
namespace {

void CloseFd(int* fd) {
  if (*fd >= 0) ::close(*fd);
  *fd = -1;
}

ExitStatus DecodeWaitStatus(int status) {
  ExitStatus exit;
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

class PosixSubprocess final : public Subprocess {
 public:
  // exit_fd: a pidfd of the child, or -1.
  PosixSubprocess(pid_t pid, int in_fd, int out_fd, int err_fd, int exit_fd)
      : pid_(pid), in_fd_(in_fd), out_fds_{out_fd, err_fd}, exit_fd_(exit_fd) {}

  ~PosixSubprocess() override {
    CloseInput();
    CloseOutput();
    CloseFd(&exit_fd_);
  }

  int64_t pid() const override { return pid_; }

  bool ReadOutput(int timeout_ms, const std::function<void(int, std::string_view)>& sink) override {
    if (out_fds_[0] < 0 && out_fds_[1] < 0) return false;
    pollfd fds[3];
    for (int i = 0; i < 2; ++i) fds[i] = {out_fds_[i], POLLIN, 0};
    // A pidfd polls readable once the child has exited, and stays so: watched until seen.
    fds[2] = {exit_seen_ ? -1 : exit_fd_, POLLIN, 0};
    int rc = ::poll(fds, 3, timeout_ms);
    if (rc < 0 && errno != EINTR) {
      CloseOutput();
      return false;
    }
    if (rc > 0 && fds[2].fd >= 0 && fds[2].revents != 0) exit_seen_ = true;
    char buffer[64 * 1024];
    // One read per descriptor poll found ready: this process is a pipe's only reader, so
    // that read does not block, and the read ends stay blocking (no fcntl per spawn).
    for (int i = 0; i < 2 && rc > 0; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = ::read(out_fds_[i], buffer, sizeof(buffer));
      if (n > 0) {
        sink(i + 1, std::string_view(buffer, static_cast<size_t>(n)));
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        CloseFd(&out_fds_[i]);
      }
    }
    return out_fds_[0] >= 0 || out_fds_[1] >= 0;
  }

  bool WatchesExit() const override { return exit_fd_ >= 0; }
  bool ExitSeen() const override { return exit_seen_; }

  void CloseOutput() override {
    CloseFd(&out_fds_[0]);
    CloseFd(&out_fds_[1]);
  }

  absl::Status WriteInput(std::string_view data) override {
    const std::string what = absl::StrCat("the stdin of pid ", pid_);
    if (in_fd_ < 0) return ErrnoStatus(EBADF, "cannot write to", what);
    while (!data.empty()) {
      ssize_t n = ::write(in_fd_, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoStatus(errno, "cannot write to", what);
      data.remove_prefix(static_cast<size_t>(n));
    }
    return absl::OkStatus();
  }

  void CloseInput() override { CloseFd(&in_fd_); }

  void WaitForExit() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (reaped_) return;
    }
    siginfo_t info;
    std::memset(&info, 0, sizeof(info));
    // WNOWAIT: the child stays a zombie, so its pid and group id stay ours until Reap.
    while (::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOWAIT) < 0 &&
           errno == EINTR) {
    }
  }

  absl::StatusOr<ExitStatus> Reap() override {
    WaitForExit();
    std::lock_guard<std::mutex> lock(mu_);
    if (reaped_) return result_;
    int status = 0;
    pid_t reaped;
    do {
      reaped = ::waitpid(pid_, &status, 0);
    } while (reaped < 0 && errno == EINTR);
    if (reaped == pid_) {
      result_ = DecodeWaitStatus(status);
    } else {
      result_ = ErrnoStatus(errno, "lost the exit status of pid", std::to_string(pid_));
    }
    reaped_ = true;
    return result_;
  }

  void Signal(int sig) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!reaped_) ::kill(pid_, sig);
  }

  void SignalGroup(int sig) override {
    std::lock_guard<std::mutex> lock(mu_);
    // Until reaped, the (possibly zombie) leader keeps the group id from being reused.
    if (!reaped_) ::kill(-pid_, sig);
  }

 private:
  const pid_t pid_;
  int in_fd_;
  int out_fds_[2];
  int exit_fd_;             // owned by the ReadOutput thread
  bool exit_seen_ = false;  // owned by the ReadOutput thread
  std::mutex mu_;
  bool reaped_ = false;                                                   // guarded by mu_
  absl::StatusOr<ExitStatus> result_ = absl::UnknownError("not reaped");  // guarded by mu_
};

// One /dev/null descriptor for every child, opened at the first spawn and never closed:
// an open and a close fewer per trial. -1 when it could not be opened (then each spawn
// opens its own and reports the error).
int SharedDevNull() {
  static const int fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  return fd;
}

// The descriptors of a spawn: what the child gets as 0, 1, 2 and what the parent keeps.
struct Plumbing {
  std::array<int, 3> child{-1, -1, -1};  // closed in the parent after the spawn, but for
                                         // SharedDevNull()
  int parent_in = -1;                    // write end of the stdin pipe
  int parent_out[2] = {-1, -1};          // read ends of the stdout / stderr pipes
  bool stderr_to_stdout = false;

  ~Plumbing() {
    CloseChildSide();
    CloseFd(&parent_in);
    CloseFd(&parent_out[0]);
    CloseFd(&parent_out[1]);
  }
  void CloseChildSide() {
    for (int& fd : child) {
      if (fd == SharedDevNull()) fd = -1;
      CloseFd(&fd);
    }
  }
};

absl::Status Connect(const Stdio& stdio, int target, Plumbing& p) {
  switch (stdio.kind) {
    case Stdio::Kind::kInherit:
      return absl::OkStatus();
    case Stdio::Kind::kStdout:
      if (target != 2) return absl::InvalidArgumentError("only stderr can go to stdout");
      p.stderr_to_stdout = true;
      return absl::OkStatus();
    case Stdio::Kind::kDevNull:
      p.child[target] = SharedDevNull();
      if (p.child[target] < 0) p.child[target] = ::open("/dev/null", O_RDWR | O_CLOEXEC);
      if (p.child[target] < 0) return ErrnoStatus(errno, "cannot open", "/dev/null");
      return absl::OkStatus();
    case Stdio::Kind::kFile: {
      int flags = target == 0 ? O_RDONLY : O_WRONLY | O_CREAT | (stdio.append ? O_APPEND : O_TRUNC);
      p.child[target] = ::open(stdio.path.c_str(), flags | O_CLOEXEC, stdio.mode);
      if (p.child[target] < 0) return ErrnoStatus(errno, "cannot open", stdio.path);
      return absl::OkStatus();
    }
    case Stdio::Kind::kPipe: {
      int fds[2];
      if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoStatus(errno, "cannot create", "a pipe");
      if (target == 0) {
        p.child[0] = fds[0];
        p.parent_in = fds[1];
      } else {
        p.child[target] = fds[1];
        p.parent_out[target - 1] = fds[0];
      }
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

// In the vfork child: tells the parent errno, and ends. The child shares the parent's
// memory until it execs or exits, and the parent waits until then, so a variable of the
// parent carries the errno (as glibc's posix_spawn does): no pipe to create, read and close
// per spawn.
[[noreturn]] void ReportErrnoAndExit(volatile int* exec_errno) {
  *exec_errno = errno;
  ::_exit(127);
}

// Runs in the vfork child: only async-signal-safe calls. Reports errno through exec_errno.
[[noreturn]] void ExecChild(const SpawnOptions& options, const Plumbing& p, char** argv,
                            char** envp, pid_t parent, const sigset_t& parent_mask,
                            volatile int* exec_errno) {
  auto fail = [exec_errno] { ReportErrnoAndExit(exec_errno); };
  if (options.reset_signals) {
    struct sigaction dfl;
    std::memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) {
      if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
    }
    sigset_t empty;
    sigemptyset(&empty);
    ::sigprocmask(SIG_SETMASK, &empty, nullptr);
  } else {
    ::sigprocmask(SIG_SETMASK, &parent_mask, nullptr);
  }
  if (::prctl(PR_SET_PDEATHSIG, options.parent_death_signal) != 0) fail();
  // kill(getpid()), not raise(): raise() names the thread by the tid glibc cached in the
  // thread's memory, which a vfork child shares with its parent's thread.
  if (::getppid() != parent) ::kill(::getpid(), options.parent_death_signal);  // it died already
  if (options.new_process_group && ::setpgid(0, 0) != 0) fail();
  for (int target = 0; target < 3; ++target) {
    int fd = p.child[target];
    if (fd < 0) continue;
    if (fd == target ? ::fcntl(fd, F_SETFD, 0) != 0 : ::dup2(fd, target) < 0) fail();
  }
  if (p.stderr_to_stdout && ::dup2(1, 2) < 0) fail();
  if (!options.working_dir.empty() && ::chdir(options.working_dir.c_str()) != 0) fail();
  ::execvpe(argv[0], argv, envp);
  ReportErrnoAndExit(exec_errno);
}

// vfork/exec; returns 0 or the errno of the failure: of exec (the child is reaped then), or
// of fork with *pid = -1.
int ForkExec(const SpawnOptions& options, const Plumbing& p, char** argv, char** envp, pid_t* pid) {
  volatile int exec_errno = 0;
  // All signals blocked across fork, so the child runs no handler of ours before it resets
  // them.
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  const pid_t parent = ::getpid();
  // vfork: the child borrows our memory until it execs, so no page table is copied and no
  // page of ours becomes copy-on-write (fork cost milliseconds per trial in a large,
  // threaded worker). The child only makes system calls, and this thread waits for it.
  *pid = ::vfork();
  if (*pid == 0) ExecChild(options, p, argv, envp, parent, old, &exec_errno);
  int fork_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (*pid < 0) return fork_errno;
  const int child_errno = exec_errno;
  if (child_errno == 0) return 0;  // it execed (or was killed before: Reap tells)
  while (::waitpid(*pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  return child_errno;
}

int PosixSpawn(const SpawnOptions& options, const Plumbing& p, char** argv, char** envp,
               pid_t* pid) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  for (int target = 0; target < 3; ++target) {
    if (p.child[target] >= 0) posix_spawn_file_actions_adddup2(&actions, p.child[target], target);
  }
  if (p.stderr_to_stdout) posix_spawn_file_actions_adddup2(&actions, 1, 2);
  if (!options.working_dir.empty()) {
    posix_spawn_file_actions_addchdir_np(&actions, options.working_dir.c_str());
  }
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  short flags = 0;
  if (options.new_process_group) {
    flags |= POSIX_SPAWN_SETPGROUP;
    posix_spawnattr_setpgroup(&attr, 0);  // a new group led by the child
  }
  if (options.reset_signals) {
    flags |= POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    sigset_t signals;
    sigemptyset(&signals);
    posix_spawnattr_setsigmask(&attr, &signals);
    sigfillset(&signals);  // ignored signals (gRPC ignores SIGPIPE) back to default
    posix_spawnattr_setsigdefault(&attr, &signals);
  }
  posix_spawnattr_setflags(&attr, flags);
  int rc = ::posix_spawnp(pid, argv[0], &actions, &attr, argv, envp);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  return rc;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Subprocess>> SpawnPosix(const SpawnOptions& options) {
  if (options.argv.empty() || options.argv[0].empty()) {
    return absl::InvalidArgumentError("cannot run an empty command");
  }
  Plumbing p;
  const std::pair<const Stdio*, int> streams[] = {
      {&options.stdin_to, 0}, {&options.stdout_to, 1}, {&options.stderr_to, 2}};
  for (const auto& [stdio, target] : streams) {
    if (absl::Status s = Connect(*stdio, target, p); !s.ok()) return s;
  }
  // Everything the child needs is built before spawning: after fork only async-signal-safe
  // calls are allowed, and posix_spawn (vfork-like) shares our memory.
  std::vector<char*> argv;
  for (const std::string& arg : options.argv) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<std::string> env_strings;
  std::vector<char*> envp;
  if (options.env) {
    env_strings.reserve(options.env->size());
    for (const auto& [key, value] : *options.env) env_strings.push_back(key + "=" + value);
    for (std::string& entry : env_strings) envp.push_back(entry.data());
    envp.push_back(nullptr);
  }
  char** env = options.env ? envp.data() : environ;

  pid_t pid = 0;
  int rc = options.parent_death_signal != 0 ? ForkExec(options, p, argv.data(), env, &pid)
                                            : PosixSpawn(options, p, argv.data(), env, &pid);
  p.CloseChildSide();
  if (rc != 0 && pid < 0) return ErrnoStatus(rc, "cannot fork to run", options.argv[0]);
  if (rc != 0) {
    return AttachErrno(absl::FailedPreconditionError(
                           absl::StrCat("cannot run '", options.argv[0], "': ", std::strerror(rc))),
                       rc);
  }
  // Only a reader of the output can watch the exit; -1 on kernels without pidfd_open.
  const int exit_fd = p.parent_out[0] >= 0 || p.parent_out[1] >= 0
                          ? static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))
                          : -1;
  auto process = std::make_unique<PosixSubprocess>(pid, p.parent_in, p.parent_out[0],
                                                   p.parent_out[1], exit_fd);
  p.parent_in = p.parent_out[0] = p.parent_out[1] = -1;  // owned by the process now
  return std::unique_ptr<Subprocess>(std::move(process));
}

}  // namespace sweep::core

#include "worker/process.h"

#include <signal.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "worker/logging.h"
#include "worker/metric_parser.h"

namespace sweep::worker {
namespace {

// After the command exits, how long to keep reading output from descendants that left
// its process group (and so escaped the group kill) before giving up on them.
constexpr int64_t kDrainAfterExitMs = 2'000;

// Threads that outlive the tasks they run: each trial needs a reader and a waiter, and
// creating two threads per attempt (stack mappings, malloc arenas) cost more than the rest
// of the worker's work for a short trial. Idle threads wait for the next task; a task
// finds a new thread only when every thread is busy. Never destroyed: threads are detached
// and may be blocked when the process exits.
class TaskThreads {
 public:
  // Set once its task returned.
  class Done {
   public:
    void Wait() {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return done_; });
    }
    void Set() {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
      cv_.notify_all();
    }

   private:
    std::mutex mu_;
    std::condition_variable cv_;
    bool done_ = false;
  };

  static TaskThreads& Get() {
    static TaskThreads* threads = new TaskThreads();
    return *threads;
  }

  std::shared_ptr<Done> Run(std::function<void()> task) {
    auto done = std::make_shared<Done>();
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back([task = std::move(task), done] {
      task();
      done->Set();
    });
    if (idle_ < queue_.size()) {
      std::thread([this] { Loop(); }).detach();
    } else {
      cv_.notify_one();
    }
    return done;
  }

 private:
  void Loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      ++idle_;
      cv_.wait(lock, [this] { return !queue_.empty(); });
      --idle_;
      std::function<void()> task = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      task();
      lock.lock();
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  size_t idle_ = 0;  // threads waiting for a task
};

// One output stream of the child: its log file and its line callback.
struct Stream {
  core::Env* env = nullptr;
  // Created at the first byte: a stream the trial never writes to costs no inode (creating
  // one was the largest part of starting an attempt on ext4). Cleared once tried.
  std::string log_path;
  std::unique_ptr<core::WritableFile> log;
  int64_t log_cap = 0;   // LaunchSpec::log_max_bytes
  int64_t log_room = 0;  // bytes the log may still take
  std::function<void(const std::string&)> on_line;
  LineSplitter splitter;

  void Add(std::string_view data) {
    if (!log_path.empty()) OpenLog();
    // A full disk must not stop the trial: the pipe keeps being drained.
    if (log) WriteLog(data);
    if (!on_line) return;
    for (const std::string& line : splitter.Append(data)) on_line(line);
  }
  // A log that cannot be created is reported once; the trial runs on without it.
  void OpenLog() {
    absl::StatusOr<std::unique_ptr<core::WritableFile>> file = env->NewWritableFile(log_path);
    if (file.ok()) {
      log = *std::move(file);
    } else {
      Log()->warn("{}; this output of the trial is not kept",
                  std::string(core::ErrnoStatus(file.status(), "cannot create log file",
                                                absl::StrCat("'", log_path, "'"))
                                  .message()));
    }
    log_path.clear();
  }
  // Up to log_room bytes, then a note; the rest is not kept.
  void WriteLog(std::string_view data) {
    const int64_t n = std::min<int64_t>(log_room, static_cast<int64_t>(data.size()));
    if (n > 0) log->Append(data.substr(0, n)).IgnoreError();
    log_room -= n;
    if (n < static_cast<int64_t>(data.size())) {
      log->Append(
             absl::StrCat("\n[sweep: log cut at ", log_cap, " bytes; later output not kept]\n"))
          .IgnoreError();
      log.reset();
    }
  }
  // End of stream: the unterminated last line, then close.
  void Finish() {
    if (std::optional<std::string> rest = splitter.Finish(); rest && on_line) on_line(*rest);
    on_line = nullptr;
    log.reset();
  }
};

class PosixProcess final : public Process {
 public:
  PosixProcess(core::Env* env, std::unique_ptr<core::Subprocess> child, Stream out, Stream err)
      : env_(env), child_(std::move(child)) {
    streams_[0] = std::move(out);
    streams_[1] = std::move(err);
    reader_ = TaskThreads::Get().Run([this] { ReadLoop(); });
    // One thread reads and reaps when the reader sees the exit; else a second one waits.
    if (!child_->WatchesExit()) waiter_ = TaskThreads::Get().Run([this] { WaitLoop(); });
  }

  ~PosixProcess() override {
    SignalGroup(SIGKILL);
    if (waiter_) waiter_->Wait();
    reader_->Wait();
  }

  int64_t pid() const override { return child_->pid(); }

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

  void SignalGroup(int sig) override { child_->SignalGroup(sig); }

 private:
  void WaitLoop() {
    child_->WaitForExit();
    ReapExited();
  }

  // The child has exited. The leader stays a zombie until reaped, so its group id stays
  // ours while we kill whatever the command left running in it.
  void ReapExited() {
    child_->SignalGroup(SIGKILL);
    absl::StatusOr<ExitInfo> exit = child_->Reap();
    if (!exit.ok()) {
      // Someone else reaped it (SIGCHLD ignored, or a waitpid(-1) elsewhere).
      Log()->warn("{}", std::string(exit.status().message()));
    }
    std::lock_guard<std::mutex> lock(mu_);
    exit_ = exit.ok() ? *exit : ExitInfo{-1, 0};
    reaped_ = true;
    reaped_at_ms_ = env_->MonotonicMillis();
    cv_.notify_all();
  }

  void ReadLoop() {
    // Time spent in the line callbacks after the exit (a reader held back by metric
    // backpressure) does not count against the drain window: output the command wrote
    // before it exited is read to the end, however long storing its points takes.
    int64_t sink_ms_after_reap = 0;
    auto sink = [this, &sink_ms_after_reap](int stream, std::string_view data) {
      const int64_t start = env_->MonotonicMillis();
      streams_[stream - 1].Add(data);
      const int64_t end = env_->MonotonicMillis();
      std::lock_guard<std::mutex> lock(mu_);
      if (reaped_) sink_ms_after_reap += std::max<int64_t>(0, end - std::max(start, reaped_at_ms_));
    };
    const bool reaps = child_->WatchesExit();
    bool reaped = false;  // by this thread
    while (true) {
      const bool open = child_->ReadOutput(100, sink);
      if (reaps && !reaped && child_->ExitSeen()) {
        ReapExited();
        reaped = true;
      }
      if (!open) break;
      std::lock_guard<std::mutex> lock(mu_);
      if (reaped_ &&
          env_->MonotonicMillis() - reaped_at_ms_ - sink_ms_after_reap > kDrainAfterExitMs) {
        break;  // a descendant escaped the group and holds the pipe open
      }
    }
    child_->CloseOutput();
    streams_[0].Finish();
    streams_[1].Finish();
    if (reaps && !reaped) WaitLoop();  // the command closed its output before it exited
    std::lock_guard<std::mutex> lock(mu_);
    drained_ = true;
    cv_.notify_all();
  }

  core::Env* const env_;
  const std::unique_ptr<core::Subprocess> child_;
  Stream streams_[2];  // owned by the reader thread once started
  std::shared_ptr<TaskThreads::Done> reader_;
  std::shared_ptr<TaskThreads::Done> waiter_;  // only when the reader cannot see the exit

  std::mutex mu_;
  std::condition_variable cv_;
  bool reaped_ = false;
  bool drained_ = false;
  int64_t reaped_at_ms_ = 0;
  ExitInfo exit_;
};

class PosixProcessLauncher final : public ProcessLauncher {
 public:
  explicit PosixProcessLauncher(core::Env* env) : env_(env) {}

  absl::StatusOr<std::unique_ptr<Process>> Launch(const LaunchSpec& spec) override {
    if (spec.argv.empty() || spec.argv[0].empty()) {
      return absl::InvalidArgumentError("cannot run an empty command");
    }
    if (!spec.working_dir.empty() && !env_->IsDirectory(spec.working_dir)) {
      return absl::FailedPreconditionError(
          absl::StrCat("working directory '", spec.working_dir, "' does not exist"));
    }
    Stream out, err;
    out.on_line = spec.on_stdout_line;
    err.on_line = spec.on_stderr_line;
    for (auto [stream, path] : {std::pair{&out, &spec.stdout_log}, {&err, &spec.stderr_log}}) {
      stream->env = env_;
      stream->log_path = *path;
      stream->log_cap = stream->log_room = std::max<int64_t>(0, spec.log_max_bytes);
    }
    core::SpawnOptions options;
    options.argv = spec.argv;
    options.env = spec.env;
    options.working_dir = spec.working_dir;
    options.stdin_to = core::Stdio::DevNull();
    options.stdout_to = core::Stdio::Pipe();
    options.stderr_to = core::Stdio::Pipe();
    options.new_process_group = true;
    // A trial dies with its worker, even a SIGKILLed one (no orphan runs on while the
    // retry starts a second copy). Launch runs on the agent's thread, which lives as long
    // as the worker.
    options.parent_death_signal = SIGKILL;
    absl::StatusOr<std::unique_ptr<core::Subprocess>> child = env_->Spawn(options);
    if (!child.ok()) return child.status();
    return std::unique_ptr<Process>(
        new PosixProcess(env_, *std::move(child), std::move(out), std::move(err)));
  }

 private:
  core::Env* const env_;
};

}  // namespace

std::unique_ptr<ProcessLauncher> NewPosixProcessLauncher(core::Env* env) {
  return std::make_unique<PosixProcessLauncher>(env);
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

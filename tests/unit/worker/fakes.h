// Fakes for the agent's dependencies: a scripted controller client and a launcher of
// processes the test drives by hand.
#pragma once

#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/digest.h"
#include "worker/controller_client.h"
#include "worker/process.h"

namespace sweep::worker::testing {

// Records every call by name; replies come from queues or hooks set by the test.
class FakeClient : public ControllerClient {
 public:
  absl::StatusOr<Registered> Register(const NodeRegistration& request) override {
    std::function<absl::StatusOr<Registered>(const NodeRegistration&)> hook;
    {
      std::lock_guard<std::mutex> lock(mu_);
      calls_.push_back("Register");
      register_requests_.push_back(request);
      hook = on_register;
    }
    if (hook) return hook(request);
    return Registered{"node-1", 1'000, 30'000};
  }

  absl::StatusOr<AcquireResult> AcquireTrial(const std::string& node_id, int64_t wait_ms) override {
    std::unique_lock<std::mutex> lock(mu_);
    calls_.push_back("AcquireTrial");
    acquire_nodes_.push_back(node_id);
    if (!acquire_replies_.empty()) {
      absl::StatusOr<AcquireResult> reply = std::move(acquire_replies_.front());
      acquire_replies_.pop_front();
      return reply;
    }
    // Nothing scripted: a long poll that only an interrupt ends early.
    cv_.wait_for(lock, std::chrono::seconds(10), [this] { return interrupted_; });
    if (interrupted_) return absl::CancelledError("interrupted");
    return AcquireResult{};
  }

  absl::StatusOr<DirectiveReply> Heartbeat(const LeaseRef& lease) override {
    std::function<absl::StatusOr<DirectiveReply>(const LeaseRef&)> hook;
    {
      std::lock_guard<std::mutex> lock(mu_);
      calls_.push_back("Heartbeat");
      hook = on_heartbeat;
    }
    if (hook) return hook(lease);
    return DirectiveReply{};
  }

  absl::StatusOr<DirectiveReply> ReportMetrics(
      const LeaseRef& lease, const std::vector<core::MetricPoint>& points) override {
    std::function<absl::StatusOr<DirectiveReply>(const std::vector<core::MetricPoint>&)> hook;
    {
      std::lock_guard<std::mutex> lock(mu_);
      calls_.push_back("ReportMetrics");
      reports_.push_back(points);
      hook = on_report;
    }
    if (hook) return hook(points);
    return DirectiveReply{};
  }

  absl::StatusOr<std::string> CompleteTrial(const LeaseRef& lease,
                                            const Completion& completion) override {
    std::function<absl::StatusOr<std::string>(const Completion&)> hook;
    {
      std::lock_guard<std::mutex> lock(mu_);
      calls_.push_back("CompleteTrial");
      completions_.push_back(completion);
      hook = on_complete;
    }
    if (hook) return hook(completion);
    return std::string("completed");
  }

  // With serve_next_with_completion, the next scripted AcquireTrial reply comes back with
  // the completion, as a controller that knows the combined call answers.
  absl::StatusOr<std::string> CompleteTrialAndAcquire(const LeaseRef& lease,
                                                      const Completion& completion,
                                                      std::optional<AcquireResult>* next) override {
    next->reset();
    if (!serve_next_with_completion) return CompleteTrial(lease, completion);
    {
      std::lock_guard<std::mutex> lock(mu_);
      calls_.push_back("CompleteTrialAndAcquire");
      completions_.push_back(completion);
      if (!acquire_replies_.empty() && acquire_replies_.front().ok()) {
        *next = *std::move(acquire_replies_.front());
        acquire_replies_.pop_front();
      }
    }
    return std::string("completed");
  }
  bool serve_next_with_completion = false;

  absl::Status Deregister(const std::string& node_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back("Deregister");
    return absl::OkStatus();
  }

  // Snapshots are served from `snapshots` (digest -> manifest text) and `blobs`
  // (file digest -> content); on_fetch may tamper with a chunk. Uploads are kept in
  // uploads(), not in calls(), so call sequences stay those of the lease protocol.
  absl::StatusOr<SnapshotChunk> FetchSnapshot(const std::string& digest, const std::string& blob,
                                              int64_t offset, int64_t max_bytes) override {
    std::function<void(const std::string&, SnapshotChunk*)> hook;
    SnapshotChunk chunk;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++fetches_;
      auto manifest = snapshots.find(digest);
      if (manifest == snapshots.end())
        return absl::NotFoundError("snapshot " + digest + " is not stored");
      const std::string* content = &manifest->second;
      if (!blob.empty()) {
        auto it = blobs.find(blob);
        if (it == blobs.end()) return absl::NotFoundError("no blob " + blob);
        content = &it->second;
      }
      chunk.total_size = static_cast<int64_t>(content->size());
      chunk.data = content->substr(static_cast<size_t>(offset), static_cast<size_t>(max_bytes));
      chunk.sha256 = core::Sha256Hex(chunk.data);
      hook = on_fetch;
    }
    if (hook) hook(blob, &chunk);
    return chunk;
  }

  absl::Status UploadArtifact(const LeaseRef& lease, const ArtifactChunk& chunk) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (unavailable_calls > 0) {  // a controller restarting: the call never arrives
      --unavailable_calls;
      return absl::UnavailableError("connection refused");
    }
    uploads_.push_back(chunk);
    return absl::OkStatus();
  }

  absl::StatusOr<int64_t> CommitArtifacts(const LeaseRef& lease, int64_t file_count) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (unavailable_calls > 0) {
      --unavailable_calls;
      return absl::UnavailableError("connection refused");
    }
    commits_.push_back(file_count);
    return 0;
  }
  // The next this many upload or commit calls fail Unavailable.
  int unavailable_calls = 0;

  std::vector<ArtifactChunk> uploads() {
    std::lock_guard<std::mutex> lock(mu_);
    return uploads_;
  }
  std::vector<int64_t> commits() {
    std::lock_guard<std::mutex> lock(mu_);
    return commits_;
  }
  int fetches() {
    std::lock_guard<std::mutex> lock(mu_);
    return fetches_;
  }

  void InterruptAcquire() override {
    std::lock_guard<std::mutex> lock(mu_);
    interrupted_ = true;
    cv_.notify_all();
  }

  void QueueAcquire(absl::StatusOr<AcquireResult> reply) {
    std::lock_guard<std::mutex> lock(mu_);
    acquire_replies_.push_back(std::move(reply));
  }
  void QueueLease(const LeaseGrant& lease) {
    AcquireResult reply;
    reply.lease = lease;
    QueueAcquire(reply);
  }
  void QueueShutdown() {
    AcquireResult reply;
    reply.shutdown = true;
    QueueAcquire(reply);
  }

  std::vector<std::string> calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  std::vector<Completion> completions() {
    std::lock_guard<std::mutex> lock(mu_);
    return completions_;
  }
  std::vector<std::vector<core::MetricPoint>> reports() {
    std::lock_guard<std::mutex> lock(mu_);
    return reports_;
  }
  std::vector<NodeRegistration> register_requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return register_requests_;
  }
  std::vector<std::string> acquire_nodes() {
    std::lock_guard<std::mutex> lock(mu_);
    return acquire_nodes_;
  }

  // Hooks, set before the worker runs.
  std::function<absl::StatusOr<Registered>(const NodeRegistration&)> on_register;
  std::function<absl::StatusOr<DirectiveReply>(const LeaseRef&)> on_heartbeat;
  std::function<absl::StatusOr<DirectiveReply>(const std::vector<core::MetricPoint>&)> on_report;
  std::function<absl::StatusOr<std::string>(const Completion&)> on_complete;
  std::function<void(const std::string& blob, SnapshotChunk*)> on_fetch;
  std::map<std::string, std::string> snapshots;  // guarded by mu_ once the worker runs
  std::map<std::string, std::string> blobs;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool interrupted_ = false;
  std::deque<absl::StatusOr<AcquireResult>> acquire_replies_;
  std::vector<std::string> calls_;
  std::vector<NodeRegistration> register_requests_;
  std::vector<std::string> acquire_nodes_;
  std::vector<std::vector<core::MetricPoint>> reports_;
  std::vector<Completion> completions_;
  std::vector<ArtifactChunk> uploads_;
  std::vector<int64_t> commits_;
  int fetches_ = 0;
};

// The state of one fake process, shared by the process object and the test.
struct FakeProcessState {
  LaunchSpec spec;
  bool exit_on_sigterm = true;  // false: only SIGKILL ends it

  void Exit(ExitInfo exit) {
    std::lock_guard<std::mutex> lock(mu);
    if (!this->exit) this->exit = exit;
    cv.notify_all();
  }
  std::vector<int> signals_received() {
    std::lock_guard<std::mutex> lock(mu);
    return signals;
  }
  // How often the agent has polled the process (Process::Wait), so a test can wait for
  // the agent to have gone round its loop.
  int wait_calls() {
    std::lock_guard<std::mutex> lock(mu);
    return waits;
  }
  void Stdout(const std::string& line) { spec.on_stdout_line(line); }
  void Stderr(const std::string& line) { spec.on_stderr_line(line); }

  std::mutex mu;
  std::condition_variable cv;
  std::optional<ExitInfo> exit;
  std::vector<int> signals;
  int waits = 0;
};

class FakeProcess : public Process {
 public:
  explicit FakeProcess(std::shared_ptr<FakeProcessState> state) : state_(std::move(state)) {}
  int64_t pid() const override { return 4242; }
  std::optional<ExitInfo> Wait(int64_t timeout_ms) override {
    std::unique_lock<std::mutex> lock(state_->mu);
    ++state_->waits;
    auto done = [this] { return state_->exit.has_value(); };
    if (timeout_ms < 0) {
      state_->cv.wait(lock, done);
    } else {
      state_->cv.wait_for(lock, std::chrono::milliseconds(timeout_ms), done);
    }
    return state_->exit;
  }
  void SignalGroup(int sig) override {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (state_->exit) return;
    state_->signals.push_back(sig);
    if (sig == SIGKILL || (sig == SIGTERM && state_->exit_on_sigterm)) {
      state_->exit = ExitInfo{-1, sig};
      state_->cv.notify_all();
    }
  }

 private:
  std::shared_ptr<FakeProcessState> state_;
};

class FakeLauncher : public ProcessLauncher {
 public:
  absl::StatusOr<std::unique_ptr<Process>> Launch(const LaunchSpec& spec) override {
    auto state = std::make_shared<FakeProcessState>();
    state->spec = spec;
    {
      std::lock_guard<std::mutex> lock(mu_);
      launched_.push_back(state);
    }
    if (!launch_error.ok()) return launch_error;
    if (on_launch) on_launch(state.get());
    return std::unique_ptr<Process>(new FakeProcess(state));
  }

  std::vector<std::shared_ptr<FakeProcessState>> launched() {
    std::lock_guard<std::mutex> lock(mu_);
    return launched_;
  }

  absl::Status launch_error;
  // Runs on the agent's thread as the process starts; may write output or exit it.
  std::function<void(FakeProcessState*)> on_launch;

 private:
  std::mutex mu_;
  std::vector<std::shared_ptr<FakeProcessState>> launched_;
};

}  // namespace sweep::worker::testing

// Internal to the worker agent: everything a worker sends under one lease. Metric points
// are numbered 1, 2, 3... (MetricPoint::seq, so the controller stores a re-sent one once)
// and batched (sent at kFlushPoints or after metrics_flush_ms, at most kMaxPointsPerRequest
// per report). None is dropped: past kMaxPendingPoints unsent, WaitForRoom blocks the
// trial's reader thread, so the trial's pipe fills and the trial is slowed until reports
// catch up (backpressure). A heartbeat goes out when nothing else renewed the lease for a
// heartbeat interval, and the completion is retried while the controller is away (see
// worker/agent.h for the lifecycle and error meanings).
//
// Thread safety: AddPoints and WaitForRoom may be called from the trial's reader thread;
// everything else from the agent's thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "absl/strings/string_view.h"
#include "core/types.h"
#include "worker/agent_context.h"
#include "worker/controller_client.h"
#include "worker/metric_parser.h"

namespace sweep::worker {

class LeaseReporter {
 public:
  // `ctx` must outlive the reporter. The lease counts as renewed at construction (the grant).
  LeaseReporter(AgentContext& ctx, const LeaseGrant& lease);

  const LeaseGrant& lease() const { return lease_; }
  const std::string& name() const { return name_; }  // "sweep/trial#attempt", for logs
  int64_t start_ms() const { return start_ms_; }

  // Queues parsed points, stamped with the current time and numbered. Never blocks.
  void AddPoints(std::vector<ParsedMetric> parsed);
  // Blocks while kMaxPendingPoints or more are unsent, until reports make room or
  // StopWaiting is called. For the trial's reader thread: a blocked reader is backpressure.
  void WaitForRoom();
  // WaitForRoom returns at once from now on (the trial is being stopped or abandoned, and
  // its reader must drain the pipe so it can exit).
  void StopWaiting();
  // Makes the next Renew send a heartbeat at once (the first one tells the controller the
  // trial runs).
  void RenewNow();
  // Sends due metric points, or a heartbeat when the lease has not been renewed for an
  // interval, and interprets the answer; *stop_reason is set with kStop. A transient
  // failure puts the points back and retries after a backoff; kFatal sets ctx.fatal.
  RenewResult Renew(std::string* stop_reason);
  // A heartbeat when the lease is due for renewal during a long transfer, so a big snapshot
  // or outputs/ does not let it expire. Its answer is ignored: a lost lease shows at the
  // next upload or at completion.
  void KeepAlive();
  // Sends the completion with the unsent points (a large backlog goes ahead in reports),
  // retrying while the controller is unreachable.
  AttemptEnd Complete(Completion completion);
  // Ends an attempt whose trial process never ran (exit code -1).
  AttemptEnd CompleteBeforeStart(Outcome outcome, absl::string_view error);

 private:
  void PutBack(std::vector<core::MetricPoint> batch);
  // Sends reports while a full request's worth is unsent (the completion's points must fit
  // one message); kDone when the lease is gone, kFatal, kStopRequested, or nullopt.
  std::optional<AttemptEnd> SendBacklog();
  // After a failed call: kDone (logged) when the lease is gone, kFatal when the token was
  // rejected; nullopt for other failures.
  std::optional<AttemptEnd> GoneOrRejected(const absl::Status& status);
  // After a transient failure to `what`: kFatal once the controller has been unreachable
  // too long, kStopRequested when the worker is stopped while waiting; nullopt: retry now.
  std::optional<AttemptEnd> WaitToRetry(const absl::Status& status, const char* what);
  std::vector<core::MetricPoint> TakePending(size_t max);
  // The index of `name` in names_ (added when new); mu_ held.
  uint32_t InternLocked(std::string_view name);
  void LogEnd(const Completion& completion, int64_t points, const std::string& trial_state);

  AgentContext& ctx_;
  const LeaseGrant lease_;
  const std::string name_;
  const int64_t start_ms_;
  int64_t last_renewal_ms_;
  int64_t retry_at_ms_ = 0;

  // A queued point without per-point strings: its name is an index into names_, and its
  // sweep, trial and attempt are the lease's (a full MetricPoint is made when it is sent).
  struct PendingPoint {
    int64_t timestamp_ms;
    int64_t seq;
    double value;
    int64_t step;
    uint32_t name;
  };

  std::mutex mu_;
  std::condition_variable room_cv_;   // pending_ shrank, or waiting_ ended
  std::deque<PendingPoint> pending_;  // guarded by mu_
  // Guarded by mu_: the names of the attempt's points (a deque: its strings never move, so
  // the index's keys may view them) and their indexes.
  std::deque<std::string> names_;
  std::unordered_map<std::string_view, uint32_t> name_index_;
  int64_t points_total_ = 0;  // guarded by mu_; also the last seq given
  bool waiting_ = true;       // guarded by mu_; false after StopWaiting
};

}  // namespace sweep::worker

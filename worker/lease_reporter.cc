#include "worker/lease_reporter.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/limits.h"
#include "worker/logging.h"

namespace sweep::worker {
namespace {

constexpr size_t kFlushPoints = 100;  // report as soon as this many are pending
// The most the controller takes in one report; 10,000 points are about 0.5 MB on the wire,
// well under gRPC's 4 MB. Fewer, larger reports: fewer rpcs and commits per point.
constexpr size_t kMaxPointsPerRequest = core::kMaxPointsPerReport;
constexpr size_t kMaxPendingPoints = 100'000;  // past this, the trial's reader waits
constexpr size_t kMaxKeptNames = 4096;         // interned names kept once all is sent

std::string AttemptName(const LeaseRef& ref) {
  return absl::StrCat(ref.sweep_id, "/", ref.trial_id, "#", ref.attempt);
}

std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace

LeaseReporter::LeaseReporter(AgentContext& ctx, const LeaseGrant& lease)
    : ctx_(ctx),
      lease_(lease),
      name_(AttemptName(lease.ref)),
      start_ms_(ctx.clock->NowMillis()),
      last_renewal_ms_(start_ms_) {}

void LeaseReporter::AddPoints(std::vector<ParsedMetric> parsed) {
  if (parsed.empty()) return;
  int64_t now = ctx_.clock->NowMillis();
  std::lock_guard<std::mutex> lock(mu_);
  for (const ParsedMetric& p : parsed) {
    pending_.push_back({.timestamp_ms = now,
                        .seq = ++points_total_,
                        .value = p.value,
                        .step = p.step,
                        .name = InternLocked(p.name)});
  }
}

uint32_t LeaseReporter::InternLocked(std::string_view name) {
  auto it = name_index_.find(name);
  if (it != name_index_.end()) return it->second;
  const uint32_t index = static_cast<uint32_t>(names_.size());
  name_index_.emplace(names_.emplace_back(name), index);
  return index;
}

void LeaseReporter::WaitForRoom() {
  std::unique_lock<std::mutex> lock(mu_);
  room_cv_.wait(lock, [this] { return !waiting_ || pending_.size() < kMaxPendingPoints; });
}

void LeaseReporter::StopWaiting() {
  std::lock_guard<std::mutex> lock(mu_);
  waiting_ = false;
  room_cv_.notify_all();
}

void LeaseReporter::RenewNow() { last_renewal_ms_ = start_ms_ - ctx_.heartbeat_ms; }

void LeaseReporter::PutBack(std::vector<core::MetricPoint> batch) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = batch.rbegin(); it != batch.rend(); ++it) {
    pending_.push_front({.timestamp_ms = it->timestamp_ms,
                         .seq = it->seq,
                         .value = it->value,
                         .step = it->step,
                         .name = InternLocked(it->name)});
  }
}

std::vector<core::MetricPoint> LeaseReporter::TakePending(size_t max) {
  std::lock_guard<std::mutex> lock(mu_);
  const size_t n = std::min(max, pending_.size());
  std::vector<core::MetricPoint> batch(n);
  for (size_t i = 0; i < n; ++i) {
    const PendingPoint& p = pending_[i];
    core::MetricPoint& point = batch[i];
    point.sweep_id = lease_.ref.sweep_id;
    point.trial_id = lease_.ref.trial_id;
    point.attempt = lease_.ref.attempt;
    point.name = names_[p.name];
    point.value = p.value;
    point.step = p.step;
    point.timestamp_ms = p.timestamp_ms;
    point.seq = p.seq;
  }
  pending_.erase(pending_.begin(), pending_.begin() + n);
  // A trial printing ever new names must not grow the table for its whole life: with
  // nothing queued, no index is in use.
  if (pending_.empty() && names_.size() > kMaxKeptNames) {
    name_index_.clear();
    names_.clear();
  }
  if (n > 0) room_cv_.notify_all();
  return batch;
}

RenewResult LeaseReporter::Renew(std::string* stop_reason) {
  int64_t now = ctx_.clock->NowMillis();
  if (now < retry_at_ms_) return RenewResult::kContinue;
  std::vector<core::MetricPoint> batch;
  absl::StatusOr<DirectiveReply> reply;
  bool report = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    report =
        !pending_.empty() && (pending_.size() >= kFlushPoints ||
                              now - pending_.front().timestamp_ms >= ctx_.options.metrics_flush_ms);
  }
  if (report) {
    // A backlog goes out in several reports, so a fast trial is slowed only as much as
    // the controller needs to store its points; after a poll interval of sending, the
    // trial is checked (stop, timeout) before the rest goes.
    const int64_t until = now + std::max<int64_t>(ctx_.options.poll_interval_ms, 1);
    while (true) {
      batch = TakePending(kMaxPointsPerRequest);
      reply = ctx_.client->ReportMetrics(lease_.ref, batch);
      if (!reply.ok() || reply->directive == Directive::kStop) break;
      if (ctx_.clock->NowMillis() >= until) break;
      std::lock_guard<std::mutex> lock(mu_);
      if (pending_.size() < kMaxPointsPerRequest) break;
    }
  } else if (now - last_renewal_ms_ >= ctx_.heartbeat_ms) {
    reply = ctx_.client->Heartbeat(lease_.ref);
  } else {
    return RenewResult::kContinue;
  }
  if (reply.ok()) {
    ctx_.reach.Success();
    last_renewal_ms_ = now;  // the lease was renewed as of the request
    if (reply->directive == Directive::kStop) {
      *stop_reason = reply->reason.empty() ? "stopped by the controller" : reply->reason;
      return RenewResult::kStop;
    }
    return RenewResult::kContinue;
  }
  const absl::Status& status = reply.status();
  if (IsLeaseGone(status)) {
    Log()->warn("attempt {}: the lease was taken away ({}); abandoning it", name_,
                std::string(status.message()));
    return RenewResult::kLeaseGone;
  }
  if (status.code() == absl::StatusCode::kUnauthenticated) {
    ctx_.fatal = ctx_.TokenRejectedMessage(status);
    return RenewResult::kFatal;
  }
  if (IsTransient(status)) {
    PutBack(std::move(batch));
    if (ctx_.reach.FailureExceedsLimit()) {
      ctx_.fatal = ctx_.UnreachableMessage(status);
      return RenewResult::kFatal;
    }
    if (ctx_.reach.first_failure()) {
      Log()->warn("attempt {}: cannot reach {} ({}); retrying", name_, ctx_.controller_name,
                  std::string(status.message()));
    }
    retry_at_ms_ = now + ctx_.reach.NextBackoffMs();
    return RenewResult::kContinue;
  }
  // The controller refused this batch for good (e.g. invalid points): do not resend it.
  if (!batch.empty()) {
    Log()->warn("attempt {}: the controller refused {} metric points: {}", name_, batch.size(),
                std::string(status.message()));
  } else {
    Log()->warn("attempt {}: heartbeat refused: {}", name_, std::string(status.message()));
  }
  retry_at_ms_ = now + ctx_.heartbeat_ms;
  return RenewResult::kContinue;
}

void LeaseReporter::KeepAlive() {
  int64_t now = ctx_.clock->NowMillis();
  if (now - last_renewal_ms_ < ctx_.heartbeat_ms) return;
  if (ctx_.client->Heartbeat(lease_.ref).ok()) last_renewal_ms_ = now;
}

AttemptEnd LeaseReporter::CompleteBeforeStart(Outcome outcome, absl::string_view error) {
  Completion completion;
  completion.outcome = outcome;
  completion.exit_code = -1;
  completion.error = std::string(error);
  return Complete(std::move(completion));
}

std::optional<AttemptEnd> LeaseReporter::SendBacklog() {
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (pending_.size() <= kMaxPointsPerRequest) return std::nullopt;
    }
    std::vector<core::MetricPoint> batch = TakePending(kMaxPointsPerRequest);
    absl::StatusOr<DirectiveReply> reply = ctx_.client->ReportMetrics(lease_.ref, batch);
    if (reply.ok()) {
      ctx_.reach.Success();
      continue;
    }
    const absl::Status& status = reply.status();
    if (std::optional<AttemptEnd> end = GoneOrRejected(status)) return end;
    if (!IsTransient(status)) {
      Log()->warn("attempt {}: the controller refused {} metric points: {}", name_, batch.size(),
                  std::string(status.message()));
      continue;
    }
    PutBack(std::move(batch));
    if (std::optional<AttemptEnd> end = WaitToRetry(status, "report its metrics")) return end;
  }
}

std::optional<AttemptEnd> LeaseReporter::GoneOrRejected(const absl::Status& status) {
  if (IsLeaseGone(status)) {
    Log()->warn("attempt {}: the lease was taken away before completion ({}); result dropped",
                name_, std::string(status.message()));
    return AttemptEnd::kDone;
  }
  if (status.code() == absl::StatusCode::kUnauthenticated) {
    ctx_.fatal = ctx_.TokenRejectedMessage(status);
    return AttemptEnd::kFatal;
  }
  return std::nullopt;
}

std::optional<AttemptEnd> LeaseReporter::WaitToRetry(const absl::Status& status, const char* what) {
  if (ctx_.reach.FailureExceedsLimit()) {
    ctx_.fatal = ctx_.UnreachableMessage(status);
    return AttemptEnd::kFatal;
  }
  if (ctx_.reach.first_failure()) {
    Log()->warn("attempt {}: cannot reach {} to {} ({}); retrying", name_, ctx_.controller_name,
                what, std::string(status.message()));
  }
  if (!ctx_.SleepMs(ctx_.reach.NextBackoffMs())) return AttemptEnd::kStopRequested;
  return std::nullopt;
}

AttemptEnd LeaseReporter::Complete(Completion completion) {
  // Unsent points travel with the completion; a larger backlog goes ahead in reports,
  // retried like the completion while the controller is away.
  StopWaiting();
  if (std::optional<AttemptEnd> end = SendBacklog()) return *end;
  completion.points = TakePending(kMaxPointsPerRequest);
  int64_t total;
  {
    std::lock_guard<std::mutex> lock(mu_);
    total = points_total_;
  }
  while (true) {
    // The next lease comes with the answer, unless the worker is leaving.
    absl::StatusOr<std::string> state =
        ctx_.Stopping()
            ? ctx_.client->CompleteTrial(lease_.ref, completion)
            : ctx_.client->CompleteTrialAndAcquire(lease_.ref, completion, &ctx_.next_acquire);
    if (state.ok()) {
      ctx_.reach.Success();
      LogEnd(completion, total, *state);
      return AttemptEnd::kDone;
    }
    const absl::Status& status = state.status();
    if (std::optional<AttemptEnd> end = GoneOrRejected(status)) return *end;
    if (!IsTransient(status)) {
      Log()->error("attempt {}: the controller refused its completion: {}", name_,
                   std::string(status.message()));
      return AttemptEnd::kDone;
    }
    if (std::optional<AttemptEnd> end = WaitToRetry(status, "complete it")) return *end;
  }
}

void LeaseReporter::LogEnd(const Completion& completion, int64_t points,
                           const std::string& trial_state) {
  double seconds = static_cast<double>(ctx_.clock->NowMillis() - start_ms_) / 1000.0;
  const char* outcome = completion.outcome == Outcome::kSucceeded ? "succeeded"
                        : completion.outcome == Outcome::kFailed  ? "failed"
                                                                  : "stopped";
  // One line: the reason's first line, and for failures the last stderr line.
  std::string detail;
  if (!completion.error.empty()) {
    detail = " (" + FirstLine(completion.error);
    size_t last = completion.error.rfind('\n');
    if (last != std::string::npos) detail += " " + completion.error.substr(last + 1);
    detail += ")";
  }
  Log()->info("attempt {} {} after {:.1f} s{}, {} metric points; trial {}", name_, outcome, seconds,
              detail, points, trial_state.empty() ? "?" : trial_state);
}

}  // namespace sweep::worker

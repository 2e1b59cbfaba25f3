#include "worker/agent_context.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace sweep::worker {
namespace {

constexpr int64_t kInitialBackoffMs = 200;
constexpr int64_t kMaxBackoffMs = 5'000;
constexpr int64_t kSleepSliceMs = 20;  // how often a sleep checks for a stop request

}  // namespace

bool IsTransient(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kDeadlineExceeded:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kAborted:
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kUnknown:
    case absl::StatusCode::kCancelled:
      return true;
    default:
      return false;
  }
}

bool IsLeaseGone(const absl::Status& status) {
  return status.code() == absl::StatusCode::kFailedPrecondition ||
         status.code() == absl::StatusCode::kNotFound;
}

Reachability::Reachability(core::Clock* clock, int64_t limit_ms)
    : clock_(clock), limit_ms_(limit_ms), backoff_ms_(kInitialBackoffMs) {}

void Reachability::Success() {
  failing_since_ms_ = -1;
  backoff_ms_ = kInitialBackoffMs;
}

bool Reachability::FailureExceedsLimit() {
  int64_t now = clock_->NowMillis();
  if (failing_since_ms_ < 0) failing_since_ms_ = now;
  return now - failing_since_ms_ >= limit_ms_;
}

bool Reachability::first_failure() const { return backoff_ms_ == kInitialBackoffMs; }

int64_t Reachability::NextBackoffMs() {
  int64_t backoff = backoff_ms_;
  backoff_ms_ = std::min(backoff_ms_ * 2, kMaxBackoffMs);
  return backoff;
}

AgentContext::AgentContext(const WorkerOptions& options, const WorkerDeps& deps,
                           std::atomic<bool>* stop)
    : options(options),
      client(deps.client),
      launcher(deps.launcher),
      env(deps.env ? deps.env : core::Env::Default()),
      clock(deps.clock ? deps.clock : env->clock()),
      stop(stop),
      controller_name(options.server.empty() ? std::string("the controller")
                                             : "the controller at " + options.server),
      reach(clock, options.unreachable_timeout_ms),
      node_id(options.node_id) {}

bool AgentContext::SleepMs(int64_t ms) {
  const int64_t end = env->MonotonicMillis() + ms;
  for (int64_t now = env->MonotonicMillis(); now < end; now = env->MonotonicMillis()) {
    if (Stopping()) return false;
    env->SleepForMillis(std::min<int64_t>(end - now, kSleepSliceMs));
  }
  return !Stopping();
}

std::string AgentContext::UnreachableMessage(const absl::Status& status) const {
  return absl::StrFormat("%s has been unreachable for %d s: %s", controller_name,
                         (options.unreachable_timeout_ms + 999) / 1000, status.message());
}

std::string AgentContext::TokenRejectedMessage(const absl::Status& status) const {
  return absl::StrCat(controller_name, " rejected the workspace token (", status.message(),
                      "); check the token given to the worker");
}

}  // namespace sweep::worker

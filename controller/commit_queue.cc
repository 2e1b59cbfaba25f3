#include "controller/commit_queue.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace sweep::controller {

CommitQueue::CommitQueue(CommitFn commit, CommitRetry retry)
    : commit_(std::move(commit)), retry_(std::move(retry)) {
  if (!retry_.sleep_ms) {
    retry_.sleep_ms = [](int64_t ms) {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    };
  }
  if (!retry_.now_ms) {
    retry_.now_ms = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::steady_clock::now().time_since_epoch())
          .count();
    };
  }
}

absl::Status CommitQueue::CommitWithRetries(const store::WriteBatch& batch) {
  const int64_t start = retry_.now_ms();
  int64_t backoff = retry_.first_backoff_ms;
  int other_failures = 0;
  while (true) {
    absl::Status status = commit_(batch);
    if (status.ok()) return status;
    if (store::IsBusy(status)) {
      if (retry_.now_ms() - start >= retry_.busy_budget_ms) return status;
    } else if (!absl::IsUnavailable(status) || ++other_failures > retry_.other_retries) {
      return status;
    }
    spdlog::warn("store commit failed, retrying in {} ms: {}", backoff,
                 std::string(status.message()));
    retry_.sleep_ms(backoff);
    backoff = std::min(backoff * 2, retry_.max_backoff_ms);
  }
}

void CommitQueue::SetListener(std::function<void(const core::Event&)> listener) {
  std::lock_guard<std::mutex> lock(mu_);
  listener_ = std::move(listener);
}

uint64_t CommitQueue::Enqueue(store::WriteBatch& batch) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!batch.empty()) {
    pending_.push_back(std::move(batch));
    batch = store::WriteBatch();
    ++next_seq_;
  }
  return next_seq_;
}

absl::Status CommitQueue::WaitDurable(uint64_t seq) {
  std::unique_lock<std::mutex> lock(mu_);
  while (durable_seq_ < seq && broken_.ok()) {
    if (committing_) {
      cv_.wait(lock);
      continue;
    }
    committing_ = true;
    std::vector<store::WriteBatch> batches;
    batches.swap(pending_);
    const uint64_t upto = next_seq_;
    auto listener = listener_;
    lock.unlock();
    // Metric points are most of a busy controller's rows: their vector is sized once
    // instead of growing (and moving every point) append by append.
    size_t points = 0;
    for (const store::WriteBatch& b : batches) points += b.metrics.size();
    store::WriteBatch merged;
    if (!batches.empty()) merged = std::move(batches[0]);
    merged.metrics.reserve(points);
    for (size_t i = 1; i < batches.size(); ++i) merged.Append(std::move(batches[i]));
    absl::Status status = CommitWithRetries(merged);
    if (status.ok() && listener) {
      for (const core::Event& e : merged.events) listener(e);
    }
    lock.lock();
    committing_ = false;
    if (status.ok()) {
      durable_seq_ = upto;
    } else {
      spdlog::error("store commit failed, controller stops accepting calls: {}",
                    std::string(status.message()));
      broken_ = absl::InternalError(
          absl::StrCat("the controller could not save its state (", status.message(),
                       "); restart it to resume from the last saved state"));
    }
    cv_.notify_all();
  }
  if (durable_seq_ >= seq) return absl::OkStatus();
  return broken_;
}

absl::Status CommitQueue::Broken() const {
  std::lock_guard<std::mutex> lock(mu_);
  return broken_;
}

}  // namespace sweep::controller

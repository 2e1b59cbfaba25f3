#include "controller/commit_queue.h"

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace sweep::controller {
namespace {

store::WriteBatch BatchWithEvent(const std::string& kind) {
  store::WriteBatch b;
  core::Event e;
  e.kind = kind;
  b.events.push_back(e);
  return b;
}

// Records what was committed; can hold the first commit until released.
class FakeCommits {
 public:
  CommitQueue::CommitFn Fn() {
    return [this](const store::WriteBatch& batch) {
      std::unique_lock<std::mutex> lock(mu_);
      std::vector<std::string> kinds;
      for (const core::Event& e : batch.events) kinds.push_back(e.kind);
      commits_.push_back(kinds);
      cv_.notify_all();
      cv_.wait(lock, [this] { return !hold_; });
      return status_;
    };
  }
  void Hold() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = true;
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    hold_ = false;
    cv_.notify_all();
  }
  void WaitForCommits(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return commits_.size() >= n; });
  }
  void Fail(absl::Status status) {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = std::move(status);
  }
  std::vector<std::vector<std::string>> Commits() {
    std::lock_guard<std::mutex> lock(mu_);
    return commits_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool hold_ = false;
  absl::Status status_;
  std::vector<std::vector<std::string>> commits_;
};

TEST(CommitQueueTest, EnqueueNumbersBatchesAndAnEmptyOneWaitsForTheLast) {
  FakeCommits fake;
  CommitQueue queue(fake.Fn());
  std::vector<std::string> heard;
  queue.SetListener([&](const core::Event& e) { heard.push_back(e.kind); });

  store::WriteBatch first = BatchWithEvent("a");
  EXPECT_EQ(queue.Enqueue(first), 1u);
  EXPECT_TRUE(first.empty()) << "the queue takes the rows";
  store::WriteBatch empty;
  EXPECT_EQ(queue.Enqueue(empty), 1u) << "an empty change waits for everything before it";
  store::WriteBatch second = BatchWithEvent("b");
  EXPECT_EQ(queue.Enqueue(second), 2u);

  ASSERT_TRUE(queue.WaitDurable(1).ok());
  EXPECT_EQ(fake.Commits(), (std::vector<std::vector<std::string>>{{"a", "b"}}))
      << "whoever commits takes every pending batch";
  EXPECT_EQ(heard, (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(queue.WaitDurable(2).ok());
  EXPECT_EQ(fake.Commits().size(), 1u) << "already durable: no second commit";
}

TEST(CommitQueueTest, WaitersArrivingDuringACommitShareTheNextOne) {
  FakeCommits fake;
  CommitQueue queue(fake.Fn());
  fake.Hold();
  store::WriteBatch b1 = BatchWithEvent("1");
  const uint64_t s1 = queue.Enqueue(b1);
  std::thread first([&] { EXPECT_TRUE(queue.WaitDurable(s1).ok()); });
  fake.WaitForCommits(1);  // the first commit is in flight, holding nothing but itself

  store::WriteBatch b2 = BatchWithEvent("2"), b3 = BatchWithEvent("3");
  const uint64_t s2 = queue.Enqueue(b2);
  const uint64_t s3 = queue.Enqueue(b3);
  std::thread second([&] { EXPECT_TRUE(queue.WaitDurable(s2).ok()); });
  std::thread third([&] { EXPECT_TRUE(queue.WaitDurable(s3).ok()); });
  fake.Release();
  first.join();
  second.join();
  third.join();
  EXPECT_EQ(fake.Commits(), (std::vector<std::vector<std::string>>{{"1"}, {"2", "3"}}));
}

// Retries without real sleeping: a fake clock the sleeps advance.
struct FakeTime {
  int64_t now = 0;
  std::vector<int64_t> sleeps;
  CommitRetry Retry() {
    CommitRetry retry;
    retry.sleep_ms = [this](int64_t ms) {
      sleeps.push_back(ms);
      now += ms;
    };
    retry.now_ms = [this] { return now; };
    return retry;
  }
};

TEST(CommitQueueTest, AFailedCommitBreaksTheQueueForGood) {
  FakeCommits fake;
  FakeTime time;
  CommitQueue queue(fake.Fn(), time.Retry());
  std::vector<std::string> heard;
  queue.SetListener([&](const core::Event& e) { heard.push_back(e.kind); });
  fake.Fail(absl::UnavailableError("disk full"));
  store::WriteBatch b = BatchWithEvent("lost");
  absl::Status status = queue.WaitDurable(queue.Enqueue(b));
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_NE(status.message().find("disk full"), std::string::npos) << status;
  EXPECT_EQ(queue.Broken(), status);
  EXPECT_TRUE(heard.empty()) << "nothing was committed, so nothing is announced";

  fake.Fail(absl::OkStatus());  // the store recovered, but memory is still ahead of it
  store::WriteBatch later = BatchWithEvent("later");
  EXPECT_EQ(queue.WaitDurable(queue.Enqueue(later)), status);
  EXPECT_EQ(fake.Commits().size(), 3u)
      << "disk full is tried 1 + other_retries times, then a broken queue commits nothing more";
}

// Fails `failures` times with `error`, then succeeds.
CommitQueue::CommitFn FailingTimes(int failures, absl::Status error, int* calls) {
  return [=](const store::WriteBatch&) { return (*calls)++ < failures ? error : absl::OkStatus(); };
}

TEST(CommitQueueTest, ABusyStoreIsRetriedWithBackoffUntilItFrees) {
  // Another process holds sweep.db's write lock for a while (fault 4 of issue 11: one
  // "database is locked" used to wedge the controller for good).
  FakeTime time;
  int calls = 0;
  const absl::Status busy = store::MarkBusy(absl::UnavailableError("database is locked"));
  CommitQueue queue(FailingTimes(5, busy, &calls), time.Retry());
  std::vector<std::string> heard;
  queue.SetListener([&](const core::Event& e) { heard.push_back(e.kind); });
  store::WriteBatch b = BatchWithEvent("kept");
  EXPECT_TRUE(queue.WaitDurable(queue.Enqueue(b)).ok());
  EXPECT_EQ(calls, 6);
  EXPECT_EQ(time.sleeps, (std::vector<int64_t>{50, 100, 200, 400, 800})) << "doubling backoff";
  EXPECT_EQ(heard, std::vector<std::string>{"kept"});
  EXPECT_TRUE(queue.Broken().ok());
}

TEST(CommitQueueTest, ALastingBusyStoreBreaksTheQueueAfterItsBudget) {
  FakeTime time;
  int calls = 0;
  const absl::Status busy = store::MarkBusy(absl::UnavailableError("database is locked"));
  CommitQueue queue(FailingTimes(1'000'000, busy, &calls), time.Retry());
  store::WriteBatch b = BatchWithEvent("lost");
  absl::Status status = queue.WaitDurable(queue.Enqueue(b));
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_NE(status.message().find("database is locked"), std::string::npos) << status;
  EXPECT_NE(status.message().find("restart it"), std::string::npos) << status;
  EXPECT_GE(time.now, CommitRetry().busy_budget_ms);
  EXPECT_LT(time.now, CommitRetry().busy_budget_ms + CommitRetry().max_backoff_ms + 1);
  EXPECT_LT(calls, 30) << "backoff, not a busy loop";
}

TEST(CommitQueueTest, ARefusedBatchIsNotRetried) {
  FakeTime time;
  int calls = 0;
  CommitQueue queue(FailingTimes(1, absl::InvalidArgumentError("bad row"), &calls), time.Retry());
  store::WriteBatch b = BatchWithEvent("bad");
  EXPECT_EQ(queue.WaitDurable(queue.Enqueue(b)).code(), absl::StatusCode::kInternal);
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(time.sleeps.empty());
}

}  // namespace
}  // namespace sweep::controller

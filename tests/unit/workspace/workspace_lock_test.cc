// The workspace lock: exclusive (also inside one process), naming its holder, released
// with its holder, waited for while a command holds it, refused at once for a controller.
#include "workspace/workspace_lock.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_dir.h"

namespace sweep::workspace {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class WorkspaceLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = root_.str() + "/ws";  // not created: TryAcquire makes it
  }
  testutil::TestDir root_{"lock"};
  LockHolder Controller(const std::string& address = "") const {
    return LockHolder{.pid = ::getpid(), .role = kControllerRole, .address = address};
  }
  LockHolder Command() const {
    return LockHolder{.pid = ::getpid(), .role = "sweep compute create"};
  }
  std::string dir_;
};

TEST_F(WorkspaceLockTest, OneHolderAtATimeNamedToTheOthers) {
  EXPECT_FALSE(WorkspaceLock::Peek(dir_).has_value()) << "no workspace, no holder";
  EXPECT_FALSE(fs::exists(dir_)) << "Peek creates nothing";
  auto first = WorkspaceLock::TryAcquire(dir_, Controller());
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_NE(first->lock, nullptr);
  EXPECT_TRUE(fs::exists(LockPath(dir_)));

  auto second = WorkspaceLock::TryAcquire(dir_, Command());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->lock, nullptr) << "a second open of the file is refused, also in-process";
  EXPECT_EQ(second->holder.pid, ::getpid());
  EXPECT_TRUE(second->holder.is_controller());
  EXPECT_EQ(second->holder.Describe(), "pid " + std::to_string(::getpid()) + ", still starting");

  ASSERT_TRUE(first->lock->Update(Controller("127.0.0.1:7070")).ok());
  std::optional<LockHolder> peeked = WorkspaceLock::Peek(dir_);
  ASSERT_TRUE(peeked.has_value());
  EXPECT_EQ(peeked->address, "127.0.0.1:7070");
  EXPECT_EQ(peeked->Describe(), "pid " + std::to_string(::getpid()) + " at 127.0.0.1:7070");

  first->lock.reset();
  EXPECT_FALSE(WorkspaceLock::Peek(dir_).has_value()) << "released with its holder";
  auto third = WorkspaceLock::TryAcquire(dir_, Command());
  ASSERT_TRUE(third.ok());
  EXPECT_NE(third->lock, nullptr);
  EXPECT_TRUE(fs::exists(LockPath(dir_))) << "the file stays: a new inode would be a new lock";
}

TEST_F(WorkspaceLockTest, AControllerIsReportedAtOnceACommandIsWaitedFor) {
  auto controller = WorkspaceLock::TryAcquire(dir_, Controller("127.0.0.1:1"));
  ASSERT_NE(controller->lock, nullptr);
  auto start = std::chrono::steady_clock::now();
  auto attempt = WorkspaceLock::Acquire(dir_, Command(), 10'000);
  ASSERT_TRUE(attempt.ok()) << attempt.status();
  EXPECT_EQ(attempt->lock, nullptr);
  EXPECT_EQ(attempt->holder.address, "127.0.0.1:1");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  controller->lock.reset();

  auto command = WorkspaceLock::TryAcquire(dir_, Command());
  ASSERT_NE(command->lock, nullptr);
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    command->lock.reset();
  });
  start = std::chrono::steady_clock::now();
  attempt = WorkspaceLock::Acquire(dir_, Controller(), 10'000);
  release.join();
  ASSERT_TRUE(attempt.ok()) << attempt.status();
  EXPECT_NE(attempt->lock, nullptr) << "taken once the command was done";
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(250));
}

TEST_F(WorkspaceLockTest, ACommandHoldingTooLongIsNamed) {
  auto command = WorkspaceLock::TryAcquire(dir_, Command());
  ASSERT_NE(command->lock, nullptr);
  auto attempt = WorkspaceLock::Acquire(dir_, Controller(), 200);
  EXPECT_EQ(attempt.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(
      attempt.status().message(),
      HasSubstr("is locked by pid " + std::to_string(::getpid()) + " (sweep compute create)"));
}

}  // namespace
}  // namespace sweep::workspace

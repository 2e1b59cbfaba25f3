// ServedController and the workspace lock: one controller per workspace, the second one
// refused at once naming the first, before it opens anything.
#include "cli/serve.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_dir.h"

namespace sweep::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;


TEST(ServedControllerTest, ASecondControllerIsRefusedNamingTheFirst) {
  testutil::TestDir root("serve");
  const std::string dir = root.str() + "/ws";
  auto first = ServedController::Start(dir, ServeOptions{});
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = ServedController::Start(dir, ServeOptions{});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(second.status().message(),
              HasSubstr("is already served by a controller (pid " + std::to_string(::getpid()) +
                        " at " + (*first)->dial_address() + "); submit to it with `sweep submit " +
                        "SPEC --server " + (*first)->dial_address()));
  first->reset();  // releases the lock
  auto third = ServedController::Start(dir, ServeOptions{});
  EXPECT_TRUE(third.ok()) << third.status();
}

TEST(ServedControllerTest, ControllersStartedTogetherServeOnce) {
  testutil::TestDir root("serve");
  const std::string dir = root.str() + "/ws";
  constexpr int kControllers = 4;
  std::vector<std::unique_ptr<ServedController>> served(kControllers);
  std::vector<absl::Status> statuses(kControllers);
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kControllers; ++i) {
    threads.emplace_back([&, i] {
      while (!go.load()) std::this_thread::yield();
      auto s = ServedController::Start(dir, ServeOptions{});
      statuses[i] = s.status();
      if (s.ok()) served[i] = std::move(*s);
    });
  }
  go = true;
  for (std::thread& t : threads) t.join();
  int serving = 0;
  for (int i = 0; i < kControllers; ++i) {
    if (served[i]) {
      ++serving;
    } else {
      EXPECT_EQ(statuses[i].code(), absl::StatusCode::kFailedPrecondition) << statuses[i];
      EXPECT_THAT(statuses[i].message(), HasSubstr("is already served by a controller (pid"));
    }
  }
  EXPECT_EQ(serving, 1);
}

}  // namespace
}  // namespace sweep::cli

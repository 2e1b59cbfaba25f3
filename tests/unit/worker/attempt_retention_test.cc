#include "worker/attempt_retention.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "core/clock.h"
#include "core/fault_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/worker/fakes.h"
#include "worker/agent.h"
#include "worker/attempt.h"

namespace sweep::worker {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class AttemptRetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("retention-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(attempts());
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path attempts() const { return dir_ / "attempts"; }
  // An attempt directory as a finished attempt leaves it: its logs.
  std::string MakeAttempt(const std::string& name) {
    fs::path d = attempts() / name;
    fs::create_directories(d);
    std::ofstream(d / "stdout.log") << "loss=1\n";
    std::ofstream(d / "stderr.log") << "";
    return d.string();
  }
  // Every entry of a directory, by name.
  static std::set<std::string> NamesIn(const fs::path& dir) {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
    return names;
  }
  // The attempt directories there (the spares, named with a leading '.', left out).
  std::set<std::string> Attempts() const {
    std::set<std::string> names = NamesIn(attempts());
    std::erase_if(names, [](const std::string& name) { return name[0] == '.'; });
    return names;
  }
  static ino_t Inode(const fs::path& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_ino;
  }
  fs::path dir_;
};

TEST_F(AttemptRetentionTest, KeepsTheNewestN) {
  AttemptRetention retention(attempts().string(), 2, core::Env::Default());
  ASSERT_TRUE(retention.Load().ok());
  for (const char* name : {"s-1-1-1", "s-2-1-2", "s-3-1-3", "s-4-1-4"}) {
    ASSERT_TRUE(retention.Finished(MakeAttempt(name)).ok());
  }
  EXPECT_EQ(Attempts(), (std::set<std::string>{"s-3-1-3", "s-4-1-4"}));
  EXPECT_EQ(retention.size(), 2u);
  // One evicted directory is kept, emptied, for the next attempt to rename into place:
  // its logs stay as empty files, anything else goes.
  fs::path spare = attempts() / kSpareAttemptName;
  ASSERT_TRUE(fs::is_directory(spare));
  EXPECT_EQ(NamesIn(spare), (std::set<std::string>{"stderr.log", "stdout.log"}));
  for (const auto& e : fs::directory_iterator(spare)) {
    EXPECT_TRUE(e.is_regular_file()) << e.path();
    EXPECT_EQ(fs::file_size(e.path()), 0u) << e.path();
  }
}

TEST_F(AttemptRetentionTest, TheSpareDropsWhatIsNotALogFile) {
  AttemptRetention retention(attempts().string(), 0, core::Env::Default());
  std::string attempt = MakeAttempt("s-1-1-1");
  std::ofstream(fs::path(attempt) / "metrics.jsonl") << "{\"loss\": 1}\n";
  fs::create_directories(fs::path(attempt) / "outputs" / "model");
  // A log name that is not a regular file is removed, not truncated through.
  fs::remove(fs::path(attempt) / "stderr.log");
  fs::create_directory_symlink(attempts(), fs::path(attempt) / "stderr.log");
  ASSERT_TRUE(retention.Finished(attempt).ok());
  fs::path spare = attempts() / kSpareAttemptName;
  ASSERT_TRUE(fs::is_directory(spare));
  EXPECT_EQ(NamesIn(spare), (std::set<std::string>{"stdout.log"}));
  EXPECT_EQ(fs::file_size(spare / "stdout.log"), 0u);
  EXPECT_TRUE(fs::is_directory(attempts())) << "the symlink's target is left alone";
}

TEST_F(AttemptRetentionTest, ZeroKeepsNone) {
  AttemptRetention retention(attempts().string(), 0, core::Env::Default());
  ASSERT_TRUE(retention.Finished(MakeAttempt("s-1-1-1")).ok());
  ASSERT_TRUE(retention.Finished(MakeAttempt("s-2-1-2")).ok());
  EXPECT_THAT(Attempts(), IsEmpty());
}

TEST_F(AttemptRetentionTest, LoadTakesInAnEarlierWorkersDirectoriesOldestFirst) {
  // Left by an earlier worker: the oldest by modification time goes first, whatever its name.
  std::string newer = MakeAttempt("a-newer");
  std::string older = MakeAttempt("z-older");
  fs::last_write_time(older, fs::last_write_time(newer) - std::chrono::hours(1));
  AttemptRetention retention(attempts().string(), 2, core::Env::Default());
  ASSERT_TRUE(retention.Load().ok());
  EXPECT_EQ(retention.size(), 2u);
  ASSERT_TRUE(retention.Finished(MakeAttempt("m-new")).ok());
  EXPECT_EQ(Attempts(), (std::set<std::string>{"a-newer", "m-new"}));
}

TEST_F(AttemptRetentionTest, LoadTrimsBeyondTheBoundAtOnce) {
  for (const char* name : {"s-1", "s-2", "s-3"}) MakeAttempt(name);
  AttemptRetention retention(attempts().string(), 1, core::Env::Default());
  ASSERT_TRUE(retention.Load().ok());
  EXPECT_EQ(Attempts().size(), 1u);
}

TEST_F(AttemptRetentionTest, LoadWithoutADirectoryIsEmpty) {
  AttemptRetention retention((dir_ / "missing").string(), 5, core::Env::Default());
  EXPECT_TRUE(retention.Load().ok());
  EXPECT_EQ(retention.size(), 0u);
}

TEST_F(AttemptRetentionTest, ARemovalThatFailsIsReportedAndTheRestGoOn) {
  core::FaultEnv env(core::Env::Default());
  std::string first = MakeAttempt("s-1");
  AttemptRetention retention(attempts().string(), 1, &env);
  ASSERT_TRUE(retention.Finished(first).ok());
  // The spare exists, so an evicted directory is removed; that removal fails here.
  fs::create_directories(attempts() / kSpareAttemptName);
  int fault = env.Add({first, core::FaultEnv::kMetadata, EACCES});
  absl::Status s = retention.Finished(MakeAttempt("s-2"));
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), HasSubstr("cannot remove old attempt directory"));
  EXPECT_THAT(std::string(s.message()), HasSubstr(first));
  env.Remove(fault);
  // The failed one is forgotten; the bound still holds for what follows.
  ASSERT_TRUE(retention.Finished(MakeAttempt("s-3")).ok());
  EXPECT_EQ(retention.size(), 1u);
  EXPECT_EQ(Attempts(), (std::set<std::string>{"s-1", "s-3"}));
}

TEST_F(AttemptRetentionTest, PrepareAttemptDirReusesTheSpare) {
  AttemptRetention retention(attempts().string(), 0, core::Env::Default());
  std::string old = MakeAttempt("s-1");
  const auto old_log_inode = Inode(fs::path(old) / "stdout.log");
  ASSERT_TRUE(retention.Finished(old).ok());
  ASSERT_TRUE(fs::is_directory(attempts() / kSpareAttemptName));
  LeaseGrant lease;
  lease.ref = {"node-1", "sw", 2, 1, 9};
  absl::StatusOr<std::string> dir = PrepareAttemptDir(dir_.string(), lease, "");
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_FALSE(fs::exists(attempts() / kSpareAttemptName));
  EXPECT_THAT(Attempts(), ElementsAre("sw-2-1-9"));
  // Fresh: nothing of the removed attempt but its emptied log files (the same inodes, no
  // new ones), its outputs/ created.
  EXPECT_EQ(fs::file_size(fs::path(*dir) / "stdout.log"), 0u);
  EXPECT_EQ(Inode(fs::path(*dir) / "stdout.log"), old_log_inode);
  EXPECT_TRUE(fs::is_directory(fs::path(*dir) / "outputs"));
}

// Through the agent: `sweep worker --keep-attempts N` keeps N finished attempt directories.
class AgentRetentionTest : public AttemptRetentionTest {
 protected:
  WorkerResult Run(int keep, int leases) {
    for (int64_t trial = 1; trial <= leases; ++trial) {
      LeaseGrant lease;
      lease.ref = {"node-1", "sw-1", trial, 1, static_cast<uint64_t>(100 + trial)};
      lease.argv = {"train"};
      client_.QueueLease(lease);
    }
    client_.QueueShutdown();
    launcher_.on_launch = [](testing::FakeProcessState* p) { p->Exit({0, 0}); };
    WorkerOptions options;
    options.compute = "cpu";
    options.work_dir = dir_.string();
    options.poll_interval_ms = 5;
    options.keep_attempts = keep;
    WorkerDeps deps;
    deps.client = &client_;
    deps.launcher = &launcher_;
    deps.clock = &clock_;
    return RunWorkerWith(options, deps, &stop_);
  }
  testing::FakeClient client_;
  testing::FakeLauncher launcher_;
  core::FakeClock clock_;
  std::atomic<bool> stop_{false};
};

TEST_F(AgentRetentionTest, KeepsTheNewestAttemptDirectories) {
  WorkerResult result = Run(/*keep=*/2, /*leases=*/4);
  ASSERT_EQ(result.exit_code, 0) << result.message;
  EXPECT_EQ(client_.completions().size(), 4u);
  EXPECT_EQ(Attempts(), (std::set<std::string>{"sw-1-3-1-103", "sw-1-4-1-104"}));
}

TEST_F(AgentRetentionTest, ANegativeBoundIsRefused) {
  WorkerResult result = Run(/*keep=*/-1, /*leases=*/1);
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_EQ(result.message, "--keep-attempts must be 0 or more, not -1");
  EXPECT_THAT(client_.calls(), IsEmpty());  // nothing was registered or run
}

}  // namespace
}  // namespace sweep::worker

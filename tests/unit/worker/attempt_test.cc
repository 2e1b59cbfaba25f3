#include "worker/attempt.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/fault_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/worker/test_files.h"

namespace sweep::worker {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

using ::sweep::worker::testing::ReadFile;

LeaseGrant MakeLease() {
  LeaseGrant lease;
  lease.ref = {"node-1", "sw-abc", 7, 2, 42};
  lease.argv = {"python3", "train.py"};
  lease.env = {{"AZUREML_SWEEP_lr", "0.1"}, {"SWEEP_PARAMS", "{\"lr\":0.1}"}};
  return lease;
}

class AttemptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("attempt-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST(AttemptDirNameTest, NameAndSanitizing) {
  LeaseGrant lease = MakeLease();
  EXPECT_EQ(AttemptDirName(lease.ref), "sw-abc-7-2-42");
  lease.ref.sweep_id = "../../etc";
  EXPECT_EQ(AttemptDirName(lease.ref), ".._.._etc-7-2-42");
  lease.ref.sweep_id = "";
  EXPECT_EQ(AttemptDirName(lease.ref), "_-7-2-42");
}

TEST_F(AttemptTest, FreshDirectoryWithOutputs) {
  LeaseGrant lease = MakeLease();
  auto dir = PrepareAttemptDir(dir_.string(), lease, "");
  ASSERT_TRUE(dir.ok()) << dir.status();
  EXPECT_EQ(*dir, (dir_ / "attempts" / "sw-abc-7-2-42").string());
  EXPECT_TRUE(fs::is_directory(fs::path(*dir) / "outputs"));
  // A leftover of the same lease is replaced by a fresh directory.
  std::ofstream(fs::path(*dir) / "outputs" / "old.txt") << "old";
  auto again = PrepareAttemptDir(dir_.string(), lease, "");
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(fs::exists(fs::path(*again) / "outputs" / "old.txt"));
}

TEST_F(AttemptTest, CopiesCodeRecursivelyKeepingSymlinks) {
  fs::path code = dir_ / "code";
  fs::create_directories(code / "pkg");
  std::ofstream(code / "train.py") << "print('accuracy=1')\n";
  std::ofstream(code / "pkg" / "util.py") << "X = 1\n";
  fs::create_directories(dir_ / "outside");
  std::ofstream(dir_ / "outside" / "big.bin") << "data";
  fs::create_symlink(dir_ / "outside", code / "data");  // to a directory
  fs::create_symlink("train.py", code / "link.py");     // relative, to a file
  LeaseGrant lease = MakeLease();
  std::string code_dir = code.string();
  auto dir = PrepareAttemptDir(dir_.string(), lease, code_dir);
  ASSERT_TRUE(dir.ok()) << dir.status();
  fs::path attempt(*dir);
  EXPECT_EQ(ReadFile(attempt / "train.py"), "print('accuracy=1')\n");
  EXPECT_EQ(ReadFile(attempt / "pkg" / "util.py"), "X = 1\n");
  ASSERT_TRUE(fs::is_symlink(attempt / "data"));
  EXPECT_EQ(fs::read_symlink(attempt / "data"), dir_ / "outside");
  ASSERT_TRUE(fs::is_symlink(attempt / "link.py"));
  EXPECT_EQ(fs::read_symlink(attempt / "link.py"), "train.py");
  EXPECT_TRUE(fs::is_directory(attempt / "outputs"));
}

TEST_F(AttemptTest, MissingCodeDirIsAnError) {
  LeaseGrant lease = MakeLease();
  std::string code_dir = (dir_ / "nope").string();
  auto dir = PrepareAttemptDir(dir_.string(), lease, code_dir);
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(dir.status().message(),
            "code directory '" + code_dir + "' does not exist or is not a directory");
}

TEST_F(AttemptTest, UncreatableWorkDirIsAnError) {
  std::ofstream(dir_ / "file") << "x";
  auto dir = PrepareAttemptDir((dir_ / "file").string(), MakeLease(), "");
  ASSERT_FALSE(dir.ok());
  EXPECT_THAT(std::string(dir.status().message()), HasSubstr("cannot create attempt directory"));
}

TEST_F(AttemptTest, ReadOnlyOrFullDiskIsAClearError) {
  core::FaultEnv faults(core::Env::Default());
  faults.MakeReadOnly((dir_ / "attempts").string());
  auto dir = PrepareAttemptDir(dir_.string(), MakeLease(), "", &faults);
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(core::ErrnoOf(dir.status()), EROFS);
  EXPECT_THAT(std::string(dir.status().message()),
              HasSubstr("cannot create attempt directory '" + (dir_ / "attempts").string()));
  EXPECT_THAT(std::string(dir.status().message()), HasSubstr("': Read-only file system"));

  // Copying the code onto a full disk.
  faults.Clear();
  fs::create_directories(dir_ / "code");
  std::ofstream(dir_ / "code" / "train.py") << std::string(3000, 'c');
  faults.DiskFullAfter(1000, (dir_ / "attempts").string());
  dir = PrepareAttemptDir(dir_.string(), MakeLease(), (dir_ / "code").string(), &faults);
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(core::ErrnoOf(dir.status()), ENOSPC);
  EXPECT_THAT(std::string(dir.status().message()),
              HasSubstr("cannot copy code from '" + (dir_ / "code").string() + "'"));
  EXPECT_THAT(std::string(dir.status().message()), HasSubstr("No space left on device"));
}

TEST(BuildTrialEnvTest, LayersInOrder) {
  LeaseGrant lease = MakeLease();
  lease.env.push_back({"HOME", "/lease-home"});
  lease.env.push_back({"SWEEP_METRICS_FILE", "/ignored"});
  auto env = BuildTrialEnv({"HOME=/root", "PATH=/bin", "NOEQUALS", "A=b=c"}, lease, "/w/att");
  EXPECT_EQ(env["PATH"], "/bin");
  EXPECT_EQ(env["A"], "b=c");
  EXPECT_EQ(env.count("NOEQUALS"), 0u);
  EXPECT_EQ(env["HOME"], "/lease-home");
  EXPECT_EQ(env["AZUREML_SWEEP_lr"], "0.1");
  EXPECT_EQ(env["SWEEP_PARAMS"], "{\"lr\":0.1}");
  EXPECT_EQ(env["AZUREML_RUN_ID"], "sw-abc_7");
  EXPECT_EQ(env["SWEEP_METRICS_FILE"], "/w/att/metrics.jsonl");
  EXPECT_EQ(env["SWEEP_OUTPUTS_DIR"], "/w/att/outputs");
  EXPECT_EQ(env["SWEEP_ATTEMPT_DIR"], "/w/att");
  EXPECT_EQ(env["SWEEP_SWEEP_ID"], "sw-abc");
  EXPECT_EQ(env["SWEEP_TRIAL_ID"], "7");
  EXPECT_EQ(env["SWEEP_ATTEMPT"], "2");
  EXPECT_EQ(env["SWEEP_NODE_ID"], "node-1");
}

TEST(BuildTrialEnvTest, LeaseMayOverrideRunId) {
  LeaseGrant lease = MakeLease();
  lease.env.push_back({"AZUREML_RUN_ID", "custom"});
  EXPECT_EQ(BuildTrialEnv({}, lease, "/w")["AZUREML_RUN_ID"], "custom");
}

TEST(TailBufferTest, KeepsLastLinesCut) {
  TailBuffer tail(3, 5);
  for (const char* line : {"one", "two", "three", "four-long-line"}) tail.Add(line);
  EXPECT_THAT(tail.Lines(), ElementsAre("two", "three", "four-"));
}

// Fault 2 of issue 11: a line cut inside a UTF-8 character made the completion's error
// invalid UTF-8, gRPC refused the whole message, and the exit code was lost with it.
TEST(TailBufferTest, ALineIsCutOnACharacterBoundaryAndBadBytesAreReplaced) {
  std::string accents;
  for (int i = 0; i < 600; ++i) accents += "\xC3\xA9";  // 'é'
  TailBuffer tail(2, 100);
  tail.Add("a" + accents);  // the cut at 100 bytes falls inside the 50th 'é'
  tail.Add("caf\xE9!");     // Latin-1, not UTF-8
  EXPECT_THAT(tail.Lines(), ElementsAre("a" + accents.substr(0, 98), "caf\xEF\xBF\xBD!"));
}

TEST(FailureMessageTest, ExitCodeSignalAndTail) {
  EXPECT_EQ(FailureMessage({3, 0}, {}), "exit code 3");
  EXPECT_EQ(FailureMessage({-1, 9}, {"Traceback", "ValueError: bad"}),
            "killed by signal 9 (SIGKILL); last lines of stderr:\nTraceback\nValueError: bad");
}

// Fault 11: attempt directories, each with a full code copy, were never removed.
TEST_F(AttemptTest, ATidiedAttemptKeepsItsLogsOnly) {
  fs::create_directories(dir_ / "code" / "pkg");
  std::ofstream(dir_ / "code" / "train.py") << "print(1)";
  std::ofstream(dir_ / "code" / "pkg" / "m.py") << "x = 1";
  auto dir = PrepareAttemptDir(dir_.string(), MakeLease(), (dir_ / "code").string());
  ASSERT_TRUE(dir.ok()) << dir.status();
  const fs::path attempt(*dir);
  std::ofstream(attempt / "stdout.log") << "acc=1\n";
  std::ofstream(attempt / "stderr.log") << "";
  std::ofstream(attempt / "outputs" / "model.bin") << "w";
  ASSERT_TRUE(TidyAttemptDir(*dir, /*keep_outputs=*/true, core::Env::Default()).ok());
  EXPECT_TRUE(fs::exists(attempt / "outputs" / "model.bin")) << "not uploaded: kept";
  EXPECT_FALSE(fs::exists(attempt / "train.py"));
  EXPECT_FALSE(fs::exists(attempt / "pkg"));
  ASSERT_TRUE(TidyAttemptDir(*dir, /*keep_outputs=*/false, core::Env::Default()).ok());
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(attempt)) left.push_back(e.path().filename());
  std::sort(left.begin(), left.end());
  EXPECT_THAT(left, ElementsAre("stderr.log", "stdout.log"));
  EXPECT_EQ(ReadFile(attempt / "stdout.log"), "acc=1\n");
}

// An empty outputs/ of a tidied attempt is reused by the next one (no new directory per
// attempt); a non-empty one is removed, never handed on.
TEST_F(AttemptTest, AnEmptyOutputsDirectoryIsReusedByTheNextAttempt) {
  LeaseGrant first = MakeLease();
  auto dir = PrepareAttemptDir(dir_.string(), first, "");
  ASSERT_TRUE(dir.ok()) << dir.status();
  const fs::path spare = dir_ / "attempts" / kSpareOutputsName;
  EXPECT_EQ(SpareOutputsDir(*dir), spare.string());
  const auto mode = fs::status(fs::path(*dir) / "outputs").permissions();
  ASSERT_TRUE(TidyAttemptDir(*dir, /*keep_outputs=*/false, core::Env::Default()).ok());
  EXPECT_FALSE(fs::exists(fs::path(*dir) / "outputs"));
  EXPECT_TRUE(fs::is_directory(spare));

  LeaseGrant second = MakeLease();
  second.ref.trial_id = 8;
  auto next = PrepareAttemptDir(dir_.string(), second, "");
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_TRUE(fs::is_directory(fs::path(*next) / "outputs"));
  EXPECT_EQ(fs::status(fs::path(*next) / "outputs").permissions(), mode);
  EXPECT_FALSE(fs::exists(spare)) << "moved into the new attempt";

  std::ofstream(fs::path(*next) / "outputs" / "model.bin") << "w";
  ASSERT_TRUE(TidyAttemptDir(*next, /*keep_outputs=*/false, core::Env::Default()).ok());
  EXPECT_FALSE(fs::exists(fs::path(*next) / "outputs"));
  EXPECT_FALSE(fs::exists(spare)) << "a non-empty outputs/ is removed, not kept";
}

}  // namespace
}  // namespace sweep::worker

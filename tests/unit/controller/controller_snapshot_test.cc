// The controller's side of snapshots and artifact uploads: a sweep keeps its snapshot
// across restarts, and uploads need the current lease.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "core/digest.h"
#include "core/fault_env.h"
#include "core/file_tree.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/controller_test_util.h"
#include "workspace/artifact_store.h"

namespace sweep::controller {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

fs::path FreshDir(const std::string& tag) {
  fs::path dir = fs::path(::testing::TempDir()) /
                 ("snap-" + tag + "-" + std::to_string(::getpid()) + "-" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void Write(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << content;
}

core::ArtifactChunk Chunk(const std::string& path, const std::string& data, int64_t offset,
                          const std::string& whole, bool last) {
  core::ArtifactChunk c;
  c.path = path;
  c.offset = offset;
  c.data = data;
  c.chunk_sha256 = core::Sha256Hex(data);
  c.file_size = static_cast<int64_t>(whole.size());
  c.last = last;
  if (last) c.file_sha256 = core::Sha256Hex(whole);
  return c;
}

// --- through the Controller

class ControllerSnapshotTest : public testing::ControllerTest {
 protected:
  void SetUp() override {
    code_ = FreshDir("ctl-code");
    ws_ = FreshDir("ctl-ws");
    ControllerTest::SetUp();
    options_.workspace_dir = ws_.string();
    options_.snapshot_max_bytes = 1 << 20;
    Restart();
  }
  void TearDown() override {
    ControllerTest::TearDown();
    fs::remove_all(code_);
    fs::remove_all(ws_);
  }
  std::string YamlWithCode() const {
    std::string yaml = testing::SpecYaml("{max_total_trials: 2, max_concurrent_trials: 2}");
    yaml.replace(yaml.find("trial:\n"), 7, "trial:\n  code: " + code_.string() + "\n");
    return yaml;
  }
  fs::path code_, ws_;
};

TEST_F(ControllerSnapshotTest, SweepKeepsItsSnapshotAcrossRestartsAndLeasesCarryIt) {
  Write(code_ / "train.py", "print('accuracy=1')\n");
  std::string id = Submit(YamlWithCode());
  ASSERT_FALSE(id.empty());
  std::string digest = store_->GetSweep(id)->snapshot_digest;
  ASSERT_TRUE(core::IsSha256Hex(digest)) << digest;
  EXPECT_TRUE(fs::exists(ws_ / "snapshots" / "manifests" / (digest + ".json")));
  Write(code_ / "train.py", "edited after submission\n");
  Restart();
  std::string node = Node();
  auto lease = Acquire(node);
  ASSERT_TRUE(lease.has_value());
  EXPECT_EQ(lease->snapshot_digest, digest);
  EXPECT_EQ(lease->artifact_max_bytes, options_.artifact_max_bytes);
  auto manifest = controller_->FetchSnapshot(digest, "", 0, 0);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  auto files = core::DecodeFileList(manifest->data);
  ASSERT_TRUE(files.ok());
  auto content = controller_->FetchSnapshot(digest, (*files)[0].sha256, 0, 0);
  ASSERT_TRUE(content.ok());
  EXPECT_EQ(content->data, "print('accuracy=1')\n");  // the submitted version
}

TEST_F(ControllerSnapshotTest, SweepFromBeforeSnapshotsIsSnapshottedWhenResumed) {
  Write(code_ / "train.py", "print('accuracy=1')\n");
  std::string id = Submit(YamlWithCode());
  core::Sweep old = *store_->GetSweep(id);
  const std::string digest = old.snapshot_digest;
  old.snapshot_digest = "";  // as migrated from schema 3
  ASSERT_TRUE(store_->Commit({.sweeps = {old}}).ok());
  Restart();
  EXPECT_EQ(store_->GetSweep(id)->snapshot_digest, digest);
  auto lease = Acquire(Node());
  ASSERT_TRUE(lease.has_value());
  EXPECT_EQ(lease->snapshot_digest, digest);
}

TEST_F(ControllerSnapshotTest, OversizedCodeIsRefusedAndNothingIsStored) {
  Write(code_ / "weights.bin", std::string(2 << 20, 'w'));
  std::string yaml = YamlWithCode();
  auto spec = spec::ParseSpec(yaml, "/tmp/controller-test/spec.yml", "/tmp/controller-test");
  ASSERT_TRUE(spec.ok()) << spec.status();
  auto id = controller_->SubmitSweep(*spec, yaml);
  ASSERT_FALSE(id.ok());
  EXPECT_EQ(id.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(id.status().message(), HasSubstr("largest files: weights.bin (2.0 MB)"));
  EXPECT_TRUE(store_->ListSweeps()->empty());
  EXPECT_FALSE(fs::exists(ws_ / "snapshots"));
}

TEST_F(ControllerSnapshotTest, UploadsNeedTheCurrentLeaseAndSafePaths) {
  Write(code_ / "train.py", "x");
  std::string id = Submit(YamlWithCode());
  std::string node = Node();
  auto lease = Acquire(node);
  ASSERT_TRUE(lease.has_value());
  // A hand-crafted client sending '../' under a valid lease is refused.
  absl::Status escape =
      controller_->UploadArtifact(lease->ref, Chunk("../../x", "x", 0, "x", true));
  EXPECT_EQ(escape.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(escape.message(), HasSubstr("escapes the directory"));
  ASSERT_TRUE(controller_->UploadArtifact(lease->ref, Chunk("m.txt", "m", 0, "m", true)).ok());
  // A stale fencing token changes nothing.
  LeaseRef stale = lease->ref;
  stale.fencing_token += 100;
  EXPECT_EQ(controller_->CommitArtifacts(stale, 1).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::IsNotFound(
      workspace::FindTrialArtifacts(ws_.string(), id, lease->ref.trial_id).status()));
  auto total = controller_->CommitArtifacts(lease->ref, 1);
  ASSERT_TRUE(total.ok()) << total.status();
  EXPECT_EQ(*total, 1);
  EXPECT_TRUE(workspace::FindTrialArtifacts(ws_.string(), id, lease->ref.trial_id).ok());
  // After the attempt ended, its lease uploads nothing more.
  ASSERT_TRUE(Report(lease->ref, 0.5).ok());
  ASSERT_TRUE(Complete(lease->ref).ok());
  EXPECT_EQ(controller_->UploadArtifact(lease->ref, Chunk("late.txt", "l", 0, "l", true)).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(ControllerSnapshotTest, AFullDiskFailsTheUploadNamingItAndTheControllerGoesOn) {
  core::FaultEnv faults(core::Env::Default());
  options_.env = &faults;
  Restart();
  Write(code_ / "train.py", "x");
  std::string id = Submit(YamlWithCode());
  auto lease = Acquire(Node());
  ASSERT_TRUE(lease.has_value());
  faults.DiskFullAfter(0, ws_.string() + "/artifacts");
  absl::Status full =
      controller_->UploadArtifact(lease->ref, Chunk("m.txt", "data", 0, "data", true));
  EXPECT_EQ(core::ErrnoOf(full), ENOSPC) << full;
  EXPECT_THAT(full.message(), HasSubstr("No space left on device"));
  // The trial's result is still taken: the disk under artifacts/ is not the store's.
  faults.Clear();
  EXPECT_TRUE(Report(lease->ref, 0.5).ok());
  EXPECT_TRUE(Complete(lease->ref).ok());
  EXPECT_EQ(store_->GetTrial(id, lease->ref.trial_id)->state, core::TrialState::kCompleted);
  options_.env = core::Env::Default();
  Restart();  // the controller no longer uses `faults` once this test ends
}

// EIO on an artifact write: a clear error naming the file; the points reported before are
// kept, the chunk can be sent again once the disk works, and the upload then completes.
TEST_F(ControllerSnapshotTest, EioOnAnArtifactWriteFailsThatChunkOnlyAndLosesNothing) {
  core::FaultEnv faults(core::Env::Default());
  options_.env = &faults;
  Restart();
  Write(code_ / "train.py", "x");
  std::string id = Submit(YamlWithCode());
  auto lease = Acquire(Node());
  ASSERT_TRUE(lease.has_value());
  ASSERT_TRUE(Report(lease->ref, 0.4).ok());
  faults.FailWrites(ws_.string() + "/artifacts", EIO);
  absl::Status eio =
      controller_->UploadArtifact(lease->ref, Chunk("m.txt", "data", 0, "data", true));
  EXPECT_EQ(core::ErrnoOf(eio), EIO) << eio;
  EXPECT_THAT(eio.message(), HasSubstr("m.txt"));
  EXPECT_THAT(eio.message(), HasSubstr("Input/output error"));
  faults.Clear();
  ASSERT_TRUE(
      controller_->UploadArtifact(lease->ref, Chunk("m.txt", "data", 0, "data", true)).ok());
  absl::StatusOr<int64_t> total = controller_->CommitArtifacts(lease->ref, 1);
  ASSERT_TRUE(total.ok()) << total.status();
  EXPECT_EQ(*total, 4);
  ASSERT_TRUE(Report(lease->ref, 0.6).ok());
  EXPECT_EQ(Complete(lease->ref).value(), core::TrialState::kCompleted);
  core::Trial t = GetTrial(id, lease->ref.trial_id);
  EXPECT_EQ(t.intervals, 2) << "the point reported before the failure is kept";
  EXPECT_TRUE(workspace::FindTrialArtifacts(ws_.string(), id, lease->ref.trial_id).ok());
  options_.env = core::Env::Default();
  Restart();
}

// A workspace that turned read-only: uploads and their publication fail clearly, nothing
// is published half, and the trial's result (in the store) is still taken.
TEST_F(ControllerSnapshotTest, AReadOnlyWorkspaceFailsUploadsClearlyAndKeepsTheResult) {
  core::FaultEnv faults(core::Env::Default());
  options_.env = &faults;
  Restart();
  Write(code_ / "train.py", "x");
  std::string id = Submit(YamlWithCode());
  auto lease = Acquire(Node());
  ASSERT_TRUE(lease.has_value());
  ASSERT_TRUE(controller_->UploadArtifact(lease->ref, Chunk("a.txt", "a", 0, "a", true)).ok());
  faults.MakeReadOnly(ws_.string());
  absl::Status refused = controller_->UploadArtifact(lease->ref, Chunk("b.txt", "b", 0, "b", true));
  EXPECT_EQ(core::ErrnoOf(refused), EROFS) << refused;
  EXPECT_THAT(refused.message(), HasSubstr("Read-only file system"));
  absl::StatusOr<int64_t> commit = controller_->CommitArtifacts(lease->ref, 1);
  EXPECT_EQ(core::ErrnoOf(commit.status()), EROFS) << commit.status();
  EXPECT_FALSE(workspace::FindTrialArtifacts(ws_.string(), id, lease->ref.trial_id).ok())
      << "nothing published";
  ASSERT_TRUE(Report(lease->ref, 0.7).ok());
  EXPECT_EQ(Complete(lease->ref).value(), core::TrialState::kCompleted);
  EXPECT_EQ(GetTrial(id, lease->ref.trial_id).final_value, 0.7);
  options_.env = core::Env::Default();
  Restart();
}

// Issue 11, fault 9: CommitArtifacts hashed the staged files (up to the artifact limit)
// under the controller's mutex, so every other node's call waited for it. While it reads
// the staged file now, another node's heartbeat is answered.
TEST_F(ControllerSnapshotTest, OtherNodesAreAnsweredWhileCommitArtifactsHashes) {
  core::FaultEnv faults(core::Env::Default());
  bool armed = false, asked = false, answered = false;
  std::promise<bool> heard;
  std::thread other;
  LeaseRef other_ref;
  faults.SetObserver([&](core::FaultEnv::Op op, const std::string& path) {
    if (op != core::FaultEnv::kRead || path.find("/upload/staged/m.bin") == std::string::npos ||
        !armed || asked) {
      return;
    }
    asked = true;
    other = std::thread([&] { heard.set_value(controller_->Heartbeat(other_ref).ok()); });
    // Bounded, so that a controller holding its mutex here fails the test instead of
    // deadlocking it (the heartbeat then completes after the commit).
    std::future<bool> reply = heard.get_future();
    answered = reply.wait_for(std::chrono::seconds(30)) == std::future_status::ready && reply.get();
  });
  options_.env = &faults;
  Restart();
  Write(code_ / "train.py", "x");
  Submit(YamlWithCode());
  auto lease = Acquire(Node());
  auto second = Acquire(Node());
  ASSERT_TRUE(lease.has_value() && second.has_value());
  other_ref = second->ref;
  ASSERT_TRUE(
      controller_->UploadArtifact(lease->ref, Chunk("m.bin", "weights", 0, "weights", true)).ok());
  armed = true;  // the upload itself reads the staged path too (is it there already?)
  absl::StatusOr<int64_t> total = controller_->CommitArtifacts(lease->ref, 1);
  if (other.joinable()) other.join();
  ASSERT_TRUE(total.ok()) << total.status();
  EXPECT_EQ(*total, 7);
  EXPECT_TRUE(asked) << "the staged file was never read through the controller's Env";
  EXPECT_TRUE(answered) << "another node's heartbeat waited for the hashing";
  options_.env = core::Env::Default();
  Restart();
}

}  // namespace
}  // namespace sweep::controller

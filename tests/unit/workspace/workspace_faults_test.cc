// The workspace's files under injected faults (core::FaultEnv): a full disk, a failing
// write, a read-only workspace and corrupt bytes give a clear error naming the path, and
// leave nothing half-done that a reader would take for complete.
#include <cerrno>
#include <filesystem>
#include <string>

#include "core/digest.h"
#include "core/fault_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "workspace/artifact_store.h"
#include "workspace/artifact_upload.h"
#include "workspace/snapshot_store.h"
#include "workspace/workspace.h"

namespace sweep::workspace {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

core::ArtifactChunk WholeFile(const std::string& path, const std::string& data) {
  core::ArtifactChunk c;
  c.path = path;
  c.data = data;
  c.chunk_sha256 = core::Sha256Hex(data);
  c.file_size = static_cast<int64_t>(data.size());
  c.last = true;
  c.file_sha256 = core::Sha256Hex(data);
  return c;
}

class WorkspaceFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::string> dir = real_->MakeTempDir(::testing::TempDir(), "ws-faults-");
    ASSERT_TRUE(dir.ok()) << dir.status();
    root_ = *dir;
  }
  void TearDown() override { ASSERT_TRUE(real_->RemoveAll(root_).ok()); }

  std::string Attempt() const { return ArtifactAttemptDir(root_, "sw-1", 1, 1); }

  core::Env* real_ = core::Env::Default();
  core::FaultEnv faults_{core::Env::Default()};
  std::string root_;
};

TEST_F(WorkspaceFaultsTest, ArtifactChunkOnAFullDiskIsRefusedAndCanBeSentAgain) {
  const std::string data(4000, 'w');
  faults_.DiskFullAfter(1000, root_ + "/artifacts");
  absl::Status s = ReceiveArtifactChunk(Attempt(), WholeFile("model.bin", data), 1 << 20, &faults_);
  EXPECT_EQ(core::ErrnoOf(s), ENOSPC);
  EXPECT_THAT(s.message(), HasSubstr("cannot write " + Attempt() + "/upload/partial/model.bin"));
  EXPECT_THAT(s.message(), HasSubstr("No space left on device"));
  EXPECT_FALSE(real_->Exists(Attempt() + "/upload/staged/model.bin"));

  faults_.Clear();  // space freed: the worker sends the file again from offset 0
  ASSERT_TRUE(
      ReceiveArtifactChunk(Attempt(), WholeFile("model.bin", data), 1 << 20, &faults_).ok());
  absl::StatusOr<int64_t> total = PublishArtifacts(Attempt(), 1, &faults_);
  ASSERT_TRUE(total.ok()) << total.status();
  EXPECT_EQ(*total, 4000);
}

TEST_F(WorkspaceFaultsTest, EioOnTheManifestPublishesNothing) {
  ASSERT_TRUE(ReceiveArtifactChunk(Attempt(), WholeFile("a.txt", "a"), 1 << 20, &faults_).ok());
  faults_.FailWrites(Attempt() + "/manifest.json");
  absl::StatusOr<int64_t> total = PublishArtifacts(Attempt(), 1, &faults_);
  EXPECT_EQ(core::ErrnoOf(total.status()), EIO);
  EXPECT_THAT(total.status().message(), HasSubstr("Input/output error"));
  // Without its manifest the upload is incomplete: readers do not see it.
  EXPECT_TRUE(absl::IsNotFound(FindTrialArtifacts(root_, "sw-1", 1, &faults_).status()));
}

TEST_F(WorkspaceFaultsTest, CorruptStoredArtifactIsDataLossWhenCopiedOut) {
  ASSERT_TRUE(ReceiveArtifactChunk(Attempt(), WholeFile("m.pkl", "weights"), 1 << 20).ok());
  ASSERT_TRUE(PublishArtifacts(Attempt(), 1).ok());
  absl::StatusOr<TrialArtifacts> found = FindTrialArtifacts(root_, "sw-1", 1);
  ASSERT_TRUE(found.ok()) << found.status();
  faults_.CorruptReads(Attempt() + "/files");
  const std::string dest = root_ + "/out";
  absl::Status s = CopyVerified(Attempt() + "/files", found->manifest, dest, &faults_);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("stored file 'm.pkl' does not match its recorded digest"));
  EXPECT_FALSE(real_->Exists(dest));
}

TEST_F(WorkspaceFaultsTest, SnapshotIntoAReadOnlyWorkspaceStoresNothing) {
  const std::string code = root_ + "/code";
  ASSERT_TRUE(real_->CreateDirs(code).ok());
  ASSERT_TRUE(real_->WriteFile(code + "/train.py", "print(1)\n").ok());
  const std::string ws = root_ + "/ws";
  ASSERT_TRUE(real_->CreateDirs(ws + "/snapshots").ok());
  faults_.MakeReadOnly(ws);
  SnapshotStore store(ws, &faults_);
  absl::StatusOr<std::string> digest = store.Create(code, 1 << 20);
  EXPECT_EQ(core::ErrnoOf(digest.status()), EROFS);
  EXPECT_THAT(digest.status().message(), HasSubstr(ws + "/snapshots"));
  EXPECT_THAT(digest.status().message(), HasSubstr("Read-only file system"));
  EXPECT_THAT(*real_->ListDir(ws + "/snapshots"), IsEmpty());
}

TEST_F(WorkspaceFaultsTest, SnapshotOnAFullDiskLeavesNoManifest) {
  const std::string code = root_ + "/code";
  ASSERT_TRUE(real_->CreateDirs(code).ok());
  ASSERT_TRUE(real_->WriteFile(code + "/big.bin", std::string(5000, 'b')).ok());
  const std::string ws = root_ + "/ws";
  faults_.DiskFullAfter(100, ws);
  SnapshotStore store(ws, &faults_);
  absl::StatusOr<std::string> digest = store.Create(code, 1 << 20);
  EXPECT_EQ(core::ErrnoOf(digest.status()), ENOSPC);
  // The manifest is the mark of a complete snapshot: none was written.
  absl::StatusOr<std::vector<std::string>> manifests = real_->ListDir(ws + "/snapshots/manifests");
  ASSERT_TRUE(manifests.ok());
  EXPECT_THAT(*manifests, IsEmpty());
}

TEST_F(WorkspaceFaultsTest, OpeningAWorkspaceOnAReadOnlyDiskNamesTheDirectory) {
  const std::string dir = root_ + "/ws";
  faults_.MakeReadOnly(root_);
  auto ws = Workspace::OpenOrCreate(dir, &faults_);
  EXPECT_EQ(core::ErrnoOf(ws.status()), EROFS);
  EXPECT_EQ(ws.status().message(),
            "cannot create workspace directory " + dir + ": Read-only file system");

  // A token that cannot be written is removed, not left empty.
  faults_.Clear();
  faults_.DiskFullAfter(10, dir + "/token");
  ws = Workspace::OpenOrCreate(dir, &faults_);
  EXPECT_EQ(core::ErrnoOf(ws.status()), ENOSPC);
  EXPECT_FALSE(real_->Exists(dir + "/token"));
  faults_.Clear();
  ws = Workspace::OpenOrCreate(dir, &faults_);
  ASSERT_TRUE(ws.ok()) << ws.status();
  EXPECT_EQ((*ws)->token().size(), 64u);
}

}  // namespace
}  // namespace sweep::workspace

// Files before records (docs/architecture.md, "Reliability"): uploaded artifacts and
// registered model files, and their directories, are fsynced before the record that points
// at them is written; the order is recorded through core::FaultEnv's observer. And the
// workspace is private: its directory 0700, sweep.db (with its -wal and -shm) and the
// token 0600, whatever the umask.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "core/digest.h"
#include "core/fault_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/store.h"
#include "tests/test_dir.h"
#include "workspace/artifact_store.h"
#include "workspace/artifact_upload.h"
#include "workspace/registry.h"
#include "workspace/workspace.h"

namespace sweep::workspace {
namespace {

namespace fs = std::filesystem;

struct Op {
  core::FaultEnv::Op op;
  std::string path;
  bool record_exists;  // the record was already committed when the operation ran
};

class FilesBeforeRecordsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<::sweep::testutil::TestDir>("files-before-records");
    ws_ = dir_->path().string();
  }

  // Records every operation on `faults_`, with whether `record_exists()` held then.
  void Record(std::function<bool()> record_exists) {
    faults_.SetObserver([this, record_exists](core::FaultEnv::Op op, const std::string& path) {
      ops_.push_back({op, path, record_exists()});
    });
  }

  // The first operation of class `op` on exactly `path`; -1 when none.
  int Find(core::FaultEnv::Op op, const std::string& path) const {
    for (size_t i = 0; i < ops_.size(); ++i) {
      if (ops_[i].op == op && ops_[i].path == path) return static_cast<int>(i);
    }
    return -1;
  }
  // The first operation of class `op` on a path starting with `prefix`; -1 when none.
  int FindPrefix(core::FaultEnv::Op op, const std::string& prefix) const {
    for (size_t i = 0; i < ops_.size(); ++i) {
      if (ops_[i].op == op && ops_[i].path.rfind(prefix, 0) == 0) return static_cast<int>(i);
    }
    return -1;
  }

  std::unique_ptr<::sweep::testutil::TestDir> dir_;
  std::string ws_;
  core::FaultEnv faults_{core::Env::Default()};
  std::vector<Op> ops_;
};

// A store holding sweep sw-1 with its trial 1 completed (0.9).
std::unique_ptr<store::Store> CompletedTrialStore() {
  std::unique_ptr<store::Store> store = store::NewInMemoryStore();
  store::WriteBatch batch;
  core::Sweep sweep;
  sweep.id = "sw-1";
  sweep.objective.primary_metric = "accuracy";
  batch.sweeps.push_back(sweep);
  core::Trial trial;
  trial.sweep_id = "sw-1";
  trial.trial_id = 1;
  trial.state = core::TrialState::kCompleted;
  trial.final_value = 0.9;
  batch.trials.push_back(trial);
  EXPECT_TRUE(store->Commit(batch).ok());
  return store;
}

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

TEST_F(FilesBeforeRecordsTest, UploadedArtifactsAndTheirDirectoriesAreSyncedBeforeTheManifest) {
  const std::string attempt = ArtifactAttemptDir(ws_, "sw-1", 1, 1);
  const std::string manifest = attempt + "/manifest.json";
  Record([&] { return fs::exists(manifest); });
  ASSERT_TRUE(
      ReceiveArtifactChunk(attempt, WholeFile("sub/model.bin", "weights"), 1 << 20, &faults_).ok());
  ASSERT_TRUE(ReceiveArtifactChunk(attempt, WholeFile("notes.txt", "n"), 1 << 20, &faults_).ok());
  absl::StatusOr<int64_t> total = PublishArtifacts(attempt, 2, &faults_);
  ASSERT_TRUE(total.ok()) << total.status();
  ASSERT_TRUE(fs::exists(manifest));

  // The manifest is the record: once it is there, readers take the upload as complete.
  const int manifest_write = FindPrefix(core::FaultEnv::kWrite, manifest);
  ASSERT_GE(manifest_write, 0);
  for (const char* file : {"sub/model.bin", "notes.txt"}) {
    const int synced = FindPrefix(core::FaultEnv::kSync, attempt + "/upload/partial/" + file);
    EXPECT_GE(synced, 0) << file << " was never fsynced";
    EXPECT_LT(synced, manifest_write) << file;
  }
  for (const std::string& d : {attempt + "/files", attempt + "/files/sub", attempt}) {
    const int synced = Find(core::FaultEnv::kSync, d);
    EXPECT_GE(synced, 0) << d << " was never fsynced";
    EXPECT_LT(synced, manifest_write) << d;
  }
  for (int i = 0; i < manifest_write; ++i) EXPECT_FALSE(ops_[i].record_exists) << ops_[i].path;
}

TEST_F(FilesBeforeRecordsTest, ModelFilesAndTheirDirectoriesAreSyncedBeforeTheModelRecord) {
  std::unique_ptr<store::Store> store = CompletedTrialStore();
  const std::string attempt = ArtifactAttemptDir(ws_, "sw-1", 1, 1);
  ASSERT_TRUE(ReceiveArtifactChunk(attempt, WholeFile("sub/w.bin", "weights"), 1 << 20).ok());
  ASSERT_TRUE(PublishArtifacts(attempt, 1).ok());

  Record([&] { return store->GetModel("clf", 1).ok(); });
  absl::StatusOr<core::Model> model =
      RegisterModel(store.get(), ws_, {.name = "clf", .sweep_id = "sw-1"}, 7000, &faults_);
  ASSERT_TRUE(model.ok()) << model.status();
  ASSERT_TRUE(store->GetModel("clf", 1).ok());

  const std::string dest = ModelDir(ws_, "clf", 1) + "/files";
  // Every file and directory written was synced, all before the record was committed.
  int file_syncs = 0;
  int renamed_to_dest = -1;
  for (size_t i = 0; i < ops_.size(); ++i) {
    EXPECT_FALSE(ops_[i].record_exists) << "operation on " << ops_[i].path << " after the record";
    if (ops_[i].op == core::FaultEnv::kSync && ops_[i].path.ends_with("/sub/w.bin")) ++file_syncs;
    if (ops_[i].op == core::FaultEnv::kMetadata && ops_[i].path == dest) {
      renamed_to_dest = static_cast<int>(i);
    }
  }
  EXPECT_EQ(file_syncs, 1) << "the copied file is fsynced once";
  ASSERT_GE(renamed_to_dest, 0) << "the files are published by a rename into " << dest;
  // The directory the rename changed is synced after it.
  const int parent_synced = Find(core::FaultEnv::kSync, ModelDir(ws_, "clf", 1));
  EXPECT_GT(parent_synced, renamed_to_dest);
  // The staged copy's directories were synced before the rename made them visible.
  int staged_dir_syncs = 0;
  for (int i = 0; i < renamed_to_dest; ++i) {
    if (ops_[i].op == core::FaultEnv::kSync && !ops_[i].path.ends_with("w.bin")) {
      ++staged_dir_syncs;
    }
  }
  EXPECT_GE(staged_dir_syncs, 2) << "the staged files/ and files/sub/ directories";
}

TEST_F(FilesBeforeRecordsTest, AFailedSyncLeavesNoModelRecord) {
  std::unique_ptr<store::Store> store = CompletedTrialStore();
  const std::string attempt = ArtifactAttemptDir(ws_, "sw-1", 1, 1);
  ASSERT_TRUE(ReceiveArtifactChunk(attempt, WholeFile("w.bin", "weights"), 1 << 20).ok());
  ASSERT_TRUE(PublishArtifacts(attempt, 1).ok());

  faults_.FailSyncs(ws_ + "/models");
  absl::StatusOr<core::Model> model =
      RegisterModel(store.get(), ws_, {.name = "clf", .sweep_id = "sw-1"}, 7000, &faults_);
  EXPECT_EQ(core::ErrnoOf(model.status()), EIO) << model.status();
  EXPECT_THAT(model.status().message(), ::testing::HasSubstr("Input/output error"));
  EXPECT_TRUE(store->ListModels()->empty()) << "no record for files that may not be on disk";
  EXPECT_FALSE(fs::exists(ModelDir(ws_, "clf", 1)));
}

unsigned Mode(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

TEST_F(FilesBeforeRecordsTest, ANewWorkspaceIsPrivateWhateverTheUmask) {
  const mode_t old_umask = ::umask(0);
  const std::string dir = ws_ + "/new/ws";
  auto ws = Workspace::OpenOrCreate(dir);
  ::umask(old_umask);
  ASSERT_TRUE(ws.ok()) << ws.status();
  // A first commit, so SQLite has made its -wal and -shm files.
  core::Event event;
  event.kind = "note";
  event.message = "first commit";
  ASSERT_TRUE((*ws)->store()->Commit({.events = {event}}).ok());
  EXPECT_EQ(Mode(dir), 0700u);
  EXPECT_EQ(Mode(dir + "/sweep.db"), 0600u);
  EXPECT_EQ(Mode(dir + "/token"), 0600u);
  for (const char* side : {"/sweep.db-wal", "/sweep.db-shm"}) {
    if (fs::exists(dir + side)) {
      EXPECT_EQ(Mode(dir + side), 0600u) << side;
    }
  }
}

}  // namespace
}  // namespace sweep::workspace

// The node's snapshot cache (chunked FetchSnapshot with verification) and the upload of
// an attempt's outputs/, against the scripted FakeClient.
#include "worker/transfer.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/digest.h"
#include "core/fault_env.h"
#include "core/file_tree.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/worker/fakes.h"
#include "tests/unit/worker/test_files.h"

namespace sweep::worker {
namespace {

namespace fs = std::filesystem;
using testing::FakeClient;
using ::testing::HasSubstr;
using testing::ReadFile;

class TransferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("transfer-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Stores a snapshot of {path: (content, executable)} in the fake; returns its digest.
  std::string AddSnapshot(const std::vector<std::tuple<std::string, std::string, bool>>& files) {
    std::vector<core::FileEntry> entries;
    for (const auto& [path, content, exec] : files) {
      std::string sha = core::Sha256Hex(content);
      client_.blobs[sha] = content;
      entries.push_back({path, static_cast<int64_t>(content.size()), sha, exec});
    }
    // Sorted by path, as core::ListFiles lists them for a real snapshot.
    std::sort(entries.begin(), entries.end(),
              [](const core::FileEntry& a, const core::FileEntry& b) { return a.path < b.path; });
    std::string manifest = core::EncodeFileList(entries);
    std::string digest = core::Sha256Hex(manifest);
    client_.snapshots[digest] = manifest;
    return digest;
  }

  fs::path dir_;
  FakeClient client_;
};

TEST_F(TransferTest, FetchesVerifiesAndCachesASnapshot) {
  std::string big(kTransferChunkBytes + 123, 'x');  // two chunks
  std::string digest = AddSnapshot({{"train.py", "print(1)\n", false},
                                    {"bin/run.sh", "#!/bin/sh\n", true},
                                    {"data.bin", big, false}});
  SnapshotCache cache(dir_.string(), &client_);
  bool hit = true;
  int ticks = 0;
  auto got = cache.Get(digest, &hit, [&] { ++ticks; });
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_FALSE(hit);
  EXPECT_EQ(*got, (dir_ / "snapshots" / digest).string());
  EXPECT_EQ(ReadFile(fs::path(*got) / "train.py"), "print(1)\n");
  EXPECT_EQ(ReadFile(fs::path(*got) / "data.bin"), big);
  EXPECT_NE(fs::status(fs::path(*got) / "bin/run.sh").permissions() & fs::perms::owner_exec,
            fs::perms::none);
  EXPECT_EQ(fs::status(fs::path(*got) / "train.py").permissions() & fs::perms::owner_exec,
            fs::perms::none);
  const int fetched = client_.fetches();
  EXPECT_EQ(fetched, 5);  // manifest, train.py, run.sh, two chunks of data.bin
  EXPECT_EQ(ticks, 5);    // the caller may renew its lease after each of them

  auto again = SnapshotCache(dir_.string(), &client_).Get(digest, &hit);  // a new process
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(hit);
  EXPECT_EQ(client_.fetches(), fetched);
}

// Fault 11: a cache hit was trusted without a check, so a damaged cached file ran.
TEST_F(TransferTest, ACachedSnapshotDamagedOnDiskIsFetchedAgain) {
  std::string digest = AddSnapshot({{"train.py", "print(1)\n", false}});
  bool hit = true;
  auto got = SnapshotCache(dir_.string(), &client_).Get(digest, &hit);
  ASSERT_TRUE(got.ok()) << got.status();
  const int fetched = client_.fetches();
  std::ofstream(fs::path(*got) / "train.py") << "import os; os.system('oops')\n";
  auto again = SnapshotCache(dir_.string(), &client_).Get(digest, &hit);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(hit) << "not a hit: the cached copy does not match its digest";
  EXPECT_EQ(ReadFile(fs::path(*again) / "train.py"), "print(1)\n");
  EXPECT_GT(client_.fetches(), fetched);
}

TEST_F(TransferTest, CorruptedChunkIsFetchedAgain) {
  std::string big(kTransferChunkBytes + 10, 'y');
  std::string digest = AddSnapshot({{"data.bin", big, false}});
  int corrupted = 0;
  client_.on_fetch = [&](const std::string& blob, SnapshotChunk* chunk) {
    // The second chunk of the file arrives damaged once.
    if (!blob.empty() && chunk->data.size() == 10 && corrupted++ == 0) chunk->data[3] = 'z';
  };
  bool hit = true;
  auto got = SnapshotCache(dir_.string(), &client_).Get(digest, &hit);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(corrupted, 2);
  EXPECT_EQ(ReadFile(fs::path(*got) / "data.bin"), big);
  EXPECT_EQ(client_.fetches(), 4);  // manifest, chunk 1, chunk 2 twice
}

TEST_F(TransferTest, ChunkCorruptEveryTimeFailsAndCachesNothing) {
  std::string digest = AddSnapshot({{"a.py", "a = 1\n", false}});
  client_.on_fetch = [](const std::string& blob, SnapshotChunk* chunk) {
    if (!blob.empty()) chunk->data += "!";
  };
  auto got = SnapshotCache(dir_.string(), &client_).Get(digest, nullptr);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(got.status().message(),
              HasSubstr("fetching 'a.py' of snapshot " + digest.substr(0, 12) + " failed 3 times"));
  EXPECT_THAT(got.status().message(), HasSubstr("does not match its digest"));
  EXPECT_TRUE(fs::is_empty(dir_ / "snapshots"));  // no cache entry, no partial directory
}

TEST_F(TransferTest, FileNotMatchingTheManifestIsRefused) {
  std::string digest = AddSnapshot({{"a.py", "a = 1\n", false}});
  client_.blobs[core::Sha256Hex("a = 1\n")] = "a = 2\n";  // consistent chunks, wrong file
  auto got = SnapshotCache(dir_.string(), &client_).Get(digest, nullptr);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(got.status().message(), HasSubstr("'a.py' of snapshot"));
  EXPECT_FALSE(fs::exists(dir_ / "snapshots" / digest));
}

TEST_F(TransferTest, UploadsEveryOutputFileInChunks) {
  fs::path out = dir_ / "outputs";
  fs::create_directories(out / "sub");
  std::string big(kTransferChunkBytes + 5, 'm');
  std::ofstream(out / "model.bin") << big;
  std::ofstream(out / "sub" / "empty.txt");
  LeaseRef lease{"node-1", "sw-1", 2, 1, 7};
  int ticks = 0;
  auto n = UploadOutputs(&client_, lease, out.string(), 0, [&] { ++ticks; });
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 2);
  EXPECT_EQ(ticks, 3);
  auto uploads = client_.uploads();
  ASSERT_EQ(uploads.size(), 3u);
  EXPECT_EQ(uploads[0].path, "model.bin");
  EXPECT_FALSE(uploads[0].last);
  EXPECT_EQ(uploads[1].offset, kTransferChunkBytes);
  EXPECT_TRUE(uploads[1].last);
  EXPECT_EQ(uploads[1].file_sha256, core::Sha256Hex(big));
  EXPECT_EQ(uploads[0].data + uploads[1].data, big);
  EXPECT_EQ(uploads[2].path, "sub/empty.txt");
  EXPECT_TRUE(uploads[2].last);
  EXPECT_EQ(client_.commits(), std::vector<int64_t>{2});
}

TEST_F(TransferTest, EscapingSymlinkInOutputsIsRefusedBeforeSending) {
  fs::path out = dir_ / "outputs";
  fs::create_directories(out);
  std::ofstream(out / "ok.txt") << "ok";
  std::ofstream(dir_ / "secret") << "secret";
  fs::create_symlink(dir_ / "secret", out / "leak");
  auto n = UploadOutputs(&client_, LeaseRef{"n", "sw-1", 1, 1, 1}, out.string(), 0);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(n.status().message(),
            "outputs/ refused: 'leak' is a symbolic link; only regular files are allowed");
  EXPECT_TRUE(client_.uploads().empty());
  EXPECT_TRUE(client_.commits().empty());
}

TEST_F(TransferTest, OutputsOverTheLimitAreRefusedBeforeSending) {
  fs::path out = dir_ / "outputs";
  fs::create_directories(out);
  std::ofstream(out / "a.bin") << std::string(3 << 20, 'a');
  auto n = UploadOutputs(&client_, LeaseRef{"n", "sw-1", 1, 1, 1}, out.string(), 2 << 20);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(n.status().message(),
              HasSubstr("outputs/ hold 3.0 MB, more than the artifact limit of 2.0 MB"));
  EXPECT_TRUE(client_.uploads().empty());
}

// Issue 11, fault 9: a controller restart during the upload failed a good trial (three
// immediate tries). Now the upload waits for the controller, with backoff.
TEST_F(TransferTest, UploadWaitsForARestartingController) {
  fs::path out = dir_ / "outputs";
  fs::create_directories(out);
  std::ofstream(out / "ok.txt") << "ok";
  client_.unavailable_calls = 5;  // more than the three tries of before
  auto n = UploadOutputs(&client_, LeaseRef{"n", "sw-1", 1, 1, 1}, out.string(), 0);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(client_.uploads().size(), 1u);
  EXPECT_EQ(client_.commits().size(), 1u);
}

// --- under injected faults (core::FaultEnv)

TEST_F(TransferTest, SnapshotCacheOnAFullDiskFailsClearlyAndKeepsNoPartialSnapshot) {
  std::string digest = AddSnapshot({{"train.py", std::string(5000, 't'), false}});
  core::FaultEnv faults(core::Env::Default());
  faults.DiskFullAfter(1000, (dir_ / "snapshots").string());
  auto got = SnapshotCache(dir_.string(), &client_, 3, &faults).Get(digest, nullptr);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(core::ErrnoOf(got.status()), ENOSPC);
  EXPECT_THAT(got.status().message(), HasSubstr("train.py: No space left on device"));
  EXPECT_TRUE(fs::is_empty(dir_ / "snapshots"));  // no cache entry, no partial directory

  faults.Clear();  // space freed: the next attempt fetches it again
  bool hit = true;
  got = SnapshotCache(dir_.string(), &client_, 3, &faults).Get(digest, &hit);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_FALSE(hit);
  EXPECT_EQ(ReadFile(fs::path(*got) / "train.py"), std::string(5000, 't'));
}

TEST_F(TransferTest, SnapshotCacheInAReadOnlyWorkDirFailsClearly) {
  std::string digest = AddSnapshot({{"a.py", "a = 1\n", false}});
  core::FaultEnv faults(core::Env::Default());
  faults.MakeReadOnly(dir_.string());
  auto got = SnapshotCache(dir_.string(), &client_, 3, &faults).Get(digest, nullptr);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(core::ErrnoOf(got.status()), EROFS);
  EXPECT_THAT(got.status().message(), HasSubstr((dir_ / "snapshots").string()));
}

TEST_F(TransferTest, AnOutputFileThatCannotBeReadFailsTheUploadNamingIt) {
  fs::path out = dir_ / "outputs";
  fs::create_directories(out);
  std::ofstream(out / "model.pkl") << "weights";
  core::FaultEnv faults(core::Env::Default());
  faults.FailReads((out / "model.pkl").string());
  auto n =
      UploadOutputs(&client_, LeaseRef{"n", "sw-1", 1, 1, 1}, out.string(), 0, nullptr, 3, &faults);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(core::ErrnoOf(n.status()), EIO);
  EXPECT_THAT(n.status().message(), HasSubstr("model.pkl: Input/output error"));
  EXPECT_TRUE(client_.commits().empty());
}

}  // namespace
}  // namespace sweep::worker

// Snapshots (selection, cap, content addressing, chunks), artifact uploads (path checks,
// digests, staging, commit) and how the Controller uses both.
#include "workspace/snapshot_store.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/digest.h"
#include "core/file_tree.h"
#include "core/limits.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "workspace/artifact_store.h"
#include "workspace/artifact_upload.h"

namespace sweep::workspace {
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

std::vector<std::string> Paths(const std::vector<core::FileEntry>& files) {
  std::vector<std::string> out;
  for (const auto& f : files) out.push_back(f.path);
  return out;
}

class SnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    code_ = FreshDir("code");
    ws_ = FreshDir("ws");
  }
  void TearDown() override {
    fs::remove_all(code_);
    fs::remove_all(ws_);
  }
  fs::path code_, ws_;
};

TEST_F(SnapshotTest, AmlignoreWinsOverGitignore) {
  Write(code_ / "train.py", "x");
  Write(code_ / "data.csv", "1,2");
  Write(code_ / "cache/blob", "b");
  Write(code_ / ".gitignore", "train.py\n");
  Write(code_ / ".amlignore", "*.csv\ncache/\n");
  auto files = SelectSnapshotFiles(code_.string(), 1 << 20);
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(Paths(*files), (std::vector<std::string>{".amlignore", ".gitignore", "train.py"}));
  fs::remove(code_ / ".amlignore");
  files = SelectSnapshotFiles(code_.string(), 1 << 20);
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(Paths(*files), (std::vector<std::string>{".gitignore", "cache/blob", "data.csv"}));
}

TEST_F(SnapshotTest, WorkspaceInsideTheCodeDirectoryIsLeftOut) {
  Write(code_ / "train.py", "x");
  Write(code_ / ".sweep" / "sweep.db", "db");
  auto files = SelectSnapshotFiles(code_.string(), 1 << 20, (code_ / ".sweep").string());
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(Paths(*files), std::vector<std::string>{"train.py"});
}

TEST_F(SnapshotTest, OverTheCapNamesTheLargestFilesAndStoresNothing) {
  Write(code_ / "train.py", "print(1)\n");
  Write(code_ / "big.bin", std::string(3 << 20, 'b'));
  Write(code_ / "data/mid.bin", std::string(2 << 20, 'm'));
  SnapshotStore store(ws_.string());
  auto digest = store.Create(code_.string(), 4 << 20);
  ASSERT_FALSE(digest.ok());
  EXPECT_EQ(digest.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(digest.status().message(),
              HasSubstr("holds 5.0 MB, more than the snapshot limit of 4.0 MB; largest files: "
                        "big.bin (3.0 MB), data/mid.bin (2.0 MB), train.py (0.0 MB)"));
  EXPECT_THAT(digest.status().message(), HasSubstr("--snapshot-max-mb"));
  EXPECT_FALSE(fs::exists(ws_ / "snapshots"));
  // Ignoring the big file makes it fit.
  Write(code_ / ".amlignore", "big.bin\n");
  EXPECT_TRUE(store.Create(code_.string(), 4 << 20).ok());
}

TEST_F(SnapshotTest, SymlinkThatIsNotIgnoredIsRefused) {
  Write(code_ / "train.py", "x");
  fs::create_symlink("/etc", code_ / "etc");
  auto files = SelectSnapshotFiles(code_.string(), 1 << 20);
  ASSERT_FALSE(files.ok());
  EXPECT_THAT(files.status().message(), HasSubstr("'etc' is a symbolic link"));
  EXPECT_THAT(files.status().message(), HasSubstr("add it to .amlignore"));
  Write(code_ / ".amlignore", "etc\n");
  EXPECT_TRUE(SelectSnapshotFiles(code_.string(), 1 << 20).ok());
}

TEST_F(SnapshotTest, ContentAddressedDeduplicatedAndServedInVerifiableChunks) {
  Write(code_ / "train.py", "print('v1')\n");
  Write(code_ / "lib/util.py", "X = 1\n");
  SnapshotStore store(ws_.string());
  auto first = store.Create(code_.string(), 1 << 20);
  ASSERT_TRUE(first.ok()) << first.status();
  auto same = store.Create(code_.string(), 1 << 20);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*first, *same);  // same tree, same digest
  fs::permissions(code_ / "train.py", fs::perms::owner_exec, fs::perm_options::add);
  auto exec = store.Create(code_.string(), 1 << 20);
  ASSERT_TRUE(exec.ok());
  EXPECT_NE(*exec, *first);  // the executable bit is part of the snapshot
  Write(code_ / "train.py", "print('v2')\n");
  auto second = store.Create(code_.string(), 1 << 20);
  ASSERT_TRUE(second.ok());
  EXPECT_NE(*second, *first);
  // util.py is stored once for all of them: v1, v2 and util.py.
  EXPECT_EQ(
      std::distance(fs::directory_iterator(ws_ / "snapshots" / "blobs"), fs::directory_iterator{}),
      3);

  // The manifest is the digest's preimage; each chunk carries its own digest.
  auto manifest = store.ReadChunk(*first, "", 0, 1 << 20);
  ASSERT_TRUE(manifest.ok()) << manifest.status();
  EXPECT_EQ(core::Sha256Hex(manifest->data), *first);
  auto files = core::DecodeFileList(manifest->data);
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 2u);
  auto piece = store.ReadChunk(*first, (*files)[1].sha256, 2, 3);
  ASSERT_TRUE(piece.ok()) << piece.status();
  EXPECT_EQ(piece->data, "int");
  EXPECT_EQ(piece->sha256, core::Sha256Hex("int"));
  EXPECT_EQ(piece->total_size, 12);
  // Only blobs of that snapshot are served, and only stored snapshots.
  EXPECT_EQ(store.ReadChunk(*first, core::Sha256Hex("print('v2')\n"), 0, 10).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store.ReadChunk(std::string(64, 'c'), "", 0, 10).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store.ReadChunk(*first, "", 1 << 20, 10).status().code(),
            absl::StatusCode::kOutOfRange);
}

// --- artifact uploads

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

class UploadTest : public SnapshotTest {
 protected:
  std::string Attempt() const { return ArtifactAttemptDir(ws_.string(), "sw-1", 1, 1); }
};

TEST_F(UploadTest, UnsafePathsAreRefused) {
  for (const std::string path : {"../escape.txt", "/etc/passwd", "a/../../b", "./a", ""}) {
    absl::Status s = ReceiveArtifactChunk(Attempt(), Chunk(path, "x", 0, "x", true), 1 << 20);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << path;
    EXPECT_THAT(s.message(), HasSubstr("artifact refused: path '" + path + "' is not allowed"));
  }
  EXPECT_FALSE(fs::exists(ws_ / "escape.txt"));
  EXPECT_FALSE(fs::exists(Attempt()));
}

TEST_F(UploadTest, ChunksAreVerifiedStagedAndPublishedWithTheManifestLast) {
  std::string whole = "hello world";
  ASSERT_TRUE(
      ReceiveArtifactChunk(Attempt(), Chunk("m/a.txt", "hello ", 0, whole, false), 1 << 20).ok());
  core::ArtifactChunk bad = Chunk("m/a.txt", "world", 6, whole, true);
  bad.data = "w0rld";  // damaged in transit
  absl::Status s = ReceiveArtifactChunk(Attempt(), bad, 1 << 20);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("does not match its digest; send it again"));
  core::ArtifactChunk out_of_order = Chunk("m/a.txt", "d", 10, whole, true);
  EXPECT_EQ(ReceiveArtifactChunk(Attempt(), out_of_order, 1 << 20).code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(
      ReceiveArtifactChunk(Attempt(), Chunk("m/a.txt", "world", 6, whole, true), 1 << 20).ok());
  // Not visible before the commit.
  EXPECT_TRUE(absl::IsNotFound(FindTrialArtifacts(ws_.string(), "sw-1", 1).status()));
  // A commit that expects more files than arrived publishes nothing.
  EXPECT_FALSE(PublishArtifacts(Attempt(), 2).ok());
  EXPECT_TRUE(absl::IsNotFound(FindTrialArtifacts(ws_.string(), "sw-1", 1).status()));
  auto total = PublishArtifacts(Attempt(), 1);
  ASSERT_TRUE(total.ok()) << total.status();
  EXPECT_EQ(*total, 11);
  auto found = FindTrialArtifacts(ws_.string(), "sw-1", 1);
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_EQ(found->manifest.files.size(), 1u);
  EXPECT_EQ(found->manifest.files[0].sha256, core::Sha256Hex(whole));
  EXPECT_FALSE(fs::exists(fs::path(Attempt()) / "upload"));
  // After the commit the attempt's artifacts are final.
  EXPECT_EQ(ReceiveArtifactChunk(Attempt(), Chunk("b.txt", "b", 0, "b", true), 1 << 20).code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(UploadTest, FileWhoseDigestDoesNotMatchIsDropped) {
  core::ArtifactChunk c = Chunk("a.txt", "abc", 0, "abc", true);
  c.file_sha256 = core::Sha256Hex("abd");
  absl::Status s = ReceiveArtifactChunk(Attempt(), c, 1 << 20);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(s.message(), "artifact 'a.txt' does not match its digest; send it again");
  auto total = PublishArtifacts(Attempt(), 0);
  ASSERT_TRUE(total.ok());
  EXPECT_EQ(*total, 0);
}

TEST_F(UploadTest, OverTheLimitIsRefused) {
  std::string whole(600, 'x');
  ASSERT_TRUE(ReceiveArtifactChunk(Attempt(), Chunk("a.bin", whole, 0, whole, true), 1000).ok());
  absl::Status s = ReceiveArtifactChunk(Attempt(), Chunk("b.bin", whole, 0, whole, true), 1000);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("outputs/ exceed the artifact limit"));
  EXPECT_THAT(s.message(), HasSubstr("'b.bin'"));
}

// Issue 11, fault 9: the limit was checked against the size a client declared at offset 0.
TEST_F(UploadTest, LimitCountsBytesReceivedNotDeclaredSizes) {
  std::string big(900, 'x');
  core::ArtifactChunk lie = Chunk("a.bin", std::string(500, 'x'), 0, "tiny", false);
  lie.file_size = 10;  // declares 10 bytes, sends 500: refused as not fitting its size
  EXPECT_EQ(ReceiveArtifactChunk(Attempt(), lie, 1000).code(), absl::StatusCode::kInvalidArgument);
  // Declared sizes within the limit, chunks that add up past it.
  core::ArtifactChunk c1 = Chunk("a.bin", big.substr(0, 450), 0, big, false);
  core::ArtifactChunk c2 = Chunk("a.bin", big.substr(450), 450, big, true);
  ASSERT_TRUE(ReceiveArtifactChunk(Attempt(), c1, 800).ok());
  absl::Status s = ReceiveArtifactChunk(Attempt(), c2, 800);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("exceed the artifact limit"));
}

TEST_F(UploadTest, ChunkSentAgainAfterALostReplyIsAccepted) {
  std::string whole = "hello world";
  core::ArtifactChunk c1 = Chunk("a.txt", "hello ", 0, whole, false);
  core::ArtifactChunk c2 = Chunk("a.txt", "world", 6, whole, true);
  ASSERT_TRUE(ReceiveArtifactChunk(Attempt(), c1, 1 << 20).ok());
  EXPECT_TRUE(ReceiveArtifactChunk(Attempt(), c1, 1 << 20).ok());  // was "out of order"
  ASSERT_TRUE(ReceiveArtifactChunk(Attempt(), c2, 1 << 20).ok());
  EXPECT_TRUE(ReceiveArtifactChunk(Attempt(), c2, 1 << 20).ok());
  // A different chunk at a taken offset is still refused.
  EXPECT_EQ(ReceiveArtifactChunk(Attempt(), Chunk("b.txt", "zz", 2, "xxzz", true), 1 << 20).code(),
            absl::StatusCode::kInvalidArgument);
  auto total = PublishArtifacts(Attempt(), 1);
  ASSERT_TRUE(total.ok()) << total.status();
  EXPECT_EQ(*total, 11);
}

TEST_F(UploadTest, FileCountIsCapped) {
  for (int64_t i = 0; i < core::kMaxArtifactFiles; ++i) {
    std::string name = "f" + std::to_string(i);
    ASSERT_TRUE(ReceiveArtifactChunk(Attempt(), Chunk(name, "", 0, "", true), 1 << 20).ok()) << i;
  }
  absl::Status s = ReceiveArtifactChunk(Attempt(), Chunk("one-more", "", 0, "", true), 1 << 20);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("more than 10000 files"));
}

}  // namespace
}  // namespace sweep::workspace

#include "workspace/artifact_store.h"

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "core/digest.h"
#include "core/files.h"
#include "gtest/gtest.h"
#include "tests/test_dir.h"

namespace sweep::workspace {
namespace {

namespace fs = std::filesystem;

class ArtifactStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<::sweep::testutil::TestDir>("artifact_store");
    root_ = dir_->path();
  }
  void Write(const fs::path& path, const std::string& content) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << content;
  }
  std::unique_ptr<::sweep::testutil::TestDir> dir_;
  fs::path root_;
};

TEST_F(ArtifactStoreTest, ValidateRelativePath) {
  EXPECT_TRUE(ValidateRelativePath("model.pkl").ok());
  EXPECT_TRUE(ValidateRelativePath("a/b/c.txt").ok());
  for (const char* bad : {"", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", "a/."}) {
    absl::Status s = ValidateRelativePath(bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_NE(ValidateRelativePath("a/../b").message().find("escapes the directory"),
            std::string::npos);
}

TEST_F(ArtifactStoreTest, ScanWriteReadRoundTrip) {
  fs::path dir = root_ / "attempt";
  Write(dir / "files" / "b.txt", "bee");
  Write(dir / "files" / "sub" / "a.bin", std::string(1000, 'a'));
  auto scanned = ScanFiles((dir / "files").string());
  ASSERT_TRUE(scanned.ok()) << scanned.status();
  ASSERT_EQ(scanned->files.size(), 2u);
  EXPECT_EQ(scanned->files[0].path, "b.txt");
  EXPECT_EQ(scanned->files[1].path, "sub/a.bin");
  EXPECT_EQ(scanned->files[1].sha256, core::Sha256Hex(std::string(1000, 'a')));
  EXPECT_EQ(scanned->total_bytes, 1003);
  ASSERT_TRUE(WriteManifest(dir.string(), *scanned).ok());
  auto read = ReadManifest(dir.string());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->files.size(), 2u);
  EXPECT_EQ(read->total_bytes, 1003);
  EXPECT_EQ(read->files[0].sha256, scanned->files[0].sha256);
}

TEST_F(ArtifactStoreTest, ScanRefusesSymlinks) {
  fs::path files = root_ / "files";
  Write(files / "real.txt", "x");
  fs::create_symlink("/etc/passwd", files / "link");
  auto scanned = ScanFiles(files.string());
  EXPECT_EQ(scanned.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(scanned.status().message().find("'link' is a symbolic link"), std::string::npos)
      << scanned.status();
}

TEST_F(ArtifactStoreTest, MissingAndCorruptManifests) {
  EXPECT_EQ(ReadManifest((root_ / "none").string()).status().code(), absl::StatusCode::kNotFound);
  Write(root_ / "bad" / "manifest.json", "{not json");
  EXPECT_EQ(ReadManifest((root_ / "bad").string()).status().code(), absl::StatusCode::kDataLoss);
  Write(root_ / "escape" / "manifest.json",
        R"({"files":[{"path":"../../x","size":1,"sha256":")" + core::Sha256Hex("x") + "\"}]}");
  auto escaped = ReadManifest((root_ / "escape").string());
  EXPECT_EQ(escaped.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(escaped.status().message().find("'../../x'"), std::string::npos);
}

TEST_F(ArtifactStoreTest, FindTrialArtifactsTakesNewestCompleteAttempt) {
  std::string ws = root_.string();
  auto missing = FindTrialArtifacts(ws, "sw-1", 3);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "trial 3 of sweep sw-1 has no uploaded artifacts");
  for (int attempt : {1, 2}) {
    std::string dir = ArtifactAttemptDir(ws, "sw-1", 3, attempt);
    Write(fs::path(dir) / "files" / "m.txt", "attempt " + std::to_string(attempt));
    auto scanned = ScanFiles(dir + "/files");
    ASSERT_TRUE(scanned.ok());
    ASSERT_TRUE(WriteManifest(dir, *scanned).ok());
  }
  // Attempt 3 never finished its upload: no manifest.
  Write(fs::path(ArtifactAttemptDir(ws, "sw-1", 3, 3)) / "files" / "m.txt", "partial");
  auto found = FindTrialArtifacts(ws, "sw-1", 3);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->attempt, 2);
  EXPECT_EQ(found->manifest.files.at(0).sha256, core::Sha256Hex("attempt 2"));
}

TEST_F(ArtifactStoreTest, CopyVerifiedCopiesAndDetectsCorruption) {
  fs::path files = root_ / "files";
  Write(files / "model.pkl", "weights");
  Write(files / "d" / "e.txt", "e");
  auto manifest = ScanFiles(files.string());
  ASSERT_TRUE(manifest.ok());
  fs::path dest = root_ / "out";
  ASSERT_TRUE(CopyVerified(files.string(), *manifest, dest.string()).ok());
  EXPECT_EQ(*core::ReadFileToString((dest / "model.pkl").string()), "weights");
  EXPECT_EQ(*core::ReadFileToString((dest / "d" / "e.txt").string()), "e");

  // Not into a non-empty directory.
  absl::Status again = CopyVerified(files.string(), *manifest, dest.string());
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);

  // A stored file altered after its manifest was written: nothing is half-written.
  Write(files / "d" / "e.txt", "tampered");
  fs::path dest2 = root_ / "out2";
  absl::Status corrupt = CopyVerified(files.string(), *manifest, dest2.string());
  EXPECT_EQ(corrupt.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(corrupt.message().find("'d/e.txt'"), std::string::npos);
  EXPECT_FALSE(fs::exists(dest2));
  for (const auto& entry : fs::directory_iterator(root_)) {
    EXPECT_EQ(entry.path().filename().string().find("out2.partial"), std::string::npos);
  }
}

}  // namespace
}  // namespace sweep::workspace

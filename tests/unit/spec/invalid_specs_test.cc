// Runs every spec under tests/data/specs/: each invalid/NN-name.yml must be rejected
// with InvalidArgument whose message contains the text after "# expect: " on its first
// line; each valid/*.yml must load. The e2e suite runs the same files through
// `sweep validate`.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "spec/spec.h"

namespace sweep::spec {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> SpecFiles(const std::string& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(fs::path(SWEEP_SOURCE_DIR) / dir)) {
    if (entry.path().extension() == ".yml") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(InvalidSpecFilesTest, EachIsRejectedWithItsMessage) {
  std::vector<fs::path> files = SpecFiles("tests/data/specs/invalid");
  EXPECT_GE(files.size(), 35u);
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.filename().string());
    std::ifstream in(file);
    std::string first_line;
    std::getline(in, first_line);
    const std::string kPrefix = "# expect: ";
    ASSERT_EQ(first_line.rfind(kPrefix, 0), 0u) << "first line must start with " << kPrefix;
    std::string expected = first_line.substr(kPrefix.size());
    ASSERT_FALSE(expected.empty());
    absl::StatusOr<SweepSpec> spec = LoadSpecFile(file.string());
    ASSERT_FALSE(spec.ok()) << "accepted an invalid spec";
    EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(std::string(spec.status().message()).find(expected), std::string::npos)
        << "expected: " << expected << "\nactual:   " << spec.status().message();
    // Every line names the file and a position.
    std::string message(spec.status().message());
    EXPECT_EQ(message.rfind(file.string() + ":", 0), 0u) << message;
  }
}

TEST(ValidSpecFilesTest, EachLoads) {
  std::vector<fs::path> files = SpecFiles("tests/data/specs/valid");
  EXPECT_GE(files.size(), 3u);
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.filename().string());
    absl::StatusOr<SweepSpec> spec = LoadSpecFile(file.string());
    ASSERT_TRUE(spec.ok()) << spec.status();
    EXPECT_FALSE(DescribeSpec(*spec).empty());
  }
}

}  // namespace
}  // namespace sweep::spec

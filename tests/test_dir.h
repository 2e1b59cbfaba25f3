// A temporary directory of one test: <TempDir>/<prefix>-<pid>-<Suite.Test>, created empty
// and removed with everything in it when the object goes away. The process id and the
// test's name keep two runs of the suite, and two tests of one run, out of each other's
// files. ::testing::TempDir() is $TEST_TMPDIR when set, else /tmp.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <system_error>

#include "gtest/gtest.h"

namespace sweep::testutil {

// "Suite.Test" of the running test ("/" of parameterized names made "_").
inline std::string CurrentTestName() {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = info == nullptr ? std::string("no-test")
                                     : std::string(info->test_suite_name()) + "." + info->name();
  std::replace(name.begin(), name.end(), '/', '_');
  return name;
}

class TestDir {
 public:
  explicit TestDir(const std::string& prefix)
      : path_(std::filesystem::path(::testing::TempDir()) /
              (prefix + "-" + std::to_string(::getpid()) + "-" + CurrentTestName())) {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);  // a crashed earlier run of this very process id
    std::filesystem::create_directories(path_);
  }
  ~TestDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TestDir(const TestDir&) = delete;
  TestDir& operator=(const TestDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace sweep::testutil

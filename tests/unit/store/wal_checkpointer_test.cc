// WalCheckpointer: commits stop checkpointing, the thread does it, the log stays bounded,
// and nothing committed is lost.
#include "store/wal_checkpointer.h"

#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/test_dir.h"

namespace sweep::store {
namespace {

namespace fs = std::filesystem;

class WalCheckpointerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db_), SQLITE_OK);
    Exec("PRAGMA journal_mode=WAL");
    Exec("PRAGMA synchronous=NORMAL");
    Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, body BLOB)");
  }
  void TearDown() override { sqlite3_close(db_); }

  void Exec(const std::string& sql) {
    char* error = nullptr;
    ASSERT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << sql << ": " << (error ? error : "");
  }
  // One commit of about two pages.
  void CommitRow() { Exec("INSERT INTO t(body) VALUES (randomblob(6000))"); }
  int64_t Rows() {
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db_, "SELECT count(*) FROM t", -1, &stmt, nullptr);
    sqlite3_step(stmt);
    int64_t n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return n;
  }
  uintmax_t WalBytes() {
    std::error_code ec;
    uintmax_t size = fs::file_size(path_ + "-wal", ec);
    return ec ? 0 : size;
  }
  static constexpr uintmax_t kFrameBytes = 4096 + 24;

  testutil::TestDir dir_{"wal-checkpointer"};
  const std::string path_ = (dir_.path() / "t.db").string();
  sqlite3* db_ = nullptr;
};

TEST_F(WalCheckpointerTest, CommitsNoLongerCheckpointThemselves) {
  // The thread is never woken and the inline bound is far away: had SQLite's own hook
  // stayed, the log would have been checkpointed and reused at 1000 pages.
  auto checkpointer =
      WalCheckpointer::Start(db_, path_, {.wake_pages = 1 << 30, .inline_pages = 1 << 30});
  ASSERT_TRUE(checkpointer.ok()) << checkpointer.status();
  ASSERT_NE(*checkpointer, nullptr);
  for (int i = 0; i < 800; ++i) CommitRow();
  EXPECT_GT(WalBytes(), 1200 * kFrameBytes);
  EXPECT_EQ((*checkpointer)->completed(), 0);
}

TEST_F(WalCheckpointerTest, TheThreadCheckpointsAfterTheWakeThreshold) {
  auto checkpointer =
      WalCheckpointer::Start(db_, path_, {.wake_pages = 50, .inline_pages = 1 << 30});
  ASSERT_TRUE(checkpointer.ok()) << checkpointer.status();
  const uintmax_t db_before = fs::file_size(path_);
  for (int i = 0; i < 40; ++i) CommitRow();
  // Waits for the thread (no timing is asserted: the bound only stops a hung test).
  for (int i = 0; i < 1000 && (*checkpointer)->completed() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE((*checkpointer)->completed(), 1);
  EXPECT_GT(fs::file_size(path_), db_before);  // pages were copied into the database file
}

TEST_F(WalCheckpointerTest, TheLogStaysBoundedWhenTheThreadFallsBehind) {
  auto checkpointer =
      WalCheckpointer::Start(db_, path_, {.wake_pages = 1 << 30, .inline_pages = 100});
  ASSERT_TRUE(checkpointer.ok()) << checkpointer.status();
  for (int i = 0; i < 600; ++i) CommitRow();
  // The log is reused from its start after each inline checkpoint: never much past the bound.
  EXPECT_LT(WalBytes(), 110 * kFrameBytes);
  EXPECT_EQ(Rows(), 600);
}

TEST_F(WalCheckpointerTest, NothingCommittedIsLostAcrossStopAndReopen) {
  {
    auto checkpointer = WalCheckpointer::Start(db_, path_, {.wake_pages = 20, .inline_pages = 200});
    ASSERT_TRUE(checkpointer.ok()) << checkpointer.status();
    for (int i = 0; i < 500; ++i) CommitRow();
  }
  for (int i = 0; i < 10; ++i) CommitRow();  // SQLite's own checkpointing is back
  sqlite3_close(db_);
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db_), SQLITE_OK);
  EXPECT_EQ(Rows(), 510);
}

TEST_F(WalCheckpointerTest, NotStartedWithoutWal) {
  Exec("PRAGMA journal_mode=DELETE");
  auto checkpointer = WalCheckpointer::Start(db_, path_);
  ASSERT_TRUE(checkpointer.ok()) << checkpointer.status();
  EXPECT_EQ(*checkpointer, nullptr);
}

TEST_F(WalCheckpointerTest, AnUnopenableSecondConnectionIsAnErrorNamingThePath) {
  const std::string missing = (dir_.path() / "no-such-dir" / "t.db").string();
  auto checkpointer = WalCheckpointer::Start(db_, missing);
  ASSERT_FALSE(checkpointer.ok());
  EXPECT_NE(checkpointer.status().message().find(missing), std::string::npos)
      << checkpointer.status();
}

}  // namespace
}  // namespace sweep::store

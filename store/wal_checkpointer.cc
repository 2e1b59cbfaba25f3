#include "store/wal_checkpointer.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace sweep::store {

absl::StatusOr<std::unique_ptr<WalCheckpointer>> WalCheckpointer::Start(sqlite3* db,
                                                                        const std::string& path,
                                                                        Options options) {
  sqlite3_stmt* stmt = nullptr;
  bool wal = false;
  if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    const unsigned char* mode = sqlite3_column_text(stmt, 0);
    wal = mode != nullptr && std::strcmp(reinterpret_cast<const char*>(mode), "wal") == 0;
  }
  sqlite3_finalize(stmt);
  if (!wal) return std::unique_ptr<WalCheckpointer>();
  sqlite3* own = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &own, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  // A connection finds the database in WAL mode only once it reads it; until then its
  // checkpoints do nothing.
  if (rc == SQLITE_OK) rc = sqlite3_exec(own, "PRAGMA schema_version", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    std::string why = own != nullptr ? sqlite3_errmsg(own) : sqlite3_errstr(rc);
    sqlite3_close(own);
    return absl::UnavailableError(
        absl::StrCat("store '", path, "': opening its checkpoint connection: ", why));
  }
  return std::unique_ptr<WalCheckpointer>(new WalCheckpointer(db, own, options));
}

WalCheckpointer::WalCheckpointer(sqlite3* db, sqlite3* own, Options options)
    : db_(db), own_(own), options_(options) {
  // sqlite3_wal_hook replaces the default hook, which is what checkpoints every 1000 pages.
  sqlite3_wal_hook(db_, &WalCheckpointer::OnCommit, this);
  thread_ = std::thread([this] { Run(); });
}

WalCheckpointer::~WalCheckpointer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
  sqlite3_wal_autocheckpoint(db_, 1000);  // restores SQLite's default hook
  sqlite3_close(own_);
}

int64_t WalCheckpointer::completed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return completed_;
}

int WalCheckpointer::OnCommit(void* arg, sqlite3* db, const char* schema, int log_pages) {
  auto* self = static_cast<WalCheckpointer*>(arg);
  if (log_pages >= self->options_.inline_pages) {
    // The thread is far behind (a reader kept the log pinned, or the disk is very slow):
    // bound the log as SQLite's own hook would. Its result does not change the commit's.
    sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  } else if (log_pages >= self->options_.wake_pages) {
    {
      std::lock_guard<std::mutex> lock(self->mu_);
      self->wanted_ = true;
    }
    self->cv_.notify_one();
  }
  return SQLITE_OK;
}

void WalCheckpointer::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return wanted_ || stop_; });
    if (stop_) return;
    wanted_ = false;
    lock.unlock();
    // PASSIVE copies what no reader still needs and returns; a failure (busy, I/O) leaves
    // the log longer and is tried again after a later commit.
    const int rc =
        sqlite3_wal_checkpoint_v2(own_, "main", SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    lock.lock();
    if (rc == SQLITE_OK) ++completed_;
  }
}

}  // namespace sweep::store

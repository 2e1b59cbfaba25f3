// Internal to SqliteStore: the statements it prepares once at open, and the two small
// wrappers through which it binds parameters (Use) and decodes columns (Row).
//
// Thread safety: none; SqliteStore serializes every use under its mutex.
#pragma once

#include <sqlite3.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sweep::store::sqlite_internal {

// The status code for an SQLite result code: Unavailable for what may pass (busy, full,
// I/O), FailedPrecondition (not a database, read-only), DataLoss (corrupt), else Internal.
absl::StatusCode CodeFor(int rc);

enum StmtId {
  kBegin,
  kCommit,
  kRollback,
  kUpsertCompute,
  kDeleteCompute,
  kUpsertSweep,
  kUpsertTrial,
  kUpsertAttempt,
  kBumpFencingToken,
  kInsertMetricReport,
  kFindTrialKey,
  kInsertTrialKey,
  kFindMetricName,
  kInsertMetricName,
  kInsertEvent,
  kInsertDecision,
  kUpsertNode,
  kInsertEnvironment,
  kInsertModel,
  kGetCompute,
  kListComputes,
  kGetSweep,
  kListSweeps,
  kGetTrial,
  kListTrials,
  kListAttempts,
  kListTrialAttempts,
  kListMetricNames,
  kListMetricReports,
  kListTrialMetricReports,
  kListEvents,
  kListDecisions,
  kListTrialDecisions,
  kListNodes,
  kMaxFencingToken,
  kGetEnvironment,
  kGetLatestEnvironment,
  kListEnvironments,
  kGetModel,
  kGetLatestModel,
  kListModels,
  kNumStmts,
};

// The SQL of each statement, indexed by StmtId.
std::array<std::string, kNumStmts> StatementSql();

// One use of a cached statement: binds parameters, steps, and resets the statement when
// it goes out of scope so the next use starts clean. Text is bound SQLITE_STATIC: the
// caller keeps it alive until the last Step.
class Use {
 public:
  explicit Use(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Use() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;

  Use& Text(int i, absl::string_view v) {
    return Check(sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC));
  }
  Use& Blob(int i, absl::string_view v) {
    return Check(sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC));
  }
  Use& Int(int i, int64_t v) { return Check(sqlite3_bind_int64(stmt_, i, v)); }
  // Finite doubles as REAL; NaN and infinities as text, because SQLite stores NaN as NULL.
  Use& Double(int i, double v) {
    if (std::isfinite(v)) return Check(sqlite3_bind_double(stmt_, i, v));
    const char* text =
        std::isnan(v) ? (std::signbit(v) ? "-nan" : "nan") : (v > 0 ? "inf" : "-inf");
    return Check(sqlite3_bind_text(stmt_, i, text, -1, SQLITE_STATIC));
  }
  Use& OptionalDouble(int i, const std::optional<double>& v) {
    if (!v) return Check(sqlite3_bind_null(stmt_, i));
    return Double(i, *v);
  }

  // SQLITE_ROW, SQLITE_DONE or an error code (including a failed bind).
  int Step() { return bind_rc_ != SQLITE_OK ? bind_rc_ : sqlite3_step(stmt_); }
  sqlite3_stmt* stmt() const { return stmt_; }

 private:
  Use& Check(int rc) {
    if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
    return *this;
  }

  sqlite3_stmt* stmt_;
  int bind_rc_ = SQLITE_OK;
};

// Reads the columns of the current row in order; remembers the first undecodable value.
class Row {
 public:
  explicit Row(sqlite3_stmt* stmt) : stmt_(stmt) {}

  std::string Text();
  int64_t Int() { return sqlite3_column_int64(stmt_, next_++); }
  int32_t Int32() { return static_cast<int32_t>(Int()); }
  // NULL is nullopt; the texts 'nan', '-nan', 'inf', '-inf' are the non-finite values.
  std::optional<double> OptionalDouble();
  double Double();  // as OptionalDouble, NULL being undecodable
  void Fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
  }
  const std::string& error() const { return error_; }

 private:
  sqlite3_stmt* stmt_;
  int next_ = 0;
  std::string error_;
};

}  // namespace sweep::store::sqlite_internal

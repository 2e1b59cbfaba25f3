#include "store/sqlite_statements.h"

#include <initializer_list>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "store/sqlite_schema.h"

namespace sweep::store::sqlite_internal {
namespace {

namespace schema = sqlite_schema;

std::string UpsertSql(absl::string_view table, std::initializer_list<absl::string_view> columns,
                      size_t key_columns) {
  std::vector<std::string> params, keys, updates;
  size_t i = 0;
  for (absl::string_view column : columns) {
    params.push_back(absl::StrCat("?", ++i));
    if (i <= key_columns) {
      keys.emplace_back(column);
    } else {
      updates.push_back(absl::StrCat(column, " = excluded.", column));
    }
  }
  return absl::StrCat("INSERT INTO ", table, " (", absl::StrJoin(columns, ", "), ") VALUES (",
                      absl::StrJoin(params, ", "), ") ON CONFLICT (", absl::StrJoin(keys, ", "),
                      ") DO UPDATE SET ", absl::StrJoin(updates, ", "));
}

std::string InsertSql(absl::string_view table, std::initializer_list<absl::string_view> columns) {
  std::vector<std::string> params;
  for (size_t i = 1; i <= columns.size(); ++i) params.push_back(absl::StrCat("?", i));
  return absl::StrCat("INSERT INTO ", table, " (", absl::StrJoin(columns, ", "), ") VALUES (",
                      absl::StrJoin(params, ", "), ")");
}

}  // namespace

absl::StatusCode CodeFor(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
      return absl::StatusCode::kUnavailable;
    case SQLITE_NOTADB:
    case SQLITE_READONLY:
      return absl::StatusCode::kFailedPrecondition;
    case SQLITE_CORRUPT:
      return absl::StatusCode::kDataLoss;
    default:
      return absl::StatusCode::kInternal;
  }
}

std::array<std::string, kNumStmts> StatementSql() {
  std::array<std::string, kNumStmts> sql;
  sql[kBegin] = "BEGIN IMMEDIATE";
  sql[kCommit] = "COMMIT";
  sql[kRollback] = "ROLLBACK";
  sql[kUpsertCompute] =
      UpsertSql("computes",
                {"name", "type", "provider", "min_nodes", "max_nodes", "vm_size", "vm_priority",
                 "idle_seconds_before_scaledown", "properties_json", "created_ms"},
                1);
  sql[kDeleteCompute] = "DELETE FROM computes WHERE name = ?1";
  sql[kUpsertSweep] = UpsertSql("sweeps",
                                {"id",
                                 "name",
                                 "spec_yaml",
                                 "spec_path",
                                 "compute",
                                 "state",
                                 "status_message",
                                 "created_ms",
                                 "ended_ms",
                                 "primary_metric",
                                 "goal",
                                 "aggregation",
                                 "sampling_algorithm",
                                 "max_total_trials",
                                 "snapshot_digest",
                                 "environment",
                                 "extension",
                                 "extended_ms",
                                 "max_concurrent_trials",
                                 "timeout_s",
                                 "warm_start_json"},
                                1);
  sql[kUpsertTrial] =
      UpsertSql("trials",
                {"sweep_id", "trial_id", "config_json", "state", "final_value", "intervals",
                 "attempts", "retries", "reason", "created_ms", "started_ms", "ended_ms", "origin"},
                2);
  sql[kUpsertAttempt] =
      UpsertSql("attempts",
                {"sweep_id", "trial_id", "attempt", "node_id", "fencing_token", "state",
                 "started_ms", "expires_ms", "ended_ms", "exit_code", "error"},
                3);
  // Only when it grows, so lease renewals (same token) do not rewrite the counter page.
  sql[kBumpFencingToken] =
      "UPDATE counters SET value = ?1 WHERE name = 'max_fencing_token' AND value < ?1";
  // One row per run of a trial's points (sqlite_metrics.h), under the trial's key (made by
  // kInsertTrialKey, whose foreign key checks the trial); the rowid is the insertion order.
  sql[kInsertMetricReport] =
      "INSERT INTO metric_reports (trial_key, points, data) VALUES (?1, ?2, ?3)";
  sql[kFindTrialKey] = "SELECT id FROM trial_keys WHERE sweep_id = ?1 AND trial_id = ?2";
  sql[kInsertTrialKey] = "INSERT INTO trial_keys (sweep_id, trial_id) VALUES (?1, ?2)";
  sql[kFindMetricName] = "SELECT id FROM metric_names WHERE name = ?1";
  sql[kInsertMetricName] = "INSERT INTO metric_names (name) VALUES (?1)";
  sql[kInsertEvent] =
      InsertSql("events", {"sweep_id", "trial_id", "kind", "message", "timestamp_ms"});
  sql[kInsertDecision] =
      "INSERT INTO decisions (sweep_id, trial_id, interval, seq, policy, value, reference, "
      "threshold, stop, explanation, timestamp_ms) SELECT ?1, ?2, ?3, COALESCE(MAX(seq) + 1, 0), "
      "?4, ?5, ?6, ?7, ?8, ?9, ?10 FROM decisions "
      "WHERE sweep_id = ?1 AND trial_id = ?2 AND interval = ?3";
  sql[kUpsertNode] = UpsertSql(
      "nodes", {"node_id", "compute", "hostname", "pid", "state", "registered_ms", "last_seen_ms"},
      1);
  sql[kInsertEnvironment] = InsertSql(
      "environments",
      {"name", "version", "kind", "python", "setup_command", "files_json", "digest", "created_ms"});
  sql[kInsertModel] =
      InsertSql("models", {"name", "version", "sweep_id", "trial_id", "attempt", "primary_metric",
                           "goal", "metric_value", "params_json", "tags_json", "manifest_digest",
                           "total_bytes", "created_ms"});
  sql[kGetCompute] = schema::kGetCompute;
  sql[kListComputes] = schema::kListComputes;
  sql[kGetSweep] = schema::kGetSweep;
  sql[kListSweeps] = schema::kListSweeps;
  sql[kGetTrial] = schema::kGetTrial;
  sql[kListTrials] = schema::kListTrials;
  sql[kListAttempts] = schema::kListAttempts;
  sql[kListTrialAttempts] = schema::kListTrialAttempts;
  sql[kListMetricNames] = schema::kListMetricNames;
  sql[kListMetricReports] = schema::kListMetricReports;
  sql[kListTrialMetricReports] = schema::kListTrialMetricReports;
  sql[kListEvents] = schema::kListEvents;
  sql[kListDecisions] = schema::kListDecisions;
  sql[kListTrialDecisions] = schema::kListTrialDecisions;
  sql[kListNodes] = schema::kListNodes;
  sql[kMaxFencingToken] = schema::kMaxFencingToken;
  sql[kGetEnvironment] = schema::kGetEnvironment;
  sql[kGetLatestEnvironment] = schema::kGetLatestEnvironment;
  sql[kListEnvironments] = schema::kListEnvironments;
  sql[kGetModel] = schema::kGetModel;
  sql[kGetLatestModel] = schema::kGetLatestModel;
  sql[kListModels] = schema::kListModels;
  return sql;
}

std::string Row::Text() {
  const int i = next_++;
  const unsigned char* p = sqlite3_column_text(stmt_, i);
  if (p == nullptr) return std::string();
  return std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(stmt_, i));
}

std::optional<double> Row::OptionalDouble() {
  const int i = next_++;
  switch (sqlite3_column_type(stmt_, i)) {
    case SQLITE_NULL:
      return std::nullopt;
    case SQLITE_INTEGER:
    case SQLITE_FLOAT:
      return sqlite3_column_double(stmt_, i);
    default: {
      const unsigned char* p = sqlite3_column_text(stmt_, i);
      absl::string_view text(p ? reinterpret_cast<const char*>(p) : "",
                             sqlite3_column_bytes(stmt_, i));
      if (text == "nan") return std::numeric_limits<double>::quiet_NaN();
      if (text == "-nan") return -std::numeric_limits<double>::quiet_NaN();
      if (text == "inf") return std::numeric_limits<double>::infinity();
      if (text == "-inf") return -std::numeric_limits<double>::infinity();
      Fail(absl::StrFormat("column '%s' holds '%s', not a number", sqlite3_column_name(stmt_, i),
                           text));
      return 0.0;
    }
  }
}

double Row::Double() {
  std::optional<double> v = OptionalDouble();
  if (!v) {
    Fail(absl::StrFormat("column '%s' is NULL", sqlite3_column_name(stmt_, next_ - 1)));
    return 0.0;
  }
  return *v;
}

}  // namespace sweep::store::sqlite_internal

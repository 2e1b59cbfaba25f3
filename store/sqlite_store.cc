// SqliteStore: the Store contract on one SQLite connection (C API) guarded by a mutex.
//
// Commit is on the controller's hot path (several small batches per trial), so every
// statement is prepared once at open and reused, and a batch costs one
// BEGIN IMMEDIATE..COMMIT with no schema queries.
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "core/search_space.h"
#include "core/status.h"
#include "nlohmann/json.hpp"
#include "store/batch_checks.h"
#include "store/sqlite_schema.h"
#include "store/store.h"

namespace sweep::store {
namespace {

namespace schema = sqlite_schema;

// How long a writer waits for another connection's write lock (a second controller on
// the same workspace, or a checkpoint) before Commit fails Unavailable.
constexpr int kBusyTimeoutMs = 5000;

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
  kInsertMetric,
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
  kListMetrics,
  kListTrialMetrics,
  kListNamedMetrics,
  kListTrialNamedMetrics,
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
  sql[kUpsertSweep] =
      UpsertSql("sweeps",
                {"id", "name", "spec_yaml", "spec_path", "compute", "state", "status_message",
                 "created_ms", "ended_ms", "primary_metric", "goal", "aggregation",
                 "sampling_algorithm", "max_total_trials", "snapshot_digest", "environment"},
                1);
  sql[kUpsertTrial] =
      UpsertSql("trials",
                {"sweep_id", "trial_id", "config_json", "state", "final_value", "intervals",
                 "attempts", "retries", "reason", "created_ms", "started_ms", "ended_ms"},
                2);
  sql[kUpsertAttempt] =
      UpsertSql("attempts",
                {"sweep_id", "trial_id", "attempt", "node_id", "fencing_token", "state",
                 "started_ms", "expires_ms", "ended_ms", "exit_code", "error"},
                3);
  // Only when it grows, so lease renewals (same token) do not rewrite the counter page.
  sql[kBumpFencingToken] =
      "UPDATE counters SET value = ?1 WHERE name = 'max_fencing_token' AND value < ?1";
  // seq: insertion order among points of the same (trial, timestamp), found by a seek
  // in the b-tree page the insert writes anyway.
  sql[kInsertMetric] =
      "INSERT INTO metrics (sweep_id, trial_id, timestamp_ms, seq, attempt, name, value, step, "
      "interval) SELECT ?1, ?2, ?8, COALESCE(MAX(seq) + 1, 0), ?3, ?4, ?5, ?6, ?7 FROM metrics "
      "WHERE sweep_id = ?1 AND trial_id = ?2 AND timestamp_ms = ?8";
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
  sql[kInsertEnvironment] =
      InsertSql("environments", {"name", "version", "kind", "python", "setup_command",
                                 "files_json", "digest", "created_ms"});
  sql[kInsertModel] =
      InsertSql("models", {"name", "version", "sweep_id", "trial_id", "attempt",
                           "primary_metric", "goal", "metric_value", "params_json", "tags_json",
                           "manifest_digest", "total_bytes", "created_ms"});
  sql[kGetCompute] = schema::kGetCompute;
  sql[kListComputes] = schema::kListComputes;
  sql[kGetSweep] = schema::kGetSweep;
  sql[kListSweeps] = schema::kListSweeps;
  sql[kGetTrial] = schema::kGetTrial;
  sql[kListTrials] = schema::kListTrials;
  sql[kListAttempts] = schema::kListAttempts;
  sql[kListTrialAttempts] = schema::kListTrialAttempts;
  sql[kListMetrics] = schema::kListMetrics;
  sql[kListTrialMetrics] = schema::kListTrialMetrics;
  sql[kListNamedMetrics] = schema::kListNamedMetrics;
  sql[kListTrialNamedMetrics] = schema::kListTrialNamedMetrics;
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

  std::string Text() {
    const int i = next_++;
    const unsigned char* p = sqlite3_column_text(stmt_, i);
    if (p == nullptr) return std::string();
    return std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(stmt_, i));
  }
  int64_t Int() { return sqlite3_column_int64(stmt_, next_++); }
  int32_t Int32() { return static_cast<int32_t>(Int()); }
  std::optional<double> OptionalDouble() {
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
  double Double() {
    std::optional<double> v = OptionalDouble();
    if (!v) {
      Fail(absl::StrFormat("column '%s' is NULL", sqlite3_column_name(stmt_, next_ - 1)));
      return 0.0;
    }
    return *v;
  }
  void Fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
  }
  const std::string& error() const { return error_; }

 private:
  sqlite3_stmt* stmt_;
  int next_ = 0;
  std::string error_;
};

template <typename State>
State ReadState(Row& row, std::optional<State> (*parse)(const std::string&), const char* what) {
  std::string text = row.Text();
  std::optional<State> state = parse(text);
  if (!state) {
    row.Fail(absl::StrFormat("unknown %s state '%s'", what, text));
    return State{};
  }
  return *state;
}

core::ComputeTarget ReadCompute(Row& row) {
  core::ComputeTarget c;
  c.name = row.Text();
  c.type = row.Text();
  c.provider = row.Text();
  c.min_nodes = row.Int();
  c.max_nodes = row.Int();
  c.vm_size = row.Text();
  c.vm_priority = row.Text();
  c.idle_seconds_before_scaledown = row.Int();
  c.properties_json = row.Text();
  c.created_ms = row.Int();
  return c;
}

core::Sweep ReadSweep(Row& row) {
  core::Sweep s;
  s.id = row.Text();
  s.name = row.Text();
  s.spec_yaml = row.Text();
  s.spec_path = row.Text();
  s.compute = row.Text();
  s.state = ReadState<core::SweepState>(row, core::ParseSweepState, "sweep");
  s.status_message = row.Text();
  s.created_ms = row.Int();
  s.ended_ms = row.Int();
  s.objective.primary_metric = row.Text();
  s.objective.goal = row.Text() == "minimize" ? core::Goal::kMinimize : core::Goal::kMaximize;
  s.objective.aggregation = row.Text() == "best" ? core::Aggregation::kBest : core::Aggregation::kLast;
  s.sampling_algorithm = row.Text();
  s.max_total_trials = row.Int();
  s.snapshot_digest = row.Text();
  s.environment = row.Text();
  return s;
}

core::Trial ReadTrial(Row& row) {
  core::Trial t;
  t.sweep_id = row.Text();
  t.trial_id = row.Int();
  const std::string config_json = row.Text();
  nlohmann::json json = nlohmann::json::parse(config_json, nullptr, /*allow_exceptions=*/false);
  std::optional<core::Config> config;
  if (!json.is_discarded()) config = core::ConfigFromJson(json);
  if (config) {
    t.config = std::move(*config);
  } else {
    row.Fail(absl::StrFormat("config '%s' is not a JSON object of parameter values", config_json));
  }
  t.state = ReadState<core::TrialState>(row, core::ParseTrialState, "trial");
  t.final_value = row.OptionalDouble();
  t.intervals = row.Int();
  t.attempts = row.Int32();
  t.retries = row.Int32();
  t.reason = row.Text();
  t.created_ms = row.Int();
  t.started_ms = row.Int();
  t.ended_ms = row.Int();
  return t;
}

core::Attempt ReadAttempt(Row& row) {
  core::Attempt a;
  a.sweep_id = row.Text();
  a.trial_id = row.Int();
  a.attempt = row.Int32();
  a.node_id = row.Text();
  a.fencing_token = static_cast<uint64_t>(row.Int());
  a.state = ReadState<core::AttemptState>(row, core::ParseAttemptState, "attempt");
  a.started_ms = row.Int();
  a.expires_ms = row.Int();
  a.ended_ms = row.Int();
  a.exit_code = row.Int32();
  a.error = row.Text();
  return a;
}

core::MetricPoint ReadMetric(Row& row) {
  core::MetricPoint m;
  m.sweep_id = row.Text();
  m.trial_id = row.Int();
  m.attempt = row.Int32();
  m.name = row.Text();
  m.value = row.Double();
  m.step = row.Int();
  m.interval = row.Int();
  m.timestamp_ms = row.Int();
  return m;
}

core::Event ReadEvent(Row& row) {
  core::Event e;
  e.id = row.Int();
  e.sweep_id = row.Text();
  e.trial_id = row.Int();
  e.kind = row.Text();
  e.message = row.Text();
  e.timestamp_ms = row.Int();
  return e;
}

core::Decision ReadDecision(Row& row) {
  core::Decision d;
  d.sweep_id = row.Text();
  d.trial_id = row.Int();
  d.interval = row.Int();
  d.policy = row.Text();
  d.value = row.Double();
  d.reference = row.Double();
  d.threshold = row.Double();
  d.stop = row.Int() != 0;
  d.explanation = row.Text();
  d.timestamp_ms = row.Int();
  return d;
}

core::Node ReadNode(Row& row) {
  core::Node n;
  n.node_id = row.Text();
  n.compute = row.Text();
  n.hostname = row.Text();
  n.pid = row.Int();
  n.state = row.Text();
  n.registered_ms = row.Int();
  n.last_seen_ms = row.Int();
  return n;
}

// Environment files as stored: [{"name": ..., "content_b64": ...}] (contents are bytes,
// which JSON strings cannot carry as they are).
std::string FilesToJson(const std::vector<core::EnvironmentFile>& files) {
  nlohmann::json json = nlohmann::json::array();
  for (const core::EnvironmentFile& f : files) {
    json.push_back({{"name", f.name}, {"content_b64", absl::Base64Escape(f.content)}});
  }
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

core::Environment ReadEnvironment(Row& row) {
  core::Environment e;
  e.name = row.Text();
  e.version = row.Int();
  e.kind = row.Text();
  e.python = row.Text();
  e.setup_command = row.Text();
  const std::string files_json = row.Text();
  nlohmann::json json = nlohmann::json::parse(files_json, nullptr, /*allow_exceptions=*/false);
  bool ok = json.is_array();
  for (const nlohmann::json& f : ok ? json : nlohmann::json::array()) {
    core::EnvironmentFile file;
    ok = f.is_object() && f.value("name", nlohmann::json()).is_string() &&
         f.value("content_b64", nlohmann::json()).is_string() &&
         absl::Base64Unescape(f["content_b64"].get<std::string>(), &file.content);
    if (!ok) break;
    file.name = f["name"].get<std::string>();
    e.files.push_back(std::move(file));
  }
  if (!ok) row.Fail(absl::StrFormat("files '%s' are not a JSON array of files", files_json));
  e.digest = row.Text();
  e.created_ms = row.Int();
  return e;
}

core::Model ReadModel(Row& row) {
  core::Model m;
  m.name = row.Text();
  m.version = row.Int();
  m.sweep_id = row.Text();
  m.trial_id = row.Int();
  m.attempt = row.Int32();
  m.primary_metric = row.Text();
  m.goal = row.Text() == "minimize" ? core::Goal::kMinimize : core::Goal::kMaximize;
  m.metric_value = row.OptionalDouble();
  m.params_json = row.Text();
  const std::string tags_json = row.Text();
  nlohmann::json json = nlohmann::json::parse(tags_json, nullptr, /*allow_exceptions=*/false);
  bool ok = json.is_array();
  for (const nlohmann::json& t : ok ? json : nlohmann::json::array()) {
    ok = t.is_array() && t.size() == 2 && t[0].is_string() && t[1].is_string();
    if (!ok) break;
    m.tags.emplace_back(t[0].get<std::string>(), t[1].get<std::string>());
  }
  if (!ok) row.Fail(absl::StrFormat("tags '%s' are not a JSON array of pairs", tags_json));
  m.manifest_digest = row.Text();
  m.total_bytes = row.Int();
  m.created_ms = row.Int();
  return m;
}

class SqliteStore final : public Store {
 public:
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path, bool read_only);

  ~SqliteStore() override {
    for (sqlite3_stmt* stmt : stmts_) sqlite3_finalize(stmt);
    sqlite3_close(db_);
  }

  absl::Status Commit(const WriteBatch& batch) override;

  absl::StatusOr<core::ComputeTarget> GetCompute(const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu_);
    Use q(stmts_[kGetCompute]);
    q.Text(1, name);
    return One(q, ReadCompute, internal::ComputeNotFound(name));
  }

  absl::StatusOr<std::vector<core::ComputeTarget>> ListComputes() override {
    std::lock_guard<std::mutex> lock(mu_);
    Use q(stmts_[kListComputes]);
    return All(q, ReadCompute);
  }

  absl::StatusOr<core::Sweep> GetSweep(const std::string& id) override {
    std::lock_guard<std::mutex> lock(mu_);
    Use q(stmts_[kGetSweep]);
    q.Text(1, id);
    return One(q, ReadSweep, internal::SweepNotFound(id));
  }

  absl::StatusOr<std::vector<core::Sweep>> ListSweeps() override {
    std::lock_guard<std::mutex> lock(mu_);
    Use q(stmts_[kListSweeps]);
    return All(q, ReadSweep);
  }

  absl::StatusOr<core::Trial> GetTrial(const std::string& sweep_id, int64_t trial_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    Use q(stmts_[kGetTrial]);
    q.Text(1, sweep_id).Int(2, trial_id);
    return One(q, ReadTrial, internal::TrialNotFound(sweep_id, trial_id));
  }

  absl::StatusOr<std::vector<core::Trial>> ListTrials(const std::string& sweep_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    Use q(stmts_[kListTrials]);
    q.Text(1, sweep_id);
    return All(q, ReadTrial);
  }

  absl::StatusOr<std::vector<core::Attempt>> ListAttempts(
      const std::string& sweep_id, std::optional<int64_t> trial_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    Use q(stmts_[trial_id ? kListTrialAttempts : kListAttempts]);
    q.Text(1, sweep_id);
    if (trial_id) q.Int(2, *trial_id);
    return All(q, ReadAttempt);
  }

  absl::StatusOr<std::vector<core::MetricPoint>> ListMetrics(const MetricFilter& filter) override {
    RETURN_IF_ERROR(internal::ValidateMetricFilter(filter));
    std::lock_guard<std::mutex> lock(mu_);
    StmtId id = filter.trial_id ? (filter.name ? kListTrialNamedMetrics : kListTrialMetrics)
                                : (filter.name ? kListNamedMetrics : kListMetrics);
    Use q(stmts_[id]);
    q.Text(1, filter.sweep_id);
    if (filter.trial_id) q.Int(2, *filter.trial_id);
    if (filter.name) q.Text(3, *filter.name);
    return All(q, ReadMetric);
  }

  absl::StatusOr<std::vector<core::Event>> ListEvents(const std::string& sweep_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    Use q(stmts_[kListEvents]);
    q.Text(1, sweep_id);
    return All(q, ReadEvent);
  }

  absl::StatusOr<std::vector<core::Decision>> ListDecisions(
      const std::string& sweep_id, std::optional<int64_t> trial_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    Use q(stmts_[trial_id ? kListTrialDecisions : kListDecisions]);
    q.Text(1, sweep_id);
    if (trial_id) q.Int(2, *trial_id);
    return All(q, ReadDecision);
  }

  absl::StatusOr<std::vector<core::Node>> ListNodes() override {
    std::lock_guard<std::mutex> lock(mu_);
    Use q(stmts_[kListNodes]);
    return All(q, ReadNode);
  }

  absl::StatusOr<core::Environment> GetEnvironment(const std::string& name,
                                                   std::optional<int64_t> version) override {
    std::lock_guard<std::mutex> lock(mu_);
    Use q(stmts_[version ? kGetEnvironment : kGetLatestEnvironment]);
    q.Text(1, name);
    if (version) q.Int(2, *version);
    return One(q, ReadEnvironment, internal::EnvironmentNotFound(name, version));
  }

  absl::StatusOr<std::vector<core::Environment>> ListEnvironments() override {
    std::lock_guard<std::mutex> lock(mu_);
    Use q(stmts_[kListEnvironments]);
    return All(q, ReadEnvironment);
  }

  absl::StatusOr<core::Model> GetModel(const std::string& name,
                                       std::optional<int64_t> version) override {
    std::lock_guard<std::mutex> lock(mu_);
    Use q(stmts_[version ? kGetModel : kGetLatestModel]);
    q.Text(1, name);
    if (version) q.Int(2, *version);
    return One(q, ReadModel, internal::ModelNotFound(name, version));
  }

  absl::StatusOr<std::vector<core::Model>> ListModels() override {
    std::lock_guard<std::mutex> lock(mu_);
    Use q(stmts_[kListModels]);
    return All(q, ReadModel);
  }

  absl::StatusOr<uint64_t> MaxFencingToken() override {
    std::lock_guard<std::mutex> lock(mu_);
    Use q(stmts_[kMaxFencingToken]);
    ASSIGN_OR_RETURN(int64_t value,
                     One(
                         q, [](Row& row) { return row.Int(); },
                         absl::InternalError(absl::StrCat(
                             "store '", path_, "': the max_fencing_token counter is missing"))));
    return static_cast<uint64_t>(value);
  }

 private:
  SqliteStore(std::string path, bool read_only) : path_(std::move(path)), read_only_(read_only) {}

  absl::Status Error(int rc, absl::string_view what) const {
    return absl::Status(CodeFor(rc), absl::StrCat("store '", path_, "': ", what, ": ",
                                                  db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc)));
  }

  absl::Status Exec(const char* sql, absl::string_view what) {
    char* message = nullptr;
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
    if (rc == SQLITE_OK) return absl::OkStatus();
    std::string text = message ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    return absl::Status(CodeFor(rc), absl::StrCat("store '", path_, "': ", what, ": ", text));
  }

  absl::StatusOr<int> UserVersion() {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, "PRAGMA user_version", -1, &stmt, nullptr);
    if (rc != SQLITE_OK) return Error(rc, "reading the schema version");
    rc = sqlite3_step(stmt);
    int version = rc == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : 0;
    sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW) return Error(rc, "reading the schema version");
    return version;
  }

  absl::Status Configure();
  absl::Status Migrate();
  absl::Status CheckVersion(int version) const;
  absl::Status Prepare();
  absl::Status WriteAll(const WriteBatch& batch);

  // Steps a write statement to completion.
  absl::Status Done(Use& q, absl::string_view what) {
    int rc = q.Step();
    if (rc == SQLITE_DONE) return absl::OkStatus();
    return Error(rc, what);
  }

  // Collects every row of a query.
  template <typename Decode>
  auto All(Use& q, Decode decode)
      -> absl::StatusOr<std::vector<decltype(decode(std::declval<Row&>()))>> {
    std::vector<decltype(decode(std::declval<Row&>()))> out;
    while (true) {
      int rc = q.Step();
      if (rc == SQLITE_DONE) return out;
      if (rc != SQLITE_ROW) return Error(rc, sqlite3_sql(q.stmt()));
      Row row(q.stmt());
      out.push_back(decode(row));
      if (!row.error().empty()) return Corrupt(q, row);
    }
  }

  // The single row of a lookup, or `missing` when there is none.
  template <typename Decode>
  auto One(Use& q, Decode decode, absl::Status missing)
      -> absl::StatusOr<decltype(decode(std::declval<Row&>()))> {
    int rc = q.Step();
    if (rc == SQLITE_DONE) return missing;
    if (rc != SQLITE_ROW) return Error(rc, sqlite3_sql(q.stmt()));
    Row row(q.stmt());
    auto value = decode(row);
    if (!row.error().empty()) return Corrupt(q, row);
    return value;
  }

  absl::Status Corrupt(Use& q, const Row& row) const {
    return absl::DataLossError(absl::StrCat("store '", path_, "': undecodable row from '",
                                            sqlite3_sql(q.stmt()), "': ", row.error()));
  }

  const std::string path_;
  const bool read_only_;
  std::mutex mu_;  // guards the connection and the statements
  sqlite3* db_ = nullptr;
  std::array<sqlite3_stmt*, kNumStmts> stmts_{};
};

absl::StatusOr<std::unique_ptr<Store>> SqliteStore::Open(const std::string& path, bool read_only) {
  if (read_only) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      return absl::NotFoundError(absl::StrCat("store file '", path, "' not found"));
    }
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(path, read_only));
  // NOMUTEX: the store serializes use of the connection with its own mutex.
  const int flags =
      (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
      SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &store->db_, flags, nullptr);
  if (rc != SQLITE_OK) return store->Error(rc, "opening");
  sqlite3_extended_result_codes(store->db_, 1);
  RETURN_IF_ERROR(store->Configure());
  ASSIGN_OR_RETURN(int version, store->UserVersion());
  RETURN_IF_ERROR(store->CheckVersion(version));
  if (!read_only) RETURN_IF_ERROR(store->Migrate());
  RETURN_IF_ERROR(store->Prepare());
  return std::unique_ptr<Store>(std::move(store));
}

absl::Status SqliteStore::Configure() {
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);
  if (read_only_) return absl::OkStatus();
  // WAL: readers (query commands in other processes) never block the writer, and a
  // commit appends to the log instead of rewriting pages.
  // synchronous=NORMAL: in WAL mode a commit is written to the log without fsync; the
  // log is fsynced at checkpoints. A committed transaction therefore survives the
  // process being killed (the data is in the OS page cache), which is the guarantee the
  // Store contract makes; only an OS crash or power loss could lose the last commits.
  // FULL would fsync on every commit and cost the hot path milliseconds per batch.
  // If the file system cannot do WAL (journal_mode stays e.g. "delete"), everything
  // still works, with readers and the writer taking turns.
  RETURN_IF_ERROR(Exec("PRAGMA journal_mode=WAL", "enabling WAL"));
  RETURN_IF_ERROR(Exec("PRAGMA synchronous=NORMAL", "setting synchronous=NORMAL"));
  RETURN_IF_ERROR(Exec("PRAGMA foreign_keys=ON", "enabling foreign keys"));
  return absl::OkStatus();
}

absl::Status SqliteStore::CheckVersion(int version) const {
  if (version > schema::kSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "store '%s' has schema version %d, newer than this binary understands (%d); "
        "use a newer sweep binary",
        path_, version, schema::kSchemaVersion));
  }
  if (read_only_ && version < schema::kSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "store '%s' has schema version %d, older than this binary's %d, and is opened "
        "read-only; it is upgraded when opened for writing (e.g. by `sweep run`)",
        path_, version, schema::kSchemaVersion));
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::Migrate() {
  while (true) {
    // Re-read the version under the write lock: another process may have migrated.
    RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE", "starting a migration"));
    absl::StatusOr<int> version = UserVersion();
    absl::Status status = version.status();
    if (status.ok()) status = CheckVersion(*version);
    if (status.ok() && *version == schema::kSchemaVersion) {
      return Exec("COMMIT", "finishing migrations");
    }
    if (status.ok()) {
      const std::string what =
          absl::StrFormat("migrating schema version %d to %d", *version, *version + 1);
      status = Exec(schema::kMigrations[*version], what);
      if (status.ok()) {
        status = Exec(absl::StrCat("PRAGMA user_version = ", *version + 1).c_str(), what);
      }
      if (status.ok()) status = Exec("COMMIT", what);
    }
    if (!status.ok()) {
      if (!sqlite3_get_autocommit(db_)) Exec("ROLLBACK", "rolling back").IgnoreError();
      return status;
    }
  }
}

absl::Status SqliteStore::Prepare() {
  const std::array<std::string, kNumStmts> sql = StatementSql();
  for (int i = 0; i < kNumStmts; ++i) {
    int rc =
        sqlite3_prepare_v3(db_, sql[i].c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmts_[i], nullptr);
    if (rc != SQLITE_OK) return Error(rc, absl::StrCat("preparing '", sql[i], "'"));
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::Commit(const WriteBatch& batch) {
  if (read_only_) {
    return absl::FailedPreconditionError(
        absl::StrCat("store '", path_, "' is opened read-only; Commit is not allowed"));
  }
  RETURN_IF_ERROR(internal::ValidateBatch(batch));
  if (batch.empty()) return absl::OkStatus();
  std::lock_guard<std::mutex> lock(mu_);
  {
    Use begin(stmts_[kBegin]);
    RETURN_IF_ERROR(Done(begin, "beginning a transaction"));
  }
  absl::Status status = WriteAll(batch);
  if (status.ok()) {
    Use commit(stmts_[kCommit]);
    status = Done(commit, "committing");
  }
  if (!status.ok() && !sqlite3_get_autocommit(db_)) {
    // All or nothing. A failed ROLLBACK leaves nothing to do: SQLite has already rolled
    // back when it reports the transaction closed.
    Use rollback(stmts_[kRollback]);
    rollback.Step();
  }
  return status;
}

absl::Status SqliteStore::WriteAll(const WriteBatch& batch) {
  auto is_foreign_key = [](int rc) { return rc == SQLITE_CONSTRAINT_FOREIGNKEY; };
  for (const core::ComputeTarget& c : batch.computes) {
    Use q(stmts_[kUpsertCompute]);
    q.Text(1, c.name)
        .Text(2, c.type)
        .Text(3, c.provider)
        .Int(4, c.min_nodes)
        .Int(5, c.max_nodes)
        .Text(6, c.vm_size)
        .Text(7, c.vm_priority)
        .Int(8, c.idle_seconds_before_scaledown)
        .Text(9, c.properties_json)
        .Int(10, c.created_ms);
    RETURN_IF_ERROR(Done(q, absl::StrCat("writing compute '", c.name, "'")));
  }
  for (const std::string& name : batch.deleted_computes) {
    Use q(stmts_[kDeleteCompute]);
    q.Text(1, name);
    RETURN_IF_ERROR(Done(q, absl::StrCat("deleting compute '", name, "'")));
  }
  for (const core::Sweep& s : batch.sweeps) {
    Use q(stmts_[kUpsertSweep]);
    q.Text(1, s.id)
        .Text(2, s.name)
        .Text(3, s.spec_yaml)
        .Text(4, s.spec_path)
        .Text(5, s.compute)
        .Text(6, core::SweepStateName(s.state))
        .Text(7, s.status_message)
        .Int(8, s.created_ms)
        .Int(9, s.ended_ms)
        .Text(10, s.objective.primary_metric)
        .Text(11, core::GoalName(s.objective.goal))
        .Text(12, s.objective.aggregation == core::Aggregation::kBest ? "best" : "last")
        .Text(13, s.sampling_algorithm)
        .Int(14, s.max_total_trials)
        .Text(15, s.snapshot_digest)
        .Text(16, s.environment);
    RETURN_IF_ERROR(Done(q, absl::StrCat("writing sweep '", s.id, "'")));
  }
  for (const core::Trial& t : batch.trials) {
    const std::string config_json = core::ConfigToJson(t.config).dump();
    Use q(stmts_[kUpsertTrial]);
    q.Text(1, t.sweep_id)
        .Int(2, t.trial_id)
        .Text(3, config_json)
        .Text(4, core::TrialStateName(t.state))
        .OptionalDouble(5, t.final_value)
        .Int(6, t.intervals)
        .Int(7, t.attempts)
        .Int(8, t.retries)
        .Text(9, t.reason)
        .Int(10, t.created_ms)
        .Int(11, t.started_ms)
        .Int(12, t.ended_ms);
    int rc = q.Step();
    if (is_foreign_key(rc)) return internal::TrialWithoutSweep(t);
    if (rc != SQLITE_DONE) {
      return Error(rc, absl::StrFormat("writing trial %d of sweep '%s'", t.trial_id, t.sweep_id));
    }
  }
  uint64_t max_token = 0;
  for (const core::Attempt& a : batch.attempts) {
    Use q(stmts_[kUpsertAttempt]);
    q.Text(1, a.sweep_id)
        .Int(2, a.trial_id)
        .Int(3, a.attempt)
        .Text(4, a.node_id)
        .Int(5, static_cast<int64_t>(a.fencing_token))
        .Text(6, core::AttemptStateName(a.state))
        .Int(7, a.started_ms)
        .Int(8, a.expires_ms)
        .Int(9, a.ended_ms)
        .Int(10, a.exit_code)
        .Text(11, a.error);
    int rc = q.Step();
    if (is_foreign_key(rc)) return internal::AttemptWithoutTrial(a);
    if (rc != SQLITE_DONE) {
      return Error(rc, absl::StrFormat("writing attempt %d of trial %d of sweep '%s'", a.attempt,
                                       a.trial_id, a.sweep_id));
    }
    max_token = std::max(max_token, a.fencing_token);
  }
  if (!batch.attempts.empty()) {
    Use q(stmts_[kBumpFencingToken]);
    q.Int(1, static_cast<int64_t>(max_token));
    RETURN_IF_ERROR(Done(q, "updating the max fencing token"));
  }
  for (const core::MetricPoint& m : batch.metrics) {
    Use q(stmts_[kInsertMetric]);
    q.Text(1, m.sweep_id)
        .Int(2, m.trial_id)
        .Int(3, m.attempt)
        .Text(4, m.name)
        .Double(5, m.value)
        .Int(6, m.step)
        .Int(7, m.interval)
        .Int(8, m.timestamp_ms);
    int rc = q.Step();
    if (is_foreign_key(rc)) return internal::MetricWithoutTrial(m);
    if (rc != SQLITE_DONE) {
      return Error(rc, absl::StrFormat("writing metric '%s' of trial %d of sweep '%s'", m.name,
                                       m.trial_id, m.sweep_id));
    }
  }
  for (const core::Event& e : batch.events) {
    Use q(stmts_[kInsertEvent]);
    q.Text(1, e.sweep_id)
        .Int(2, e.trial_id)
        .Text(3, e.kind)
        .Text(4, e.message)
        .Int(5, e.timestamp_ms);
    RETURN_IF_ERROR(
        Done(q, absl::StrFormat("writing event '%s' of sweep '%s'", e.kind, e.sweep_id)));
  }
  for (const core::Decision& d : batch.decisions) {
    Use q(stmts_[kInsertDecision]);
    q.Text(1, d.sweep_id)
        .Int(2, d.trial_id)
        .Int(3, d.interval)
        .Text(4, d.policy)
        .Double(5, d.value)
        .Double(6, d.reference)
        .Double(7, d.threshold)
        .Int(8, d.stop ? 1 : 0)
        .Text(9, d.explanation)
        .Int(10, d.timestamp_ms);
    int rc = q.Step();
    if (is_foreign_key(rc)) return internal::DecisionWithoutTrial(d);
    if (rc != SQLITE_DONE) {
      return Error(rc, absl::StrFormat("writing decision of trial %d of sweep '%s'", d.trial_id,
                                       d.sweep_id));
    }
  }
  for (const core::Node& n : batch.nodes) {
    Use q(stmts_[kUpsertNode]);
    q.Text(1, n.node_id)
        .Text(2, n.compute)
        .Text(3, n.hostname)
        .Int(4, n.pid)
        .Text(5, n.state)
        .Int(6, n.registered_ms)
        .Int(7, n.last_seen_ms);
    RETURN_IF_ERROR(Done(q, absl::StrCat("writing node '", n.node_id, "'")));
  }
  auto is_duplicate = [](int rc) { return rc == SQLITE_CONSTRAINT_PRIMARYKEY; };
  for (const core::Environment& e : batch.environments) {
    const std::string files_json = FilesToJson(e.files);
    Use q(stmts_[kInsertEnvironment]);
    q.Text(1, e.name)
        .Int(2, e.version)
        .Text(3, e.kind)
        .Text(4, e.python)
        .Text(5, e.setup_command)
        .Text(6, files_json)
        .Text(7, e.digest)
        .Int(8, e.created_ms);
    int rc = q.Step();
    if (is_duplicate(rc)) return internal::EnvironmentExists(e);
    if (rc != SQLITE_DONE) {
      return Error(rc, absl::StrFormat("writing environment '%s' version %d", e.name, e.version));
    }
  }
  for (const core::Model& m : batch.models) {
    nlohmann::json tags = nlohmann::json::array();
    for (const auto& [key, value] : m.tags) tags.push_back({key, value});
    const std::string tags_json =
        tags.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    Use q(stmts_[kInsertModel]);
    q.Text(1, m.name)
        .Int(2, m.version)
        .Text(3, m.sweep_id)
        .Int(4, m.trial_id)
        .Int(5, m.attempt)
        .Text(6, m.primary_metric)
        .Text(7, core::GoalName(m.goal))
        .OptionalDouble(8, m.metric_value)
        .Text(9, m.params_json)
        .Text(10, tags_json)
        .Text(11, m.manifest_digest)
        .Int(12, m.total_bytes)
        .Int(13, m.created_ms);
    int rc = q.Step();
    if (is_foreign_key(rc)) return internal::ModelWithoutTrial(m);
    if (is_duplicate(rc)) return internal::ModelExists(m);
    if (rc != SQLITE_DONE) {
      return Error(rc, absl::StrFormat("writing model '%s' version %d", m.name, m.version));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path) {
  return SqliteStore::Open(path, /*read_only=*/false);
}

absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStoreReadOnly(const std::string& path) {
  return SqliteStore::Open(path, /*read_only=*/true);
}

}  // namespace sweep::store

// SqliteStore: the Store contract on one SQLite connection (C API) guarded by a mutex.
//
// Commit is on the controller's hot path (several small batches per trial), so every
// statement is prepared once at open and reused, and a batch costs one
// BEGIN IMMEDIATE..COMMIT with no schema queries.
// Statements and row decoding live in sqlite_statements.h and sqlite_rows.h.
#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "core/search_space.h"
#include "core/status.h"
#include "nlohmann/json.hpp"
#include "store/batch_checks.h"
#include "store/sqlite_metrics.h"
#include "store/sqlite_rows.h"
#include "store/sqlite_schema.h"
#include "store/sqlite_statements.h"
#include "store/store.h"
#include "store/wal_checkpointer.h"

namespace sweep::store {
namespace sqlite_internal {
namespace {

namespace schema = sqlite_schema;

// How long a writer waits for another connection's write lock (a second controller on
// the same workspace, or a checkpoint of another process) before Commit fails Unavailable.
constexpr int kBusyTimeoutMs = 5000;

// Distinct metric names SqliteStore keeps ids of; a sweep has a handful.
constexpr size_t kMaxCachedNames = 4096;

class SqliteStore final : public Store {
 public:
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& path, bool read_only);

  ~SqliteStore() override {
    checkpointer_.reset();  // before its connection closes
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

  absl::StatusOr<std::vector<core::Trial>> QueryTrials(const std::string& sweep_id,
                                                       const TrialQuery& query) override;

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
    return ReadMetricReports(stmts_[kListMetricNames],
                             stmts_[filter.trial_id ? kListTrialMetricReports : kListMetricReports],
                             filter, path_);
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
    return Marked(rc, absl::Status(CodeFor(rc),
                                   absl::StrCat("store '", path_, "': ", what, ": ",
                                                db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc))));
  }
  // Busy and locked: another process holds the lock; the caller may retry (store.h).
  static absl::Status Marked(int rc, absl::Status status) {
    const int primary = rc & 0xff;
    return primary == SQLITE_BUSY || primary == SQLITE_LOCKED ? MarkBusy(std::move(status))
                                                              : status;
  }

  absl::Status Exec(const char* sql, absl::string_view what) {
    char* message = nullptr;
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &message);
    if (rc == SQLITE_OK) return absl::OkStatus();
    std::string text = message ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    return Marked(
        rc, absl::Status(CodeFor(rc), absl::StrCat("store '", path_, "': ", what, ": ", text)));
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
  // One record each; the messages name it.
  absl::Status WriteCompute(const core::ComputeTarget& c);
  absl::Status DeleteCompute(const std::string& name);
  absl::Status WriteSweep(const core::Sweep& s);
  absl::Status WriteTrial(const core::Trial& t);
  absl::Status WriteAttempt(const core::Attempt& a);
  absl::Status WriteMetrics(const std::vector<core::MetricPoint>& points);
  absl::Status WriteEvent(const core::Event& e);
  absl::Status WriteDecision(const core::Decision& d);
  absl::Status WriteNode(const core::Node& n);
  absl::Status WriteEnvironment(const core::Environment& e);
  absl::Status WriteModel(const core::Model& m);

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
  std::unique_ptr<WalCheckpointer> checkpointer_;  // null when read-only or not in WAL mode
  std::array<sqlite3_stmt*, kNumStmts> stmts_{};
  // The trial key of the last metric point written in the current Commit; reset by every
  // Commit (another connection may write between two), so it never outlives the
  // transaction that looked it up.
  struct MetricSeq {
    bool valid = false;
    std::string sweep_id;
    int64_t trial_id = 0;
    int64_t trial_key = 0;
  } metric_seq_;
  std::string packed_;  // a report row being packed; kept to reuse its capacity
  // Interned metric names (metric_names). Names are never deleted, so an id read once
  // stays right; cleared after a failed Commit (its new names were rolled back) and when
  // it grows past kMaxCachedNames.
  std::unordered_map<std::string, int64_t> name_ids_;
  absl::StatusOr<int64_t> TrialKey(const core::MetricPoint& m);
  absl::StatusOr<int64_t> NameId(const core::MetricPoint& m);
  // The id of a row `find` selects by the bound parameters, else of the row `insert` makes.
  // 0 and rc when neither gives one (rc is the failing SQLite code).
  int64_t FindOrInsert(Use& find, Use& insert, int* rc);
};

absl::StatusOr<std::unique_ptr<Store>> SqliteStore::Open(const std::string& path, bool read_only) {
  if (read_only) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      return absl::NotFoundError(absl::StrCat("store file '", path, "' not found"));
    }
  }
  // SQLite's allocation statistics take a global mutex on every malloc; nothing reads them.
  // Only possible before SQLite initializes (later it is SQLITE_MISUSE, harmless).
  static const int kNoMemStatus = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)kNoMemStatus;
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
  if (!read_only) {
    ASSIGN_OR_RETURN(store->checkpointer_, WalCheckpointer::Start(store->db_, path));
  }
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
      if (status.ok() && *version == 8) {
        status = PackVersion8Points(db_);
        if (!status.ok()) {
          status = absl::Status(
              status.code(), absl::StrCat("store '", path_, "': ", what, ": ", status.message()));
        }
      }
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

// By trial id: a range of the primary key. By value: first the trials with a finite value,
// walking the trials_by_value index from the best value (SQLite sorts only equal values by
// trial id), then, while the limit is not reached, the others by trial id. Finite values
// are stored as REAL, NaN and infinities as text, a missing value as NULL (Use::Double);
// the range [-DBL_MAX, DBL_MAX] holds exactly the finite ones. Only rows returned are
// decoded.
absl::StatusOr<std::vector<core::Trial>> SqliteStore::QueryTrials(const std::string& sweep_id,
                                                                  const TrialQuery& query) {
  RETURN_IF_ERROR(CheckTrialQuery(query));
  std::string filter = schema::kQueryTrialsPrefix;
  if (query.state) filter += " AND state = ?2";
  std::vector<std::string> parts;
  if (query.order == TrialQuery::Order::kTrialId) {
    parts.push_back(filter + " ORDER BY trial_id LIMIT ?3");
  } else {
    parts.push_back(
        absl::StrCat(filter, " AND final_value BETWEEN ?4 AND ?5 ORDER BY final_value ",
                     query.order == TrialQuery::Order::kValueDescending ? "DESC" : "ASC",
                     ", trial_id LIMIT ?3"));
    parts.push_back(filter +
                    " AND (final_value IS NULL OR NOT (final_value BETWEEN ?4 AND ?5))"
                    " ORDER BY trial_id LIMIT ?3");
  }
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<core::Trial> out;
  for (const std::string& sql : parts) {
    if (query.limit > 0 && static_cast<int64_t>(out.size()) >= query.limit) break;
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &raw, nullptr);
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, sqlite3_finalize);
    if (rc != SQLITE_OK) return Error(rc, "preparing a trial query");
    Use q(stmt.get());
    q.Text(1, sweep_id)
        .Int(3, query.limit > 0 ? query.limit - static_cast<int64_t>(out.size()) : -1);
    if (query.state) q.Text(2, core::TrialStateName(*query.state));
    if (sql.find("?4") != std::string::npos) {
      sqlite3_bind_double(q.stmt(), 4, -std::numeric_limits<double>::max());
      sqlite3_bind_double(q.stmt(), 5, std::numeric_limits<double>::max());
    }
    ASSIGN_OR_RETURN(std::vector<core::Trial> trials, All(q, ReadTrial));
    for (core::Trial& t : trials) out.push_back(std::move(t));
  }
  return out;
}

absl::Status SqliteStore::Commit(const WriteBatch& batch) {
  if (read_only_) {
    return absl::FailedPreconditionError(
        absl::StrCat("store '", path_, "' is opened read-only; Commit is not allowed"));
  }
  RETURN_IF_ERROR(internal::ValidateBatch(batch));
  if (batch.empty()) return absl::OkStatus();
  std::lock_guard<std::mutex> lock(mu_);
  metric_seq_.valid = false;
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
  if (!status.ok()) name_ids_.clear();  // names it interned may have been rolled back
  return status;
}

// Sweeps before trials, trials before the records that refer to them (see
// batch_checks.h on referential integrity).
absl::Status SqliteStore::WriteAll(const WriteBatch& batch) {
  for (const core::ComputeTarget& c : batch.computes) RETURN_IF_ERROR(WriteCompute(c));
  for (const std::string& name : batch.deleted_computes) RETURN_IF_ERROR(DeleteCompute(name));
  for (const core::Sweep& s : batch.sweeps) RETURN_IF_ERROR(WriteSweep(s));
  for (const core::Trial& t : batch.trials) RETURN_IF_ERROR(WriteTrial(t));
  for (const core::Attempt& a : batch.attempts) RETURN_IF_ERROR(WriteAttempt(a));
  if (!batch.attempts.empty()) {
    uint64_t max_token = 0;
    for (const core::Attempt& a : batch.attempts) max_token = std::max(max_token, a.fencing_token);
    Use q(stmts_[kBumpFencingToken]);
    q.Int(1, static_cast<int64_t>(max_token));
    RETURN_IF_ERROR(Done(q, "updating the max fencing token"));
  }
  RETURN_IF_ERROR(WriteMetrics(batch.metrics));
  for (const core::Event& e : batch.events) RETURN_IF_ERROR(WriteEvent(e));
  for (const core::Decision& d : batch.decisions) RETURN_IF_ERROR(WriteDecision(d));
  for (const core::Node& n : batch.nodes) RETURN_IF_ERROR(WriteNode(n));
  for (const core::Environment& e : batch.environments) RETURN_IF_ERROR(WriteEnvironment(e));
  for (const core::Model& m : batch.models) RETURN_IF_ERROR(WriteModel(m));
  return absl::OkStatus();
}

absl::Status SqliteStore::WriteCompute(const core::ComputeTarget& c) {
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
  return Done(q, absl::StrCat("writing compute '", c.name, "'"));
}

absl::Status SqliteStore::DeleteCompute(const std::string& name) {
  Use q(stmts_[kDeleteCompute]);
  q.Text(1, name);
  return Done(q, absl::StrCat("deleting compute '", name, "'"));
}

absl::Status SqliteStore::WriteSweep(const core::Sweep& s) {
  const std::string warm_start_json = nlohmann::json(s.warm_start).dump();  // bound, not copied
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
      .Text(16, s.environment)
      .Int(17, s.extension)
      .Int(18, s.extended_ms)
      .Int(19, s.max_concurrent_trials)
      .Int(20, s.timeout_s)
      .Text(21, warm_start_json);
  return Done(q, absl::StrCat("writing sweep '", s.id, "'"));
}

absl::Status SqliteStore::WriteTrial(const core::Trial& t) {
  const std::string config_json =
      core::ConfigToJson(t.config).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
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
      .Int(12, t.ended_ms)
      .Text(13, t.origin);
  int rc = q.Step();
  if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) return internal::TrialWithoutSweep(t);
  if (rc != SQLITE_DONE) {
    return Error(rc, absl::StrFormat("writing trial %d of sweep '%s'", t.trial_id, t.sweep_id));
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::WriteAttempt(const core::Attempt& a) {
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
  if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) return internal::AttemptWithoutTrial(a);
  if (rc != SQLITE_DONE) {
    return Error(rc, absl::StrFormat("writing attempt %d of trial %d of sweep '%s'", a.attempt,
                                     a.trial_id, a.sweep_id));
  }
  return absl::OkStatus();
}

int64_t SqliteStore::FindOrInsert(Use& find, Use& insert, int* rc) {
  *rc = find.Step();
  if (*rc == SQLITE_ROW) return sqlite3_column_int64(find.stmt(), 0);
  if (*rc != SQLITE_DONE) return 0;
  *rc = insert.Step();
  return *rc == SQLITE_DONE ? sqlite3_last_insert_rowid(db_) : 0;
}

absl::StatusOr<int64_t> SqliteStore::TrialKey(const core::MetricPoint& m) {
  MetricSeq& seq = metric_seq_;
  if (seq.valid && seq.trial_id == m.trial_id && seq.sweep_id == m.sweep_id) {
    return seq.trial_key;
  }
  Use find(stmts_[kFindTrialKey]);
  find.Text(1, m.sweep_id).Int(2, m.trial_id);
  Use insert(stmts_[kInsertTrialKey]);
  insert.Text(1, m.sweep_id).Int(2, m.trial_id);
  int rc = SQLITE_OK;
  const int64_t key = FindOrInsert(find, insert, &rc);
  if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) return internal::MetricWithoutTrial(m);
  if (key == 0) {
    return Error(
        rc, absl::StrFormat("keying metrics of trial %d of sweep '%s'", m.trial_id, m.sweep_id));
  }
  seq = {.valid = true, .sweep_id = m.sweep_id, .trial_id = m.trial_id, .trial_key = key};
  return key;
}

absl::StatusOr<int64_t> SqliteStore::NameId(const core::MetricPoint& m) {
  auto it = name_ids_.find(m.name);
  if (it != name_ids_.end()) return it->second;
  Use find(stmts_[kFindMetricName]);
  find.Text(1, m.name);
  Use insert(stmts_[kInsertMetricName]);
  insert.Text(1, m.name);
  int rc = SQLITE_OK;
  const int64_t id = FindOrInsert(find, insert, &rc);
  if (id == 0) return Error(rc, absl::StrFormat("interning metric name '%s'", m.name));
  if (name_ids_.size() >= kMaxCachedNames) name_ids_.clear();
  name_ids_.emplace(m.name, id);
  return id;
}

// Each run of consecutive points of one trial is one row (at most kMaxPointsPerRow).
absl::Status SqliteStore::WriteMetrics(const std::vector<core::MetricPoint>& points) {
  for (size_t i = 0; i < points.size();) {
    const core::MetricPoint& first = points[i];
    ASSIGN_OR_RETURN(const int64_t key, TrialKey(first));
    packed_.clear();
    int64_t n = 0;
    for (; i < points.size() && n < static_cast<int64_t>(kMaxPointsPerRow) &&
           points[i].trial_id == first.trial_id && points[i].sweep_id == first.sweep_id;
         ++i, ++n) {
      ASSIGN_OR_RETURN(const int64_t name_id, NameId(points[i]));
      PackPoint(points[i], static_cast<int32_t>(name_id), &packed_);
    }
    Use q(stmts_[kInsertMetricReport]);
    q.Int(1, key).Int(2, n).Blob(3, packed_);
    RETURN_IF_ERROR(Done(q, absl::StrFormat("writing %d metric points of trial %d of sweep '%s'", n,
                                            first.trial_id, first.sweep_id)));
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::WriteEvent(const core::Event& e) {
  Use q(stmts_[kInsertEvent]);
  q.Text(1, e.sweep_id)
      .Int(2, e.trial_id)
      .Text(3, e.kind)
      .Text(4, e.message)
      .Int(5, e.timestamp_ms);
  return Done(q, absl::StrFormat("writing event '%s' of sweep '%s'", e.kind, e.sweep_id));
}

absl::Status SqliteStore::WriteDecision(const core::Decision& d) {
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
  if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) return internal::DecisionWithoutTrial(d);
  if (rc != SQLITE_DONE) {
    return Error(
        rc, absl::StrFormat("writing decision of trial %d of sweep '%s'", d.trial_id, d.sweep_id));
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::WriteNode(const core::Node& n) {
  Use q(stmts_[kUpsertNode]);
  q.Text(1, n.node_id)
      .Text(2, n.compute)
      .Text(3, n.hostname)
      .Int(4, n.pid)
      .Text(5, n.state)
      .Int(6, n.registered_ms)
      .Int(7, n.last_seen_ms);
  return Done(q, absl::StrCat("writing node '", n.node_id, "'"));
}

absl::Status SqliteStore::WriteEnvironment(const core::Environment& e) {
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
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) return internal::EnvironmentExists(e);
  if (rc != SQLITE_DONE) {
    return Error(rc, absl::StrFormat("writing environment '%s' version %d", e.name, e.version));
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::WriteModel(const core::Model& m) {
  const std::string tags_json = TagsToJson(m.tags);
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
  if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) return internal::ModelWithoutTrial(m);
  if (rc == SQLITE_CONSTRAINT_PRIMARYKEY) return internal::ModelExists(m);
  if (rc != SQLITE_DONE) {
    return Error(rc, absl::StrFormat("writing model '%s' version %d", m.name, m.version));
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace sqlite_internal

absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path) {
  return sqlite_internal::SqliteStore::Open(path, /*read_only=*/false);
}

absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStoreReadOnly(const std::string& path) {
  return sqlite_internal::SqliteStore::Open(path, /*read_only=*/true);
}

}  // namespace sweep::store

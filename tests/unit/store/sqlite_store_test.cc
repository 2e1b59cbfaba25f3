// SqliteStore-only behavior: persistence, pragmas, schema migrations, read-only opens,
// crash safety, query plans, and rows that cannot be decoded.
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/sqlite_schema.h"
#include "store/store.h"
#include "tests/unit/store/store_test_util.h"

namespace sweep::store {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;
using namespace ::sweep::store::testing;  // NOLINT: builders

// A raw connection for poking at the file behind the store's back.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    EXPECT_EQ(sqlite3_open(path.c_str(), &db_), SQLITE_OK) << sqlite3_errmsg(db_);
  }
  ~RawDb() { sqlite3_close(db_); }

  void Exec(const std::string& sql) {
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << (error ? error : "") << " in " << sql;
    sqlite3_free(error);
  }

  // Every row of a query, columns joined by '|'.
  std::vector<std::string> Rows(const std::string& sql) {
    std::vector<std::string> rows;
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db_) << " in " << sql;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      std::string row;
      for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
        const unsigned char* text = sqlite3_column_text(stmt, i);
        absl::StrAppend(&row, i ? "|" : "", text ? reinterpret_cast<const char*>(text) : "NULL");
      }
      rows.push_back(row);
    }
    sqlite3_finalize(stmt);
    return rows;
  }

  std::string One(const std::string& sql) {
    std::vector<std::string> rows = Rows(sql);
    return rows.empty() ? "<none>" : rows[0];
  }

 private:
  sqlite3* db_ = nullptr;
};

std::unique_ptr<Store> MustOpen(const std::string& path) {
  absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

TEST(SqliteStoreTest, ReopenKeepsEverything) {
  TempDir dir;
  const std::string path = dir.File("sweep.db");
  WriteBatch batch{.computes = {MakeCompute("cpu")},
                   .sweeps = {MakeSweep("sw-1")},
                   .trials = {MakeTrial("sw-1", 1)},
                   .attempts = {MakeAttempt("sw-1", 1, 1, 12)},
                   .metrics = {MakeMetric("sw-1", 1, "acc", 0.5, 1)},
                   .events = {MakeEvent("sw-1", 1, "trial_started")},
                   .decisions = {MakeDecision("sw-1", 1, 1)},
                   .nodes = {MakeNode("n1")}};
  {
    std::unique_ptr<Store> store = MustOpen(path);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Commit(batch).ok());
  }
  std::unique_ptr<Store> store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(Dump(Must(store->GetCompute("cpu"))), Dump(batch.computes[0]));
  EXPECT_EQ(Dump(Must(store->GetSweep("sw-1"))), Dump(batch.sweeps[0]));
  EXPECT_EQ(Dump(Must(store->GetTrial("sw-1", 1))), Dump(batch.trials[0]));
  EXPECT_EQ(DumpAll(Must(store->ListAttempts("sw-1", 1))), DumpAll(batch.attempts));
  EXPECT_EQ(DumpAll(Must(store->ListMetrics({.sweep_id = "sw-1"}))), DumpAll(batch.metrics));
  EXPECT_EQ(store->ListEvents("sw-1")->at(0).kind, "trial_started");
  EXPECT_EQ(DumpAll(Must(store->ListDecisions("sw-1", 1))), DumpAll(batch.decisions));
  EXPECT_EQ(DumpAll(Must(store->ListNodes())), DumpAll(batch.nodes));
  EXPECT_EQ(Must(store->MaxFencingToken()), 12u);
  // Event ids continue after a reopen.
  ASSERT_TRUE(store->Commit({.events = {MakeEvent("sw-1", 0, "again")}}).ok());
  EXPECT_EQ(store->ListEvents("sw-1")->back().id, 2);
}

// Points with the same (trial, timestamp) are numbered on from the stored ones, also after
// a batch that failed half-way (its numbers are not kept) and with another writer in between.
TEST(SqliteStoreTest, MetricPointsOfOneTimestampKeepInsertionOrderAcrossCommits) {
  TempDir dir;
  const std::string path = dir.File("sweep.db");
  std::unique_ptr<Store> store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store
                  ->Commit({.sweeps = {MakeSweep("sw-1")},
                            .trials = {MakeTrial("sw-1", 1), MakeTrial("sw-1", 2)}})
                  .ok());
  auto point = [](int64_t trial, double value) { return MakeMetric("sw-1", trial, "m", value, 7); };
  ASSERT_TRUE(
      store->Commit({.metrics = {point(1, 1), point(1, 2), point(2, 10), point(1, 3)}}).ok());
  // Fails at its last point (no trial 9): nothing of it is stored.
  EXPECT_FALSE(store->Commit({.metrics = {point(1, 90), point(1, 91), point(9, 0)}}).ok());
  {
    std::unique_ptr<Store> other = MustOpen(path);
    ASSERT_NE(other, nullptr);
    ASSERT_TRUE(other->Commit({.metrics = {point(1, 4)}}).ok());
  }
  ASSERT_TRUE(store->Commit({.metrics = {point(1, 5), point(2, 11), point(1, 6)}}).ok());
  std::vector<double> values;
  for (const core::MetricPoint& m : Must(store->ListMetrics({.sweep_id = "sw-1"}))) {
    values.push_back(m.value);
  }
  EXPECT_THAT(values, ::testing::ElementsAre(1, 2, 3, 4, 5, 6, 10, 11));
}

TEST(SqliteStoreTest, UsesWalForeignKeysAndTheCurrentSchemaVersion) {
  TempDir dir;
  const std::string path = dir.File("sweep.db");
  std::unique_ptr<Store> store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  RawDb raw(path);
  EXPECT_EQ(raw.One("PRAGMA journal_mode"), "wal");  // persistent in the file
  EXPECT_EQ(raw.One("PRAGMA user_version"), absl::StrCat(sqlite_schema::kSchemaVersion));
  EXPECT_THAT(raw.Rows("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"),
              ::testing::ElementsAre("attempts", "computes", "counters", "decisions",
                                     "environments", "events", "metric_names", "metric_reports",
                                     "models", "nodes", "sweeps", "trial_keys", "trials"));
  // Points are packed per report (schema 9); the version 8 `metrics` view is gone.
  EXPECT_EQ(raw.One("SELECT count(*) FROM sqlite_master WHERE name = 'metrics'"), "0");
}

// The schema of version 1 exactly as released; never edit it.
constexpr const char* kVersion1Schema = R"sql(
CREATE TABLE computes (name TEXT PRIMARY KEY NOT NULL, type TEXT NOT NULL,
  provider TEXT NOT NULL, min_nodes INTEGER NOT NULL, max_nodes INTEGER NOT NULL,
  vm_size TEXT NOT NULL, vm_priority TEXT NOT NULL,
  idle_seconds_before_scaledown INTEGER NOT NULL, properties_json TEXT NOT NULL,
  created_ms INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE sweeps (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL,
  spec_yaml TEXT NOT NULL, spec_path TEXT NOT NULL, compute TEXT NOT NULL,
  state TEXT NOT NULL, status_message TEXT NOT NULL, created_ms INTEGER NOT NULL,
  ended_ms INTEGER NOT NULL);
CREATE TABLE trials (sweep_id TEXT NOT NULL REFERENCES sweeps(id),
  trial_id INTEGER NOT NULL, config_json TEXT NOT NULL, state TEXT NOT NULL, final_value,
  intervals INTEGER NOT NULL, attempts INTEGER NOT NULL, retries INTEGER NOT NULL,
  reason TEXT NOT NULL, created_ms INTEGER NOT NULL, started_ms INTEGER NOT NULL,
  ended_ms INTEGER NOT NULL, PRIMARY KEY (sweep_id, trial_id)) WITHOUT ROWID;
CREATE TABLE attempts (sweep_id TEXT NOT NULL, trial_id INTEGER NOT NULL,
  attempt INTEGER NOT NULL, node_id TEXT NOT NULL, fencing_token INTEGER NOT NULL,
  state TEXT NOT NULL, started_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL,
  ended_ms INTEGER NOT NULL, exit_code INTEGER NOT NULL, error TEXT NOT NULL,
  PRIMARY KEY (sweep_id, trial_id, attempt),
  FOREIGN KEY (sweep_id, trial_id) REFERENCES trials(sweep_id, trial_id)) WITHOUT ROWID;
CREATE TABLE metrics (sweep_id TEXT NOT NULL, trial_id INTEGER NOT NULL,
  timestamp_ms INTEGER NOT NULL, seq INTEGER NOT NULL, attempt INTEGER NOT NULL,
  name TEXT NOT NULL, value NOT NULL, step INTEGER NOT NULL, interval INTEGER NOT NULL,
  PRIMARY KEY (sweep_id, trial_id, timestamp_ms, seq),
  FOREIGN KEY (sweep_id, trial_id) REFERENCES trials(sweep_id, trial_id)) WITHOUT ROWID;
CREATE TABLE events (id INTEGER PRIMARY KEY, sweep_id TEXT NOT NULL,
  trial_id INTEGER NOT NULL, kind TEXT NOT NULL, message TEXT NOT NULL,
  timestamp_ms INTEGER NOT NULL);
CREATE TABLE decisions (sweep_id TEXT NOT NULL, trial_id INTEGER NOT NULL,
  interval INTEGER NOT NULL, seq INTEGER NOT NULL, policy TEXT NOT NULL, value NOT NULL,
  reference NOT NULL, threshold NOT NULL, stop INTEGER NOT NULL, explanation TEXT NOT NULL,
  timestamp_ms INTEGER NOT NULL, PRIMARY KEY (sweep_id, trial_id, interval, seq),
  FOREIGN KEY (sweep_id, trial_id) REFERENCES trials(sweep_id, trial_id)) WITHOUT ROWID;
CREATE TABLE nodes (node_id TEXT PRIMARY KEY NOT NULL, compute TEXT NOT NULL,
  hostname TEXT NOT NULL, pid INTEGER NOT NULL, state TEXT NOT NULL,
  registered_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO sweeps VALUES ('sw-old', 'old', 'type: sweep', '/s.yml', 'cpu', 'completed',
  'done', 100, 200);
INSERT INTO trials VALUES ('sw-old', 1, '{"lr":0.5}', 'completed', 0.75, 3, 1, 0, '', 1, 2, 3);
INSERT INTO attempts VALUES ('sw-old', 1, 1, 'n1', 42, 'succeeded', 1, 2, 3, 0, '');
INSERT INTO attempts VALUES ('sw-old', 1, 2, 'n1', 7, 'succeeded', 1, 2, 3, 0, '');
INSERT INTO metrics VALUES ('sw-old', 1, 10, 0, 1, 'acc', 0.75, 1, 1);
PRAGMA user_version = 1;
)sql";

// Guards the rule that released migrations never change: migration 0 must still build
// exactly the version-1 schema above.
TEST(SqliteStoreTest, FirstMigrationStillBuildsTheReleasedVersion1Schema) {
  TempDir dir;
  RawDb released(dir.File("released.db"));
  released.Exec(kVersion1Schema);
  RawDb migrated(dir.File("migrated.db"));
  migrated.Exec(sqlite_schema::kMigrations[0]);
  const std::string tables = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name";
  ASSERT_EQ(migrated.Rows(tables), released.Rows(tables));
  for (const std::string& table : released.Rows(tables)) {
    SCOPED_TRACE(table);
    for (const char* pragma : {"table_xinfo", "foreign_key_list", "index_list"}) {
      const std::string sql = absl::StrCat("SELECT * FROM pragma_", pragma, "('", table, "')");
      EXPECT_EQ(migrated.Rows(sql), released.Rows(sql)) << pragma;
    }
  }
}

TEST(SqliteStoreTest, MigratesAVersion1Database) {
  TempDir dir;
  const std::string path = dir.File("sweep.db");
  RawDb(path).Exec(kVersion1Schema);

  std::unique_ptr<Store> store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  RawDb raw(path);
  EXPECT_EQ(raw.One("PRAGMA user_version"), absl::StrCat(sqlite_schema::kSchemaVersion));
  EXPECT_THAT(raw.Rows("SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE "
                       "'sqlite_autoindex%' ORDER BY name"),
              ::testing::ElementsAre("events_by_sweep", "metric_reports_by_trial",
                                     "sweeps_by_created", "trials_by_value"));
  // Data written by version 1 reads back, and the token counter starts from it.
  EXPECT_EQ(store->GetSweep("sw-old")->state, core::SweepState::kCompleted);
  // Columns added by version 3 take their defaults for old rows.
  EXPECT_EQ(store->GetSweep("sw-old")->objective.primary_metric, "");
  EXPECT_EQ(store->GetSweep("sw-old")->objective.goal, core::Goal::kMaximize);
  EXPECT_EQ(store->GetSweep("sw-old")->max_total_trials, 0);
  // Version 4's snapshot digest is empty for old rows (they ran without snapshots).
  EXPECT_EQ(store->GetSweep("sw-old")->snapshot_digest, "");
  core::Trial trial = Must(store->GetTrial("sw-old", 1));
  EXPECT_EQ(std::get<double>(trial.config.at("lr")), 0.5);
  EXPECT_EQ(trial.final_value, 0.75);
  EXPECT_THAT(Must(store->ListMetrics({.sweep_id = "sw-old", .name = "acc"})), SizeIs(1));
  EXPECT_EQ(Must(store->MaxFencingToken()), 42u);
  ASSERT_TRUE(store
                  ->Commit({.trials = {MakeTrial("sw-old", 2)},
                            .attempts = {MakeAttempt("sw-old", 2, 1, 43)}})
                  .ok());
  EXPECT_EQ(Must(store->MaxFencingToken()), 43u);
  store.reset();
  // A second open finds nothing to migrate.
  EXPECT_THAT(Must(MustOpen(path)->ListTrials("sw-old")), SizeIs(2));
}

TEST(SqliteStoreTest, MigratesAVersion5DatabaseGivingOldTrialsTheSampledOrigin) {
  TempDir dir;
  const std::string path = dir.File("sweep.db");
  {
    RawDb raw(path);
    for (int i = 0; i < 5; ++i) raw.Exec(sqlite_schema::kMigrations[i]);
    raw.Exec(
        "PRAGMA user_version = 5;"
        "INSERT INTO sweeps (id, name, spec_yaml, spec_path, compute, state, status_message, "
        "created_ms, ended_ms) VALUES ('sw-old', 'old', '', '', 'cpu', 'completed', '', 1, 2);"
        "INSERT INTO trials (sweep_id, trial_id, config_json, state, final_value, intervals, "
        "attempts, retries, reason, created_ms, started_ms, ended_ms) VALUES ('sw-old', 1, "
        "'{\"lr\": 0.5}', 'completed', 0.75, 1, 1, 0, '', 1, 1, 2);");
  }
  std::unique_ptr<Store> store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(RawDb(path).One("PRAGMA user_version"), absl::StrCat(sqlite_schema::kSchemaVersion));
  EXPECT_EQ(Must(store->GetTrial("sw-old", 1)).origin, "sampled");
  core::Trial enqueued = MakeTrial("sw-old", 2);
  enqueued.origin = "enqueued";
  core::Trial extended = MakeTrial("sw-old", 3);
  extended.origin = "extension 1";
  ASSERT_TRUE(store->Commit({.trials = {enqueued, extended}}).ok());
  std::vector<core::Trial> trials = Must(store->ListTrials("sw-old"));
  ASSERT_THAT(trials, SizeIs(3));
  EXPECT_EQ(trials[1].origin, "enqueued");
  EXPECT_EQ(trials[2].origin, "extension 1");
}

TEST(SqliteStoreTest, MigratesAVersion6DatabaseToSweepsNeitherExtendedNorWarmStarted) {
  TempDir dir;
  const std::string path = dir.File("sweep.db");
  {
    RawDb raw(path);
    for (int i = 0; i < 6; ++i) raw.Exec(sqlite_schema::kMigrations[i]);
    raw.Exec(
        "PRAGMA user_version = 6;"
        "INSERT INTO sweeps (id, name, spec_yaml, spec_path, compute, state, status_message, "
        "created_ms, ended_ms) VALUES ('sw-old', 'old', '', '', 'cpu', 'completed', '', 1, 2);");
  }
  std::unique_ptr<Store> store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(RawDb(path).One("PRAGMA user_version"), absl::StrCat(sqlite_schema::kSchemaVersion));
  core::Sweep old = Must(store->GetSweep("sw-old"));
  EXPECT_EQ(old.extension, 0);
  EXPECT_EQ(old.extended_ms, 0);
  EXPECT_EQ(old.max_concurrent_trials, 0);
  EXPECT_EQ(old.timeout_s, 0);
  EXPECT_THAT(old.warm_start, ::testing::IsEmpty());
}

// Version 8 keys metric points by an integer per trial and interns their names; the points
// of a version-7 file move over in the migration's transaction, every one, in order, with
// non-finite values, points of one timestamp in insertion order (through version 9's
// packed reports).
TEST(SqliteStoreTest, MigratesAVersion7DatabaseKeepingEveryMetricPoint) {
  TempDir dir;
  const std::string path = dir.File("sweep.db");
  {
    RawDb raw(path);
    for (int i = 0; i < 7; ++i) raw.Exec(sqlite_schema::kMigrations[i]);
    raw.Exec(
        "PRAGMA user_version = 7;"
        "INSERT INTO sweeps (id, name, spec_yaml, spec_path, compute, state, status_message, "
        "created_ms, ended_ms) VALUES ('sw-a', 'a', '', '', 'cpu', 'completed', '', 1, 2), "
        "('sw-b', 'b', '', '', 'cpu', 'completed', '', 1, 2);"
        "INSERT INTO trials (sweep_id, trial_id, config_json, state, final_value, intervals, "
        "attempts, retries, reason, created_ms, started_ms, ended_ms) VALUES "
        "('sw-a', 1, '{}', 'completed', 1, 2, 1, 0, '', 1, 1, 2), "
        "('sw-a', 2, '{}', 'completed', 1, 1, 2, 0, '', 1, 1, 2), "
        "('sw-b', 1, '{}', 'completed', 1, 1, 1, 0, '', 1, 1, 2);"
        // (sweep, trial, timestamp, seq, attempt, name, value, step, interval)
        "INSERT INTO metrics VALUES ('sw-a', 1, 10, 0, 1, 'loss', 0.5, 0, 1), "
        "('sw-a', 1, 10, 1, 1, 'acc', 'nan', -1, 0), ('sw-a', 1, 10, 2, 1, 'loss', 0.25, 1, 2), "
        "('sw-a', 1, 5, 0, 1, 'acc', '-inf', 3, 0), ('sw-a', 2, 7, 0, 2, 'loss', 9, -1, 1), "
        "('sw-b', 1, 3, 0, 1, 'loss', 'inf', 0, 1);");
  }
  std::unique_ptr<Store> store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  RawDb raw(path);
  EXPECT_EQ(raw.One("PRAGMA user_version"), absl::StrCat(sqlite_schema::kSchemaVersion));
  EXPECT_EQ(raw.One("SELECT sum(points) FROM metric_reports"), "6");
  EXPECT_EQ(raw.One("SELECT count(*) FROM metric_names"), "2");
  auto dump = [](const std::vector<core::MetricPoint>& points) {
    std::vector<std::string> out;
    for (const core::MetricPoint& p : points) {
      out.push_back(absl::StrCat(p.sweep_id, " ", p.trial_id, " a", p.attempt, " ", p.name, "=",
                                 p.value, " s", p.step, " i", p.interval, " t", p.timestamp_ms));
    }
    return out;
  };
  EXPECT_THAT(
      dump(Must(store->ListMetrics({.sweep_id = "sw-a"}))),
      ::testing::ElementsAre("sw-a 1 a1 acc=-inf s3 i0 t5", "sw-a 1 a1 loss=0.5 s0 i1 t10",
                             "sw-a 1 a1 acc=nan s-1 i0 t10", "sw-a 1 a1 loss=0.25 s1 i2 t10",
                             "sw-a 2 a2 loss=9 s-1 i1 t7"));
  EXPECT_THAT(
      dump(Must(store->ListMetrics({.sweep_id = "sw-a", .trial_id = 1, .name = "loss"}))),
      ::testing::ElementsAre("sw-a 1 a1 loss=0.5 s0 i1 t10", "sw-a 1 a1 loss=0.25 s1 i2 t10"));
  EXPECT_THAT(dump(Must(store->ListMetrics({.sweep_id = "sw-b", .name = "loss"}))),
              ::testing::ElementsAre("sw-b 1 a1 loss=inf s0 i1 t3"));
  EXPECT_THAT(Must(store->ListMetrics({.sweep_id = "sw-b", .name = "acc"})), ::testing::IsEmpty());
  // New points of a migrated trial come after the moved ones of the same timestamp.
  core::MetricPoint more = MakeMetric("sw-a", 1, "loss", 0.125, 2);
  more.timestamp_ms = 10;
  ASSERT_TRUE(store->Commit({.metrics = {more}}).ok());
  EXPECT_THAT(
      dump(Must(store->ListMetrics({.sweep_id = "sw-a", .trial_id = 1, .name = "loss"}))),
      ::testing::ElementsAre("sw-a 1 a1 loss=0.5 s0 i1 t10", "sw-a 1 a1 loss=0.25 s1 i2 t10",
                             "sw-a 1 a1 loss=0.125 s0 i0 t10"));
}

// Version 9 packs a trial's points into report rows; a version-8 file's points move over
// in the migration's transaction: every one, in order (a run longer than a row is split),
// non-finite values exact, and metric_points and its view are gone.
TEST(SqliteStoreTest, MigratesAVersion8DatabaseFindingEveryMetricPoint) {
  TempDir dir;
  const std::string path = dir.File("sweep.db");
  {
    RawDb raw(path);
    for (int i = 0; i < 8; ++i) raw.Exec(sqlite_schema::kMigrations[i]);
    raw.Exec(
        "PRAGMA user_version = 8;"
        "INSERT INTO sweeps (id, name, spec_yaml, spec_path, compute, state, status_message, "
        "created_ms, ended_ms) VALUES ('sw-a', 'a', '', '', 'cpu', 'completed', '', 1, 2);"
        "INSERT INTO trials (sweep_id, trial_id, config_json, state, final_value, intervals, "
        "attempts, retries, reason, created_ms, started_ms, ended_ms) VALUES "
        "('sw-a', 1, '{}', 'completed', 1, 2, 1, 0, '', 1, 1, 2), "
        "('sw-a', 2, '{}', 'completed', 1, 1, 2, 0, '', 1, 1, 2);"
        "INSERT INTO trial_keys (id, sweep_id, trial_id) VALUES (7, 'sw-a', 2), (9, 'sw-a', 1);"
        "INSERT INTO metric_names (id, name) VALUES (1, 'loss'), (2, 'acc');"
        // (trial_key, timestamp, seq, attempt, name_id, value, step, interval)
        "INSERT INTO metric_points VALUES (9, 10, 1, 1, 1, 0.25, 1, 2), "
        "(9, 10, 0, 1, 1, 0.5, 0, 1), (9, 5, 0, 1, 2, '-inf', 3, 0), (9, 10, 2, 1, 2, 'nan', -1, "
        "0);"
        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 10000) "
        "INSERT INTO metric_points SELECT 7, 100 + i / 3, i, 2, 1 + i % 2, i * 0.5, i, 0 FROM c;");
  }
  std::unique_ptr<Store> store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  RawDb raw(path);
  EXPECT_EQ(raw.One("PRAGMA user_version"), absl::StrCat(sqlite_schema::kSchemaVersion));
  EXPECT_EQ(raw.One("SELECT count(*), sum(points) FROM metric_reports"), "3|10004");
  EXPECT_EQ(raw.One("SELECT count(*) FROM sqlite_master WHERE name IN ('metrics', "
                    "'metric_points')"),
            "0");
  std::vector<std::string> first;
  for (const core::MetricPoint& p : Must(store->ListMetrics({.sweep_id = "sw-a", .trial_id = 1}))) {
    first.push_back(absl::StrCat(p.name, "=", p.value, " s", p.step, " i", p.interval, " t",
                                 p.timestamp_ms, " a", p.attempt));
  }
  EXPECT_THAT(first, ::testing::ElementsAre("acc=-inf s3 i0 t5 a1", "loss=0.5 s0 i1 t10 a1",
                                            "loss=0.25 s1 i2 t10 a1", "acc=nan s-1 i0 t10 a1"));
  std::vector<core::MetricPoint> second =
      Must(store->ListMetrics({.sweep_id = "sw-a", .trial_id = 2}));
  ASSERT_THAT(second, SizeIs(10000));
  for (int64_t i = 1; i <= 10000; ++i) {
    const core::MetricPoint& p = second[i - 1];
    ASSERT_EQ(p.step, i);
    EXPECT_EQ(p.value, i * 0.5);
    EXPECT_EQ(p.timestamp_ms, 100 + i / 3);
    EXPECT_EQ(p.name, i % 2 ? "acc" : "loss");
    EXPECT_EQ(p.attempt, 2);
  }
  EXPECT_THAT(Must(store->ListMetrics({.sweep_id = "sw-a", .name = "acc"})), SizeIs(5002));
  EXPECT_THAT(Must(store->ListMetrics({.sweep_id = "sw-a", .name = "lr"})), ::testing::IsEmpty());
}

// A commit stores each run of one trial's consecutive points as one packed row (a long
// run in rows of at most 8,192 points); listing puts them back in order.
TEST(SqliteStoreTest, PacksEachRunOfATrialsPointsIntoOneRow) {
  TempDir dir;
  const std::string path = dir.File("sweep.db");
  std::unique_ptr<Store> store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  auto point = [](int64_t trial, double value) { return MakeMetric("sw-1", trial, "m", value, 0); };
  ASSERT_TRUE(store
                  ->Commit({.sweeps = {MakeSweep("sw-1")},
                            .trials = {MakeTrial("sw-1", 1), MakeTrial("sw-1", 2)},
                            .metrics = {point(1, 1), point(1, 2), point(1, 3), point(2, 10),
                                        point(2, 11), point(1, 4)}})
                  .ok());
  RawDb raw(path);
  EXPECT_THAT(raw.Rows("SELECT points FROM metric_reports ORDER BY id"),
              ::testing::ElementsAre("3", "2", "1"));
  WriteBatch big;
  for (int i = 0; i < 9000; ++i) big.metrics.push_back(point(2, 100 + i));
  ASSERT_TRUE(store->Commit(big).ok());
  EXPECT_THAT(raw.Rows("SELECT points FROM metric_reports WHERE id > 3 ORDER BY id"),
              ::testing::ElementsAre("8192", "808"));
  std::vector<double> first;
  for (const core::MetricPoint& m : Must(store->ListMetrics({.sweep_id = "sw-1", .trial_id = 1}))) {
    first.push_back(m.value);
  }
  EXPECT_THAT(first, ::testing::ElementsAre(1, 2, 3, 4));
  std::vector<core::MetricPoint> second =
      Must(store->ListMetrics({.sweep_id = "sw-1", .trial_id = 2}));
  ASSERT_THAT(second, SizeIs(9002));
  for (size_t i = 0; i < second.size(); ++i) {
    ASSERT_EQ(second[i].value, i < 2 ? 10.0 + i : 100.0 + (i - 2));
  }
}

TEST(SqliteStoreTest, RefusesASchemaNewerThanTheBinary) {
  TempDir dir;
  const std::string path = dir.File("sweep.db");
  { ASSERT_NE(MustOpen(path), nullptr); }
  const int newer = sqlite_schema::kSchemaVersion + 1;
  RawDb(path).Exec(absl::StrCat("PRAGMA user_version = ", newer));
  const std::string message = absl::StrCat(
      "store '", path, "' has schema version ", newer, ", newer than this binary understands (",
      sqlite_schema::kSchemaVersion, "); use a newer sweep binary");

  absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store.status().message(), message);
  absl::StatusOr<std::unique_ptr<Store>> reader = OpenSqliteStoreReadOnly(path);
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(reader.status().message(), message);
  EXPECT_EQ(RawDb(path).One("PRAGMA user_version"), absl::StrCat(newer));  // untouched
}

TEST(SqliteStoreTest, ReadOnlyOpenOfAMissingFileIsNotFound) {
  TempDir dir;
  const std::string path = dir.File("absent.db");
  absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStoreReadOnly(path);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store.status().message(), absl::StrCat("store file '", path, "' not found"));
  EXPECT_FALSE(std::filesystem::exists(path));  // and did not create it
}

TEST(SqliteStoreTest, ReadOnlyStoreSeesCommitsOfTheWriterAndCannotCommit) {
  TempDir dir;
  const std::string path = dir.File("sweep.db");
  std::unique_ptr<Store> writer = MustOpen(path);
  ASSERT_NE(writer, nullptr);
  ASSERT_TRUE(writer->Commit({.sweeps = {MakeSweep("sw-1")}}).ok());

  absl::StatusOr<std::unique_ptr<Store>> reader = OpenSqliteStoreReadOnly(path);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_THAT(Must((*reader)->ListSweeps()), SizeIs(1));
  EXPECT_THAT(Must((*reader)->ListTrials("sw-1")), SizeIs(0));

  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(writer
                    ->Commit({.trials = {MakeTrial("sw-1", i)},
                              .metrics = {MakeMetric("sw-1", i, "acc", i, i)}})
                    .ok());
    EXPECT_THAT(Must((*reader)->ListTrials("sw-1")), SizeIs(i));
    EXPECT_THAT(Must((*reader)->ListMetrics({.sweep_id = "sw-1"})), SizeIs(i));
  }

  absl::Status status = (*reader)->Commit({.sweeps = {MakeSweep("sw-2")}});
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(),
            absl::StrCat("store '", path, "' is opened read-only; Commit is not allowed"));
  EXPECT_EQ(writer->GetSweep("sw-2").status().code(), absl::StatusCode::kNotFound);

  // Also after the writer is gone (its -wal and -shm files are removed at close).
  writer.reset();
  reader->reset();
  absl::StatusOr<std::unique_ptr<Store>> later = OpenSqliteStoreReadOnly(path);
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_THAT(Must((*later)->ListTrials("sw-1")), SizeIs(3));
}

TEST(SqliteStoreTest, ReadOnlyOpenOfAnOlderSchemaIsRefused) {
  TempDir dir;
  const std::string path = dir.File("sweep.db");
  RawDb(path).Exec(kVersion1Schema);
  absl::StatusOr<std::unique_ptr<Store>> reader = OpenSqliteStoreReadOnly(path);
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(reader.status().message(),
            absl::StrCat(
                "store '", path, "' has schema version 1, older than this binary's ",
                sqlite_schema::kSchemaVersion,
                ", and is opened read-only; it is upgraded when opened for writing (e.g. by `sweep "
                "run`)"));
  EXPECT_EQ(RawDb(path).One("PRAGMA user_version"), "1");
}

TEST(SqliteStoreTest, AFileThatIsNotADatabaseIsRefused) {
  TempDir dir;
  const std::string path = dir.File("sweep.db");
  std::ofstream(path) << "this is not a database, just some text that is long enough to have "
                         "a header of one hundred bytes or so, which SQLite reads first......";
  for (bool read_only : {false, true}) {
    absl::StatusOr<std::unique_ptr<Store>> store =
        read_only ? OpenSqliteStoreReadOnly(path) : OpenSqliteStore(path);
    EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition) << store.status();
    EXPECT_THAT(store.status().message(), HasSubstr(absl::StrCat("store '", path, "'")));
    EXPECT_THAT(store.status().message(), HasSubstr("file is not a database"));
  }
}

TEST(SqliteStoreTest, AnUnopenablePathIsUnavailable) {
  TempDir dir;
  const std::string path = dir.File("no-such-dir/sweep.db");
  absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store.status().message(),
            absl::StrCat("store '", path, "': opening: unable to open database file"));
}

TEST(SqliteStoreTest, UndecodableRowsAreDataLoss) {
  TempDir dir;
  const std::string path = dir.File("sweep.db");
  std::unique_ptr<Store> store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store
                  ->Commit({.sweeps = {MakeSweep("sw-1")},
                            .trials = {MakeTrial("sw-1", 1), MakeTrial("sw-1", 2)},
                            .metrics = {MakeMetric("sw-1", 1, "acc", 1, 1)}})
                  .ok());
  RawDb raw(path);
  raw.Exec("UPDATE sweeps SET state = 'bogus'");
  raw.Exec("UPDATE trials SET config_json = '[1, 2]' WHERE trial_id = 2");
  raw.Exec("UPDATE metric_reports SET data = x'0102'");

  absl::StatusOr<core::Sweep> sweep = store->GetSweep("sw-1");
  EXPECT_EQ(sweep.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(sweep.status().message(), HasSubstr("unknown sweep state 'bogus'"));
  EXPECT_THAT(store->ListSweeps().status().message(), HasSubstr("unknown sweep state 'bogus'"));

  EXPECT_TRUE(store->GetTrial("sw-1", 1).ok());
  absl::StatusOr<std::vector<core::Trial>> trials = store->ListTrials("sw-1");
  EXPECT_EQ(trials.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(trials.status().message(),
              HasSubstr("config '[1, 2]' is not a JSON object of parameter values"));

  absl::StatusOr<std::vector<core::MetricPoint>> metrics = store->ListMetrics({.sweep_id = "sw-1"});
  EXPECT_EQ(metrics.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(metrics.status().message(),
              HasSubstr("a metric report of trial 1 holds 2 bytes, not 1 points of 40"));
}

TEST(SqliteStoreTest, EveryReadQueryIsAnIndexScanWithoutSorting) {
  TempDir dir;
  const std::string path = dir.File("sweep.db");
  ASSERT_NE(MustOpen(path), nullptr);
  RawDb raw(path);
  for (const char* sql : sqlite_schema::kReadQueries) {
    SCOPED_TRACE(sql);
    // The 4th column of each plan row is its text; the metric queries join the trial keys,
    // their points and the names (and look a name's id up in a subquery), one row each.
    std::vector<std::string> plan;
    for (const std::string& row : raw.Rows(absl::StrCat("EXPLAIN QUERY PLAN ", sql))) {
      plan.push_back(row.substr(row.rfind('|') + 1));
    }
    ASSERT_THAT(plan, ::testing::Not(::testing::IsEmpty()));
    const bool metric = std::string(sql).find("metric_reports") != std::string::npos;
    if (!metric) {
      ASSERT_THAT(plan, SizeIs(1));
    }
    for (const std::string& step : plan) {
      SCOPED_TRACE(step);
      EXPECT_THAT(step, ::testing::Not(HasSubstr("TEMP B-TREE")));
      // The name's id, looked up once ("SCALAR SUBQUERY", then "REUSE SUBQUERY").
      if (step.find("SUBQUERY") != std::string::npos) continue;
      // Lookups by key search an index; only whole-table listings scan, in index order.
      if (std::string(sql).find("WHERE") != std::string::npos) {
        EXPECT_THAT(step, HasSubstr("SEARCH"));
      } else {
        EXPECT_THAT(step, ::testing::AnyOf(HasSubstr("USING INDEX"), HasSubstr("computes"),
                                           HasSubstr("nodes"), HasSubstr("environments"),
                                           HasSubstr("models"), HasSubstr("metric_names")));
      }
    }
  }
}

// A writer killed with SIGKILL at an arbitrary point keeps every batch whose Commit
// returned, and no part of the batch it was in the middle of.
TEST(SqliteStoreTest, AKilledWriterLosesNothingItCommitted) {
  TempDir dir;
  const std::string path = dir.File("sweep.db");
  {
    std::unique_ptr<Store> store = MustOpen(path);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->Commit({.sweeps = {MakeSweep("sw-1")}}).ok());
  }
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(path);
    if (!store.ok()) _exit(2);
    for (int64_t i = 1;; ++i) {
      WriteBatch batch{
          .trials = {MakeTrial("sw-1", i)},
          .attempts = {MakeAttempt("sw-1", i, 1, i)},
          .metrics = {MakeMetric("sw-1", i, "acc", i, i), MakeMetric("sw-1", i, "loss", -i, i)}};
      if (!(*store)->Commit(batch).ok()) _exit(3);
      if (write(fds[1], &i, sizeof(i)) != sizeof(i)) _exit(4);
    }
  }
  close(fds[1]);
  int64_t acknowledged = 0;
  auto wait_for = [&](int64_t count) {
    while (acknowledged < count) {
      ASSERT_EQ(read(fds[0], &acknowledged, sizeof(acknowledged)), sizeof(acknowledged));
    }
  };
  wait_for(100);
  {
    // A reader in this process while the child keeps writing.
    absl::StatusOr<std::unique_ptr<Store>> reader = OpenSqliteStoreReadOnly(path);
    ASSERT_TRUE(reader.ok()) << reader.status();
    for (int64_t target : {150, 200, 250}) {
      wait_for(target);
      const int64_t seen = acknowledged;
      EXPECT_GE(static_cast<int64_t>(Must((*reader)->ListTrials("sw-1")).size()), seen);
    }
  }
  wait_for(300);
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  int wstatus = 0;
  ASSERT_EQ(waitpid(pid, &wstatus, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL);
  // Acknowledgements written before the kill.
  int64_t later = 0;
  while (read(fds[0], &later, sizeof(later)) == sizeof(later)) acknowledged = later;
  close(fds[0]);

  std::unique_ptr<Store> store = MustOpen(path);
  ASSERT_NE(store, nullptr);
  std::vector<core::Trial> trials = Must(store->ListTrials("sw-1"));
  ASSERT_GE(static_cast<int64_t>(trials.size()), acknowledged);
  for (size_t i = 0; i < trials.size(); ++i) ASSERT_EQ(trials[i].trial_id, int64_t(i) + 1);
  // Every stored trial has all of its batch.
  EXPECT_THAT(Must(store->ListAttempts("sw-1", std::nullopt)), SizeIs(trials.size()));
  EXPECT_THAT(Must(store->ListMetrics({.sweep_id = "sw-1"})), SizeIs(2 * trials.size()));
  EXPECT_EQ(Must(store->MaxFencingToken()), trials.size());
}

}  // namespace
}  // namespace sweep::store

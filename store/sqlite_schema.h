// The SQLite schema of a workspace store and its migration history.
//
// The schema version lives in `PRAGMA user_version`. Step i of kMigrations turns a
// version-i database into version i+1; each step runs in its own transaction together
// with the version bump, so a crash leaves the database at a whole version. Released
// steps never change: a new schema is a new step appended at the end.
//
// Doubles that may be NaN or infinite (trial final values, metric values, decision
// numbers) live in untyped columns: a finite value is a REAL, a non-finite one the TEXT
// 'nan', '-nan', 'inf' or '-inf' (SQLite itself would turn NaN into NULL), and NULL means
// "absent" for optional values.
//
// Exposed for tests (migration from old versions, query-plan checks) and for tools that
// report the schema version.
#pragma once

#include <array>

namespace sweep::store::sqlite_schema {

// Schema history. Version 0 is an empty file.
inline constexpr std::array<const char*, 9> kMigrations = {
    // 0 -> 1: the tables.
    R"sql(
CREATE TABLE computes (
  name TEXT PRIMARY KEY NOT NULL,
  type TEXT NOT NULL,
  provider TEXT NOT NULL,
  min_nodes INTEGER NOT NULL,
  max_nodes INTEGER NOT NULL,
  vm_size TEXT NOT NULL,
  vm_priority TEXT NOT NULL,
  idle_seconds_before_scaledown INTEGER NOT NULL,
  properties_json TEXT NOT NULL,
  created_ms INTEGER NOT NULL
) WITHOUT ROWID;
-- A rowid table: the rowid is the first-insertion order, ListSweeps' tie-breaker.
CREATE TABLE sweeps (
  id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  spec_yaml TEXT NOT NULL,
  spec_path TEXT NOT NULL,
  compute TEXT NOT NULL,
  state TEXT NOT NULL,
  status_message TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  ended_ms INTEGER NOT NULL
);
CREATE TABLE trials (
  sweep_id TEXT NOT NULL REFERENCES sweeps(id),
  trial_id INTEGER NOT NULL,
  config_json TEXT NOT NULL,
  state TEXT NOT NULL,
  final_value,
  intervals INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  retries INTEGER NOT NULL,
  reason TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  started_ms INTEGER NOT NULL,
  ended_ms INTEGER NOT NULL,
  PRIMARY KEY (sweep_id, trial_id)
) WITHOUT ROWID;
CREATE TABLE attempts (
  sweep_id TEXT NOT NULL,
  trial_id INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  node_id TEXT NOT NULL,
  fencing_token INTEGER NOT NULL,
  state TEXT NOT NULL,
  started_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  ended_ms INTEGER NOT NULL,
  exit_code INTEGER NOT NULL,
  error TEXT NOT NULL,
  PRIMARY KEY (sweep_id, trial_id, attempt),
  FOREIGN KEY (sweep_id, trial_id) REFERENCES trials(sweep_id, trial_id)
) WITHOUT ROWID;
-- Clustered on the listing order, so appending a point writes one b-tree, not a table
-- and an index. seq orders points of one (trial, timestamp) by insertion.
CREATE TABLE metrics (
  sweep_id TEXT NOT NULL,
  trial_id INTEGER NOT NULL,
  timestamp_ms INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  name TEXT NOT NULL,
  value NOT NULL,
  step INTEGER NOT NULL,
  interval INTEGER NOT NULL,
  PRIMARY KEY (sweep_id, trial_id, timestamp_ms, seq),
  FOREIGN KEY (sweep_id, trial_id) REFERENCES trials(sweep_id, trial_id)
) WITHOUT ROWID;
CREATE TABLE events (
  id INTEGER PRIMARY KEY,
  sweep_id TEXT NOT NULL,
  trial_id INTEGER NOT NULL,
  kind TEXT NOT NULL,
  message TEXT NOT NULL,
  timestamp_ms INTEGER NOT NULL
);
-- Clustered like metrics; seq orders decisions of one (trial, interval) by insertion.
CREATE TABLE decisions (
  sweep_id TEXT NOT NULL,
  trial_id INTEGER NOT NULL,
  interval INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  policy TEXT NOT NULL,
  value NOT NULL,
  reference NOT NULL,
  threshold NOT NULL,
  stop INTEGER NOT NULL,
  explanation TEXT NOT NULL,
  timestamp_ms INTEGER NOT NULL,
  PRIMARY KEY (sweep_id, trial_id, interval, seq),
  FOREIGN KEY (sweep_id, trial_id) REFERENCES trials(sweep_id, trial_id)
) WITHOUT ROWID;
CREATE TABLE nodes (
  node_id TEXT PRIMARY KEY NOT NULL,
  compute TEXT NOT NULL,
  hostname TEXT NOT NULL,
  pid INTEGER NOT NULL,
  state TEXT NOT NULL,
  registered_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL
) WITHOUT ROWID;
)sql",
    // 1 -> 2: indexes for the List* calls the primary keys do not serve, and a counter so
    // MaxFencingToken is the largest token ever stored, even if an attempt row was
    // later rewritten with a smaller one.
    R"sql(
CREATE INDEX sweeps_by_created ON sweeps(created_ms);
CREATE INDEX events_by_sweep ON events(sweep_id);
CREATE TABLE counters (
  name TEXT PRIMARY KEY NOT NULL,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO counters (name, value)
  SELECT 'max_fencing_token', COALESCE(MAX(fencing_token), 0) FROM attempts;
)sql",
    // 2 -> 3: the sweep's objective, sampler and trial limit, so queries need not
    // re-parse the stored spec.
    R"sql(
ALTER TABLE sweeps ADD COLUMN primary_metric TEXT NOT NULL DEFAULT '';
ALTER TABLE sweeps ADD COLUMN goal TEXT NOT NULL DEFAULT 'maximize';
ALTER TABLE sweeps ADD COLUMN aggregation TEXT NOT NULL DEFAULT 'last';
ALTER TABLE sweeps ADD COLUMN sampling_algorithm TEXT NOT NULL DEFAULT '';
ALTER TABLE sweeps ADD COLUMN max_total_trials INTEGER NOT NULL DEFAULT 0;
)sql",
    // 3 -> 4: the digest of the sweep's code snapshot, so a restarted controller serves
    // the same snapshot ('' for sweeps without code, and for those submitted before).
    R"sql(
ALTER TABLE sweeps ADD COLUMN snapshot_digest TEXT NOT NULL DEFAULT '';
)sql",
    // 4 -> 5: named, versioned environments and registered models, and the environment
    // version a sweep resolved at submission. An environment's
    // files are a JSON array of {"name", "content_b64"} (they are small and read whole);
    // a model's metric value is untyped like other doubles, NULL when absent.
    R"sql(
ALTER TABLE sweeps ADD COLUMN environment TEXT NOT NULL DEFAULT '';
CREATE TABLE environments (
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  kind TEXT NOT NULL,
  python TEXT NOT NULL,
  setup_command TEXT NOT NULL,
  files_json TEXT NOT NULL,
  digest TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  PRIMARY KEY (name, version)
) WITHOUT ROWID;
CREATE TABLE models (
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  sweep_id TEXT NOT NULL,
  trial_id INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  primary_metric TEXT NOT NULL,
  goal TEXT NOT NULL,
  metric_value,
  params_json TEXT NOT NULL,
  tags_json TEXT NOT NULL,
  manifest_digest TEXT NOT NULL,
  total_bytes INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  PRIMARY KEY (name, version),
  FOREIGN KEY (sweep_id, trial_id) REFERENCES trials(sweep_id, trial_id)
) WITHOUT ROWID;
)sql",
    // 5 -> 6: where a trial's configuration came from (core::Trial::origin); every
    // earlier trial was sampled.
    R"sql(
ALTER TABLE trials ADD COLUMN origin TEXT NOT NULL DEFAULT 'sampled';
)sql",
    // 6 -> 7: `sweep extend` (the number of extensions, when the latest began, the limits
    // it set; 0 = the spec's) and the sweeps a sweep was warm-started from (a JSON array of
    // ids).
    R"sql(
ALTER TABLE sweeps ADD COLUMN extension INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sweeps ADD COLUMN extended_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sweeps ADD COLUMN max_concurrent_trials INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sweeps ADD COLUMN timeout_s INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sweeps ADD COLUMN warm_start_json TEXT NOT NULL DEFAULT '[]';
)sql",
    // 7 -> 8: compact metric points. A point was keyed by the sweep id's text; now by a
    // per-trial integer (trial_keys.id, made at the trial's first point) with the metric
    // name interned (metric_names.id): rows half the size and integer key compares, so an
    // insert is cheaper. The trial_keys row carries the foreign key to the trial; the
    // store writes points only under keys and name ids it has looked up, so
    // metric_points has no foreign keys of its own (each would cost a seek per point).
    // `metrics` becomes a view with the old columns, for reading with SQL. The points are
    // moved in this step's transaction. Also an index of the trials by value (QueryTrials).
    R"sql(
CREATE TABLE trial_keys (
  id INTEGER PRIMARY KEY,
  sweep_id TEXT NOT NULL,
  trial_id INTEGER NOT NULL,
  UNIQUE (sweep_id, trial_id),
  FOREIGN KEY (sweep_id, trial_id) REFERENCES trials(sweep_id, trial_id)
);
CREATE TABLE metric_names (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE
);
CREATE TABLE metric_points (
  trial_key INTEGER NOT NULL,
  timestamp_ms INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  name_id INTEGER NOT NULL,
  value NOT NULL,
  step INTEGER NOT NULL,
  interval INTEGER NOT NULL,
  PRIMARY KEY (trial_key, timestamp_ms, seq)
) WITHOUT ROWID;
INSERT INTO trial_keys (sweep_id, trial_id)
  SELECT DISTINCT sweep_id, trial_id FROM metrics ORDER BY sweep_id, trial_id;
INSERT INTO metric_names (name) SELECT DISTINCT name FROM metrics ORDER BY name;
INSERT INTO metric_points
  SELECT k.id, m.timestamp_ms, m.seq, m.attempt, n.id, m.value, m.step, m.interval
  FROM metrics m
  JOIN trial_keys k ON k.sweep_id = m.sweep_id AND k.trial_id = m.trial_id
  JOIN metric_names n ON n.name = m.name;
DROP TABLE metrics;
-- `sweep best` and `sweep trials --top N --sort PRIMARY` walk this from the best value
-- instead of sorting every trial of the sweep.
CREATE INDEX trials_by_value ON trials (sweep_id, final_value);
CREATE VIEW metrics (sweep_id, trial_id, timestamp_ms, seq, attempt, name, value, step,
                     interval) AS
  SELECT k.sweep_id, k.trial_id, p.timestamp_ms, p.seq, p.attempt, n.name, p.value, p.step,
         p.interval
  FROM trial_keys k CROSS JOIN metric_points p ON p.trial_key = k.id
  JOIN metric_names n ON n.id = p.name_id;
)sql",
    // 8 -> 9: metric points packed, one row per run of a trial's points (a report) instead
    // of one per point: one b-tree insert per report (sqlite_metrics.h has the layout). The
    // rowid is the insertion order; the index walks a trial's reports in it. SqliteStore
    // then moves the version 8 points over and drops `metrics` and metric_points in this
    // step's transaction (PackVersion8Points); SQL readers use `sweep metrics --json`.
    R"sql(
CREATE TABLE metric_reports (
  id INTEGER PRIMARY KEY,
  trial_key INTEGER NOT NULL,
  points INTEGER NOT NULL,
  data BLOB NOT NULL
);
CREATE INDEX metric_reports_by_trial ON metric_reports (trial_key);
)sql",
};

// The version this binary writes and reads.
inline constexpr int kSchemaVersion = static_cast<int>(kMigrations.size());

// Read queries, one per Store read path. Parameters: ?1 = sweep_id (or key), ?2 =
// trial_id, ?3 = metric name. Every one is made of index lookups or range scans whose
// order comes from the index (checked by the tests with EXPLAIN QUERY PLAN); the metric
// queries walk the sweep's trial keys in trial order, then each key's points.
#define SWEEP_STORE_COMPUTE_COLUMNS_                                   \
  "name, type, provider, min_nodes, max_nodes, vm_size, vm_priority, " \
  "idle_seconds_before_scaledown, properties_json, created_ms"
#define SWEEP_STORE_SWEEP_COLUMNS_                                                             \
  "id, name, spec_yaml, spec_path, compute, state, status_message, created_ms, ended_ms, "     \
  "primary_metric, goal, aggregation, sampling_algorithm, max_total_trials, snapshot_digest, " \
  "environment, extension, extended_ms, max_concurrent_trials, timeout_s, warm_start_json"
#define SWEEP_STORE_TRIAL_COLUMNS_                                                      \
  "sweep_id, trial_id, config_json, state, final_value, intervals, attempts, retries, " \
  "reason, created_ms, started_ms, ended_ms, origin"
#define SWEEP_STORE_ATTEMPT_COLUMNS_                                                     \
  "sweep_id, trial_id, attempt, node_id, fencing_token, state, started_ms, expires_ms, " \
  "ended_ms, exit_code, error"
#define SWEEP_STORE_EVENT_COLUMNS_ "id, sweep_id, trial_id, kind, message, timestamp_ms"
#define SWEEP_STORE_DECISION_COLUMNS_                                                      \
  "sweep_id, trial_id, interval, policy, value, reference, threshold, stop, explanation, " \
  "timestamp_ms"
#define SWEEP_STORE_NODE_COLUMNS_ \
  "node_id, compute, hostname, pid, state, registered_ms, last_seen_ms"
#define SWEEP_STORE_ENVIRONMENT_COLUMNS_ \
  "name, version, kind, python, setup_command, files_json, digest, created_ms"
#define SWEEP_STORE_MODEL_COLUMNS_                                                   \
  "name, version, sweep_id, trial_id, attempt, primary_metric, goal, metric_value, " \
  "params_json, tags_json, manifest_digest, total_bytes, created_ms"

inline constexpr const char* kGetCompute =
    "SELECT " SWEEP_STORE_COMPUTE_COLUMNS_ " FROM computes WHERE name = ?1";
inline constexpr const char* kListComputes =
    "SELECT " SWEEP_STORE_COMPUTE_COLUMNS_ " FROM computes ORDER BY name";
inline constexpr const char* kGetSweep =
    "SELECT " SWEEP_STORE_SWEEP_COLUMNS_ " FROM sweeps WHERE id = ?1";
inline constexpr const char* kListSweeps =
    "SELECT " SWEEP_STORE_SWEEP_COLUMNS_ " FROM sweeps ORDER BY created_ms DESC, rowid DESC";
inline constexpr const char* kGetTrial =
    "SELECT " SWEEP_STORE_TRIAL_COLUMNS_ " FROM trials WHERE sweep_id = ?1 AND trial_id = ?2";
inline constexpr const char* kListTrials =
    "SELECT " SWEEP_STORE_TRIAL_COLUMNS_ " FROM trials WHERE sweep_id = ?1 ORDER BY trial_id";
// The start of Store::QueryTrials' statement (SqliteStore adds the filter, order, limit).
inline constexpr const char* kQueryTrialsPrefix =
    "SELECT " SWEEP_STORE_TRIAL_COLUMNS_ " FROM trials WHERE sweep_id = ?1";
inline constexpr const char* kListAttempts = "SELECT " SWEEP_STORE_ATTEMPT_COLUMNS_
                                             " FROM attempts WHERE sweep_id = ?1"
                                             " ORDER BY trial_id, attempt";
inline constexpr const char* kListTrialAttempts =
    "SELECT " SWEEP_STORE_ATTEMPT_COLUMNS_
    " FROM attempts WHERE sweep_id = ?1 AND trial_id = ?2 ORDER BY attempt";
// Metric reports: the sweep's trial keys in trial order, then each key's reports in
// insertion order (sqlite_metrics.h decodes them); names by id.
inline constexpr const char* kListMetricNames = "SELECT id, name FROM metric_names ORDER BY id";
inline constexpr const char* kListMetricReports =
    "SELECT k.trial_id, r.points, r.data FROM trial_keys k CROSS JOIN metric_reports r"
    " ON r.trial_key = k.id WHERE k.sweep_id = ?1 ORDER BY k.trial_id, r.trial_key, r.id";
inline constexpr const char* kListTrialMetricReports =
    "SELECT k.trial_id, r.points, r.data FROM trial_keys k CROSS JOIN metric_reports r"
    " ON r.trial_key = k.id WHERE k.sweep_id = ?1 AND k.trial_id = ?2 ORDER BY r.trial_key, r.id";
inline constexpr const char* kListEvents =
    "SELECT " SWEEP_STORE_EVENT_COLUMNS_ " FROM events WHERE sweep_id = ?1 ORDER BY id";
inline constexpr const char* kListDecisions = "SELECT " SWEEP_STORE_DECISION_COLUMNS_
                                              " FROM decisions WHERE sweep_id = ?1"
                                              " ORDER BY trial_id, interval, seq";
inline constexpr const char* kListTrialDecisions =
    "SELECT " SWEEP_STORE_DECISION_COLUMNS_
    " FROM decisions WHERE sweep_id = ?1 AND trial_id = ?2 ORDER BY interval, seq";
inline constexpr const char* kListNodes =
    "SELECT " SWEEP_STORE_NODE_COLUMNS_ " FROM nodes ORDER BY node_id";
inline constexpr const char* kMaxFencingToken =
    "SELECT value FROM counters WHERE name = 'max_fencing_token'";

// Environments and models: ?1 = name, ?2 = version.
inline constexpr const char* kGetEnvironment =
    "SELECT " SWEEP_STORE_ENVIRONMENT_COLUMNS_
    " FROM environments WHERE name = ?1 AND version = ?2";
inline constexpr const char* kGetLatestEnvironment =
    "SELECT " SWEEP_STORE_ENVIRONMENT_COLUMNS_
    " FROM environments WHERE name = ?1 ORDER BY version DESC LIMIT 1";
inline constexpr const char* kListEnvironments =
    "SELECT " SWEEP_STORE_ENVIRONMENT_COLUMNS_ " FROM environments ORDER BY name, version";
inline constexpr const char* kGetModel =
    "SELECT " SWEEP_STORE_MODEL_COLUMNS_ " FROM models WHERE name = ?1 AND version = ?2";
inline constexpr const char* kGetLatestModel = "SELECT " SWEEP_STORE_MODEL_COLUMNS_
                                               " FROM models WHERE name = ?1"
                                               " ORDER BY version DESC LIMIT 1";
inline constexpr const char* kListModels =
    "SELECT " SWEEP_STORE_MODEL_COLUMNS_ " FROM models ORDER BY name, version";

inline constexpr std::array<const char*, 22> kReadQueries = {
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
};

#undef SWEEP_STORE_COMPUTE_COLUMNS_
#undef SWEEP_STORE_SWEEP_COLUMNS_
#undef SWEEP_STORE_TRIAL_COLUMNS_
#undef SWEEP_STORE_ATTEMPT_COLUMNS_
#undef SWEEP_STORE_EVENT_COLUMNS_
#undef SWEEP_STORE_DECISION_COLUMNS_
#undef SWEEP_STORE_NODE_COLUMNS_
#undef SWEEP_STORE_ENVIRONMENT_COLUMNS_
#undef SWEEP_STORE_MODEL_COLUMNS_

}  // namespace sweep::store::sqlite_schema

// Durable state of a workspace. Its one writer is the holder of the workspace lock
// (workspace/workspace_lock.h): the controller serving the workspace, or a CLI command
// making one change while none does. Query commands may read concurrently from other
// processes (SqliteStore uses WAL).
//
// Writes go through Commit(WriteBatch): all of a batch becomes durable or none of it.
// A Commit that returned OK survives the writer process being killed at any time.
// Upserts are keyed by primary key:
//   compute: name; sweep: id; trial: (sweep_id, trial_id);
//   attempt: (sweep_id, trial_id, attempt); node: node_id.
// Metric points, events and decisions are appended. Environments and models are
// inserted, keyed by (name, version), and never change: a key that is already stored (or
// twice in one batch) fails the batch AlreadyExists ("environment 'x' version 2 already
// exists"), so two writers allocating the same next version cannot both win.
//
// A batch is applied in this order: compute upserts, compute deletions (deleting a
// missing name is a no-op), sweeps, trials, attempts, metrics, events, decisions, nodes,
// environments, models; within one kind in vector order, so a later upsert of a key wins.
// Referential integrity: a trial needs its sweep, and attempts, metrics and decisions
// need their trial, either already stored or earlier in the same batch; so does a model
// (its lineage trial). Events, nodes and environments reference nothing (an event with an
// empty sweep_id is workspace-level).
//
// Thread safety: implementations are thread-safe.
// Errors: NotFound for missing keys on Get* ("sweep 'sw-123' not found"),
// Internal/Unavailable for I/O failures, FailedPrecondition for a schema newer than this
// binary understands, DataLoss for a stored row that cannot be decoded.
// Commit: InvalidArgument for a malformed record (empty key, trial_id or attempt < 1,
// fencing token > INT64_MAX, non-finite config value, environment/model name empty or
// version < 1, environment kind not user_managed/system_managed), AlreadyExists for an
// environment or model version stored before, FailedPrecondition for a record
// whose parent is missing or a read-only store; nothing of a failed batch is written.
// List* of an unknown sweep is an empty list, not an error. NaN and infinite doubles
// are stored and read back as such.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/types.h"

namespace sweep::store {

// Members default to {} so designated initializers (WriteBatch{.trials = {t}}) compile
// without -Wmissing-field-initializers noise.
struct WriteBatch {
  std::vector<core::ComputeTarget> computes = {};
  std::vector<std::string> deleted_computes = {};
  std::vector<core::Sweep> sweeps = {};
  std::vector<core::Trial> trials = {};
  std::vector<core::Attempt> attempts = {};
  std::vector<core::MetricPoint> metrics = {};
  std::vector<core::Event> events = {};  // ids are assigned by the store (1, 2, ...)
  std::vector<core::Decision> decisions = {};
  std::vector<core::Node> nodes = {};
  std::vector<core::Environment> environments = {};  // inserted, never replaced
  std::vector<core::Model> models = {};              // inserted, never replaced

  bool empty() const;
  // Appends all of `other` (later upserts of the same key win) and leaves it empty.
  // A deletion in `other` drops earlier upserts of that compute, an upsert in `other`
  // cancels an earlier deletion, so the result means "this, then other".
  void Append(WriteBatch&& other);
};

struct MetricFilter {
  std::string sweep_id = {};  // required: ListMetrics fails InvalidArgument without it
  std::optional<int64_t> trial_id = {};
  std::optional<std::string> name = {};
};

// What Store::QueryTrials selects: for `sweep best` and `sweep trials --top`, which need a
// few trials of a large sweep.
struct TrialQuery {
  enum class Order {
    kTrialId,
    // Trials with a finite final_value first, highest (or lowest) first, equal values by
    // trial_id; then the others (no value, NaN, infinite) by trial_id.
    kValueDescending,
    kValueAscending,
  };
  std::optional<core::TrialState> state = {};  // only trials in this state
  Order order = Order::kTrialId;
  int64_t limit = 0;  // at most this many; 0: all
};

// InvalidArgument when `query` cannot be run (a negative limit); shared by the stores.
absl::Status CheckTrialQuery(const TrialQuery& query);

class Store {
 public:
  virtual ~Store() = default;

  virtual absl::Status Commit(const WriteBatch& batch) = 0;

  virtual absl::StatusOr<core::ComputeTarget> GetCompute(const std::string& name) = 0;
  // Ordered by name.
  virtual absl::StatusOr<std::vector<core::ComputeTarget>> ListComputes() = 0;

  virtual absl::StatusOr<core::Sweep> GetSweep(const std::string& id) = 0;
  // Newest first: by created_ms descending; equal times, the later first inserted first.
  virtual absl::StatusOr<std::vector<core::Sweep>> ListSweeps() = 0;

  virtual absl::StatusOr<core::Trial> GetTrial(const std::string& sweep_id, int64_t trial_id) = 0;
  // Ordered by trial_id.
  virtual absl::StatusOr<std::vector<core::Trial>> ListTrials(const std::string& sweep_id) = 0;

  // Ordered by (trial_id, attempt). trial_id nullopt: all of the sweep.
  virtual absl::StatusOr<std::vector<core::Attempt>> ListAttempts(
      const std::string& sweep_id, std::optional<int64_t> trial_id) = 0;

  // Ordered by (trial_id, timestamp, insertion).
  virtual absl::StatusOr<std::vector<core::MetricPoint>> ListMetrics(
      const MetricFilter& filter) = 0;

  // Ordered by id (insertion).
  virtual absl::StatusOr<std::vector<core::Event>> ListEvents(const std::string& sweep_id) = 0;

  // Ordered by (trial_id, interval, insertion).
  virtual absl::StatusOr<std::vector<core::Decision>> ListDecisions(
      const std::string& sweep_id, std::optional<int64_t> trial_id) = 0;

  // Ordered by node_id.
  virtual absl::StatusOr<std::vector<core::Node>> ListNodes() = 0;

  // The environment `name` at `version`, or its newest version when nullopt.
  // NotFound: "environment 'x' not found" / "environment 'x' version 3 not found".
  virtual absl::StatusOr<core::Environment> GetEnvironment(const std::string& name,
                                                           std::optional<int64_t> version) = 0;
  // Ordered by (name, version).
  virtual absl::StatusOr<std::vector<core::Environment>> ListEnvironments() = 0;

  // The model `name` at `version`, or its newest version when nullopt.
  // NotFound: "model 'x' not found" / "model 'x' version 3 not found".
  virtual absl::StatusOr<core::Model> GetModel(const std::string& name,
                                               std::optional<int64_t> version) = 0;
  // Ordered by (name, version).
  virtual absl::StatusOr<std::vector<core::Model>> ListModels() = 0;

  // Largest fencing token ever stored in an attempt (0 if none); rewriting an attempt
  // with a smaller token does not lower it.
  virtual absl::StatusOr<uint64_t> MaxFencingToken() = 0;

  // The trials of a sweep that `query` selects, in its order; InvalidArgument for a
  // negative limit. The default filters and sorts ListTrials; SqliteStore selects in SQL
  // and decodes only the trials it returns.
  virtual absl::StatusOr<std::vector<core::Trial>> QueryTrials(const std::string& sweep_id,
                                                               const TrialQuery& query);
};

// True when a Commit failed because another process holds the database's lock (SQLite
// busy / locked): nothing was written and the same Commit may succeed when retried. Disk
// full and I/O errors are not busy.
bool IsBusy(const absl::Status& status);
// `status` marked busy (for Store implementations).
absl::Status MarkBusy(absl::Status status);

// Opens (creating if needed) the SQLite database at `path`, in WAL mode, and applies
// pending schema migrations (store/sqlite_schema.h). A Commit that returned OK survives
// a kill of the process (synchronous=NORMAL: not fsynced per commit, so an OS crash or
// power loss may lose the last commits). FailedPrecondition if the file is not a
// database or has a newer schema; Unavailable if it cannot be opened.
absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path);

// Same, read-only (for query commands), safe while another process writes; sees each
// writer commit as soon as it returned. NotFound naming the path if the file does not
// exist; FailedPrecondition if its schema is older (it is upgraded by a writable open)
// or newer than this binary's. Commit fails FailedPrecondition ("read-only").
absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStoreReadOnly(const std::string& path);

// Thread-safe, non-persistent; same checks, errors and orderings as SqliteStore.
std::unique_ptr<Store> NewInMemoryStore();

}  // namespace sweep::store

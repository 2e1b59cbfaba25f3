// Durable state of a workspace. The controller is the only writer; query commands
// may read concurrently from other processes (SqliteStore uses WAL).
//
// Writes go through Commit(WriteBatch): all of a batch becomes durable or none of it.
// A Commit that returned OK survives the writer process being killed at any time.
// Upserts are keyed by primary key:
//   compute: name; sweep: id; trial: (sweep_id, trial_id);
//   attempt: (sweep_id, trial_id, attempt); node: node_id.
// Metric points, events and decisions are appended.
//
// Thread safety: implementations are thread-safe.
// Errors: NotFound for missing keys on Get*, Internal/Unavailable for I/O failures,
// FailedPrecondition for a schema newer than this binary understands.
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

struct WriteBatch {
  std::vector<core::ComputeTarget> computes;
  std::vector<std::string> deleted_computes;
  std::vector<core::Sweep> sweeps;
  std::vector<core::Trial> trials;
  std::vector<core::Attempt> attempts;
  std::vector<core::MetricPoint> metrics;
  std::vector<core::Event> events;
  std::vector<core::Decision> decisions;
  std::vector<core::Node> nodes;

  bool empty() const;
  // Appends all of `other` (later upserts of the same key win).
  void Append(WriteBatch&& other);
};

struct MetricFilter {
  std::string sweep_id;
  std::optional<int64_t> trial_id;
  std::optional<std::string> name;
};

class Store {
 public:
  virtual ~Store() = default;

  virtual absl::Status Commit(const WriteBatch& batch) = 0;

  virtual absl::StatusOr<core::ComputeTarget> GetCompute(const std::string& name) = 0;
  virtual absl::StatusOr<std::vector<core::ComputeTarget>> ListComputes() = 0;

  virtual absl::StatusOr<core::Sweep> GetSweep(const std::string& id) = 0;
  // Newest first.
  virtual absl::StatusOr<std::vector<core::Sweep>> ListSweeps() = 0;

  virtual absl::StatusOr<core::Trial> GetTrial(const std::string& sweep_id,
                                               int64_t trial_id) = 0;
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

  // Ordered by (trial_id, interval).
  virtual absl::StatusOr<std::vector<core::Decision>> ListDecisions(
      const std::string& sweep_id, std::optional<int64_t> trial_id) = 0;

  virtual absl::StatusOr<std::vector<core::Node>> ListNodes() = 0;

  // Largest fencing token ever stored in an attempt (0 if none).
  virtual absl::StatusOr<uint64_t> MaxFencingToken() = 0;
};

// Opens (creating if needed) the SQLite database at `path`, in WAL mode, and applies
// pending schema migrations.
absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path);

// Same, read-only (for query commands); fails NotFound if the file does not exist.
absl::StatusOr<std::unique_ptr<Store>> OpenSqliteStoreReadOnly(const std::string& path);

std::unique_ptr<Store> NewInMemoryStore();

}  // namespace sweep::store

// Internal to SqliteStore: metric points packed into report rows (schema version 9).
//
// A commit stores each run of points of one trial as one row of `metric_reports`
// (rowid = insertion order, `trial_key`, `points`, `data`): `data` holds the points back to
// back, kPackedPointBytes each, little-endian:
//   offset 0 timestamp_ms int64, 8 value IEEE double (NaN and infinities as they are),
//   16 step int64, 24 interval int64, 32 attempt int32, 36 name id int32 (metric_names.id).
// One row per report costs one b-tree insert where a row per point cost one each (the
// store's largest cost per point); readers decode the rows of the trials they list.
//
// Thread safety: none; SqliteStore serializes every use under its mutex.
#pragma once

#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "core/types.h"
#include "store/store.h"

namespace sweep::store::sqlite_internal {

inline constexpr size_t kPackedPointBytes = 40;
// A longer run of one trial's points is split over several rows, so no row grows past
// about 320 KB.
inline constexpr size_t kMaxPointsPerRow = 8192;

// Appends the packed form of `m` (its sweep and trial are the row's) to `data`.
void PackPoint(const core::MetricPoint& m, int32_t name_id, std::string* data);

// The points of `filter` (ordered by trial, timestamp, insertion; see Store::ListMetrics).
// `names` lists metric_names (id, name); `reports` is kListMetricReports or
// kListTrialMetricReports, bound here. DataLoss naming `path` when a row does not decode.
absl::StatusOr<std::vector<core::MetricPoint>> ReadMetricReports(sqlite3_stmt* names,
                                                                 sqlite3_stmt* reports,
                                                                 const MetricFilter& filter,
                                                                 absl::string_view path);

// The 8 -> 9 migration's move, inside its transaction: packs every row of metric_points
// (in the old listing order) into metric_reports, then drops the `metrics` view and
// metric_points. A non-OK status names the failing SQLite step.
absl::Status PackVersion8Points(sqlite3* db);

}  // namespace sweep::store::sqlite_internal

#include "store/sqlite_metrics.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <memory>
#include <unordered_map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "store/sqlite_statements.h"

namespace sweep::store::sqlite_internal {
namespace {

static_assert(std::endian::native == std::endian::little,
              "packed metric points are little-endian; add byte swaps for this platform");

template <typename T>
void Put(std::string* data, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  data->append(bytes, sizeof(T));
}

template <typename T>
T Get(const char* at) {
  T value;
  std::memcpy(&value, at, sizeof(T));
  return value;
}

absl::Status SqlError(sqlite3* db, int rc, absl::string_view what) {
  return absl::Status(CodeFor(rc), absl::StrCat(what, ": ", sqlite3_errmsg(db)));
}

// Decodes one row's points into `out`; an error message when it does not decode.
std::string Unpack(absl::string_view data, int64_t points, const std::string& sweep_id,
                   int64_t trial_id, const std::unordered_map<int64_t, std::string>& names,
                   std::optional<int64_t> only_name, std::vector<core::MetricPoint>* out) {
  if (data.size() % kPackedPointBytes != 0 ||
      static_cast<int64_t>(data.size() / kPackedPointBytes) != points) {
    return absl::StrFormat("a metric report of trial %d holds %d bytes, not %d points of %d",
                           trial_id, data.size(), points, kPackedPointBytes);
  }
  for (size_t at = 0; at < data.size(); at += kPackedPointBytes) {
    const char* p = data.data() + at;
    const int64_t name_id = Get<int32_t>(p + 36);
    if (only_name && name_id != *only_name) continue;
    auto name = names.find(name_id);
    if (name == names.end()) {
      return absl::StrFormat("a metric point of trial %d names metric id %d, which is unknown",
                             trial_id, name_id);
    }
    core::MetricPoint& m = out->emplace_back();
    m.sweep_id = sweep_id;
    m.trial_id = trial_id;
    m.timestamp_ms = Get<int64_t>(p);
    m.value = Get<double>(p + 8);
    m.step = Get<int64_t>(p + 16);
    m.interval = Get<int64_t>(p + 24);
    m.attempt = Get<int32_t>(p + 32);
    m.name = name->second;
  }
  return "";
}

}  // namespace

void PackPoint(const core::MetricPoint& m, int32_t name_id, std::string* data) {
  Put<int64_t>(data, m.timestamp_ms);
  Put<double>(data, m.value);
  Put<int64_t>(data, m.step);
  Put<int64_t>(data, m.interval);
  Put<int32_t>(data, m.attempt);
  Put<int32_t>(data, name_id);
}

absl::StatusOr<std::vector<core::MetricPoint>> ReadMetricReports(sqlite3_stmt* names_stmt,
                                                                 sqlite3_stmt* reports,
                                                                 const MetricFilter& filter,
                                                                 absl::string_view path) {
  sqlite3* db = sqlite3_db_handle(reports);
  std::unordered_map<int64_t, std::string> names;
  std::optional<int64_t> only_name;
  {
    Use q(names_stmt);
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) {
      Row row(names_stmt);
      const int64_t id = row.Int();
      std::string name = row.Text();
      if (filter.name && name == *filter.name) only_name = id;
      names.emplace(id, std::move(name));
    }
    if (rc != SQLITE_DONE) return SqlError(db, rc, absl::StrCat("store '", path, "'"));
  }
  std::vector<core::MetricPoint> out;
  if (filter.name && !only_name) return out;  // a name never reported
  Use q(reports);
  q.Text(1, filter.sweep_id);
  if (filter.trial_id) q.Int(2, *filter.trial_id);
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    const int64_t trial_id = sqlite3_column_int64(reports, 0);
    const int64_t points = sqlite3_column_int64(reports, 1);
    const char* blob = static_cast<const char*>(sqlite3_column_blob(reports, 2));
    const absl::string_view data(blob ? blob : "", sqlite3_column_bytes(reports, 2));
    std::string error = Unpack(data, points, filter.sweep_id, trial_id, names, only_name, &out);
    if (!error.empty()) {
      return absl::DataLossError(absl::StrCat("store '", path, "': ", error));
    }
  }
  if (rc != SQLITE_DONE) return SqlError(db, rc, absl::StrCat("store '", path, "'"));
  // Rows come by trial, then insertion; a point keeps its place among equal timestamps.
  auto by_time = [](const core::MetricPoint& a, const core::MetricPoint& b) {
    return a.trial_id != b.trial_id ? a.trial_id < b.trial_id : a.timestamp_ms < b.timestamp_ms;
  };
  if (!std::is_sorted(out.begin(), out.end(), by_time)) {
    std::stable_sort(out.begin(), out.end(), by_time);
  }
  return out;
}

absl::Status PackVersion8Points(sqlite3* db) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db,
                              "SELECT trial_key, timestamp_ms, attempt, name_id, value, step, "
                              "interval FROM metric_points ORDER BY trial_key, timestamp_ms, seq",
                              -1, &raw, nullptr);
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> select(raw, sqlite3_finalize);
  if (rc != SQLITE_OK) return SqlError(db, rc, "reading version 8 metric points");
  raw = nullptr;
  rc = sqlite3_prepare_v2(db,
                          "INSERT INTO metric_reports (trial_key, points, data) "
                          "VALUES (?1, ?2, ?3)",
                          -1, &raw, nullptr);
  std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> insert(raw, sqlite3_finalize);
  if (rc != SQLITE_OK) return SqlError(db, rc, "packing metric points");
  std::string data;
  int64_t key = 0, points = 0;
  auto flush = [&]() -> absl::Status {
    if (points == 0) return absl::OkStatus();
    Use q(insert.get());
    q.Int(1, key).Int(2, points).Blob(3, data);
    if (int rc = q.Step(); rc != SQLITE_DONE) return SqlError(db, rc, "packing metric points");
    data.clear();
    points = 0;
    return absl::OkStatus();
  };
  Use q(select.get());
  while ((rc = q.Step()) == SQLITE_ROW) {
    Row row(select.get());
    const int64_t row_key = row.Int();
    if (row_key != key || points == static_cast<int64_t>(kMaxPointsPerRow)) {
      if (absl::Status s = flush(); !s.ok()) return s;
      key = row_key;
    }
    core::MetricPoint m;
    m.timestamp_ms = row.Int();
    m.attempt = row.Int32();
    const int64_t name_id = row.Int();
    m.value = row.Double();
    m.step = row.Int();
    m.interval = row.Int();
    if (!row.error().empty() || name_id > std::numeric_limits<int32_t>::max()) {
      return absl::DataLossError(
          absl::StrCat("a version 8 metric point does not decode: ",
                       row.error().empty() ? "its name id is too large" : row.error()));
    }
    PackPoint(m, static_cast<int32_t>(name_id), &data);
    ++points;
  }
  if (rc != SQLITE_DONE) return SqlError(db, rc, "reading version 8 metric points");
  if (absl::Status s = flush(); !s.ok()) return s;
  rc = sqlite3_exec(db, "DROP VIEW metrics; DROP TABLE metric_points;", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqlError(db, rc, "dropping version 8 metric points");
  return absl::OkStatus();
}

}  // namespace sweep::store::sqlite_internal

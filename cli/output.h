// Presentation helpers shared by the CLI commands: aligned tables, CSV, time
// formatting and the stable JSON shapes documented in README ("JSON output").
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "core/types.h"
#include "nlohmann/json.hpp"

namespace sweep::cli {

// "2026-11-27T09:30:00Z" (UTC); "" for 0.
std::string FormatTime(int64_t ms);
// "1m05s", "3.2s", "-" for negative.
std::string FormatDuration(int64_t ms);
// Shortest round-trip form; "-" for nullopt.
std::string FormatValue(std::optional<double> value);
// "lr=0.01 model=svm".
std::string FormatConfig(const core::Config& config);

// A text table with left-aligned columns separated by two spaces.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : rows_{std::move(header)} {}
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void Print(std::ostream& out) const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

// RFC 4180 field quoting.
std::string CsvField(const std::string& field);

// Counts of a sweep's trials per state and its best trial.
struct SweepSummary : core::TrialCounts {
  std::optional<core::Trial> best;
};

// Counts trials per state; best is core::BestTrial(completed_only = true).
// `sweep best`, summaries and model registration all use completed_only = true: a
// stopped trial's model is unfinished.
SweepSummary Summarize(const core::Sweep& sweep, const std::vector<core::Trial>& trials);

nlohmann::json SweepToJson(const core::Sweep& sweep, const SweepSummary& summary);
nlohmann::json TrialToJson(const core::Trial& trial, const std::string& primary_metric);
nlohmann::json MetricToJson(const core::MetricPoint& point);
nlohmann::json AttemptToJson(const core::Attempt& attempt);
nlohmann::json ComputeToJson(const core::ComputeTarget& target);

}  // namespace sweep::cli

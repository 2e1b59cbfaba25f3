#include "cli/output.h"

#include <cmath>
#include <ctime>

#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "core/compute_target.h"
#include "core/objective.h"
#include "core/time_format.h"
#include "report/html_report.h"

namespace sweep::cli {
namespace {

nlohmann::json OptionalNumber(std::optional<double> v) {
  if (!v || !std::isfinite(*v)) return nullptr;
  return *v;
}

nlohmann::json TimeOrNull(int64_t ms) {
  if (ms == 0) return nullptr;
  return FormatTime(ms);
}

// "sampled" / "enqueued" as text; "extension N" as the number N.
nlohmann::json OriginToJson(const std::string& origin) {
  absl::string_view rest = origin;
  int64_t n = 0;
  if (absl::ConsumePrefix(&rest, "extension ") && absl::SimpleAtoi(rest, &n)) return n;
  return origin;
}

}  // namespace

std::string FormatTime(int64_t ms) {
  return core::FormatEpochMs(ms, "%Y-%m-%dT%H:%M:%SZ", core::TimeZone::kUtc);
}

// One way to write a duration, in tables and in the report alike.
std::string FormatDuration(int64_t ms) { return report::FormatElapsed(ms); }

std::string FormatValue(std::optional<double> value) {
  if (!value) return "-";
  return core::ParamValueToString(*value);
}

std::string FormatConfig(const core::Config& config) {
  std::string out;
  for (const auto& [name, value] : config) {
    if (!out.empty()) out += ' ';
    out += name + "=" + core::ParamValueToString(value);
  }
  return out;
}

void Table::Print(std::ostream& out) const {
  std::vector<size_t> widths;
  for (const auto& row : rows_) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (const auto& row : rows_) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out << line << "\n";
  }
}

std::string CsvField(const std::string& field) {
  if (field.find_first_of(",\"\n\r") == std::string::npos) return field;
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

SweepSummary Summarize(const core::Sweep& sweep, const std::vector<core::Trial>& trials) {
  SweepSummary s;
  static_cast<core::TrialCounts&>(s) = core::CountTrials(trials);
  s.best = core::BestTrial(sweep, trials, /*completed_only=*/true);
  return s;
}

nlohmann::json SweepToJson(const core::Sweep& sweep, const SweepSummary& summary) {
  nlohmann::json best = nullptr;
  if (summary.best) {
    best = {{"trial_id", summary.best->trial_id},
            {"value", OptionalNumber(summary.best->final_value)},
            {"params", core::ConfigToJson(summary.best->config)}};
  }
  return {
      {"id", sweep.id},
      {"name", sweep.name},
      {"state", core::SweepStateName(sweep.state)},
      {"compute", sweep.compute},
      {"sampling_algorithm", sweep.sampling_algorithm},
      {"objective",
       {{"primary_metric", sweep.objective.primary_metric},
        {"goal", core::GoalName(sweep.objective.goal)}}},
      {"max_total_trials", sweep.max_total_trials},
      {"created_at", TimeOrNull(sweep.created_ms)},
      {"ended_at", TimeOrNull(sweep.ended_ms)},
      {"status_message", sweep.status_message},
      {"spec_path", sweep.spec_path},
      {"trials",
       {{"total", summary.total},
        {"pending", summary.pending},
        {"running", summary.running},
        {"completed", summary.completed},
        {"failed", summary.failed},
        {"early_terminated", summary.early_terminated},
        {"canceled", summary.canceled}}},
      {"best", best},
  };
}

nlohmann::json TrialToJson(const core::Trial& trial, const std::string& primary_metric) {
  nlohmann::json duration = nullptr;
  if (trial.started_ms && trial.ended_ms) duration = (trial.ended_ms - trial.started_ms) / 1000.0;
  return {
      {"sweep_id", trial.sweep_id},
      {"trial_id", trial.trial_id},
      {"state", core::TrialStateName(trial.state)},
      {"params", core::ConfigToJson(trial.config)},
      {"primary_metric", primary_metric},
      {"final_value", OptionalNumber(trial.final_value)},
      {"intervals", trial.intervals},
      {"attempts", trial.attempts},
      {"reason", trial.reason},
      {"created_at", TimeOrNull(trial.created_ms)},
      {"started_at", TimeOrNull(trial.started_ms)},
      {"ended_at", TimeOrNull(trial.ended_ms)},
      {"duration_s", duration},
      {"origin", OriginToJson(trial.origin)},
  };
}

nlohmann::json MetricToJson(const core::MetricPoint& point) {
  nlohmann::json value = point.value;
  if (!std::isfinite(point.value)) value = core::ParamValueToString(point.value);
  return {
      {"trial_id", point.trial_id},
      {"attempt", point.attempt},
      {"name", point.name},
      {"value", value},
      {"step", point.step < 0 ? nlohmann::json(nullptr) : nlohmann::json(point.step)},
      {"interval", point.interval == 0 ? nlohmann::json(nullptr) : nlohmann::json(point.interval)},
      {"timestamp", FormatTime(point.timestamp_ms)},
  };
}

nlohmann::json AttemptToJson(const core::Attempt& a) {
  return {
      {"trial_id", a.trial_id},
      {"attempt", a.attempt},
      {"node_id", a.node_id},
      {"state", core::AttemptStateName(a.state)},
      {"started_at", TimeOrNull(a.started_ms)},
      {"ended_at", TimeOrNull(a.ended_ms)},
      {"exit_code", a.exit_code},
      {"error", a.error},
  };
}

nlohmann::json ComputeToJson(const core::ComputeTarget& t) {
  nlohmann::json properties = core::ParseTargetProperties(t).value_or(nlohmann::json::object());
  return {
      {"name", t.name},
      {"type", t.type},
      {"provider", t.provider},
      {"min_nodes", t.min_nodes},
      {"max_nodes", t.max_nodes},
      {"vm_size", t.vm_size},
      {"vm_priority", t.vm_priority},
      {"idle_seconds_before_scaledown", t.idle_seconds_before_scaledown},
      {"properties", properties},
      {"created_at", TimeOrNull(t.created_ms)},
  };
}

}  // namespace sweep::cli

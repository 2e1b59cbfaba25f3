#include "cli/query_commands.h"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <set>

#include "cli/output.h"
#include "core/objective.h"
#include "core/status.h"

namespace sweep::cli {
namespace {

using nlohmann::json;

void PrintJson(const json& j) { std::cout << j.dump(2) << "\n"; }

// Last value of `metric` per trial, for sorting by a non-primary metric.
absl::StatusOr<std::map<int64_t, double>> LastValues(store::Store* store,
                                                     const std::string& sweep_id,
                                                     const std::string& metric) {
  store::MetricFilter filter;
  filter.sweep_id = sweep_id;
  filter.name = metric;
  ASSIGN_OR_RETURN(auto points, store->ListMetrics(filter));
  std::map<int64_t, double> last;
  for (const core::MetricPoint& p : points) last[p.trial_id] = p.value;
  return last;
}

}  // namespace

int CmdLs(const GlobalOptions& options) {
  auto ws = OpenForQuery(options);
  if (!ws.ok()) return ReportError(ws.status());
  store::Store* store = (*ws)->store();
  auto sweeps = store->ListSweeps();
  if (!sweeps.ok()) return ReportError(sweeps.status());
  json out = json::array();
  Table table({"ID", "NAME", "STATE", "TRIALS", "BEST", "COMPUTE", "CREATED"});
  for (const core::Sweep& sweep : *sweeps) {
    auto trials = store->ListTrials(sweep.id);
    if (!trials.ok()) return ReportError(trials.status());
    SweepSummary summary = Summarize(sweep, *trials);
    if (options.json) {
      out.push_back(SweepToJson(sweep, summary));
      continue;
    }
    std::string best = "-";
    if (summary.best) {
      best = sweep.objective.primary_metric + "=" + FormatValue(summary.best->final_value) + " (#" +
             std::to_string(summary.best->trial_id) + ")";
    }
    table.AddRow({sweep.id, sweep.name, core::SweepStateName(sweep.state),
                  std::to_string(summary.completed) + "/" + std::to_string(summary.total), best,
                  sweep.compute, FormatTime(sweep.created_ms)});
  }
  if (options.json) {
    PrintJson(out);
  } else if (sweeps->empty()) {
    std::cout << "no sweeps yet; start one with `sweep run SPEC`\n";
  } else {
    table.Print(std::cout);
  }
  return kExitOk;
}

int CmdShow(const GlobalOptions& options, const std::string& sweep_id) {
  auto snapshot = LoadSweep(options, sweep_id);
  if (!snapshot.ok()) return ReportError(snapshot.status());
  const core::Sweep* sweep = &snapshot->sweep;
  const std::vector<core::Trial>* trials = &snapshot->trials;
  auto events = snapshot->workspace->store()->ListEvents(sweep->id);
  if (!events.ok()) return ReportError(events.status());
  SweepSummary summary = Summarize(*sweep, *trials);
  constexpr size_t kRecentEvents = 20;
  size_t first_event = events->size() > kRecentEvents ? events->size() - kRecentEvents : 0;
  if (options.json) {
    json j = SweepToJson(*sweep, summary);
    json recent = json::array();
    for (size_t i = first_event; i < events->size(); ++i) {
      const core::Event& e = (*events)[i];
      recent.push_back({{"time", FormatTime(e.timestamp_ms)},
                        {"kind", e.kind},
                        {"trial_id", e.trial_id == 0 ? json(nullptr) : json(e.trial_id)},
                        {"message", e.message}});
    }
    j["recent_events"] = recent;
    PrintJson(j);
    return kExitOk;
  }
  const core::Sweep& s = *sweep;
  std::cout << "sweep      " << s.id << "  (" << s.name << ")\n"
            << "state      " << core::SweepStateName(s.state)
            << (s.status_message.empty() ? "" : ": " + s.status_message) << "\n"
            << "compute    " << s.compute << "\n"
            << "sampling   " << s.sampling_algorithm << "\n"
            << "objective  " << core::GoalName(s.objective.goal) << " "
            << s.objective.primary_metric << "\n"
            << "created    " << FormatTime(s.created_ms) << "\n";
  if (s.ended_ms) {
    std::cout << "ended      " << FormatTime(s.ended_ms) << "  (after "
              << FormatDuration(s.ended_ms - s.created_ms) << ")\n";
  }
  std::cout << "trials     " << summary.total << " of " << s.max_total_trials << ": "
            << summary.completed << " completed, " << summary.running << " running, "
            << summary.pending << " pending, " << summary.failed << " failed, "
            << summary.early_terminated << " early terminated, " << summary.canceled
            << " canceled\n";
  if (summary.best) {
    std::cout << "best       trial " << summary.best->trial_id << ": " << s.objective.primary_metric
              << "=" << FormatValue(summary.best->final_value) << "  "
              << FormatConfig(summary.best->config) << "\n";
  }
  if (!events->empty()) {
    std::cout << "\nrecent events\n";
    for (size_t i = first_event; i < events->size(); ++i) {
      const core::Event& e = (*events)[i];
      std::cout << "  " << FormatTime(e.timestamp_ms) << "  " << e.kind
                << (e.trial_id ? " #" + std::to_string(e.trial_id) : "")
                << (e.message.empty() ? "" : ": " + e.message) << "\n";
    }
  }
  return kExitOk;
}

int CmdTrials(const GlobalOptions& options, const TrialsArgs& args) {
  auto ws = OpenForQuery(options);
  if (!ws.ok()) return ReportError(ws.status());
  store::Store* store = (*ws)->store();
  auto resolved = ResolveSweep(store, args.sweep_id);
  if (!resolved.ok()) return ReportError(resolved.status());
  const core::Sweep* sweep = &*resolved;
  store::TrialQuery query;
  if (!args.state.empty()) {
    query.state = core::ParseTrialState(args.state);
    if (!query.state) {
      return ReportError(absl::InvalidArgumentError(
          "unknown trial state '" + args.state +
          "' (pending, running, completed, failed, early_terminated, canceled)"));
    }
  }
  const std::string& primary = sweep->objective.primary_metric;
  // By trial id or by the primary metric, the store selects and orders (a large sweep's
  // other trials are not read); by another metric, its last values order them here.
  const bool by_other_metric = !args.sort_metric.empty() && args.sort_metric != primary;
  if (!by_other_metric) {
    if (!args.sort_metric.empty()) {
      const bool higher_first = sweep->objective.goal == core::Goal::kMaximize && !args.ascending;
      query.order = higher_first ? store::TrialQuery::Order::kValueDescending
                                 : store::TrialQuery::Order::kValueAscending;
    }
    query.limit = std::max<int64_t>(args.top, 0);
  }
  auto queried = store->QueryTrials(sweep->id, query);
  if (!queried.ok()) return ReportError(queried.status());
  std::vector<core::Trial> trials = std::move(*queried);
  if (by_other_metric) {
    auto last = LastValues(store, sweep->id, args.sort_metric);
    if (!last.ok()) return ReportError(last.status());
    if (last->empty()) {
      return ReportError(absl::InvalidArgumentError(
          "no trial of " + sweep->id + " reported a metric named '" + args.sort_metric + "'"));
    }
    // Trials without a value go last.
    const std::map<int64_t, double>& keys = *last;
    const bool higher_first = !args.ascending;
    std::stable_sort(trials.begin(), trials.end(), [&](const core::Trial& a, const core::Trial& b) {
      auto ka = keys.find(a.trial_id), kb = keys.find(b.trial_id);
      if (ka == keys.end() || kb == keys.end()) {
        return ka != keys.end() && kb == keys.end();
      }
      return higher_first ? ka->second > kb->second : ka->second < kb->second;
    });
    if (args.top > 0 && static_cast<int64_t>(trials.size()) > args.top) trials.resize(args.top);
  }

  if (options.json) {
    json out = json::array();
    for (const core::Trial& t : trials) out.push_back(TrialToJson(t, primary));
    PrintJson(out);
    return kExitOk;
  }
  if (options.csv) {
    // Columns: fixed fields, then one column per parameter name seen (sorted).
    std::set<std::string> names;
    for (const core::Trial& t : trials) {
      for (const auto& [name, value] : t.config) names.insert(name);
    }
    std::cout << "trial_id,state," << CsvField(primary) << ",intervals,attempts,duration_s";
    for (const std::string& n : names) std::cout << "," << CsvField(n);
    std::cout << ",reason\n";
    for (const core::Trial& t : trials) {
      std::string duration;
      if (t.started_ms && t.ended_ms) {
        duration = core::ParamValueToString((t.ended_ms - t.started_ms) / 1000.0);
      }
      std::cout << t.trial_id << "," << core::TrialStateName(t.state) << ","
                << (t.final_value ? core::ParamValueToString(*t.final_value) : "") << ","
                << t.intervals << "," << t.attempts << "," << duration;
      for (const std::string& n : names) {
        auto it = t.config.find(n);
        std::cout << ","
                  << (it == t.config.end() ? "" : CsvField(core::ParamValueToString(it->second)));
      }
      std::cout << "," << CsvField(t.reason) << "\n";
    }
    return kExitOk;
  }
  Table table({"TRIAL", "STATE", primary, "INTERVALS", "DURATION", "PARAMS"});
  for (const core::Trial& t : trials) {
    // A pending trial may have started before (an interrupted attempt): not running now.
    std::string duration = (t.started_ms && t.ended_ms) ? FormatDuration(t.ended_ms - t.started_ms)
                           : t.state == core::TrialState::kRunning ? "running"
                                                                   : "-";
    std::string params = FormatConfig(t.config);
    if (!t.reason.empty() && t.state != core::TrialState::kCompleted) {
      params += "  [" + t.reason + "]";
    }
    table.AddRow({std::to_string(t.trial_id), core::TrialStateName(t.state),
                  FormatValue(t.final_value), std::to_string(t.intervals), duration, params});
  }
  table.Print(std::cout);
  return kExitOk;
}

int CmdBest(const GlobalOptions& options, const std::string& sweep_id) {
  auto ws = OpenForQuery(options);
  if (!ws.ok()) return ReportError(ws.status());
  store::Store* store = (*ws)->store();
  auto resolved = ResolveSweep(store, sweep_id);
  if (!resolved.ok()) return ReportError(resolved.status());
  const core::Sweep* sweep = &*resolved;
  // The first completed trial with the best finite value (core::BestTrial's choice), found
  // by the store without reading the others.
  auto top =
      store->QueryTrials(sweep->id, {.state = core::TrialState::kCompleted,
                                     .order = sweep->objective.goal == core::Goal::kMaximize
                                                  ? store::TrialQuery::Order::kValueDescending
                                                  : store::TrialQuery::Order::kValueAscending,
                                     .limit = 1});
  if (!top.ok()) return ReportError(top.status());
  std::optional<core::Trial> best;
  if (!top->empty() && top->front().final_value && std::isfinite(*top->front().final_value)) {
    best = std::move(top->front());
  }
  if (!best) {
    return ReportError(absl::NotFoundError("sweep " + sweep->id +
                                           " has no completed trial with a value of '" +
                                           sweep->objective.primary_metric + "' yet"));
  }
  if (options.json) {
    PrintJson(TrialToJson(*best, sweep->objective.primary_metric));
    return kExitOk;
  }
  std::cout << "best trial " << best->trial_id << " of " << sweep->id << ": "
            << sweep->objective.primary_metric << "=" << FormatValue(best->final_value) << " ("
            << core::GoalName(sweep->objective.goal) << ")\n";
  for (const auto& [name, value] : best->config) {
    std::cout << "  " << name << " = " << core::ParamValueToString(value) << "\n";
  }
  return kExitOk;
}

int CmdMetrics(const GlobalOptions& options, const std::string& sweep_id, int64_t trial_id,
               const std::string& name) {
  auto ws = OpenForQuery(options);
  if (!ws.ok()) return ReportError(ws.status());
  store::Store* store = (*ws)->store();
  auto sweep = ResolveSweep(store, sweep_id);
  if (!sweep.ok()) return ReportError(sweep.status());
  auto trial = store->GetTrial(sweep->id, trial_id);
  if (!trial.ok()) {
    return ReportError(
        absl::NotFoundError("sweep " + sweep->id + " has no trial " + std::to_string(trial_id)));
  }
  store::MetricFilter filter;
  filter.sweep_id = sweep->id;
  filter.trial_id = trial_id;
  if (!name.empty()) filter.name = name;
  auto points = store->ListMetrics(filter);
  if (!points.ok()) return ReportError(points.status());
  if (options.json) {
    json out = json::array();
    for (const core::MetricPoint& p : *points) out.push_back(MetricToJson(p));
    PrintJson(out);
    return kExitOk;
  }
  if (options.csv) {
    std::cout << "attempt,interval,step,name,value,timestamp\n";
    for (const core::MetricPoint& p : *points) {
      std::cout << p.attempt << "," << (p.interval ? std::to_string(p.interval) : "") << ","
                << (p.step >= 0 ? std::to_string(p.step) : "") << "," << CsvField(p.name) << ","
                << core::ParamValueToString(p.value) << "," << FormatTime(p.timestamp_ms) << "\n";
    }
    return kExitOk;
  }
  if (points->empty()) {
    std::cout << "trial " << trial_id << " reported no metrics"
              << (name.empty() ? "" : " named '" + name + "'") << "\n";
    return kExitOk;
  }
  Table table({"ATTEMPT", "INTERVAL", "STEP", "NAME", "VALUE", "TIME"});
  for (const core::MetricPoint& p : *points) {
    table.AddRow({std::to_string(p.attempt), p.interval ? std::to_string(p.interval) : "-",
                  p.step >= 0 ? std::to_string(p.step) : "-", p.name,
                  core::ParamValueToString(p.value), FormatTime(p.timestamp_ms)});
  }
  table.Print(std::cout);
  return kExitOk;
}

}  // namespace sweep::cli

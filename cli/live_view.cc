#include "cli/live_view.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>

#include "cli/serve.h"
#include "core/status.h"

namespace sweep::cli {
namespace {

// SGR codes.
constexpr const char* kBold = "1";
constexpr const char* kDim = "2";
constexpr const char* kGreen = "32";
constexpr const char* kRed = "31";
constexpr const char* kYellow = "33";
constexpr const char* kCyan = "36";
constexpr const char* kBoldGreen = "1;32";

class Painter {
 public:
  explicit Painter(bool color) : color_(color) {}
  std::string operator()(const std::string& text, const char* sgr) const {
    if (!color_ || text.empty()) return text;
    return std::string("\x1b[") + sgr + "m" + text + "\x1b[0m";
  }

 private:
  bool color_;
};

std::string Pad(std::string text, size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

// "label    " in the frame's first column.
std::string Label(const Painter& paint, const std::string& label) {
  return paint(Pad(label, 9), kDim);
}

std::string Count(const Painter& paint, int64_t n, const std::string& what, const char* sgr) {
  std::string text = std::to_string(n) + " " + what;
  return n > 0 ? paint(text, sgr) : text;
}

std::string ProgressBar(const LiveSnapshot& s, const Painter& paint) {
  const SweepSummary& c = s.summary;
  int64_t ended = c.completed + c.failed + c.early_terminated + c.canceled;
  int64_t total = std::max<int64_t>(s.sweep.max_total_trials, c.total);
  constexpr int kBar = 24;
  int filled = total > 0 ? static_cast<int>(kBar * ended / total) : 0;
  int running = total > 0 ? static_cast<int>(kBar * c.running / total) : 0;
  running = std::min(running, kBar - filled);
  return "[" + paint(std::string(filled, '#'), kGreen) + paint(std::string(running, '>'), kCyan) +
         std::string(kBar - filled - running, '.') + "] " + std::to_string(ended) + " of " +
         std::to_string(total) + " trials ended";
}

// The running trials as an aligned table, appended to `lines`.
void RunningTable(const LiveSnapshot& s, const LiveStyle& style, const Painter& paint,
                  std::vector<std::string>& lines) {
  const std::string& metric = s.sweep.objective.primary_metric;
  std::vector<std::vector<std::string>> rows = {
      {"TRIAL", "NODE", "INTERVAL", metric, "FOR", "PARAMS"}};
  size_t shown = std::min<size_t>(s.running.size(), static_cast<size_t>(style.max_running));
  for (size_t i = 0; i < shown; ++i) {
    const RunningTrialView& r = s.running[i];
    rows.push_back({std::to_string(r.trial_id), r.node_id.empty() ? "-" : r.node_id,
                    r.interval > 0 ? std::to_string(r.interval) : "-", FormatValue(r.latest),
                    r.started_ms > 0 ? FormatDuration(s.now_ms - r.started_ms) : "-",
                    FormatConfig(r.config)});
  }
  std::vector<size_t> widths(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (size_t r = 0; r < rows.size(); ++r) {
    std::string line;
    for (size_t i = 0; i < rows[r].size(); ++i) {
      line += i + 1 < rows[r].size() ? Pad(rows[r][i], widths[i] + 2) : rows[r][i];
    }
    lines.push_back((r == 0 ? Label(paint, "running") : std::string(9, ' ')) +
                    (r == 0 ? paint(line, kDim) : line));
  }
  if (s.running.size() > shown) {
    lines.push_back(std::string(9, ' ') + "... and " + std::to_string(s.running.size() - shown) +
                    " more");
  }
}

}  // namespace

absl::StatusOr<LiveSnapshot> LoadLiveSnapshot(store::Store* store, const std::string& sweep_id,
                                              int64_t now_ms) {
  LiveSnapshot s;
  s.now_ms = now_ms;
  ASSIGN_OR_RETURN(s.sweep, store->GetSweep(sweep_id));
  ASSIGN_OR_RETURN(std::vector<core::Trial> trials, store->ListTrials(sweep_id));
  s.summary = Summarize(s.sweep, trials);
  ASSIGN_OR_RETURN(std::vector<core::Attempt> attempts, store->ListAttempts(sweep_id, {}));
  std::map<int64_t, const core::Attempt*> latest;  // ordered by (trial, attempt): last wins
  for (const core::Attempt& a : attempts) latest[a.trial_id] = &a;
  for (const core::Trial& t : trials) {
    if (t.state != core::TrialState::kRunning) continue;
    RunningTrialView& r = s.running.emplace_back();
    r.trial_id = t.trial_id;
    r.config = t.config;
    r.started_ms = t.started_ms;
    int32_t attempt = 0;
    if (auto it = latest.find(t.trial_id); it != latest.end()) {
      r.node_id = it->second->node_id;
      attempt = it->second->attempt;
      if (it->second->started_ms > 0) r.started_ms = it->second->started_ms;
    }
    store::MetricFilter filter;
    filter.sweep_id = sweep_id;
    filter.trial_id = t.trial_id;
    filter.name = s.sweep.objective.primary_metric;
    ASSIGN_OR_RETURN(std::vector<core::MetricPoint> points, store->ListMetrics(filter));
    for (const core::MetricPoint& p : points) {
      if (p.attempt != attempt || p.interval <= 0) continue;
      r.latest = p.value;
      r.interval = p.interval;
    }
  }
  ASSIGN_OR_RETURN(std::vector<core::Event> events, store->ListEvents(sweep_id));
  size_t first = events.size() > kLiveRecentEvents ? events.size() - kLiveRecentEvents : 0;
  s.recent.assign(events.begin() + static_cast<long>(first), events.end());
  return s;
}

Pace ComputePace(const LiveSnapshot& s) {
  Pace pace;
  int64_t end = s.sweep.ended_ms > 0 ? s.sweep.ended_ms : s.now_ms;
  pace.elapsed_ms = std::max<int64_t>(0, end - s.sweep.created_ms);
  const SweepSummary& c = s.summary;
  int64_t ended = c.completed + c.failed + c.early_terminated + c.canceled;
  if (pace.elapsed_ms > 0) pace.per_minute = ended * 60'000.0 / pace.elapsed_ms;
  if (ended > 0 && !core::IsTerminal(s.sweep.state)) {
    int64_t left = std::max<int64_t>(0, s.sweep.max_total_trials - ended);
    pace.eta_ms = static_cast<int64_t>(std::llround(left * 60'000.0 / pace.per_minute));
  }
  return pace;
}

std::vector<std::string> RenderLiveView(const LiveSnapshot& s, const LiveStyle& style) {
  Painter paint(style.color);
  const SweepSummary& c = s.summary;
  std::vector<std::string> lines;
  std::string state = core::SweepStateName(s.sweep.state);
  const char* state_sgr = s.sweep.state == core::SweepState::kCompleted ? kBoldGreen
                          : s.sweep.state == core::SweepState::kRunning ? kBold
                                                                        : kRed;
  lines.push_back(Label(paint, "sweep") + paint(s.sweep.id, kBold) + "  " + s.sweep.name + "  " +
                  paint(state, state_sgr) + "  " + s.sweep.sampling_algorithm + " on " +
                  s.sweep.compute + ", " + core::GoalName(s.sweep.objective.goal) + " " +
                  s.sweep.objective.primary_metric);
  lines.push_back(Label(paint, "progress") + ProgressBar(s, paint));
  lines.push_back(Label(paint, "trials") + Count(paint, c.completed, "completed", kGreen) + "  " +
                  Count(paint, c.running, "running", kCyan) + "  " + std::to_string(c.pending) +
                  " pending  " + Count(paint, c.failed, "failed", kRed) + "  " +
                  Count(paint, c.early_terminated, "early terminated", kYellow) + "  " +
                  std::to_string(c.canceled) + " canceled");
  if (c.best) {
    lines.push_back(Label(paint, "best") +
                    paint(s.sweep.objective.primary_metric + "=" + FormatValue(c.best->final_value),
                          kBoldGreen) +
                    " (trial " + std::to_string(c.best->trial_id) + ")  " +
                    FormatConfig(c.best->config));
  } else {
    lines.push_back(Label(paint, "best") + "no completed trial yet");
  }
  Pace pace = ComputePace(s);
  char rate[32];
  std::snprintf(rate, sizeof rate, "%.1f", pace.per_minute);
  lines.push_back(Label(paint, "pace") + rate + " trials/min   elapsed " +
                  FormatDuration(pace.elapsed_ms) + "   ETA " +
                  (pace.eta_ms ? FormatDuration(*pace.eta_ms) : std::string("-")));
  if (!s.running.empty()) RunningTable(s, style, paint, lines);
  for (size_t i = 0; i < s.recent.size(); ++i) {
    lines.push_back((i == 0 ? Label(paint, "events") : std::string(9, ' ')) +
                    FormatEventLine(s.recent[i]));
  }
  for (std::string& line : lines) line = FitToWidth(line, style.width - 1);
  return lines;
}

std::string FitToWidth(const std::string& text, int width) {
  std::string out;
  int visible = 0;
  bool cut = false;
  for (size_t i = 0; i < text.size();) {
    if (text[i] == '\x1b') {  // copy an escape sequence whole: ESC [ ... letter
      size_t end = text.find_first_of("ABCDEFGHJKSTfmnsu", i + 1);
      end = end == std::string::npos ? text.size() : end + 1;
      out.append(text, i, end - i);
      i = end;
      continue;
    }
    size_t len = 1;  // one UTF-8 code point
    while (i + len < text.size() && (static_cast<unsigned char>(text[i + len]) & 0xC0) == 0x80) {
      ++len;
    }
    if (visible >= width) {
      cut = true;
      break;
    }
    out.append(text, i, len);
    ++visible;
    i += len;
  }
  if (cut && out.find('\x1b') != std::string::npos) out += "\x1b[0m";
  return out;
}

bool ColorWanted() {
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && *no_color != '\0') return false;
  const char* term = std::getenv("TERM");
  return term == nullptr || std::string(term) != "dumb";
}

}  // namespace sweep::cli

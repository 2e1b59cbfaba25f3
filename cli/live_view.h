// The live view of a running sweep (`sweep run` on a terminal, `sweep watch`): a compact
// frame redrawn in place. LoadLiveSnapshot reads what it shows from a store;
// RenderLiveView turns that into lines, a pure function of the snapshot.
//
// Thread safety: plain values and free functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/output.h"
#include "core/types.h"
#include "store/store.h"

namespace sweep::cli {

struct RunningTrialView {
  int64_t trial_id = 0;
  std::string node_id;
  int64_t started_ms = 0;
  std::optional<double> latest;  // the latest report of the primary metric
  int64_t interval = 0;          // its interval (0 before the first report)
  core::Config config;
};

struct LiveSnapshot {
  core::Sweep sweep;
  SweepSummary summary;                   // counts per state and the best completed trial
  std::vector<RunningTrialView> running;  // by trial id
  std::vector<core::Event> recent;        // the last few events, oldest first
  int64_t now_ms = 0;
};

constexpr size_t kLiveRecentEvents = 5;

// Reads the sweep, its trials, the running trials' latest attempt (node) and metric
// report, and the last kLiveRecentEvents events. Errors are the store's.
absl::StatusOr<LiveSnapshot> LoadLiveSnapshot(store::Store* store, const std::string& sweep_id,
                                              int64_t now_ms);

struct LiveStyle {
  int width = 100;      // columns; every line is cut to width - 1
  bool color = true;    // ANSI colours (off for NO_COLOR)
  int max_running = 8;  // running trials listed; more are counted
};

// Trials that ended per minute since the sweep started (until it ended), and the time
// the trials left to reach max_total_trials would take at that pace.
struct Pace {
  double per_minute = 0;
  int64_t elapsed_ms = 0;
  std::optional<int64_t> eta_ms;  // nullopt before any trial ended, or after the end
};
Pace ComputePace(const LiveSnapshot& snapshot);

// The frame: header, progress, counts, best so far, pace, running trials, last events.
std::vector<std::string> RenderLiveView(const LiveSnapshot& snapshot, const LiveStyle& style);

// `text` cut to `width` visible characters (ANSI sequences do not count; UTF-8 code points
// count one each), with colours reset at the end when cut.
std::string FitToWidth(const std::string& text, int width);

// True when colours may be used: NO_COLOR is unset or empty and TERM is not "dumb".
bool ColorWanted();

}  // namespace sweep::cli

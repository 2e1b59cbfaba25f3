// `sweep watch SWEEP` and the live view loop it shares with `sweep run`.
//
// On a terminal (and without --plain) the view is redrawn in place (cli/live_view.h);
// Ctrl-C asks whether to cancel the sweep or to detach from it (watch) / keep waiting
// (run: its controller lives in the process, so it cannot be left running). Otherwise
// the events are printed as log lines, as `sweep run` always did.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "cli/context.h"
#include "core/types.h"
#include "store/store.h"

namespace sweep::cli {

struct WatchArgs {
  std::string sweep_id;
  bool plain = false;  // log lines even on a terminal
};
// Follows a sweep until it ends (exit 0 when it completed, 1 when it failed or was
// canceled) or the user detaches (exit 0).
int CmdWatch(const GlobalOptions& options, const WatchArgs& args);

// What the live loop drives.
struct LiveSession {
  store::Store* store = nullptr;  // read for every frame
  std::string sweep_id;
  // The sweep's state once it ended; nullopt while it runs.
  std::function<absl::StatusOr<std::optional<core::SweepState>>()> ended;
  std::function<absl::Status()> cancel;
  // watch: Ctrl-C offers to detach; run: to keep waiting (a second Ctrl-C leaves).
  bool can_detach = false;
};

enum class LiveEnd {
  kEnded,     // the sweep ended; `state` says how
  kDetached,  // the user left the sweep running (watch only)
  kLeft,      // Ctrl-C twice: leave now (run: its nodes are stopped)
};
struct LiveResult {
  LiveEnd end = LiveEnd::kEnded;
  core::SweepState state = core::SweepState::kRunning;
};

// Draws the live view until the sweep ends or the user leaves. Requires a terminal on
// stdout and InstallInterruptHandlers() (cli/serve.h) to have been called.
LiveResult RunLiveView(const LiveSession& session);

}  // namespace sweep::cli

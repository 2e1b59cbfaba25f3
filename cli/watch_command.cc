#include "cli/watch_command.h"

#include <chrono>
#include <iostream>
#include <thread>

#include "cli/live_terminal.h"
#include "cli/live_view.h"
#include "cli/run_command.h"
#include "cli/serve.h"
#include "core/clock.h"

namespace sweep::cli {
namespace {

constexpr int kKeyPollMs = 100;  // how long a loop turn waits for a key
constexpr int kFrameMs = 500;    // redraw period
constexpr int kPlainPollMs = 1000;

int64_t NowMillis() { return core::SystemClock::Default()->NowMillis(); }

// The question Ctrl-C asks, and what the keys do.
std::string Prompt(const LiveSession& s) {
  return s.can_detach
             ? "Ctrl-C: [c] cancel " + s.sweep_id +
                   "  [d] detach (it keeps running)  [w] keep watching"
             : "Ctrl-C: [c] cancel " + s.sweep_id +
                   "  [w] keep waiting  (Ctrl-C again: stop now; nodes are stopped and the "
                   "sweep resumes on the next `sweep run`)";
}

std::string Hint(const LiveSession& s) {
  return s.can_detach ? "Ctrl-C to cancel the sweep or detach" : "Ctrl-C to cancel the sweep";
}

std::optional<core::SweepState> TerminalState(store::Store* store, const std::string& id,
                                              absl::Status* error) {
  absl::StatusOr<core::Sweep> sweep = store->GetSweep(id);
  if (!sweep.ok()) {
    *error = sweep.status();
    return std::nullopt;
  }
  *error = absl::OkStatus();
  if (!core::IsTerminal(sweep->state)) return std::nullopt;
  return sweep->state;
}

// Log lines of the sweep's events until it ends or Ctrl-C (which only stops watching).
int PlainWatch(const GlobalOptions& options, store::Store* store, const core::Sweep& sweep) {
  int64_t last_event = 0;
  bool first = true;
  while (true) {
    absl::StatusOr<std::vector<core::Event>> events = store->ListEvents(sweep.id);
    if (!events.ok()) return ReportError(events.status());
    // Only the recent past on the first read, like `sweep show`.
    size_t from = first && events->size() > 20 ? events->size() - 20 : 0;
    first = false;
    for (size_t i = from; i < events->size(); ++i) {
      if ((*events)[i].id <= last_event) continue;
      last_event = (*events)[i].id;
      if (!options.json) std::cout << FormatEventLine((*events)[i]) << std::endl;
    }
    absl::Status error;
    std::optional<core::SweepState> ended = TerminalState(store, sweep.id, &error);
    if (!error.ok()) return ReportError(error);
    if (ended) {
      PrintSweepSummary(store, sweep.id, options.json);
      return *ended == core::SweepState::kCompleted ? kExitOk : kExitFailure;
    }
    for (int waited = 0; waited < kPlainPollMs && Interrupts() == 0; waited += kKeyPollMs) {
      std::this_thread::sleep_for(std::chrono::milliseconds(kKeyPollMs));
    }
    if (Interrupts() > 0) {
      std::cerr << "sweep: stopped watching " << sweep.id << "; it keeps running\n";
      return kExitOk;
    }
  }
}

}  // namespace

LiveResult RunLiveView(const LiveSession& session) {
  LiveTerminal terminal;
  LiveStyle style;
  style.color = ColorWanted();
  int seen_interrupts = Interrupts();
  bool asking = false;  // the Ctrl-C question is on screen
  bool cancel_sent = false;
  std::string status_line;  // "canceling ..." / an error
  auto last_frame = std::chrono::steady_clock::now() - std::chrono::hours(1);
  while (true) {
    std::optional<char> key = terminal.ReadKey(kKeyPollMs);
    bool changed = false, cancel = false;
    if (Interrupts() > seen_interrupts) {
      seen_interrupts = Interrupts();
      key.reset();
      if (session.can_detach && (asking || !terminal.reads_keys())) return {LiveEnd::kDetached};
      if (asking || (!terminal.reads_keys() && cancel_sent)) return {LiveEnd::kLeft};
      // Without a keyboard there is nothing to ask: `run` cancels, as it always did.
      cancel = !terminal.reads_keys();
      asking = terminal.reads_keys();
      changed = true;
    }
    if (asking && key) {  // the answer; any other key dismisses the question
      asking = false;
      changed = true;
      if (*key == 'd' && session.can_detach) return {LiveEnd::kDetached};
      cancel = *key == 'c' || *key == 'C';
    }
    if (cancel && !cancel_sent) {
      cancel_sent = true;
      absl::Status s = session.cancel();
      status_line = s.ok() ? "canceling " + session.sweep_id + ": waiting for its trials to stop"
                           : "cancel failed: " + std::string(s.message());
    }
    auto now = std::chrono::steady_clock::now();
    if (!changed && now - last_frame < std::chrono::milliseconds(kFrameMs)) continue;
    last_frame = now;
    absl::StatusOr<std::optional<core::SweepState>> ended = session.ended();
    std::vector<std::string> lines;
    style.width = terminal.Width();
    absl::StatusOr<LiveSnapshot> snapshot =
        LoadLiveSnapshot(session.store, session.sweep_id, NowMillis());
    if (snapshot.ok()) {
      lines = RenderLiveView(*snapshot, style);
    } else {
      lines.push_back("sweep " + session.sweep_id + ": " +
                      std::string(snapshot.status().message()));
    }
    if (!ended.ok()) lines.push_back(std::string(ended.status().message()));
    bool over = ended.ok() && ended->has_value();
    if (!over) {
      if (!status_line.empty()) lines.push_back(status_line);
      std::string last = asking ? Prompt(session) : Hint(session);
      lines.push_back(
          FitToWidth(style.color ? (asking ? "\x1b[7m" : "\x1b[2m") + last + "\x1b[0m" : last,
                     style.width - 1));
    }
    terminal.Draw(lines);
    if (over) {
      terminal.Finish();
      return {LiveEnd::kEnded, **ended};
    }
  }
}

int CmdWatch(const GlobalOptions& options, const WatchArgs& args) {
  auto source = OpenForQuery(options);
  if (!source.ok()) return ReportError(source.status());
  store::Store* store = (*source)->store();
  auto sweep = ResolveSweep(store, args.sweep_id);
  if (!sweep.ok()) return ReportError(sweep.status());
  InstallInterruptHandlers();
  if (args.plain || options.json || !StdoutIsTerminal()) return PlainWatch(options, store, *sweep);

  LiveSession session;
  session.store = store;
  session.sweep_id = sweep->id;
  session.can_detach = true;
  session.ended = [&]() -> absl::StatusOr<std::optional<core::SweepState>> {
    absl::Status error;
    std::optional<core::SweepState> state = TerminalState(store, sweep->id, &error);
    if (!error.ok()) return error;
    return state;
  };
  session.cancel = [&] { return CancelSweepOf(options, **source, *sweep); };
  LiveResult result = RunLiveView(session);
  if (result.end == LiveEnd::kDetached) {
    std::string again = "sweep watch " + sweep->id;
    if (!options.server.empty()) again += " --server " + options.server;
    std::cout << "detached from " << sweep->id << "; it keeps running (`" << again
              << "` to look again)\n";
    return kExitOk;
  }
  PrintSweepSummary(store, sweep->id, /*json=*/false);
  return result.state == core::SweepState::kCompleted ? kExitOk : kExitFailure;
}

}  // namespace sweep::cli

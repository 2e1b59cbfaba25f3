#include "cli/run_command.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <iostream>
#include <mutex>

#include "cli/extend_commands.h"
#include "cli/live_terminal.h"
#include "cli/output.h"
#include "cli/serve.h"
#include "cli/watch_command.h"
#include "controller/controller.h"
#include "core/env.h"
#include "rpc/admin_client.h"
#include "rpc/worker_client.h"
#include "spec/spec.h"
#include "worker/agent.h"
#include "workspace/admin.h"
#include "workspace/workspace_lock.h"

namespace sweep::cli {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  absl::StatusOr<std::string> text = core::Env::Default()->ReadFile(path);
  if (!text.ok()) return absl::NotFoundError("cannot read " + path);
  return text;
}

}  // namespace

void PrintSweepSummary(store::Store* store, const std::string& sweep_id, bool json) {
  auto sweep = store->GetSweep(sweep_id);
  auto trials = store->ListTrials(sweep_id);
  if (!sweep.ok() || !trials.ok()) return;
  SweepSummary summary = Summarize(*sweep, *trials);
  if (json) {
    std::cout << SweepToJson(*sweep, summary).dump(2) << "\n";
    return;
  }
  std::cout << "\nsweep " << sweep->id << " " << core::SweepStateName(sweep->state) << " after "
            << FormatDuration(sweep->ended_ms - sweep->created_ms);
  if (!sweep->status_message.empty()) std::cout << ": " << sweep->status_message;
  std::cout << "\n";
  if (summary.best) {
    std::cout << "best trial " << summary.best->trial_id << ": " << sweep->objective.primary_metric
              << "=" << FormatValue(summary.best->final_value) << "  "
              << FormatConfig(summary.best->config) << "\n";
  } else {
    std::cout << "no trial completed with a value of '" << sweep->objective.primary_metric << "'\n";
  }
  std::cout << "details: sweep trials " << sweep->id << "\n";
}

namespace {

constexpr const char* kLeavingNow =
    "sweep: interrupted again; leaving now (the sweep resumes on the next `sweep run` of this "
    "workspace)\n";

// Waits for the sweep's end, printing nothing; the first Ctrl-C cancels it, the second
// leaves at once.
core::SweepState WaitPlain(controller::Controller* ctrl, const std::string& sweep_id) {
  bool cancel_sent = false;
  while (true) {
    auto waited = ctrl->WaitForSweep(sweep_id, 200);
    if (waited.ok()) return *waited;
    if (!absl::IsDeadlineExceeded(waited.status())) {
      std::cerr << "sweep: error: " << waited.status().message() << "\n";
      return core::SweepState::kFailed;
    }
    int interrupts = Interrupts();
    if (interrupts >= 2) {
      std::cerr << kLeavingNow;
      return core::SweepState::kFailed;
    }
    if (interrupts == 1 && !cancel_sent) {
      std::cerr << "sweep: canceling " << sweep_id << " (interrupt again to leave at once)\n";
      if (absl::Status s = ctrl->CancelSweep(sweep_id); !s.ok()) {
        std::cerr << "sweep: error: " << s.message() << "\n";
      }
      cancel_sent = true;
    }
  }
}

// The live view (cli/watch_command.h) until the sweep ends; Ctrl-C asks whether to cancel.
core::SweepState WaitLive(controller::Controller* ctrl, store::Store* store,
                          const std::string& sweep_id) {
  LiveSession session;
  session.store = store;
  session.sweep_id = sweep_id;
  session.can_detach = false;  // the controller lives in this process
  session.ended = [&]() -> absl::StatusOr<std::optional<core::SweepState>> {
    absl::StatusOr<core::SweepState> waited = ctrl->WaitForSweep(sweep_id, 0);
    if (waited.ok()) return std::optional<core::SweepState>(*waited);
    if (absl::IsDeadlineExceeded(waited.status())) return std::optional<core::SweepState>();
    return waited.status();
  };
  session.cancel = [&] { return ctrl->CancelSweep(sweep_id); };
  LiveResult result = RunLiveView(session);
  if (result.end == LiveEnd::kLeft) {
    std::cerr << kLeavingNow;
    return core::SweepState::kFailed;
  }
  return result.state;
}

}  // namespace

int CmdRun(const GlobalOptions& options, const RunArgs& args) {
  auto spec = spec::LoadSpecFile(args.spec_path);
  if (!spec.ok()) {
    std::cerr << spec.status().message() << "\n";
    return kExitUsage;
  }
  spec::AddWarmStartSweeps(*spec, args.warm_start);
  auto spec_text = ReadFile(args.spec_path);
  if (!spec_text.ok()) return ReportError(spec_text.status());
  return RunSweepHere(
      options, args, spec->compute,
      [&](controller::Controller& ctrl) { return ctrl.SubmitSweep(*spec, *spec_text); },
      ReportSubmitError);
}

int RunSweepHere(const GlobalOptions& options, const RunArgs& args, const std::string& compute,
                 const std::function<absl::StatusOr<std::string>(controller::Controller&)>& start,
                 const std::function<int(const absl::Status&)>& on_start_error) {
  if (args.snapshot_max_mb < 1 || args.artifact_max_mb < 1) {
    return ReportError(
        absl::InvalidArgumentError("--snapshot-max-mb and --artifact-max-mb must be at least 1"));
  }
  ServeOptions serve_options;
  serve_options.listen = args.listen;
  serve_options.lease_seconds = args.lease_seconds;
  serve_options.node_wait_seconds = args.node_wait_seconds;
  serve_options.snapshot_max_bytes = args.snapshot_max_mb << 20;
  serve_options.artifact_max_bytes = args.artifact_max_mb << 20;
  serve_options.tls_cert_file = options.tls_cert;
  serve_options.tls_key_file = options.tls_key;
  serve_options.tls_ca_file = options.tls_ca;
  auto served = ServedController::Start(WorkspaceDir(options), serve_options);
  if (!served.ok()) return ReportError(served.status());
  controller::Controller* ctrl = &(*served)->controller();
  workspace::Workspace* ws = &(*served)->workspace();

  // Progress lines for this sweep only, printed once its id line is out.
  std::mutex print_mu;
  std::string sweep_id;
  // On a terminal the live view replaces the log lines (cli/watch_command.h).
  const bool live = !args.quiet && !args.plain && !options.json && StdoutIsTerminal();
  bool quiet = args.quiet || options.json || live;
  ctrl->SetEventListener([&](const core::Event& e) {
    if (quiet) return;
    std::lock_guard<std::mutex> lock(print_mu);
    if (sweep_id.empty() || (e.sweep_id != sweep_id && !e.sweep_id.empty())) return;
    std::cout << FormatEventLine(e) << std::endl;
  });

  absl::StatusOr<std::string> started = start(*ctrl);
  if (!started.ok()) {
    (*served)->Stop();
    return on_start_error(started.status());
  }
  {
    std::lock_guard<std::mutex> lock(print_mu);
    sweep_id = *started;
    // With --json, stdout is one JSON object (the summary, which has the id); the live
    // view shows the id in its frame.
    if (!options.json && !live) std::cout << sweep_id << std::endl;
  }
  if (args.listen != RunArgs().listen && !args.quiet && !options.json) {
    std::cout << "controller listening on " << (*served)->address()
              << "; to add a node from another machine, copy " << ws->token_path()
              << " there and run:\n  sweep worker --server <this-host>:" << (*served)->port()
              << " --compute " << compute << " --token-file <copied token file>" << std::endl;
  }

  InstallInterruptHandlers();
  (*served)->Run();
  core::SweepState state = live ? WaitLive(ctrl, ws->store(), sweep_id) : WaitPlain(ctrl, sweep_id);
  (*served)->Stop();
  PrintSweepSummary(ws->store(), sweep_id, options.json);
  return state == core::SweepState::kCompleted ? kExitOk : kExitFailure;
}

int CmdWorker(const GlobalOptions& options, const WorkerArgs& args) {
  std::string token_file =
      args.token_file.empty() ? WorkspaceDir(options) + "/token" : args.token_file;
  auto token = worker::ReadTokenFile(token_file);
  if (!token.ok()) return ReportError(token.status());
  worker::WorkerOptions worker_options;
  worker_options.server = args.server;
  worker_options.compute = args.compute;
  worker_options.token = *token;
  worker_options.node_id = args.node_id;
  worker_options.work_dir = args.work_dir;
  worker_options.max_idle_polls = args.max_idle_polls;
  worker_options.keep_attempts = args.keep_attempts;
  worker_options.tls_ca_file = options.tls_ca;
  return rpc::RunWorker(worker_options, worker::InstallStopSignalHandlers());
}

absl::Status CancelSweepOf(const GlobalOptions& options, const QuerySource& source,
                           const core::Sweep& sweep) {
  return ChangeSweep(
      options, source.workspace.get(), "sweep cancel",
      [&](const std::string& address, const std::string& token) {
        return rpc::CancelViaServer(address, token, sweep.id);
      },
      [&](controller::Controller& ctrl) { return ctrl.CancelSweep(sweep.id); });
}

int CmdCancel(const GlobalOptions& options, const std::string& sweep_id) {
  auto source = OpenForQuery(options, /*create=*/true);
  if (!source.ok()) return ReportError(source.status());
  auto sweep = ResolveSweep((*source)->store(), sweep_id);
  if (!sweep.ok()) return ReportError(sweep.status());
  if (core::IsTerminal(sweep->state)) {
    return ReportError(absl::FailedPreconditionError("sweep " + sweep->id + " already ended (" +
                                                     core::SweepStateName(sweep->state) + ")"));
  }
  absl::Status status = CancelSweepOf(options, **source, *sweep);
  if (!status.ok()) return ReportError(status);
  if (options.json) {
    std::cout << nlohmann::json{{"id", sweep->id}, {"state", "canceled"}}.dump() << "\n";
  } else {
    std::cout << "canceled " << sweep->id << "\n";
  }
  return kExitOk;
}

}  // namespace sweep::cli

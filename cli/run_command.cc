#include "cli/run_command.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>

#include "cli/output.h"
#include "controller/controller.h"
#include "controller/admin_client.h"
#include "controller/grpc_service.h"
#include "controller/local_provider.h"
#include "spec/spec.h"
#include "worker/agent.h"

namespace sweep::cli {
namespace {

namespace fs = std::filesystem;

std::atomic<int> g_interrupts{0};

void OnInterrupt(int) { g_interrupts.fetch_add(1); }

std::string ClockTime(int64_t ms) {
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  localtime_r(&seconds, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

// "trial_completed" about trial 3 -> "trial 3 completed"; others: underscores to spaces.
std::string EventLabel(const core::Event& e) {
  std::string kind = e.kind;
  if (kind == "best_improved") return "best so far";
  if (kind.rfind("trial_", 0) == 0 && e.trial_id) {
    kind = "trial " + std::to_string(e.trial_id) + " " + kind.substr(6);
  } else if (e.trial_id) {
    kind += " (trial " + std::to_string(e.trial_id) + ")";
  }
  for (char& c : kind) {
    if (c == '_') c = ' ';
  }
  return kind;
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Errors from submitting are the user's to fix (unknown or unsuitable target, bad
// spec): exit 2; store or internal failures: 1.
int ReportSubmitError(const absl::Status& status) {
  std::cerr << "sweep: error: " << status.message() << "\n";
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kFailedPrecondition:
      return kExitUsage;
    default:
      return kExitFailure;
  }
}

void PrintSummary(store::Store* store, const std::string& sweep_id, bool json) {
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
    std::cout << "best trial " << summary.best->trial_id << ": "
              << sweep->objective.primary_metric << "="
              << FormatValue(summary.best->final_value) << "  "
              << FormatConfig(summary.best->config) << "\n";
  } else {
    std::cout << "no trial completed with a value of '" << sweep->objective.primary_metric
              << "'\n";
  }
  std::cout << "details: sweep trials " << sweep->id << "\n";
}

// Host part of a listen address; local workers dial loopback when it is a wildcard.
std::string DialAddress(const std::string& bound) {
  size_t colon = bound.rfind(':');
  std::string host = bound.substr(0, colon), port = bound.substr(colon + 1);
  if (host == "0.0.0.0" || host == "[::]" || host == "::" || host.empty()) host = "127.0.0.1";
  return host + ":" + port;
}

}  // namespace

int CmdRun(const GlobalOptions& options, const RunArgs& args) {
  auto spec = spec::LoadSpecFile(args.spec_path);
  if (!spec.ok()) {
    std::cerr << spec.status().message() << "\n";
    return kExitUsage;
  }
  auto spec_text = ReadFile(args.spec_path);
  if (!spec_text.ok()) return ReportError(spec_text.status());
  if (args.lease_seconds < 1) {
    return ReportError(absl::InvalidArgumentError("--lease-seconds must be at least 1"));
  }

  auto ws = controller::Workspace::OpenOrCreate(WorkspaceDir(options));
  if (!ws.ok()) return ReportError(ws.status());
  if (auto running = (*ws)->ReadControllerAddress()) {
    return ReportError(absl::FailedPreconditionError(
        "workspace " + (*ws)->dir() + " is already served by a controller (pid " +
        std::to_string(running->pid) + " at " + running->address +
        "); wait for it to finish or use another --workspace"));
  }

  controller::ControllerOptions controller_options;
  controller_options.lease_duration_ms = args.lease_seconds * 1000;
  controller_options.workspace_dir = (*ws)->dir();
  controller_options.heartbeat_interval_ms =
      std::max<int64_t>(200, controller_options.lease_duration_ms / 6);
  auto ctrl = controller::Controller::Create((*ws)->store(), controller_options);
  if (!ctrl.ok()) return ReportError(ctrl.status());

  controller::GrpcServerOptions server_options;
  server_options.listen_address = args.listen;
  server_options.token = (*ws)->token();
  auto server = controller::GrpcServer::Start(ctrl->get(), server_options);
  if (!server.ok()) return ReportError(server.status());
  std::string dial = DialAddress((*server)->address());

  std::error_code ec;
  std::string self = fs::read_symlink("/proc/self/exe", ec).string();
  controller::LocalNodeProviderOptions provider_options;
  provider_options.binary = self;
  provider_options.server_address = dial;
  provider_options.token_file = (*ws)->token_path();
  provider_options.log_dir = (*ws)->dir() + "/logs";
  provider_options.work_dir = (*ws)->dir() + "/nodes";
  provider_options.stop_grace_ms = 5'000;
  auto provider = std::make_shared<controller::LocalNodeProvider>(provider_options);
  (*ctrl)->SetNodeProvider("local", provider);

  // Progress lines for this sweep only, printed once its id line is out.
  std::mutex print_mu;
  std::string sweep_id;
  bool quiet = args.quiet || options.json;
  (*ctrl)->SetEventListener([&](const core::Event& e) {
    if (quiet) return;
    std::lock_guard<std::mutex> lock(print_mu);
    if (sweep_id.empty() || (e.sweep_id != sweep_id && !e.sweep_id.empty())) return;
    std::cout << ClockTime(e.timestamp_ms) << "  " << EventLabel(e)
              << (e.message.empty() ? "" : ": " + e.message) << std::endl;
  });

  auto submitted = (*ctrl)->SubmitSweep(*spec, *spec_text);
  if (!submitted.ok()) {
    (*ctrl)->Shutdown();
    (*server)->Shutdown();
    return ReportSubmitError(submitted.status());
  }
  {
    std::lock_guard<std::mutex> lock(print_mu);
    sweep_id = *submitted;
    std::cout << sweep_id << std::endl;
  }
  if (absl::Status s = (*ws)->WriteControllerAddress({dial, static_cast<int64_t>(getpid())});
      !s.ok()) {
    std::cerr << "sweep: warning: " << s.message() << "\n";
  }
  if (args.listen != RunArgs().listen && !quiet) {
    std::cout << "controller listening on " << (*server)->address()
              << "; to add a node from another machine, copy " << (*ws)->token_path()
              << " there and run:\n  sweep worker --server <this-host>:" << (*server)->port()
              << " --compute " << spec->compute << " --token-file <copied token file>"
              << std::endl;
  }

  struct sigaction action {};
  action.sa_handler = OnInterrupt;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  (*ctrl)->Start();
  bool cancel_sent = false;
  core::SweepState state = core::SweepState::kRunning;
  while (true) {
    auto waited = (*ctrl)->WaitForSweep(sweep_id, 200);
    if (waited.ok()) {
      state = *waited;
      break;
    }
    if (!absl::IsDeadlineExceeded(waited.status())) {
      std::cerr << "sweep: error: " << waited.status().message() << "\n";
      state = core::SweepState::kFailed;
      break;
    }
    int interrupts = g_interrupts.load();
    if (interrupts >= 2) {
      std::cerr << "sweep: interrupted again; leaving now (the sweep resumes on the next "
                   "`sweep run` of this workspace)\n";
      state = core::SweepState::kFailed;
      break;
    }
    if (interrupts == 1 && !cancel_sent) {
      std::cerr << "sweep: canceling " << sweep_id << " (interrupt again to leave at once)\n";
      if (absl::Status s = (*ctrl)->CancelSweep(sweep_id); !s.ok()) {
        std::cerr << "sweep: error: " << s.message() << "\n";
      }
      cancel_sent = true;
    }
  }
  (*ctrl)->Shutdown();
  (*server)->Shutdown();
  (*ws)->RemoveControllerAddress();
  PrintSummary((*ws)->store(), sweep_id, options.json);
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
  return worker::RunWorker(worker_options, worker::InstallStopSignalHandlers());
}

int CmdCancel(const GlobalOptions& options, const std::string& sweep_id) {
  auto ws = controller::Workspace::OpenOrCreate(WorkspaceDir(options));
  if (!ws.ok()) return ReportError(ws.status());
  auto sweep = ResolveSweep((*ws)->store(), sweep_id);
  if (!sweep.ok()) return ReportError(sweep.status());
  if (core::IsTerminal(sweep->state)) {
    return ReportError(absl::FailedPreconditionError(
        "sweep " + sweep->id + " already ended (" + core::SweepStateName(sweep->state) + ")"));
  }
  absl::Status status;
  if (auto running = (*ws)->ReadControllerAddress()) {
    status = controller::CancelViaServer(running->address, (*ws)->token(), sweep->id);
  } else {
    // No controller serves the workspace: this process is the only writer.
    auto ctrl = controller::Controller::Create((*ws)->store(), controller::ControllerOptions{});
    status = ctrl.ok() ? (*ctrl)->CancelSweep(sweep->id) : ctrl.status();
    if (ctrl.ok()) (*ctrl)->Shutdown();
  }
  if (!status.ok()) return ReportError(status);
  if (options.json) {
    std::cout << nlohmann::json{{"id", sweep->id}, {"state", "canceled"}}.dump() << "\n";
  } else {
    std::cout << "canceled " << sweep->id << "\n";
  }
  return kExitOk;
}

}  // namespace sweep::cli

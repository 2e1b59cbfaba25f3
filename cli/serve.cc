#include "cli/serve.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <ctime>
#include <iostream>

#include "cli/context.h"
#include "cli/slurm_commands.h"
#include "compute/local_provider.h"
#include "compute/ssh_provider.h"
#include "compute/target_provisioner.h"
#include "core/time_format.h"

namespace sweep::cli {
namespace {

// How long a starting controller waits for a CLI command that is changing the workspace.
constexpr int64_t kCommandWaitMs = 30'000;

std::atomic<int> g_interrupts{0};

void OnInterrupt(int) { g_interrupts.fetch_add(1); }

std::string ClockTime(int64_t ms) {
  return core::FormatEpochMs(ms, "%H:%M:%S", core::TimeZone::kLocal);
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

// Local workers dial loopback when the listen host is a wildcard.
std::string DialAddress(const std::string& bound) {
  size_t colon = bound.rfind(':');
  std::string host = bound.substr(0, colon), port = bound.substr(colon + 1);
  if (host == "0.0.0.0" || host == "[::]" || host == "::" || host.empty()) host = "127.0.0.1";
  return host + ":" + port;
}

}  // namespace

absl::Status CheckAddress(const std::string& flag, const std::string& address,
                          bool allow_port_zero) {
  auto bad = [&](const std::string& why) {
    return absl::InvalidArgumentError(flag + " '" + address + "' is not a valid address: " + why +
                                      " (expected host:port, e.g. 127.0.0.1:7070)");
  };
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) return bad("no ':port'");
  std::string host = address.substr(0, colon), port = address.substr(colon + 1);
  if (host.empty()) return bad("no host");
  if (host.find_first_of(" /\t") != std::string::npos) return bad("the host has a blank or '/'");
  if (host.front() == '[' ? host.back() != ']' : host.find(':') != std::string::npos) {
    return bad("an IPv6 host must be in brackets, e.g. [::1]:7070");
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != port.npos) {
    return bad("the port must be a number");
  }
  int number = std::stoi(port);
  if (number > 65535 || (number == 0 && !allow_port_zero)) {
    return bad(allow_port_zero ? "the port must be 0-65535" : "the port must be 1-65535");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ServedController>> ServedController::Start(
    const std::string& workspace_dir, const ServeOptions& options) {
  if (options.lease_seconds < 1) {
    return absl::InvalidArgumentError("--lease-seconds must be at least 1");
  }
  if (options.node_wait_seconds < 0) {
    return absl::InvalidArgumentError(
        "--node-wait-seconds must not be negative (0 waits for ever)");
  }
  if (absl::Status s = CheckAddress("--listen", options.listen, /*allow_port_zero=*/true);
      !s.ok()) {
    return s;
  }
  std::unique_ptr<ServedController> served(new ServedController());
  // The workspace lock before anything is opened or loaded: one controller per workspace.
  const workspace::LockHolder me{.pid = ::getpid(), .role = workspace::kControllerRole};
  auto attempt = workspace::WorkspaceLock::Acquire(workspace_dir, me, kCommandWaitMs);
  if (!attempt.ok()) return attempt.status();
  if (!attempt->lock) {
    const workspace::LockHolder& other = attempt->holder;
    return absl::FailedPreconditionError(
        "workspace " + workspace_dir + " is already served by a controller (" + other.Describe() +
        "); " +
        (other.address.empty()
             ? ""
             : "submit to it with `sweep submit SPEC --server " + other.address + "`, or ") +
        "stop it first, or use another --workspace");
  }
  served->lock_ = std::move(attempt->lock);
  auto ws = workspace::Workspace::OpenOrCreate(workspace_dir);
  if (!ws.ok()) return ws.status();
  served->workspace_ = std::move(*ws);
  workspace::Workspace& w = *served->workspace_;

  controller::ControllerOptions controller_options;
  controller_options.lease_duration_ms = options.lease_seconds * 1000;
  controller_options.workspace_dir = w.dir();
  controller_options.snapshot_max_bytes = options.snapshot_max_bytes;
  controller_options.artifact_max_bytes = options.artifact_max_bytes;
  controller_options.node_wait_timeout_ms = options.node_wait_seconds * 1000;
  // The provider steps of the admin rpcs (a Slurm target's partition, logging into a VM).
  controller_options.provisioner = compute::NewTargetProvisioner(w.dir());
  controller_options.heartbeat_interval_ms =
      std::max<int64_t>(200, controller_options.lease_duration_ms / 6);
  auto ctrl = controller::Controller::Create(w.store(), controller_options);
  if (!ctrl.ok()) return ctrl.status();
  served->controller_ = std::move(*ctrl);

  rpc::GrpcServerOptions server_options;
  server_options.listen_address = options.listen;
  server_options.token = w.token();
  server_options.read_store = w.store();
  auto node_key = w.NodeKey();
  if (!node_key.ok()) return node_key.status();
  server_options.node_key = *node_key;
  server_options.tls_cert_file = options.tls_cert_file;
  server_options.tls_key_file = options.tls_key_file;
  // What the workers started here verify the controller with.
  const std::string tls_ca =
      options.tls_ca_file.empty() ? options.tls_cert_file : options.tls_ca_file;
  std::string tls_ca_pem;
  if (!options.tls_cert_file.empty()) {
    absl::StatusOr<std::string> pem = options.env->ReadFile(tls_ca);
    if (!pem.ok()) {
      return absl::InvalidArgumentError("cannot read the TLS CA certificate " + tls_ca);
    }
    tls_ca_pem = *pem;
  }
  auto server = rpc::GrpcServer::Start(served->controller_.get(), server_options);
  if (!server.ok()) return server.status();
  served->server_ = std::move(*server);
  served->dial_ = DialAddress(served->server_->address());
  // From now on CLI commands send their changes here (cli/admin.h).
  workspace::LockHolder serving = me;
  serving.address = served->dial_;
  if (absl::Status s = served->lock_->Update(serving); !s.ok()) return s;

  // Node providers, one block each; the controller picks one by the target's provider.
  const std::string self = options.env->ReadSymlink("/proc/self/exe").value_or("");
  {
    compute::LocalNodeProviderOptions local;
    local.binary = self;
    local.server_address = served->dial_;
    local.token_file = w.token_path();
    local.log_dir = w.dir() + "/logs";
    local.work_dir = w.dir() + "/nodes";
    local.stop_grace_ms = 5'000;
    local.env = options.env;
    if (!tls_ca_pem.empty()) local.extra_args = {"--tls-ca", tls_ca};
    served->controller_->SetNodeProvider("local",
                                         std::make_shared<compute::LocalNodeProvider>(local));
  }
  // Remote VMs: workers started over SSH; they dial dial_ (see --listen).
  served->controller_->SetNodeProvider("ssh",
                                       compute::NewSshNodeProvider(w, served->dial_, tls_ca_pem));
  // Slurm-backed amlcompute targets: each node is a Slurm job (cli/slurm_commands.h).
  served->controller_->SetNodeProvider(
      "slurm", MakeSlurmNodeProvider(served->controller_.get(), w.dir(), w.token_path(), self,
                                     served->dial_, options.env, tls_ca_pem.empty() ? "" : tls_ca));
  return served;
}

ServedController::~ServedController() { Stop(); }

void ServedController::Run() {
  if (absl::Status s = workspace_->WriteControllerAddress({dial_, static_cast<int64_t>(getpid())});
      !s.ok()) {
    std::cerr << "sweep: warning: " << s.message() << "\n";
  }
  announced_ = true;
  controller_->Start();
}

void ServedController::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (controller_) controller_->Shutdown();
  if (server_) server_->Shutdown();
  if (announced_) workspace_->RemoveControllerAddress();
}

void InstallInterruptHandlers() {
  struct sigaction action {};
  action.sa_handler = OnInterrupt;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

int Interrupts() { return g_interrupts.load(); }

std::string FormatEventLine(const core::Event& e) {
  return ClockTime(e.timestamp_ms) + "  " + EventLabel(e) +
         (e.message.empty() ? "" : ": " + e.message);
}

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

}  // namespace sweep::cli

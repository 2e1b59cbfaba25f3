// Start-up and shut-down of a controller serving a workspace, shared by `sweep run`
// (all-in-one, ephemeral port) and `sweep server` (long-lived service). Node providers
// are attached here and nowhere else.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "controller/controller.h"
#include "core/env.h"
#include "core/types.h"
#include "rpc/grpc_service.h"
#include "workspace/workspace.h"
#include "workspace/workspace_lock.h"

namespace sweep::cli {

struct ServeOptions {
  std::string listen = "127.0.0.1:0";  // host:port; port 0 picks a free one
  int64_t lease_seconds = 30;          // a lease expires this long after its last renewal
  int64_t snapshot_max_bytes = int64_t{300} << 20;   // cap on a sweep's code snapshot
  int64_t artifact_max_bytes = int64_t{1024} << 20;  // cap on one attempt's outputs/
  // ControllerOptions::node_wait_timeout_ms, in seconds (0 = wait for ever).
  int64_t node_wait_seconds = 600;
  // TLS: cert and key serve TLS only; workers the providers start verify the controller
  // with ca (default: cert, for a self-signed certificate). docs/server.md.
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_ca_file;
  // The workspace's files and the node providers' processes (not owned). The controller
  // itself does not take an Env yet.
  core::Env* env = core::Env::Default();
};

// A controller serving one workspace over gRPC, with its node providers attached.
// Owns the workspace, controller and server. Not thread-safe: one thread starts and
// stops it; the controller and server inside are thread-safe.
class ServedController {
 public:
  // Takes the workspace lock (workspace/workspace_lock.h; held until destruction) before
  // anything else, then opens (creating if missing) the workspace at `workspace_dir`, loads
  // the controller (resuming the workspace's running sweeps), starts gRPC on
  // options.listen, records the address in the lock and attaches the node providers. The
  // background ticker is not started yet (Run() does it), so a caller can set an event
  // listener or submit first. A CLI command changing the workspace is waited for.
  // InvalidArgument for a bad listen address or lease; FailedPrecondition naming the
  // holder (pid and address) at once if another controller holds the lock, or if a
  // command holds it too long; Unavailable if the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<ServedController>> Start(const std::string& workspace_dir,
                                                                 const ServeOptions& options);
  ~ServedController();  // Stop()

  workspace::Workspace& workspace() { return *workspace_; }
  controller::Controller& controller() { return *controller_; }
  // The bound "host:port" (the listen host with the real port).
  std::string address() const { return server_->address(); }
  int port() const { return server_->port(); }
  // What workers and CLI commands on this host dial (a wildcard host becomes loopback).
  const std::string& dial_address() const { return dial_; }

  // Writes controller.json (so `sweep cancel` and a second server find this one) and
  // starts the background ticker (leases, timeouts, autoscaling).
  void Run();
  // Stops the ticker, the gRPC server and every node the providers started, and
  // removes controller.json. Idempotent.
  void Stop();

 private:
  ServedController() = default;
  std::unique_ptr<workspace::WorkspaceLock> lock_;  // released last
  std::unique_ptr<workspace::Workspace> workspace_;
  std::unique_ptr<controller::Controller> controller_;
  std::unique_ptr<rpc::GrpcServer> server_;
  std::string dial_;
  bool announced_ = false;
  bool stopped_ = false;
};

// InvalidArgument unless `address` looks like host:port ("10.0.0.5:7070", "[::1]:7070",
// "localhost:7070") with a port in 0..65535 (0 only when `allow_port_zero`).
absl::Status CheckAddress(const std::string& flag, const std::string& address,
                          bool allow_port_zero);

// SIGINT/SIGTERM count interrupts instead of killing the process.
void InstallInterruptHandlers();
int Interrupts();

// "12:03:04  trial 3 completed: accuracy=0.91" for live progress output.
std::string FormatEventLine(const core::Event& event);

// Errors from submitting a sweep are the user's to fix (invalid spec, unknown or
// unsuitable target): exit 2; unreachable server, token or store failures: 1.
int ReportSubmitError(const absl::Status& status);

}  // namespace sweep::cli

// The gRPC face of a Controller: serves proto/sweep.proto's SweepController service,
// converting to and from domain types. Every call must carry the workspace token as
// `authorization: Bearer <token>` metadata, else UNAUTHENTICATED. Controller errors map
// to the gRPC code of the same name (FailedPrecondition -> FAILED_PRECONDITION, ...).
//
// Node credentials: Register returns the node's secret, HMAC-SHA256(node_key, node id);
// AcquireTrial, Deregister and every lease call must carry the secret of the node they
// name, else PERMISSION_DENIED before the controller is asked. Registering again as a node
// the controller holds as live (Controller::NodeIsClaimed) needs its secret too.
// Messages over core::kMaxMessageBytes are refused (RESOURCE_EXHAUSTED); long-poll waits
// are clamped to core::kMaxWaitMs.
//
// Long polls (AcquireTrial) each hold one server thread while they wait, so the sync
// server is given `max_threads` threads; the poll is served in short slices so a client
// that disconnects or a server shutting down frees its thread quickly.
//
// Thread safety: Start/Shutdown from one thread; the server itself is multi-threaded.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "controller/controller.h"

namespace grpc {
class ServerBuilder;
}  // namespace grpc

namespace sweep::rpc {

// The synchronous-server settings the controller serves with (one completion queue, 1-16
// polling threads); benchmarks that time gRPC apply them too, to measure the same server.
void ApplySyncServerOptions(grpc::ServerBuilder* builder);

struct GrpcServerOptions {
  // host:port; port 0 picks a free one (see GrpcServer::port()).
  std::string listen_address = "127.0.0.1:0";
  // The workspace token; required (an empty token would let anyone in).
  std::string token;
  // Upper bound on server threads; each waiting long poll uses one.
  int max_threads = 512;
  // The workspace store ReadStore answers from (not owned; must outlive the server).
  // nullptr: ReadStore replies UNIMPLEMENTED.
  store::Store* read_store = nullptr;
  // TLS: both set -> the server only accepts TLS connections. PEM files.
  std::string tls_cert_file;
  std::string tls_key_file;
  // The key node secrets are derived from (HMAC-SHA256 of the node id): a node's secret
  // stays valid across controller restarts as long as the key does. Empty: a random key
  // for this server's lifetime.
  std::string node_key;
};

class GrpcServer {
 public:
  // Starts serving `controller` (not owned; must outlive the server).
  // InvalidArgument for bad options, Unavailable if the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(controller::Controller* controller,
                                                           const GrpcServerOptions& options);
  ~GrpcServer();  // Shutdown()

  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  // The bound port, and "host:port" with it (what workers should dial).
  int port() const;
  std::string address() const;

  // Stops accepting calls, ends long polls, waits for in-flight calls. Idempotent.
  void Shutdown();

  class Impl;

 private:
  explicit GrpcServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sweep::rpc

// The worker agent's ControllerClient over gRPC, and the real agent built on it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "core/env.h"
#include "worker/agent.h"
#include "worker/controller_client.h"

namespace sweep::rpc {

struct GrpcClientOptions {
  std::string server;                // host:port
  std::string token;                 // sent as `authorization: Bearer <token>` on every call
  std::string tls_ca_file;           // PEM roots to verify the controller with; empty: plaintext
  int64_t call_timeout_ms = 10'000;  // deadline of every call but the long poll
  // The long poll's deadline is its wait plus this margin.
  int64_t long_poll_margin_ms = 10'000;
  core::Env* env = core::Env::Default();  // not owned; reads tls_ca_file
};

// Creates the channel lazily (no connection is made here). InvalidArgument when the
// server address is empty or the CA file cannot be read. The client is thread-safe.
absl::StatusOr<std::unique_ptr<worker::ControllerClient>> NewGrpcControllerClient(
    const GrpcClientOptions& options);

// The real agent (`sweep worker`): gRPC client (with options.token, options.tls_ca_file),
// processes, files and clocks of `env` (not owned). Logs the reason it ends and returns the
// exit code.
int RunWorker(const worker::WorkerOptions& options, std::atomic<bool>* stop,
              core::Env* env = core::Env::Default());

}  // namespace sweep::rpc

// ControllerClient over gRPC: the only worker file that sees the generated code.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "worker/controller_client.h"

namespace sweep::worker {

struct GrpcClientOptions {
  std::string server;                // host:port
  std::string token;                 // sent as `authorization: Bearer <token>` on every call
  std::string tls_ca_file;           // PEM roots to verify the controller with; empty: plaintext
  int64_t call_timeout_ms = 10'000;  // deadline of every call but the long poll
  // The long poll's deadline is its wait plus this margin.
  int64_t long_poll_margin_ms = 10'000;
};

// Creates the channel lazily (no connection is made here). InvalidArgument when the
// server address is empty or the CA file cannot be read. The client is thread-safe.
absl::StatusOr<std::unique_ptr<ControllerClient>> NewGrpcControllerClient(
    const GrpcClientOptions& options);

}  // namespace sweep::worker

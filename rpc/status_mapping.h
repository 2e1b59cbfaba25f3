// The one mapping between absl::Status (what every component returns) and grpc::Status
// (what crosses the wire). absl and gRPC share the canonical code numbering, so a code
// maps to the same code and the message is kept as it is.
//
// Thread safety: free functions, no shared state.
#pragma once

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace sweep::rpc {

grpc::Status ToGrpcStatus(const absl::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace sweep::rpc

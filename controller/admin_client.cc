#include "controller/admin_client.h"

#include <chrono>

#include "grpcpp/grpcpp.h"
#include "proto/sweep.grpc.pb.h"

namespace sweep::controller {

absl::Status CancelViaServer(const std::string& address, const std::string& token,
                             const std::string& sweep_id) {
  auto channel = grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  auto stub = proto::SweepController::NewStub(channel);
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + token);
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  proto::CancelSweepRequest request;
  request.set_sweep_id(sweep_id);
  proto::CancelSweepReply reply;
  grpc::Status status = stub->CancelSweep(&context, request, &reply);
  if (status.ok()) return absl::OkStatus();
  std::string message = status.error_message();
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE ||
      status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::UnavailableError("the controller at " + address +
                                  " does not answer: " + message);
  }
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), message);
}

}  // namespace sweep::controller

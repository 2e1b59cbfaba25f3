// absl::Status <-> grpc::Status: every canonical code and the message survive both ways.
#include "rpc/status_mapping.h"

#include "gtest/gtest.h"

namespace sweep::rpc {
namespace {

TEST(StatusMappingTest, EveryCodeAndMessageRoundTrips) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
  for (int code = 1; code <= 16; ++code) {
    const absl::Status status(static_cast<absl::StatusCode>(code), "why");
    const grpc::Status wire = ToGrpcStatus(status);
    EXPECT_EQ(static_cast<int>(wire.error_code()), code);
    EXPECT_EQ(wire.error_message(), "why");
    EXPECT_EQ(FromGrpcStatus(wire), status);
  }
  EXPECT_EQ(ToGrpcStatus(absl::NotFoundError("x")).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(FromGrpcStatus(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "stale")),
            absl::FailedPreconditionError("stale"));
}

}  // namespace
}  // namespace sweep::rpc

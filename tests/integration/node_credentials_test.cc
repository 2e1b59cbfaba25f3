// Issue 11, fault 8: per-node credentials over the wire. Any token holder could act on any
// lease (node id and fencing token were trusted as sent), ReadStore handed out every
// attempt's fencing token, and Deregister accepted any node id.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "controller/controller.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/sweep.grpc.pb.h"
#include "rpc/grpc_service.h"
#include "workspace/workspace.h"

namespace sweep::rpc {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class NodeCredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "sweep-cred-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto ws = workspace::Workspace::OpenOrCreate(dir_ + "/ws");
    ASSERT_TRUE(ws.ok()) << ws.status();
    ws_ = std::move(*ws);
    StartServer();
  }
  void StartServer() {
    controller::ControllerOptions o;
    o.max_acquire_wait_ms = 1'000;
    o.workspace_dir = ws_->dir();
    auto c = controller::Controller::Create(ws_->store(), o);
    ASSERT_TRUE(c.ok()) << c.status();
    controller_ = std::move(*c);
    GrpcServerOptions so;
    so.token = ws_->token();
    so.read_store = ws_->store();
    auto key = ws_->NodeKey();
    ASSERT_TRUE(key.ok()) << key.status();
    so.node_key = *key;
    auto server = GrpcServer::Start(controller_.get(), so);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    stub_ = proto::SweepController::NewStub(
        grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials()));
  }
  void StopServer() {
    server_->Shutdown();
    controller_->Shutdown();
    server_.reset();
    controller_.reset();
  }
  void TearDown() override {
    if (server_) StopServer();
    ws_.reset();
    fs::remove_all(dir_);
  }
  std::unique_ptr<grpc::ClientContext> Ctx() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("authorization", "Bearer " + ws_->token());
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    return ctx;
  }
  proto::RegisterReply Register() {
    proto::RegisterRequest req;
    req.set_compute("cpu-cluster");
    proto::RegisterReply reply;
    grpc::Status s = stub_->Register(Ctx().get(), req, &reply);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return reply;
  }

  std::string dir_;
  std::unique_ptr<workspace::Workspace> ws_;
  std::unique_ptr<controller::Controller> controller_;
  std::unique_ptr<GrpcServer> server_;
  std::unique_ptr<proto::SweepController::Stub> stub_;
};

TEST_F(NodeCredentialsTest, OneNodeCannotTouchAnotherNodesLease) {
  proto::SubmitSweepRequest submit;
  submit.set_spec_yaml(
      "type: sweep\ntrial:\n  command: echo ${{search_space.x}}\ncompute: cpu-cluster\n"
      "sampling_algorithm: grid\nsearch_space:\n  x: {type: choice, values: [1, 2]}\n"
      "objective: {primary_metric: accuracy, goal: maximize}\n");
  submit.set_spec_path(dir_ + "/spec.yml");
  proto::SubmitSweepReply submitted;
  ASSERT_TRUE(stub_->SubmitSweep(Ctx().get(), submit, &submitted).ok());
  proto::RegisterReply a = Register(), b = Register();
  ASSERT_FALSE(a.node_secret().empty());
  ASSERT_NE(a.node_secret(), b.node_secret());

  proto::AcquireTrialRequest acquire;
  acquire.set_node_id(a.node_id());
  acquire.set_node_secret(b.node_secret());
  proto::AcquireTrialReply leased;
  grpc::Status s = stub_->AcquireTrial(Ctx().get(), acquire, &leased);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  acquire.set_node_secret(a.node_secret());
  ASSERT_TRUE(stub_->AcquireTrial(Ctx().get(), acquire, &leased).ok());
  ASSERT_TRUE(leased.has_lease());
  EXPECT_TRUE(leased.lease().ref().node_secret().empty()) << "a reply never carries a secret";

  // Node b, with its own valid secret, on a's lease: the token is right, the node is not.
  proto::HeartbeatRequest hb;
  *hb.mutable_lease() = leased.lease().ref();
  hb.mutable_lease()->set_node_id(b.node_id());
  hb.mutable_lease()->set_node_secret(b.node_secret());
  proto::HeartbeatReply hb_reply;
  s = stub_->Heartbeat(Ctx().get(), hb, &hb_reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(s.error_message(), HasSubstr("is leased to node " + a.node_id()));
  // Node b claiming to be a, with b's secret.
  proto::CompleteTrialRequest done;
  *done.mutable_lease() = leased.lease().ref();
  done.mutable_lease()->set_node_secret(b.node_secret());
  done.set_outcome(proto::FAILED);
  proto::CompleteTrialReply done_reply;
  s = stub_->CompleteTrial(Ctx().get(), done, &done_reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  // Deregister only for one's own node; re-registering as a live node needs its secret.
  proto::DeregisterRequest dereg;
  dereg.set_node_id(a.node_id());
  dereg.set_node_secret(b.node_secret());
  proto::DeregisterReply dereg_reply;
  EXPECT_EQ(stub_->Deregister(Ctx().get(), dereg, &dereg_reply).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  proto::RegisterRequest again;
  again.set_compute("cpu-cluster");
  again.set_node_id(a.node_id());
  proto::RegisterReply again_reply;
  EXPECT_EQ(stub_->Register(Ctx().get(), again, &again_reply).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  again.set_node_secret(a.node_secret());
  EXPECT_TRUE(stub_->Register(Ctx().get(), again, &again_reply).ok());

  // ReadStore hands out no fencing token.
  proto::ReadStoreRequest read;
  read.set_method(proto::ReadStoreRequest::LIST_ATTEMPTS);
  read.set_key(submitted.sweep_id());
  proto::ReadStoreReply read_reply;
  ASSERT_TRUE(stub_->ReadStore(Ctx().get(), read, &read_reply).ok());
  ASSERT_EQ(read_reply.attempts_size(), 1);
  EXPECT_EQ(read_reply.attempts(0).fencing_token(), 0u);
  read.set_method(proto::ReadStoreRequest::MAX_FENCING_TOKEN);
  EXPECT_EQ(stub_->ReadStore(Ctx().get(), read, &read_reply).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // The owner goes on, also after a controller restart (the key is the workspace's).
  StopServer();
  StartServer();
  *hb.mutable_lease() = leased.lease().ref();
  hb.mutable_lease()->set_node_secret(a.node_secret());
  s = stub_->Heartbeat(Ctx().get(), hb, &hb_reply);
  EXPECT_TRUE(s.ok()) << s.error_message();
  *done.mutable_lease() = *hb.mutable_lease();
  EXPECT_TRUE(stub_->CompleteTrial(Ctx().get(), done, &done_reply).ok());
  EXPECT_EQ(done_reply.trial_state(), "failed");
}

TEST_F(NodeCredentialsTest, OversizedMessagesAreRefused) {
  proto::SubmitSweepRequest submit;
  submit.set_spec_yaml(std::string(9 << 20, '#'));
  proto::SubmitSweepReply submitted;
  EXPECT_EQ(stub_->SubmitSweep(Ctx().get(), submit, &submitted).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
}

}  // namespace
}  // namespace sweep::rpc

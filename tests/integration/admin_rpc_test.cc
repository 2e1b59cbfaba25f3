// The admin rpcs end to end in one process: rpc::NewRemoteAdmin against a GrpcServer
// serving a Controller with the real provisioner; every bad input gets its clear error.
#include <filesystem>
#include <memory>

#include "compute/target_provisioner.h"
#include "controller/controller.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_dir.h"
#include "rpc/admin_client.h"
#include "rpc/grpc_service.h"
#include "store/store.h"

namespace sweep::controller {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

core::ComputeTarget Cluster(const std::string& name, int64_t max_nodes = 2) {
  core::ComputeTarget t;
  t.name = name;
  t.type = "amlcompute";
  t.provider = "local";
  t.max_nodes = max_nodes;
  return t;
}

workspace::RemoteVmRequest Vm(const std::string& name) {
  workspace::RemoteVmRequest r;
  r.name = name;
  r.address = "127.0.0.1";
  r.port = 1;  // nothing listens there
  r.username = "me";
  r.password = "pw\n";
  r.password_source = "/home/me/pw";
  return r;
}

class AdminRpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = root_.str();
    store_ = store::NewInMemoryStore();
    ControllerOptions options;
    options.workspace_dir = dir_;
    options.provisioner = compute::NewTargetProvisioner(dir_);
    auto ctrl = Controller::Create(store_.get(), options);
    ASSERT_TRUE(ctrl.ok()) << ctrl.status();
    controller_ = std::move(*ctrl);
    controller_->SetEventListener([this](const core::Event& e) { heard_.push_back(e.kind); });
    rpc::GrpcServerOptions server_options;
    server_options.token = "secret";
    server_options.read_store = store_.get();
    auto server = rpc::GrpcServer::Start(controller_.get(), server_options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    admin_ = rpc::NewRemoteAdmin(server_->address(), "secret");
  }
  void TearDown() override {
    server_->Shutdown();
    controller_->Shutdown();
  }

  testutil::TestDir root_{"admin_rpc"};
  std::string dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Controller> controller_;
  std::unique_ptr<rpc::GrpcServer> server_;
  std::unique_ptr<workspace::WorkspaceAdmin> admin_;
  std::vector<std::string> heard_;
};

TEST_F(AdminRpcTest, ChangesRoundTripAndReachTheControllersStore) {
  core::ComputeTarget wanted = Cluster("gpu-1", 3);
  wanted.vm_size = "STANDARD_NC6";
  wanted.vm_priority = "lowpriority";
  wanted.idle_seconds_before_scaledown = 42;
  auto created = admin_->PutComputeTarget(wanted, workspace::PutMode::kCreate);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->vm_size, "STANDARD_NC6");
  EXPECT_EQ(created->idle_seconds_before_scaledown, 42);
  EXPECT_GT(created->created_ms, 0);
  EXPECT_EQ(store_->GetCompute("gpu-1")->max_nodes, 3);

  auto reader = admin_->reader();
  ASSERT_TRUE(reader.ok());
  core::ComputeTarget read = *(*reader)->GetCompute("gpu-1");
  read.max_nodes = 5;
  ASSERT_TRUE(admin_->PutComputeTarget(read, workspace::PutMode::kUpdate).ok());
  EXPECT_EQ(store_->GetCompute("gpu-1")->max_nodes, 5);
  ASSERT_TRUE(admin_->DeleteComputeTarget("gpu-1").ok());
  EXPECT_FALSE(store_->GetCompute("gpu-1").ok());

  core::Environment env;
  env.name = "sk";
  env.kind = "system_managed";
  env.setup_command = "pip install -r requirements.txt";
  env.files = {{"requirements.txt", std::string("numpy\0bytes", 11)}};
  auto first = admin_->CreateEnvironment(env);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->created);
  EXPECT_EQ(first->environment.version, 1);
  EXPECT_EQ(first->environment.files[0].content, std::string("numpy\0bytes", 11));
  auto same = admin_->CreateEnvironment(env);
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(same->created);
  EXPECT_EQ(same->environment.digest, first->environment.digest);

  EXPECT_THAT(heard_, ::testing::ElementsAre("compute_created", "compute_updated",
                                             "compute_deleted", "environment_created"));
}

struct Bad {
  std::string what;
  absl::Status status;
  absl::StatusCode code;
  std::string message;
};

TEST_F(AdminRpcTest, BadInputsGetClearErrorsAndChangeNothing) {
  core::ComputeTarget vm = Cluster("vm-1");
  vm.type = "remotevm";
  core::ComputeTarget slurm_without_partition = Cluster("hpc");
  slurm_without_partition.provider = "slurm";
  workspace::RemoteVmRequest no_credentials = Vm("vm-2");
  no_credentials.password.reset();
  workspace::RemoteVmRequest bad_vm_name = Vm("2vm");
  core::Environment bad_env;
  bad_env.name = "bad name";
  bad_env.kind = "user_managed";
  const std::vector<Bad> cases = {
      {"delete unknown", admin_->DeleteComputeTarget("nope"), absl::StatusCode::kNotFound,
       "compute target 'nope' not found"},
      {"update unknown",
       admin_->PutComputeTarget(Cluster("nope"), workspace::PutMode::kUpdate).status(),
       absl::StatusCode::kNotFound, "compute target 'nope' not found"},
      {"bad name", admin_->PutComputeTarget(Cluster("x"), workspace::PutMode::kCreate).status(),
       absl::StatusCode::kInvalidArgument, "2-16 characters"},
      {"bad nodes",
       admin_->PutComputeTarget(Cluster("ok-1", 0), workspace::PutMode::kCreate).status(),
       absl::StatusCode::kInvalidArgument, "max"},
      {"remotevm created", admin_->PutComputeTarget(vm, workspace::PutMode::kCreate).status(),
       absl::StatusCode::kInvalidArgument, "remotevm targets are attached, not created"},
      {"slurm settings",
       admin_->PutComputeTarget(slurm_without_partition, workspace::PutMode::kCreate).status(),
       absl::StatusCode::kInvalidArgument, "a slurm target needs a partition"},
      {"no credentials", admin_->AttachRemoteVm(no_credentials).status(),
       absl::StatusCode::kInvalidArgument, "pass exactly one of --password-file"},
      {"bad vm name", admin_->AttachRemoteVm(bad_vm_name).status(),
       absl::StatusCode::kInvalidArgument, "start with a letter"},
      {"unreachable vm", admin_->AttachRemoteVm(Vm("vm-3")).status(),
       absl::StatusCode::kUnavailable, "cannot reach 127.0.0.1:1 over SSH"},
      {"bad environment", admin_->CreateEnvironment(bad_env).status(),
       absl::StatusCode::kInvalidArgument, "environment name 'bad name' is invalid"},
      {"bad model name",
       admin_->RegisterModel(workspace::ModelRequest{.name = "a/b", .sweep_id = "sw-1"}).status(),
       absl::StatusCode::kInvalidArgument, "model name 'a/b' is invalid"},
      {"unknown sweep",
       admin_->RegisterModel(workspace::ModelRequest{.name = "m", .sweep_id = "sw-1"}).status(),
       absl::StatusCode::kNotFound, "sw-1"},
  };
  for (const Bad& c : cases) {
    EXPECT_EQ(c.status.code(), c.code) << c.what << ": " << c.status;
    EXPECT_THAT(c.status.message(), HasSubstr(c.message)) << c.what;
    EXPECT_THAT(c.status.message(), ::testing::Not(HasSubstr("sweep server"))) << c.what;
  }
  EXPECT_TRUE(store_->ListComputes()->empty());
  EXPECT_TRUE(store_->ListEnvironments()->empty());
  EXPECT_FALSE(fs::exists(dir_ + "/ssh/vm-3")) << "credentials of a failed attach are not kept";
  EXPECT_TRUE(heard_.empty());
}

TEST_F(AdminRpcTest, AWrongTokenOrNoServerIsAClearError) {
  auto intruder = rpc::NewRemoteAdmin(server_->address(), "wrong");
  absl::Status s = intruder->DeleteComputeTarget("gpu-1");
  EXPECT_EQ(s.code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(s.message(), HasSubstr("rejected the token"));
  auto nobody = rpc::NewRemoteAdmin("127.0.0.1:1", "secret");
  s = nobody->PutComputeTarget(Cluster("gpu-1"), workspace::PutMode::kCreate).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(s.message(), HasSubstr("cannot reach the sweep server at 127.0.0.1:1"));
}

}  // namespace
}  // namespace sweep::controller

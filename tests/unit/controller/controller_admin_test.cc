// The Controller's admin methods (controller/admin.h): the workspace use cases serialised
// with the controller's own state.
#include <thread>

#include "controller/controller.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/controller_test_util.h"

namespace sweep::controller {
namespace {

using ::testing::HasSubstr;

class AcceptingProvisioner final : public workspace::TargetProvisioner {
 public:
  absl::Status CheckTarget(const core::ComputeTarget&) override { return absl::OkStatus(); }
  absl::StatusOr<workspace::AttachedRemoteVm> AttachRemoteVm(
      const workspace::RemoteVmRequest& r) override {
    workspace::AttachedRemoteVm out;
    out.target.name = r.name;
    out.target.type = "remotevm";
    out.target.provider = "ssh";
    out.target.max_nodes = r.workers_per_node;
    out.target.properties_json = "{}";
    return out;
  }
  void ForgetTarget(const std::string& name) override { forgotten.push_back(name); }
  std::vector<std::string> forgotten;
};

core::ComputeTarget Cluster(const std::string& name) {
  core::ComputeTarget t;
  t.name = name;
  t.type = "amlcompute";
  t.provider = "local";
  t.max_nodes = 2;
  return t;
}

std::string SpecOn(const std::string& compute, const std::string& limits) {
  std::string yaml = testing::SpecYaml(limits);
  const std::string from = "azureml:cpu-cluster";
  yaml.replace(yaml.find(from), from.size(), "azureml:" + compute);
  return yaml;
}

class ControllerAdminTest : public testing::ControllerTest {
 protected:
  absl::StatusOr<std::string> TrySubmit(const std::string& yaml) {
    auto spec = spec::ParseSpec(yaml, "/tmp/controller-test/spec.yml", "/tmp/controller-test");
    if (!spec.ok()) return spec.status();
    return controller_->SubmitSweep(*spec, yaml);
  }
};

TEST_F(ControllerAdminTest, ACreatedTargetIsKnownAtOnceAndEachChangeIsAnEvent) {
  std::vector<std::string> heard;
  controller_->SetEventListener([&](const core::Event& e) { heard.push_back(e.kind); });
  EXPECT_EQ(controller_->GetComputeStatus("gpu-1").status().code(), absl::StatusCode::kNotFound);
  auto created = controller_->PutComputeTarget(Cluster("gpu-1"), workspace::PutMode::kCreate);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->created_ms, clock_.NowMillis());
  EXPECT_TRUE(controller_->GetComputeStatus("gpu-1").ok()) << "known before any Tick";
  ASSERT_TRUE(controller_->DeleteComputeTarget("gpu-1").ok());
  EXPECT_EQ(controller_->GetComputeStatus("gpu-1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(heard, ::testing::ElementsAre("compute_created", "compute_deleted"));
  EXPECT_EQ(CountEvents("", "compute_created"), 1) << "committed, workspace-level";
}

TEST_F(ControllerAdminTest, ATargetIsNotDeletedWhileASweepUsesIt) {
  const std::string id = Submit(testing::SpecYaml("{max_total_trials: 1}"));
  absl::Status refused = controller_->DeleteComputeTarget("cpu-cluster");
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.message(), HasSubstr("is used by running sweep " + id));

  // Canceled, but its attempt still stops: still in use.
  const std::string node = Node();
  std::optional<LeaseGrant> lease = Acquire(node);
  ASSERT_TRUE(lease.has_value());
  ASSERT_TRUE(controller_->CancelSweep(id).ok());
  refused = controller_->DeleteComputeTarget("cpu-cluster");
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.message(), HasSubstr("still used by sweep " + id));

  ASSERT_TRUE(Complete(lease->ref, Outcome::kStopped).ok());
  EXPECT_TRUE(controller_->DeleteComputeTarget("cpu-cluster").ok());
  EXPECT_FALSE(store_->GetCompute("cpu-cluster").ok());
}

TEST_F(ControllerAdminTest, ADeleteRacingASubmissionNeverLeavesASweepWithoutItsTarget) {
  for (int i = 0; i < 40; ++i) {
    const std::string name = "race-" + std::to_string(i);
    ASSERT_TRUE(controller_->PutComputeTarget(Cluster(name), workspace::PutMode::kCreate).ok());
    absl::StatusOr<std::string> submitted;
    absl::Status deleted;
    std::thread submit([&] { submitted = TrySubmit(SpecOn(name, "{max_total_trials: 1}")); });
    std::thread del([&] { deleted = controller_->DeleteComputeTarget(name); });
    submit.join();
    del.join();
    EXPECT_FALSE(submitted.ok() && deleted.ok())
        << "sweep " << *submitted << " runs on deleted target " << name;
    EXPECT_TRUE(submitted.ok() || deleted.ok()) << submitted.status() << " / " << deleted;
  }
}

TEST_F(ControllerAdminTest, RemoteVmsNeedAProvisioner) {
  workspace::RemoteVmRequest vm;
  vm.name = "vm-1";
  vm.address = "10.0.0.5";
  vm.username = "me";
  vm.password = "pw";
  auto refused = controller_->AttachRemoteVm(vm);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(store_->GetCompute("vm-1").ok());

  auto provisioner = std::make_shared<AcceptingProvisioner>();
  options_.provisioner = provisioner;
  Restart();
  auto attached = controller_->AttachRemoteVm(vm);
  ASSERT_TRUE(attached.ok()) << attached.status();
  EXPECT_TRUE(controller_->GetComputeStatus("vm-1").ok());
  ASSERT_TRUE(controller_->DeleteComputeTarget("vm-1").ok());
  EXPECT_THAT(provisioner->forgotten, ::testing::ElementsAre("vm-1"));
}

TEST_F(ControllerAdminTest, EnvironmentsAndModelsGoThroughTheStore) {
  core::Environment e;
  e.name = "py";
  e.kind = "user_managed";
  auto created = controller_->CreateEnvironment(e);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(store_->GetEnvironment("py", std::nullopt)->version, 1);
  auto model = controller_->RegisterModel(workspace::ModelRequest{.name = "m", .sweep_id = "sw-x"});
  EXPECT_EQ(model.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace sweep::controller

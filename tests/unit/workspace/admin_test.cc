// The admin use cases (StoreAdmin) with a fake provisioner, and the local admin's use of
// the workspace lock.
#include "workspace/admin.h"

#include <unistd.h>

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_dir.h"
#include "store/store.h"

namespace sweep::workspace {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class FakeProvisioner final : public TargetProvisioner {
 public:
  absl::Status CheckTarget(const core::ComputeTarget& target) override {
    checked.push_back(target.name);
    return check;
  }
  absl::StatusOr<AttachedRemoteVm> AttachRemoteVm(const RemoteVmRequest& r) override {
    if (!attach.ok()) return attach;
    AttachedRemoteVm out;
    out.target.name = r.name;
    out.target.type = "remotevm";
    out.target.provider = "ssh";
    out.target.max_nodes = r.workers_per_node;
    out.target.properties_json = "{}";
    out.endpoint = r.username + "@" + r.address + ":" + std::to_string(r.port);
    return out;
  }
  void ForgetTarget(const std::string& name) override { forgotten.push_back(name); }

  absl::Status check;
  absl::Status attach;
  std::vector<std::string> checked, forgotten;
};

core::ComputeTarget Cluster(const std::string& name, int64_t max_nodes = 3) {
  core::ComputeTarget t;
  t.name = name;
  t.type = "amlcompute";
  t.provider = "local";
  t.max_nodes = max_nodes;
  return t;
}

RemoteVmRequest Vm(const std::string& name) {
  RemoteVmRequest r;
  r.name = name;
  r.address = "10.0.0.5";
  r.username = "me";
  r.private_key = "KEY";
  return r;
}

class StoreAdminTest : public ::testing::Test {
 protected:
  StoreAdminTest()
      : store_(store::NewInMemoryStore()),
        provisioner_(std::make_shared<FakeProvisioner>()),
        admin_(
            [this]() -> absl::StatusOr<store::Store*> { return store_.get(); },
            StoreAdmin::Options{.workspace_dir = "/nonexistent",
                                .provisioner = provisioner_,
                                .clock = &clock_,
                                .also_using = [this](const std::string&) { return busy_; },
                                .target_changed =
                                    [this](const std::string& name, const core::ComputeTarget* t) {
                                      changes_.push_back(name + (t ? "+" : "-"));
                                    }}) {}

  std::vector<std::string> EventKinds() {
    std::vector<std::string> kinds;
    absl::StatusOr<std::vector<core::Event>> events = store_->ListEvents("");
    for (const core::Event& e : *events) kinds.push_back(e.kind);
    return kinds;
  }

  void AddRunningSweep(const std::string& id, const std::string& compute) {
    core::Sweep s;
    s.id = id;
    s.compute = compute;
    s.state = core::SweepState::kRunning;
    ASSERT_TRUE(store_->Commit({.sweeps = {s}}).ok());
  }

  core::FakeClock clock_;
  std::unique_ptr<store::Store> store_;
  std::shared_ptr<FakeProvisioner> provisioner_;
  std::vector<std::string> busy_, changes_;
  StoreAdmin admin_;
};

TEST_F(StoreAdminTest, CreateUpdateDelete) {
  auto created = admin_.PutComputeTarget(Cluster("big-1"), PutMode::kCreate);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(created->created_ms, clock_.NowMillis());
  EXPECT_EQ(store_->GetCompute("big-1")->max_nodes, 3);
  EXPECT_THAT(provisioner_->checked, ElementsAre("big-1"));

  auto again = admin_.PutComputeTarget(Cluster("big-1"), PutMode::kCreate);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(again.status().message(), HasSubstr("change it with `sweep compute update big-1"));

  clock_.Advance(1000);
  auto updated = admin_.PutComputeTarget(Cluster("big-1", 5), PutMode::kUpdate);
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->created_ms, created->created_ms) << "an update keeps the creation time";
  EXPECT_EQ(store_->GetCompute("big-1")->max_nodes, 5);

  auto unknown = admin_.PutComputeTarget(Cluster("nope"), PutMode::kUpdate);
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(unknown.status().message(), HasSubstr("compute target 'nope' not found"));

  ASSERT_TRUE(admin_.DeleteComputeTarget("big-1").ok());
  EXPECT_FALSE(store_->GetCompute("big-1").ok());
  EXPECT_THAT(provisioner_->forgotten, ElementsAre("big-1")) << "credentials go with it";
  EXPECT_EQ(admin_.DeleteComputeTarget("big-1").code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(EventKinds(), ElementsAre("compute_created", "compute_updated", "compute_deleted"));
  EXPECT_THAT(changes_, ElementsAre("big-1+", "big-1+", "big-1-"));
}

TEST_F(StoreAdminTest, BadTargetsAreRefusedBeforeTheStoreIsOpened) {
  bool opened = false;
  StoreAdmin lazy(
      [&]() -> absl::StatusOr<store::Store*> {
        opened = true;
        return store_.get();
      },
      StoreAdmin::Options{.provisioner = provisioner_});
  core::ComputeTarget bad_name = Cluster("x");
  EXPECT_EQ(lazy.PutComputeTarget(bad_name, PutMode::kCreate).status().code(),
            absl::StatusCode::kInvalidArgument);
  core::ComputeTarget bad_nodes = Cluster("ok-1", 0);
  EXPECT_EQ(lazy.PutComputeTarget(bad_nodes, PutMode::kCreate).status().code(),
            absl::StatusCode::kInvalidArgument);
  core::ComputeTarget vm = Cluster("vm-1");
  vm.type = "remotevm";
  auto attached_not_created = lazy.PutComputeTarget(vm, PutMode::kCreate);
  EXPECT_THAT(attached_not_created.status().message(),
              HasSubstr("remotevm targets are attached, not created: `sweep compute attach vm-1"));
  provisioner_->check = absl::InvalidArgumentError("compute 'hpc': unknown partition 'nope'");
  auto refused = lazy.PutComputeTarget(Cluster("hpc"), PutMode::kCreate);
  EXPECT_EQ(refused.status(), provisioner_->check);
  EXPECT_FALSE(opened) << "nothing of these needs the workspace";
  EXPECT_TRUE(store_->ListComputes()->empty());
}

TEST_F(StoreAdminTest, ARemoteVmKeepsItsWorkerCountUntilAttachedAgain) {
  ASSERT_TRUE(admin_.AttachRemoteVm(Vm("vm-1")).ok());
  core::ComputeTarget target = *store_->GetCompute("vm-1");
  target.vm_priority = "lowpriority";
  EXPECT_TRUE(admin_.PutComputeTarget(target, PutMode::kUpdate).ok()) << "other settings change";
  target.max_nodes = 5;
  auto refused = admin_.PutComputeTarget(target, PutMode::kUpdate);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("delete it and attach it again"));
}

TEST_F(StoreAdminTest, ATargetInUseIsNotDeleted) {
  ASSERT_TRUE(admin_.PutComputeTarget(Cluster("busy-1"), PutMode::kCreate).ok());
  AddRunningSweep("sw-abc", "busy-1");
  absl::Status s = admin_.DeleteComputeTarget("busy-1");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("is used by running sweep sw-abc; cancel it first"));

  core::Sweep ended = *store_->GetSweep("sw-abc");
  ended.state = core::SweepState::kCanceled;
  ASSERT_TRUE(store_->Commit({.sweeps = {ended}}).ok());
  busy_ = {"sw-abc"};  // its last trials still stopping
  s = admin_.DeleteComputeTarget("busy-1");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("still used by sweep sw-abc"));
  busy_.clear();
  EXPECT_TRUE(admin_.DeleteComputeTarget("busy-1").ok());
  EXPECT_TRUE(provisioner_->forgotten.size() == 1);
}

struct BadVm {
  std::string what;
  std::function<void(RemoteVmRequest&)> change;
  std::string message;
};

TEST_F(StoreAdminTest, BadAttachRequestsNameTheField) {
  const std::vector<BadVm> cases = {
      {"name", [](RemoteVmRequest& r) { r.name = "9x"; }, "start with a letter"},
      {"address", [](RemoteVmRequest& r) { r.address.clear(); }, "--address must name the VM"},
      {"port", [](RemoteVmRequest& r) { r.port = 70000; }, "--ssh-port must be 1-65535"},
      {"user", [](RemoteVmRequest& r) { r.username.clear(); }, "--username must not be empty"},
      {"no credentials", [](RemoteVmRequest& r) { r.private_key.reset(); },
       "pass exactly one of --password-file F or --private-key-file F"},
      {"two credentials", [](RemoteVmRequest& r) { r.password = "pw"; },
       "pass exactly one of --password-file F or --private-key-file F"},
      {"passphrase alone",
       [](RemoteVmRequest& r) {
         r.private_key.reset();
         r.password = "pw";
         r.passphrase = "pp";
       },
       "--private-key-passphrase-file needs --private-key-file"},
      {"huge key", [](RemoteVmRequest& r) { r.private_key = std::string(1 << 20, 'k'); },
       "the private key is 1048576 bytes"},
      {"workers", [](RemoteVmRequest& r) { r.workers_per_node = 0; },
       "--workers-per-node must be 1-256"},
      {"sweep path", [](RemoteVmRequest& r) { r.sweep_path.clear(); },
       "--sweep-path must not be empty"},
  };
  for (const BadVm& c : cases) {
    RemoteVmRequest r = Vm("vm-1");
    c.change(r);
    auto attached = admin_.AttachRemoteVm(r);
    EXPECT_EQ(attached.status().code(), absl::StatusCode::kInvalidArgument) << c.what;
    EXPECT_THAT(attached.status().message(), HasSubstr(c.message)) << c.what;
  }
  provisioner_->attach = absl::UnavailableError("cannot reach 10.0.0.5:22 over SSH");
  EXPECT_EQ(admin_.AttachRemoteVm(Vm("vm-1")).status(), provisioner_->attach);
  EXPECT_TRUE(store_->ListComputes()->empty());

  provisioner_->attach = absl::OkStatus();
  auto attached = admin_.AttachRemoteVm(Vm("vm-1"));
  ASSERT_TRUE(attached.ok()) << attached.status();
  EXPECT_EQ(attached->target.created_ms, clock_.NowMillis());
  auto taken = admin_.AttachRemoteVm(Vm("vm-1"));
  EXPECT_EQ(taken.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(taken.status().message(), HasSubstr("delete it first (`sweep compute delete vm-1`)"));
  EXPECT_THAT(EventKinds(), ElementsAre("compute_attached"));
}

TEST_F(StoreAdminTest, EnvironmentsAreRecordedWhenCreated) {
  core::Environment e;
  e.name = "py";
  e.kind = "user_managed";
  auto first = admin_.CreateEnvironment(e);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->created);
  EXPECT_FALSE(admin_.CreateEnvironment(e)->created);
  EXPECT_THAT(EventKinds(), ElementsAre("environment_created")) << "only a new version is news";
}

class LocalAdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = root_.str() + "/ws";  // not created: the tests see whether a workspace is made
  }
  testutil::TestDir root_{"local_admin"};
  std::string dir_;
};

TEST_F(LocalAdminTest, HoldsTheLockFromItsFirstChangeAndCreatesNoWorkspaceForARefusal) {
  auto admin = NewLocalAdmin(dir_, "sweep compute create", std::make_shared<FakeProvisioner>());
  EXPECT_FALSE(admin->PutComputeTarget(Cluster("x"), PutMode::kCreate).ok());
  EXPECT_FALSE(fs::exists(dir_)) << "a refused change creates no workspace";
  ASSERT_TRUE(admin->PutComputeTarget(Cluster("big-1"), PutMode::kCreate).ok());
  std::optional<LockHolder> holder = WorkspaceLock::Peek(dir_);
  ASSERT_TRUE(holder.has_value()) << "held while the admin lives";
  EXPECT_EQ(holder->role, "sweep compute create");
  EXPECT_EQ(holder->pid, ::getpid());
  admin.reset();
  EXPECT_FALSE(WorkspaceLock::Peek(dir_).has_value());
}

TEST_F(LocalAdminTest, AControllerHoldingTheLockGetsTheChangeInstead) {
  auto controller = WorkspaceLock::TryAcquire(
      dir_, LockHolder{.pid = ::getpid(), .role = kControllerRole, .address = "127.0.0.1:9"});
  ASSERT_NE(controller->lock, nullptr);
  auto admin = NewLocalAdmin(dir_, "sweep compute delete", nullptr);
  absl::Status s = admin->DeleteComputeTarget("cpu-cluster");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("is served by a controller (pid "));
  EXPECT_EQ(ServingAddress(s), "127.0.0.1:9");
  EXPECT_FALSE(ServingAddress(absl::FailedPreconditionError("other")).has_value());
  EXPECT_FALSE(fs::exists(dir_ + "/sweep.db")) << "nothing opened";
}

}  // namespace
}  // namespace sweep::workspace

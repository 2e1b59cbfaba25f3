// In-process integration: Controller + SqliteStore + rpc::GrpcServer on 127.0.0.1, with real
// worker agents (rpc::RunWorker) running real commands through /bin/sh.
//
// Worker processes: compute::LocalNodeProvider starts the helper executable
// tests/integration/worker_main.cc (IT_WORKER_BINARY, not a test itself) as real worker
// processes without the CLI, so a test can SIGKILL a worker in the middle of a trial.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "compute/local_provider.h"
#include "controller/controller.h"
#include "core/digest.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/sweep.grpc.pb.h"
#include "rpc/grpc_service.h"
#include "rpc/worker_client.h"
#include "spec/spec.h"
#include "store/store.h"
#include "tests/test_services.h"
#include "worker/agent.h"
#include "workspace/workspace.h"

namespace sweep::controller {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// Leases long enough that a loaded machine never lets one expire by accident; a test that
// wants a lease to run out moves the controller's clock past it.
constexpr int64_t kLeaseMs = 60'000;

// Real time plus an offset a test can move forward.
class JumpingClock final : public core::Clock {
 public:
  int64_t NowMillis() const override {
    return core::SystemClock::Default()->NowMillis() + offset_.load();
  }
  void Jump(int64_t ms) { offset_ += ms; }

 private:
  std::atomic<int64_t> offset_{0};
};

// How long a step may take before the test gives up: far beyond what any step needs on
// an idle machine, so only a hang, not a loaded machine, uses it up.
constexpr int64_t kPatienceMs = 300'000;

template <typename Pred>
bool Eventually(Pred pred, int64_t max_ms = kPatienceMs) {
  for (int64_t waited = 0; waited < max_ms; waited += 20) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return pred();
}

class ControllerGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "sweep-it-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto ws = workspace::Workspace::OpenOrCreate(dir_ + "/ws");
    ASSERT_TRUE(ws.ok()) << ws.status();
    ws_ = std::move(*ws);
    ControllerOptions o;
    o.clock = &clock_;
    o.lease_duration_ms = kLeaseMs;
    o.heartbeat_interval_ms = 200;
    o.max_acquire_wait_ms = 1'000;
    o.tick_interval_ms = 50;
    o.stop_grace_ms = 1'000;
    o.workspace_dir = ws_->dir();
    auto c = Controller::Create(ws_->store(), o);
    ASSERT_TRUE(c.ok()) << c.status();
    controller_ = std::move(*c);
    controller_->Start();
    rpc::GrpcServerOptions so;
    so.token = ws_->token();
    auto server = rpc::GrpcServer::Start(controller_.get(), so);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    ASSERT_GT(server_->port(), 0);
    EXPECT_EQ(server_->address(), "127.0.0.1:" + std::to_string(server_->port()));
    channel_ = grpc::CreateChannel(server_->address(), grpc::InsecureChannelCredentials());
    stub_ = proto::SweepController::NewStub(channel_);
  }

  void TearDown() override {
    for (auto& s : stops_) *s = true;
    for (auto& t : workers_) t.join();
    if (controller_) controller_->Shutdown();
    if (server_) server_->Shutdown();
    controller_.reset();
    server_.reset();
    ws_.reset();
    fs::remove_all(dir_);
  }

  std::unique_ptr<grpc::ClientContext> Ctx(const std::string& token) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    if (!token.empty()) ctx->AddMetadata("authorization", "Bearer " + token);
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    return ctx;
  }

  // Submits over the wire, as `sweep submit --server` does.
  std::string Submit(const std::string& yaml) {
    proto::SubmitSweepRequest req;
    req.set_spec_yaml(yaml);
    req.set_spec_path(dir_ + "/spec.yml");
    proto::SubmitSweepReply reply;
    grpc::Status s = stub_->SubmitSweep(Ctx(ws_->token()).get(), req, &reply);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return reply.sweep_id();
  }

  void StartWorkerThread() {
    auto stop = std::make_unique<std::atomic<bool>>(false);
    std::atomic<bool>* flag = stop.get();
    stops_.push_back(std::move(stop));
    worker::WorkerOptions o;
    o.server = server_->address();
    o.compute = "cpu-cluster";
    o.token = ws_->token();
    o.work_dir = dir_ + "/worker-" + std::to_string(workers_.size());
    o.acquire_wait_ms = 1'000;
    o.poll_interval_ms = 20;
    o.metrics_flush_ms = 50;
    o.default_stop_grace_ms = 1'000;
    workers_.emplace_back([o, flag] { rpc::RunWorker(o, flag); });
  }

  compute::LocalNodeProviderOptions ProviderOptions() {
    compute::LocalNodeProviderOptions p;
    p.binary = IT_WORKER_BINARY;
    p.server_address = server_->address();
    p.token_file = ws_->token_path();
    p.log_dir = dir_ + "/ws/logs";
    p.work_dir = dir_ + "/nodes";
    p.stop_grace_ms = 5'000;
    return p;
  }

  JumpingClock clock_;
  std::string dir_;
  std::unique_ptr<workspace::Workspace> ws_;
  std::unique_ptr<Controller> controller_;
  std::unique_ptr<rpc::GrpcServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<proto::SweepController::Stub> stub_;
  std::vector<std::unique_ptr<std::atomic<bool>>> stops_;
  std::vector<std::thread> workers_;
};

std::string GridSpec(const std::string& command, const std::string& values,
                     const std::string& limits) {
  return "type: sweep\n"
         "trial:\n"
         "  command: " +
         command +
         "\n"
         "compute: azureml:cpu-cluster\n"
         "sampling_algorithm: grid\n"
         "search_space:\n"
         "  x: {type: choice, values: " +
         values +
         "}\n"
         "objective: {primary_metric: accuracy, goal: maximize}\n"
         "limits: " +
         limits + "\n";
}

TEST_F(ControllerGrpcTest, WrongOrMissingTokenIsUnauthenticated) {
  proto::RegisterRequest req;
  req.set_compute("cpu-cluster");
  proto::RegisterReply reply;
  grpc::Status s = stub_->Register(Ctx("not-the-token").get(), req, &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(s.error_message(), "invalid token: it does not match the workspace token");
  s = stub_->Register(Ctx("").get(), req, &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(s.error_message(), HasSubstr("missing authorization metadata"));
  proto::CancelSweepRequest cancel;
  proto::CancelSweepReply cancel_reply;
  EXPECT_EQ(stub_->CancelSweep(Ctx("x").get(), cancel, &cancel_reply).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  s = stub_->Register(Ctx(ws_->token()).get(), req, &reply);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_THAT(reply.node_id(), HasSubstr("node-"));
  EXPECT_EQ(reply.lease_duration_ms(), kLeaseMs);
  EXPECT_EQ(reply.heartbeat_interval_ms(), 200);
}

TEST_F(ControllerGrpcTest, ErrorsMapToGrpcCodes) {
  const std::string token = ws_->token();
  // Invalid spec -> INVALID_ARGUMENT with the spec's located message.
  proto::SubmitSweepRequest bad;
  bad.set_spec_yaml("type: sweep\nlimits: {max_total_trials: -1}\n");
  bad.set_spec_path(dir_ + "/bad.yml");
  proto::SubmitSweepReply submitted;
  grpc::Status s = stub_->SubmitSweep(Ctx(token).get(), bad, &submitted);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("bad.yml"));
  // Missing target -> NOT_FOUND.
  std::string yaml = GridSpec("echo ${{search_space.x}}", "[1, 2]", "{max_total_trials: 2}");
  yaml.replace(yaml.find("azureml:cpu-cluster"), 19, "gpu-cluster");
  proto::SubmitSweepRequest missing;
  missing.set_spec_yaml(yaml);
  missing.set_spec_path(dir_ + "/spec.yml");
  s = stub_->SubmitSweep(Ctx(token).get(), missing, &submitted);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(s.error_message(), HasSubstr("compute target 'gpu-cluster' not found"));
  // Unknown sweep -> NOT_FOUND; unknown node -> NOT_FOUND.
  proto::CancelSweepRequest cancel;
  cancel.set_sweep_id("sw-000000000000");
  proto::CancelSweepReply cancel_reply;
  EXPECT_EQ(stub_->CancelSweep(Ctx(token).get(), cancel, &cancel_reply).error_code(),
            grpc::StatusCode::NOT_FOUND);
  proto::AcquireTrialRequest acquire;
  acquire.set_node_id("node-ghost");
  proto::AcquireTrialReply acquired;
  // No secret for the node (issue 11: node credentials) -> PERMISSION_DENIED.
  EXPECT_EQ(stub_->AcquireTrial(Ctx(token).get(), acquire, &acquired).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // A real lease, then a stale token -> FAILED_PRECONDITION.
  std::string sweep =
      Submit(GridSpec("echo ${{search_space.x}}", "[1, 2]", "{max_total_trials: 2}"));
  ASSERT_FALSE(sweep.empty());
  proto::RegisterRequest reg;
  reg.set_compute("cpu-cluster");
  proto::RegisterReply node;
  ASSERT_TRUE(stub_->Register(Ctx(token).get(), reg, &node).ok());
  acquire.set_node_id(node.node_id());
  acquire.set_node_secret(node.node_secret());
  acquire.set_wait_ms(1'000);
  ASSERT_TRUE(stub_->AcquireTrial(Ctx(token).get(), acquire, &acquired).ok());
  ASSERT_TRUE(acquired.has_lease());
  const proto::Lease& lease = acquired.lease();
  EXPECT_EQ(lease.ref().sweep_id(), sweep);
  EXPECT_EQ(lease.primary_metric(), "accuracy");
  EXPECT_EQ(lease.argv_size(), 2);
  EXPECT_EQ(lease.env().at("SWEEP_ID"), sweep);
  proto::HeartbeatRequest hb;
  *hb.mutable_lease() = lease.ref();
  hb.mutable_lease()->set_node_secret(node.node_secret());
  hb.mutable_lease()->set_fencing_token(lease.ref().fencing_token() + 100);
  proto::HeartbeatReply hb_reply;
  s = stub_->Heartbeat(Ctx(token).get(), hb, &hb_reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(), HasSubstr("stale lease"));
  *hb.mutable_lease() = lease.ref();
  hb.mutable_lease()->set_node_secret(node.node_secret());
  ASSERT_TRUE(stub_->Heartbeat(Ctx(token).get(), hb, &hb_reply).ok());
  EXPECT_EQ(hb_reply.directive(), proto::CONTINUE);
  // OUTCOME_UNSPECIFIED -> INVALID_ARGUMENT.
  proto::CompleteTrialRequest done;
  *done.mutable_lease() = lease.ref();
  done.mutable_lease()->set_node_secret(node.node_secret());
  proto::CompleteTrialReply done_reply;
  s = stub_->CompleteTrial(Ctx(token).get(), done, &done_reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // Report + complete -> completed; cancel the sweep -> "canceled".
  proto::ReportMetricsRequest rep;
  *rep.mutable_lease() = lease.ref();
  rep.mutable_lease()->set_node_secret(node.node_secret());
  auto* p = rep.add_points();
  p->set_name("accuracy");
  p->set_value(0.5);
  p->set_step(-1);
  proto::ReportMetricsReply rep_reply;
  ASSERT_TRUE(stub_->ReportMetrics(Ctx(token).get(), rep, &rep_reply).ok());
  done.set_outcome(proto::SUCCEEDED);
  ASSERT_TRUE(stub_->CompleteTrial(Ctx(token).get(), done, &done_reply).ok());
  EXPECT_EQ(done_reply.trial_state(), "completed");
  cancel.set_sweep_id(sweep);
  ASSERT_TRUE(stub_->CancelSweep(Ctx(token).get(), cancel, &cancel_reply).ok());
  EXPECT_EQ(cancel_reply.state(), "canceled");
  s = stub_->CancelSweep(Ctx(token).get(), cancel, &cancel_reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  proto::DeregisterRequest dereg;
  dereg.set_node_id(node.node_id());
  dereg.set_node_secret(node.node_secret());
  proto::DeregisterReply dereg_reply;
  EXPECT_TRUE(stub_->Deregister(Ctx(token).get(), dereg, &dereg_reply).ok());
}

TEST_F(ControllerGrpcTest, LongPollReturnsWhenWorkArrives) {
  const std::string token = ws_->token();
  proto::RegisterRequest reg;
  reg.set_compute("cpu-cluster");
  proto::RegisterReply node;
  ASSERT_TRUE(stub_->Register(Ctx(token).get(), reg, &node).ok());
  proto::AcquireTrialReply acquired;
  std::atomic<bool> done{false};
  std::thread poller([&] {
    proto::AcquireTrialRequest acquire;
    acquire.set_node_id(node.node_id());
    acquire.set_node_secret(node.node_secret());
    acquire.set_wait_ms(15'000);
    grpc::Status s = stub_->AcquireTrial(Ctx(token).get(), acquire, &acquired);
    EXPECT_TRUE(s.ok()) << s.error_message();
    done = true;
  });
  std::string sweep = Submit(GridSpec("echo ${{search_space.x}}", "[1]", "{max_total_trials: 1}"));
  poller.join();
  EXPECT_TRUE(acquired.has_lease());
  EXPECT_EQ(acquired.lease().ref().sweep_id(), sweep);
}

TEST_F(ControllerGrpcTest, RealWorkersRunASweepToCompletion) {
  std::string sweep = Submit(
      GridSpec("sh -c \"echo epoch=1 accuracy=0; echo epoch=2 accuracy=${{search_space.x}}\"",
               "[0.1, 0.2, 0.3, 0.4, 0.5]", "{max_total_trials: 10, max_concurrent_trials: 2}"));
  ASSERT_FALSE(sweep.empty());
  StartWorkerThread();
  StartWorkerThread();
  auto state = controller_->WaitForSweep(sweep, kPatienceMs);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, core::SweepState::kCompleted);
  auto trials = ws_->store()->ListTrials(sweep).value();
  ASSERT_EQ(trials.size(), 5u);  // the grid has five points
  std::set<double> finals;
  for (const core::Trial& t : trials) {
    EXPECT_EQ(t.state, core::TrialState::kCompleted) << t.trial_id << ": " << t.reason;
    EXPECT_EQ(t.intervals, 2);
    ASSERT_TRUE(t.final_value.has_value());
    finals.insert(*t.final_value);
  }
  EXPECT_EQ(finals, (std::set<double>{0.1, 0.2, 0.3, 0.4, 0.5}));
  core::Sweep s = ws_->store()->GetSweep(sweep).value();
  EXPECT_THAT(s.status_message, HasSubstr("best accuracy 0.5"));
  store::MetricFilter f;
  f.sweep_id = sweep;
  f.name = "accuracy";
  auto points = ws_->store()->ListMetrics(f).value();
  ASSERT_EQ(points.size(), 10u);
  for (const core::MetricPoint& p : points) {
    EXPECT_EQ(p.attempt, 1);
    EXPECT_TRUE(p.interval == 1 || p.interval == 2);
  }
}

TEST_F(ControllerGrpcTest, FailingAndSilentTrialsFailWithReasons) {
  std::string sweep = Submit(GridSpec(
      "sh -c \"if [ ${{search_space.x}} = 1 ]; then echo oops >&2; exit 3; fi; echo loss=1\"",
      "[1, 2]", "{max_total_trials: 2, max_concurrent_trials: 1}"));
  StartWorkerThread();
  auto state = controller_->WaitForSweep(sweep, kPatienceMs);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, core::SweepState::kFailed);
  auto trials = ws_->store()->ListTrials(sweep).value();
  ASSERT_EQ(trials.size(), 2u);
  for (const core::Trial& t : trials) {
    EXPECT_EQ(t.state, core::TrialState::kFailed);
    if (core::ParamValueToString(t.config.at("x")) == "1") {
      EXPECT_THAT(t.reason, HasSubstr("exited with code 3"));
    } else {
      EXPECT_EQ(t.reason, "exited 0 but never reported primary metric 'accuracy'");
    }
  }
}

TEST_F(ControllerGrpcTest, CancelStopsARunningTrialOnItsWorker) {
  std::string sweep =
      Submit(GridSpec("sh -c \"echo accuracy=0.1; sleep 30\"", "[1]", "{max_total_trials: 1}"));
  StartWorkerThread();
  ASSERT_TRUE(Eventually([&] {
    auto a = ws_->store()->ListAttempts(sweep, 1);
    return a.ok() && !a->empty() && a->back().state == core::AttemptState::kRunning;
  }));
  ASSERT_TRUE(controller_->CancelSweep(sweep).ok());
  EXPECT_EQ(controller_->WaitForSweep(sweep, 1'000).value(), core::SweepState::kCanceled);
  // The worker gets STOP on its next heartbeat and reports the attempt stopped.
  EXPECT_TRUE(Eventually([&] {
    auto a = ws_->store()->ListAttempts(sweep, 1);
    return a.ok() && a->back().state == core::AttemptState::kStopped;
  }));
  EXPECT_EQ(ws_->store()->GetTrial(sweep, 1).value().state, core::TrialState::kCanceled);
}

TEST_F(ControllerGrpcTest, KilledWorkerLosesItsAttemptAndAnotherWorkerFinishesTheTrial) {
  // Attempt 1 hangs until the test ends it (so the worker is surely mid-trial when
  // killed) and writes its pid, since the worker's SIGKILL leaves it orphaned; attempt 2
  // finishes.
  const std::string pid_file = dir_ + "/attempt1.pid";
  std::string sweep = Submit(
      GridSpec("sh -c \"if [ $SWEEP_ATTEMPT = 1 ]; then echo $$ > " + pid_file +
                   "; echo accuracy=0.1; exec sleep 1000; fi; echo accuracy=${{search_space.x}}\"",
               "[0.75]", "{max_total_trials: 1}"));
  compute::LocalNodeProvider victim(ProviderOptions());
  core::ComputeTarget target = ws_->store()->GetCompute("cpu-cluster").value();
  ASSERT_TRUE(victim.StartNode(target).ok());
  ASSERT_TRUE(Eventually([&] {
    auto a = ws_->store()->ListAttempts(sweep, 1);
    return a.ok() && !a->empty() && a->back().state == core::AttemptState::kRunning;
  })) << "the spawned worker never started the trial";
  pid_t orphan = 0;
  ASSERT_TRUE(Eventually([&] {
    std::ifstream(pid_file) >> orphan;
    return orphan > 0;
  })) << "attempt 1 did not write its pid";
  auto pids = victim.LivePids();
  ASSERT_EQ(pids.size(), 1u);
  ASSERT_EQ(::kill(pids[0], SIGKILL), 0);
  ASSERT_TRUE(Eventually([&] { return victim.LiveNodes("cpu-cluster") == 0; }));
  ::kill(-orphan, SIGKILL);  // the trial leads its own process group
  // Nothing renews the dead worker's lease: once it runs out, the attempt is lost.
  clock_.Jump(kLeaseMs + 1);
  ASSERT_TRUE(Eventually([&] {
    auto a = ws_->store()->ListAttempts(sweep, 1);
    return a.ok() && !a->empty() && a->back().state == core::AttemptState::kLost;
  })) << "the dead worker's lease never expired";

  StartWorkerThread();
  auto state = controller_->WaitForSweep(sweep, kPatienceMs);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, core::SweepState::kCompleted);
  auto attempts = ws_->store()->ListAttempts(sweep, 1).value();
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0].state, core::AttemptState::kLost);
  EXPECT_EQ(attempts[1].state, core::AttemptState::kSucceeded);
  EXPECT_NE(attempts[0].node_id, attempts[1].node_id);
  EXPECT_GT(attempts[1].fencing_token, attempts[0].fencing_token);
  core::Trial t = ws_->store()->GetTrial(sweep, 1).value();
  EXPECT_EQ(t.state, core::TrialState::kCompleted);
  EXPECT_EQ(t.final_value, 0.75);
  EXPECT_EQ(t.retries, 1);
}

TEST_F(ControllerGrpcTest, LocalProviderScalesUpRealWorkerProcesses) {
  auto provider = std::make_shared<compute::LocalNodeProvider>(ProviderOptions());
  controller_->SetNodeProvider("local", provider);
  std::string sweep =
      Submit(GridSpec("sh -c \"echo accuracy=${{search_space.x}}\"", "[0.1, 0.2, 0.3, 0.4]",
                      "{max_total_trials: 4, max_concurrent_trials: 2}"));
  auto state = controller_->WaitForSweep(sweep, kPatienceMs);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, core::SweepState::kCompleted);
  std::set<std::string> nodes;
  const auto attempts = ws_->store()->ListAttempts(sweep, std::nullopt).value();
  for (const core::Attempt& a : attempts) {
    nodes.insert(a.node_id);
  }
  EXPECT_GE(nodes.size(), 1u);
  EXPECT_LE(nodes.size(), 2u);  // never more nodes than max_concurrent
  int scale_ups = 0;
  const auto events = ws_->store()->ListEvents(sweep).value();
  for (const core::Event& e : events) {
    if (e.kind == "scale_up") {
      ++scale_ups;
      EXPECT_THAT(e.message, HasSubstr("(desired 2, max "));
    }
  }
  EXPECT_GE(scale_ups, 1);
  EXPECT_TRUE(fs::exists(dir_ + "/ws/logs/node-1.log"));
  controller_->Shutdown();  // stops the provider's workers
  EXPECT_EQ(provider->LiveNodes("cpu-cluster"), 0);
}

TEST_F(ControllerGrpcTest, RestartOverSqliteResumesTheSweep) {
  // Controller A leases two trials and completes one; then it goes away without a word.
  std::string sweep = Submit(GridSpec("echo ${{search_space.x}}", "[1, 2, 3]",
                                      "{max_total_trials: 3, max_concurrent_trials: 2}"));
  const std::string token = ws_->token();
  proto::RegisterRequest reg;
  reg.set_compute("cpu-cluster");
  proto::RegisterReply n1, n2;
  ASSERT_TRUE(stub_->Register(Ctx(token).get(), reg, &n1).ok());
  ASSERT_TRUE(stub_->Register(Ctx(token).get(), reg, &n2).ok());
  proto::AcquireTrialRequest acquire;
  proto::AcquireTrialReply l1, l2;
  acquire.set_node_id(n1.node_id());
  acquire.set_node_secret(n1.node_secret());
  ASSERT_TRUE(stub_->AcquireTrial(Ctx(token).get(), acquire, &l1).ok());
  acquire.set_node_id(n2.node_id());
  acquire.set_node_secret(n2.node_secret());
  ASSERT_TRUE(stub_->AcquireTrial(Ctx(token).get(), acquire, &l2).ok());
  ASSERT_TRUE(l1.has_lease() && l2.has_lease());
  proto::CompleteTrialRequest done;
  *done.mutable_lease() = l1.lease().ref();
  done.mutable_lease()->set_node_secret(n1.node_secret());
  done.set_outcome(proto::SUCCEEDED);
  auto* p = done.add_points();
  p->set_name("accuracy");
  p->set_value(0.25);
  proto::CompleteTrialReply done_reply;
  ASSERT_TRUE(stub_->CompleteTrial(Ctx(token).get(), done, &done_reply).ok());
  server_->Shutdown();
  controller_->Shutdown();
  controller_.reset();
  server_.reset();
  ws_.reset();

  // Controller B on a freshly opened workspace: trial 1 done, trial 2 still leased.
  auto ws = workspace::Workspace::OpenOrCreate(dir_ + "/ws");
  ASSERT_TRUE(ws.ok()) << ws.status();
  ws_ = std::move(*ws);
  ControllerOptions o;
  o.clock = &clock_;
  o.lease_duration_ms = kLeaseMs;
  auto c = Controller::Create(ws_->store(), o);
  ASSERT_TRUE(c.ok()) << c.status();
  controller_ = std::move(*c);
  LeaseRef ref;
  ref.node_id = l2.lease().ref().node_id();
  ref.sweep_id = sweep;
  ref.trial_id = l2.lease().ref().trial_id();
  ref.attempt = l2.lease().ref().attempt();
  ref.fencing_token = l2.lease().ref().fencing_token();
  core::MetricPoint point;
  point.name = "accuracy";
  point.value = 0.5;
  auto reply = controller_->ReportMetrics(ref, {point});
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->directive, Directive::kContinue);
  Completion ok;
  EXPECT_EQ(controller_->CompleteTrial(ref, ok).value(), core::TrialState::kCompleted);
  // The third grid point is next, on a token above all earlier ones.
  auto third = controller_->AcquireTrial(n1.node_id(), 0);
  ASSERT_TRUE(third.ok()) << third.status();
  ASSERT_TRUE(third->lease.has_value());
  EXPECT_EQ(third->lease->ref.trial_id, 3);
  EXPECT_GT(third->lease->ref.fencing_token, ref.fencing_token);
  auto keys = std::set<std::string>();
  const auto trials = ws_->store()->ListTrials(sweep).value();
  for (const core::Trial& t : trials) {
    keys.insert(core::ConfigKey(t.config));
  }
  EXPECT_EQ(keys.size(), 3u);  // the grid continued without repeating a point
}

TEST_F(ControllerGrpcTest, TlsServerAcceptsTlsClientsOnly) {
  SWEEP_REQUIRE_OPENSSL();
  std::string cert = dir_ + "/cert.pem", key = dir_ + "/key.pem";
  std::string cmd =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
      "-addext subjectAltName=DNS:localhost -keyout " +
      key + " -out " + cert + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  rpc::GrpcServerOptions so;
  so.token = ws_->token();
  so.tls_cert_file = cert;
  so.tls_key_file = key;
  auto tls = rpc::GrpcServer::Start(controller_.get(), so);
  ASSERT_TRUE(tls.ok()) << tls.status();
  std::ifstream in(cert);
  std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = pem;
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  auto secure = proto::SweepController::NewStub(
      grpc::CreateCustomChannel((*tls)->address(), grpc::SslCredentials(ssl), args));
  proto::RegisterRequest reg;
  reg.set_compute("cpu-cluster");
  proto::RegisterReply reply;
  grpc::Status s = secure->Register(Ctx(ws_->token()).get(), reg, &reply);
  EXPECT_TRUE(s.ok()) << s.error_message();
  auto plain = proto::SweepController::NewStub(
      grpc::CreateChannel((*tls)->address(), grpc::InsecureChannelCredentials()));
  auto ctx = Ctx(ws_->token());
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
  s = plain->Register(ctx.get(), reg, &reply);
  EXPECT_FALSE(s.ok());
  (*tls)->Shutdown();

  so.tls_key_file.clear();
  auto half = rpc::GrpcServer::Start(controller_.get(), so);
  EXPECT_EQ(half.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(half.status().message(), "TLS needs both a certificate file and a key file");
}

// Snapshots and uploads over the wire, as a hand-crafted client could send them.
TEST_F(ControllerGrpcTest, SnapshotChunksVerifyAndUnsafeUploadsAreRefused) {
  const std::string token = ws_->token();
  fs::create_directories(dir_ + "/code");
  std::ofstream(dir_ + "/code/train.py") << "print('accuracy=1')\n";
  std::string yaml = GridSpec("python3 train.py", "[1]", "{max_total_trials: 1}");
  yaml.replace(yaml.find("trial:\n"), 7, "trial:\n  code: " + dir_ + "/code\n");
  std::string sweep = Submit(yaml);
  ASSERT_FALSE(sweep.empty());
  proto::RegisterRequest reg;
  reg.set_compute("cpu-cluster");
  proto::RegisterReply node;
  ASSERT_TRUE(stub_->Register(Ctx(token).get(), reg, &node).ok());
  proto::AcquireTrialRequest acquire;
  acquire.set_node_id(node.node_id());
  acquire.set_node_secret(node.node_secret());
  acquire.set_wait_ms(1'000);
  proto::AcquireTrialReply acquired;
  ASSERT_TRUE(stub_->AcquireTrial(Ctx(token).get(), acquire, &acquired).ok());
  ASSERT_TRUE(acquired.has_lease());
  const std::string digest = acquired.lease().snapshot_digest();
  ASSERT_TRUE(core::IsSha256Hex(digest)) << digest;

  proto::FetchSnapshotRequest fetch;
  fetch.set_digest(digest);
  proto::FetchSnapshotReply manifest;
  ASSERT_TRUE(stub_->FetchSnapshot(Ctx(token).get(), fetch, &manifest).ok());
  EXPECT_EQ(manifest.chunk_sha256(), core::Sha256Hex(manifest.data()));
  EXPECT_EQ(core::Sha256Hex(manifest.data()), digest);
  fetch.set_blob(core::Sha256Hex("not in the snapshot"));
  EXPECT_EQ(stub_->FetchSnapshot(Ctx(token).get(), fetch, &manifest).error_code(),
            grpc::StatusCode::NOT_FOUND);

  proto::UploadArtifactRequest up;
  *up.mutable_lease() = acquired.lease().ref();
  up.mutable_lease()->set_node_secret(node.node_secret());
  up.set_data("x");
  up.set_chunk_sha256(core::Sha256Hex("x"));
  up.set_file_size(1);
  up.set_last(true);
  up.set_file_sha256(core::Sha256Hex("x"));
  proto::UploadArtifactReply up_reply;
  for (const std::string& path : {std::string("../../../escape.txt"), dir_ + "/abs.txt"}) {
    up.set_path(path);
    grpc::Status s = stub_->UploadArtifact(Ctx(token).get(), up, &up_reply);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << path;
    EXPECT_THAT(s.error_message(), HasSubstr("artifact refused: path '" + path + "'"));
  }
  EXPECT_FALSE(fs::exists(dir_ + "/ws/artifacts/escape.txt"));
  EXPECT_FALSE(fs::exists(dir_ + "/abs.txt"));
  up.set_path("model.txt");
  up.set_data("y");  // damaged: does not match chunk_sha256
  EXPECT_EQ(stub_->UploadArtifact(Ctx(token).get(), up, &up_reply).error_code(),
            grpc::StatusCode::DATA_LOSS);
  up.set_data("x");
  ASSERT_TRUE(stub_->UploadArtifact(Ctx(token).get(), up, &up_reply).ok());
  proto::CommitArtifactsRequest commit;
  *commit.mutable_lease() = acquired.lease().ref();
  commit.mutable_lease()->set_node_secret(node.node_secret());
  commit.set_file_count(1);
  proto::CommitArtifactsReply committed;
  ASSERT_TRUE(stub_->CommitArtifacts(Ctx(token).get(), commit, &committed).ok());
  EXPECT_EQ(committed.total_bytes(), 1);
}

TEST(GrpcServerOptionsTest, RejectsBadOptions) {
  auto store = store::NewInMemoryStore();
  auto c = Controller::Create(store.get(), ControllerOptions());
  ASSERT_TRUE(c.ok());
  rpc::GrpcServerOptions o;
  auto s = rpc::GrpcServer::Start(c->get(), o);
  EXPECT_EQ(s.status().message(), "GrpcServer: a token is required");
  o.token = "t";
  o.max_threads = 1;
  s = rpc::GrpcServer::Start(c->get(), o);
  EXPECT_EQ(s.status().message(), "GrpcServer: max_threads must be >= 4 (got 1)");
  o.max_threads = 16;
  o.listen_address = "256.1.1.1:1";
  s = rpc::GrpcServer::Start(c->get(), o);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(s.status().message(), "cannot listen on 256.1.1.1:1 (address in use or invalid?)");
  (*c)->Shutdown();
}

}  // namespace
}  // namespace sweep::controller

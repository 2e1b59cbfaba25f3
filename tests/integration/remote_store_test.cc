// RemoteStore (controller/admin_client.h) against a real rpc::GrpcServer on 127.0.0.1 that
// serves an in-memory store: every record reads back exactly as the store holds it.
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>

#include "controller/controller.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc/admin_client.h"
#include "rpc/grpc_service.h"
#include "store/store.h"

namespace sweep::controller {
namespace {

using ::testing::HasSubstr;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Bit-exact: NaN equals NaN, -0 differs from +0.
bool SameBits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

class RemoteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = store::NewInMemoryStore();
    auto ctrl = Controller::Create(store_.get(), ControllerOptions{});
    ASSERT_TRUE(ctrl.ok()) << ctrl.status();
    controller_ = std::move(*ctrl);
    rpc::GrpcServerOptions options;
    options.token = "secret";
    options.read_store = store_.get();
    auto server = rpc::GrpcServer::Start(controller_.get(), options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    remote_ = rpc::NewRemoteStore(server_->address(), "secret");
  }
  void TearDown() override {
    server_->Shutdown();
    controller_->Shutdown();
  }

  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Controller> controller_;
  std::unique_ptr<rpc::GrpcServer> server_;
  std::unique_ptr<store::Store> remote_;
};

// One record of every kind, with the values a wire format gets wrong most easily
// (non-finite and negative-zero doubles, int64 extremes, absent optionals).
store::WriteBatch RecordsOfEveryKind() {
  store::WriteBatch b;
  core::ComputeTarget c;
  c.name = "gpu-2";
  c.provider = "slurm";
  c.min_nodes = 1;
  c.max_nodes = 7;
  c.vm_size = "STANDARD_NC6";
  c.vm_priority = "lowpriority";
  c.idle_seconds_before_scaledown = 33;
  c.properties_json = R"({"partition":"p"})";
  c.created_ms = 1234;
  b.computes.push_back(c);
  core::Sweep s;
  s.id = "sw-0123456789ab";
  s.name = "n";
  s.spec_yaml = "type: sweep\n";
  s.spec_path = "/x/spec.yml";
  s.compute = "gpu-2";
  s.objective = {"loss", core::Goal::kMinimize, core::Aggregation::kBest};
  s.sampling_algorithm = "tpe";
  s.max_total_trials = 9;
  s.state = core::SweepState::kCanceled;
  s.status_message = "why";
  s.created_ms = 10;
  s.ended_ms = 20;
  b.sweeps.push_back(s);
  core::Trial t1;
  t1.sweep_id = s.id;
  t1.trial_id = 1;
  t1.config = {
      {"i", int64_t{-3}}, {"d", 0.1}, {"s", std::string("rf")}, {"b", true}, {"neg0", -0.0}};
  t1.state = core::TrialState::kEarlyTerminated;
  t1.final_value = -kInf;
  t1.intervals = 4;
  t1.attempts = 2;
  t1.retries = 1;
  t1.reason = "stopped";
  t1.created_ms = 11;
  t1.started_ms = 12;
  t1.ended_ms = 13;
  core::Trial t2 = t1;
  t2.trial_id = 2;
  t2.final_value.reset();
  t2.state = core::TrialState::kPending;
  b.trials = {t1, t2};
  core::Attempt a;
  a.sweep_id = s.id;
  a.trial_id = 1;
  a.attempt = 2;
  a.node_id = "node-9";
  a.fencing_token = std::numeric_limits<int64_t>::max();
  a.state = core::AttemptState::kPreempted;
  a.started_ms = 1;
  a.expires_ms = 2;
  a.ended_ms = 3;
  a.exit_code = -1;
  a.error = "gone";
  b.attempts.push_back(a);
  for (double v : {kNaN, kInf, -kInf, 0.25}) {
    core::MetricPoint m;
    m.sweep_id = s.id;
    m.trial_id = 1;
    m.attempt = 2;
    m.name = v == 0.25 ? "acc" : "loss";
    m.value = v;
    m.step = v == 0.25 ? -1 : 5;
    m.interval = 3;
    m.timestamp_ms = 99;
    b.metrics.push_back(m);
  }
  b.events.push_back({0, s.id, 1, "trial_stopped", "msg", 77});
  b.events.push_back({0, "", 0, "scale_up", "workspace-level", 78});
  core::Decision d;
  d.sweep_id = s.id;
  d.trial_id = 1;
  d.interval = 3;
  d.policy = "bandit";
  d.value = kNaN;
  d.reference = kInf;
  d.threshold = -0.0;
  d.stop = true;
  d.explanation = "e";
  d.timestamp_ms = 5;
  b.decisions.push_back(d);
  b.nodes.push_back({"node-9", "gpu-2", "h", 42, "busy", 6, 7});
  return b;
}

TEST_F(RemoteStoreTest, RecordsRoundTripExactly) {
  const store::WriteBatch b = RecordsOfEveryKind();
  const core::ComputeTarget& c = b.computes[0];
  const core::Sweep& s = b.sweeps[0];
  const core::Trial& t1 = b.trials[0];
  ASSERT_TRUE(store_->Commit(b).ok());

  auto rc = remote_->GetCompute("gpu-2");
  ASSERT_TRUE(rc.ok()) << rc.status();
  EXPECT_EQ(rc->provider, "slurm");
  EXPECT_EQ(rc->min_nodes, 1);
  EXPECT_EQ(rc->max_nodes, 7);
  EXPECT_EQ(rc->vm_size, c.vm_size);
  EXPECT_EQ(rc->vm_priority, c.vm_priority);
  EXPECT_EQ(rc->idle_seconds_before_scaledown, 33);
  EXPECT_EQ(rc->properties_json, c.properties_json);
  EXPECT_EQ(rc->created_ms, 1234);
  EXPECT_EQ(remote_->ListComputes()->size(), store_->ListComputes()->size());

  auto rs = remote_->GetSweep(s.id);
  ASSERT_TRUE(rs.ok()) << rs.status();
  EXPECT_EQ(rs->spec_yaml, s.spec_yaml);
  EXPECT_EQ(rs->spec_path, s.spec_path);
  EXPECT_EQ(rs->objective.primary_metric, "loss");
  EXPECT_EQ(rs->objective.goal, core::Goal::kMinimize);
  EXPECT_EQ(rs->objective.aggregation, core::Aggregation::kBest);
  EXPECT_EQ(rs->sampling_algorithm, "tpe");
  EXPECT_EQ(rs->max_total_trials, 9);
  EXPECT_EQ(rs->state, core::SweepState::kCanceled);
  EXPECT_EQ(rs->status_message, "why");
  EXPECT_EQ(rs->ended_ms, 20);
  ASSERT_EQ(remote_->ListSweeps()->size(), 1u);

  auto trials = remote_->ListTrials(s.id);
  ASSERT_TRUE(trials.ok()) << trials.status();
  ASSERT_EQ(trials->size(), 2u);
  const core::Trial& r1 = (*trials)[0];
  EXPECT_EQ(r1.config, t1.config);
  EXPECT_TRUE(std::holds_alternative<int64_t>(r1.config.at("i")));
  EXPECT_TRUE(SameBits(std::get<double>(r1.config.at("neg0")), -0.0));
  EXPECT_EQ(r1.state, core::TrialState::kEarlyTerminated);
  ASSERT_TRUE(r1.final_value.has_value());
  EXPECT_TRUE(SameBits(*r1.final_value, -kInf));
  EXPECT_EQ(r1.intervals, 4);
  EXPECT_EQ(r1.attempts, 2);
  EXPECT_EQ(r1.retries, 1);
  EXPECT_EQ(r1.reason, "stopped");
  EXPECT_EQ(r1.started_ms, 12);
  EXPECT_FALSE((*trials)[1].final_value.has_value()) << "an absent value stays absent";
  auto one = remote_->GetTrial(s.id, 2);
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(one->state, core::TrialState::kPending);

  auto attempts = remote_->ListAttempts(s.id, 1);
  ASSERT_TRUE(attempts.ok());
  ASSERT_EQ(attempts->size(), 1u);
  // Fencing tokens are lease credentials: ReadStore never hands them out (issue 11).
  EXPECT_EQ((*attempts)[0].fencing_token, 0u);
  EXPECT_EQ((*attempts)[0].state, core::AttemptState::kPreempted);
  EXPECT_EQ((*attempts)[0].exit_code, -1);
  EXPECT_EQ((*attempts)[0].error, "gone");
  EXPECT_EQ(remote_->MaxFencingToken().status().code(), absl::StatusCode::kPermissionDenied);

  store::MetricFilter all{.sweep_id = s.id};
  auto local_points = store_->ListMetrics(all);
  auto points = remote_->ListMetrics(all);
  ASSERT_TRUE(points.ok());
  ASSERT_EQ(points->size(), local_points->size());
  for (size_t i = 0; i < points->size(); ++i) {
    EXPECT_TRUE(SameBits((*points)[i].value, (*local_points)[i].value)) << i;
    EXPECT_EQ((*points)[i].name, (*local_points)[i].name);
    EXPECT_EQ((*points)[i].step, (*local_points)[i].step);
    EXPECT_EQ((*points)[i].interval, 3);
  }
  store::MetricFilter named{.sweep_id = s.id, .trial_id = 1, .name = "acc"};
  EXPECT_EQ(remote_->ListMetrics(named)->size(), 1u);

  auto events = remote_->ListEvents(s.id);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].kind, "trial_stopped");
  EXPECT_EQ((*events)[0].id, (*store_->ListEvents(s.id))[0].id);
  EXPECT_EQ((*remote_->ListEvents(""))[0].message, "workspace-level");

  auto decisions = remote_->ListDecisions(s.id, std::nullopt);
  ASSERT_EQ(decisions->size(), 1u);
  EXPECT_TRUE(std::isnan((*decisions)[0].value));
  EXPECT_TRUE(SameBits((*decisions)[0].reference, kInf));
  EXPECT_TRUE(SameBits((*decisions)[0].threshold, -0.0));
  EXPECT_TRUE((*decisions)[0].stop);

  auto nodes = remote_->ListNodes();
  ASSERT_EQ(nodes->size(), 1u);
  EXPECT_EQ((*nodes)[0].state, "busy");
  EXPECT_EQ((*nodes)[0].pid, 42);
}

TEST_F(RemoteStoreTest, ErrorsAreTheStoresOrSayWhatIsWrong) {
  auto missing = remote_->GetSweep("sw-nope");
  EXPECT_TRUE(absl::IsNotFound(missing.status())) << missing.status();
  EXPECT_EQ(missing.status().message(), store_->GetSweep("sw-nope").status().message());
  EXPECT_TRUE(remote_->ListTrials("sw-nope")->empty());

  absl::Status commit = remote_->Commit(store::WriteBatch{});
  EXPECT_TRUE(absl::IsFailedPrecondition(commit)) << commit;
  EXPECT_THAT(commit.message(), HasSubstr("read-only"));

  auto wrong = rpc::NewRemoteStore(server_->address(), "guess")->ListSweeps();
  EXPECT_TRUE(absl::IsUnauthenticated(wrong.status())) << wrong.status();
  EXPECT_THAT(wrong.status().message(), HasSubstr("rejected the token"));

  auto away = rpc::NewRemoteStore("127.0.0.1:1", "secret")->ListSweeps();
  EXPECT_TRUE(absl::IsUnavailable(away.status())) << away.status();
  EXPECT_THAT(away.status().message(), HasSubstr("cannot reach the sweep server at 127.0.0.1:1"));
}

}  // namespace
}  // namespace sweep::controller

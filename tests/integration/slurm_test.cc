// The Slurm node provider against the real single-node cluster of .ci/start-slurm.sh:
// an in-process Controller + SqliteStore + rpc::GrpcServer on 127.0.0.1, whose nodes are
// Slurm jobs running the built `sweep worker`. Runs only against that cluster and skips,
// saying why, otherwise (tests/test_services.h; fails under SWEEP_REQUIRE_SERVICES=1).
// Every test ends with no job of its target in squeue.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "compute/slurm_provider.h"
#include "controller/controller.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rpc/grpc_service.h"
#include "spec/spec.h"
#include "store/store.h"
#include "tests/test_services.h"
#include "workspace/workspace.h"

namespace sweep::controller {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

template <typename Pred>
bool Eventually(Pred pred, int max_ms = 60'000) {
  for (int waited = 0; waited < max_ms; waited += 100) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return pred();
}

struct QueuedJob {
  std::string id, partition, state;
};

// Jobs named `job_name` that squeue shows pending or running (not ended ones).
std::vector<QueuedJob> Squeue(const std::string& job_name) {
  auto out = compute::PosixCommandRunner()->Run(
      {"squeue", "--noheader", "--format=%i|%P|%T", "--name=" + job_name}, 30'000);
  std::vector<QueuedJob> jobs;
  if (!out.ok() || out->exit_code != 0) return jobs;
  for (absl::string_view line : absl::StrSplit(out->out, '\n', absl::SkipEmpty())) {
    std::vector<std::string> f = absl::StrSplit(line, '|');
    if (f.size() == 3) jobs.push_back({f[0], f[1], f[2]});
  }
  return jobs;
}

std::string GridSpec(const std::string& compute, const std::string& command,
                     const std::string& values, const std::string& limits) {
  return "type: sweep\n"
         "trial:\n"
         "  command: " +
         command +
         "\n"
         "compute: azureml:" +
         compute +
         "\n"
         "sampling_algorithm: grid\n"
         "search_space:\n"
         "  x: {type: choice, values: " +
         values +
         "}\n"
         "objective: {primary_metric: accuracy, goal: maximize}\n"
         "limits: " +
         limits + "\n";
}

class SlurmProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SWEEP_REQUIRE_SLURM();
    // Under the temporary directory (TMPDIR), which the node jobs see too.
    std::string tmpl = (fs::temp_directory_path() / "sweep-slurm-it-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto ws = workspace::Workspace::OpenOrCreate(dir_ + "/ws");
    ASSERT_TRUE(ws.ok()) << ws.status();
    ws_ = std::move(*ws);
    ControllerOptions o;
    o.lease_duration_ms = 10'000;
    o.heartbeat_interval_ms = 500;
    o.max_acquire_wait_ms = 2'000;
    o.tick_interval_ms = 100;
    o.stop_grace_ms = 2'000;  // well inside Slurm's KillWait (10 s)
    auto c = Controller::Create(ws_->store(), o);
    ASSERT_TRUE(c.ok()) << c.status();
    controller_ = std::move(*c);
    rpc::GrpcServerOptions so;
    so.token = ws_->token();
    auto server = rpc::GrpcServer::Start(controller_.get(), so);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);

    compute::SlurmNodeProviderOptions p;
    p.binary = SWEEP_BINARY;
    p.server_address = server_->address();
    p.token_file = ws_->token_path();
    p.log_dir = dir_ + "/ws/logs";
    p.work_dir = dir_ + "/ws/nodes";
    p.poll_interval_ms = 500;
    Controller* ctrl = controller_.get();
    p.on_node_gone = [ctrl](const std::string& node, const std::string& reason) {
      ctrl->NodeGone(node, reason).IgnoreError();
    };
    provider_ = std::make_shared<compute::SlurmNodeProvider>(p);
    controller_->SetNodeProvider("slurm", provider_);
    // A compute name per test process, so concurrent runs do not see each other's jobs.
    compute_ = absl::StrCat("it", ::getpid() % 100000);
  }

  void TearDown() override {
    if (controller_) controller_->Shutdown();  // cancels the provider's jobs
    if (server_) server_->Shutdown();
    if (!compute_.empty()) {
      EXPECT_TRUE(Squeue("sweep-" + compute_).empty()) << "stray Slurm jobs left behind";
    }
    controller_.reset();
    server_.reset();
    provider_.reset();
    ws_.reset();
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  void CreateTarget(int64_t min_nodes, int64_t max_nodes, int64_t idle_s,
                    const std::string& priority = "dedicated") {
    core::ComputeTarget t;
    t.name = compute_;
    t.provider = "slurm";
    t.min_nodes = min_nodes;
    t.max_nodes = max_nodes;
    t.vm_size = "Standard_DS1_v2";  // one CPU: two nodes fit the CI's 2-CPU machine
    t.vm_priority = priority;
    t.idle_seconds_before_scaledown = idle_s;
    t.properties_json = R"({"partition":"debug","lowpriority_partition":"lowpri"})";
    ASSERT_TRUE(compute::CheckSlurmTarget(t, *compute::PosixCommandRunner()).ok());
    store::WriteBatch b;
    b.computes.push_back(t);
    ASSERT_TRUE(ws_->store()->Commit(b).ok());
  }

  std::string Submit(const std::string& yaml) {
    auto spec = spec::ParseSpec(yaml, dir_ + "/spec.yml", dir_);
    EXPECT_TRUE(spec.ok()) << spec.status();
    if (!spec.ok()) return "";
    spec->path = dir_ + "/spec.yml";
    auto id = controller_->SubmitSweep(*spec, yaml);
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : "";
  }

  std::string RunningAttemptNode(const std::string& sweep) {
    auto attempts = ws_->store()->ListAttempts(sweep, std::nullopt);
    if (!attempts.ok()) return "";
    for (const core::Attempt& a : *attempts) {
      if (a.state == core::AttemptState::kRunning) return a.node_id;
    }
    return "";
  }

  std::string dir_;
  std::string compute_;
  std::unique_ptr<workspace::Workspace> ws_;
  std::unique_ptr<Controller> controller_;
  std::unique_ptr<rpc::GrpcServer> server_;
  std::shared_ptr<compute::SlurmNodeProvider> provider_;
};

TEST_F(SlurmProviderTest, SweepCompletesOnNodeJobsAndScalesBackToMinNodes) {
  CreateTarget(/*min_nodes=*/1, /*max_nodes=*/2, /*idle_s=*/2);
  std::string sweep =
      Submit(GridSpec(compute_, "sh -c \"sleep 1; echo accuracy=${{search_space.x}}\"",
                      "[0.1, 0.2, 0.3, 0.4]", "{max_total_trials: 4, max_concurrent_trials: 2}"));
  ASSERT_FALSE(sweep.empty());
  controller_->Start();
  // Two node jobs run while the trials wait.
  EXPECT_TRUE(Eventually([&] {
    int running = 0;
    for (const QueuedJob& j : Squeue("sweep-" + compute_)) running += j.state == "RUNNING";
    return running == 2;
  })) << "squeue never showed two running node jobs";
  auto state = controller_->WaitForSweep(sweep, 120'000);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, core::SweepState::kCompleted);
  std::set<std::string> nodes;
  const auto all_attempts = ws_->store()->ListAttempts(sweep, std::nullopt).value();
  for (const core::Attempt& a : all_attempts) {
    EXPECT_EQ(a.state, core::AttemptState::kSucceeded);
    EXPECT_THAT(a.node_id, ::testing::StartsWith("slurm-"));
    nodes.insert(a.node_id);
  }
  EXPECT_LE(nodes.size(), 2u);
  const auto trials = ws_->store()->ListTrials(sweep).value();
  for (const core::Trial& t : trials) {
    EXPECT_EQ(t.state, core::TrialState::kCompleted) << t.reason;
  }
  // Idle for 2 s: the surplus node is told to shut down, its job ends, min_nodes stays.
  EXPECT_TRUE(Eventually([&] {
    return provider_->LiveNodes(compute_) == 1 && Squeue("sweep-" + compute_).size() == 1;
  })) << "the cluster did not scale back to min_nodes=1";
  EXPECT_TRUE(fs::exists(
      absl::StrCat(dir_, "/ws/logs/slurm-", compute_, "-", provider_->LiveJobIds().at(0), ".log")));
}

TEST_F(SlurmProviderTest, ScancelMidTrialGivesAPreemptedAttemptAndTheSweepCompletes) {
  CreateTarget(0, 1, 60);
  // Attempt 1 of each trial runs long, so the node is surely mid-trial when cancelled.
  // (exec: Slurm signals every process of the job, and a shell whose sleep died first
  // would go on to report a value.)
  std::string sweep = Submit(GridSpec(
      compute_,
      "sh -c \"echo accuracy=0.01; if [ $SWEEP_ATTEMPT = 1 ] && [ ${{search_space.x}} = 0.5 ]; "
      "then exec sleep 60; fi; echo accuracy=${{search_space.x}}\"",
      "[0.5, 0.6]", "{max_total_trials: 2, max_concurrent_trials: 1, max_retries: 0}"));
  controller_->Start();
  std::string node;
  ASSERT_TRUE(Eventually([&] {
    node = RunningAttemptNode(sweep);
    return !node.empty();
  })) << "no attempt ever ran";
  ASSERT_THAT(node, ::testing::StartsWith("slurm-"));
  std::string job = node.substr(6);
  auto cancelled = compute::PosixCommandRunner()->Run({"scancel", job}, 30'000);
  ASSERT_TRUE(cancelled.ok() && cancelled->exit_code == 0);

  auto state = controller_->WaitForSweep(sweep, 120'000);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, core::SweepState::kCompleted);
  auto attempts = ws_->store()->ListAttempts(sweep, std::nullopt).value();
  int preempted = 0;
  for (const core::Attempt& a : attempts) {
    if (a.node_id == node) {
      EXPECT_EQ(a.state, core::AttemptState::kPreempted) << a.error;
      ++preempted;
    }
  }
  EXPECT_EQ(preempted, 1);
  const auto trials = ws_->store()->ListTrials(sweep).value();
  for (const core::Trial& t : trials) {
    EXPECT_EQ(t.state, core::TrialState::kCompleted) << t.reason;
    EXPECT_EQ(t.retries, 0);  // max_retries 0: the preemption used no retry
  }
  core::Trial t1 = ws_->store()->GetTrial(sweep, 1).value();
  EXPECT_EQ(t1.attempts, 2);
  EXPECT_EQ(t1.final_value, 0.5);
  int events = 0;
  const auto events_list = ws_->store()->ListEvents(sweep).value();
  for (const core::Event& e : events_list) {
    events += e.kind == "attempt_preempted";
  }
  EXPECT_EQ(events, 1);
}

TEST_F(SlurmProviderTest, LowPriorityNodesRunInThePreemptiblePartitionAndArePreempted) {
  CreateTarget(0, 1, 60, "lowpriority");
  std::string sweep = Submit(
      GridSpec(compute_,
               "sh -c \"echo accuracy=0.01; if [ $SWEEP_ATTEMPT = 1 ]; then exec sleep 60; fi; "
               "echo accuracy=${{search_space.x}}\"",
               "[0.7]", "{max_total_trials: 1, max_retries: 0}"));
  controller_->Start();
  std::string node;
  ASSERT_TRUE(Eventually([&] {
    node = RunningAttemptNode(sweep);
    return !node.empty();
  })) << "no attempt ever ran";
  std::vector<QueuedJob> jobs = Squeue("sweep-" + compute_);
  ASSERT_EQ(jobs.size(), 1u);
  EXPECT_EQ(jobs[0].partition, "lowpri");

  // A job of the higher-tier partition that needs every CPU of the node preempts the
  // node job.
  auto cpus_out = compute::PosixCommandRunner()->Run(
      {"sinfo", "--noheader", "--partition=debug", "--format=%c"}, 30'000);
  ASSERT_TRUE(cpus_out.ok() && cpus_out->exit_code == 0);
  const int cpus = std::atoi(cpus_out->out.c_str());
  ASSERT_GT(cpus, 0) << cpus_out->out;
  auto hog = compute::PosixCommandRunner()->Run(
      {"sbatch", "--parsable", "--partition=debug", "--job-name=sweep-hog-" + compute_,
       absl::StrCat("--cpus-per-task=", cpus), "--mem=256M", "--output=/dev/null",
       "--wrap=sleep 3"},
      30'000);
  ASSERT_TRUE(hog.ok() && hog->exit_code == 0) << (hog.ok() ? hog->err : hog.status().ToString());
  auto state = controller_->WaitForSweep(sweep, 120'000);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, core::SweepState::kCompleted);
  auto attempts = ws_->store()->ListAttempts(sweep, 1).value();
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0].state, core::AttemptState::kPreempted);
  EXPECT_EQ(attempts[0].node_id, node);
  EXPECT_EQ(attempts[1].state, core::AttemptState::kSucceeded);
  EXPECT_EQ(ws_->store()->GetTrial(sweep, 1).value().final_value, 0.7);
  EXPECT_TRUE(Eventually([&] { return Squeue("sweep-hog-" + compute_).empty(); }));
}

TEST_F(SlurmProviderTest, StopAllCancelsNodeJobsAndLeavesNothingInTheQueue) {
  CreateTarget(0, 2, 60);
  core::ComputeTarget t = ws_->store()->GetCompute(compute_).value();
  ASSERT_TRUE(provider_->StartNode(t).ok());
  ASSERT_TRUE(provider_->StartNode(t).ok());
  EXPECT_EQ(provider_->LiveNodes(compute_), 2);
  EXPECT_EQ(Squeue("sweep-" + compute_).size(), 2u);
  provider_->StopAll();
  EXPECT_EQ(provider_->LiveNodes(compute_), 0);
  EXPECT_TRUE(Squeue("sweep-" + compute_).empty());
}

TEST_F(SlurmProviderTest, UnknownPartitionIsAClearError) {
  core::ComputeTarget t;
  t.name = compute_;
  t.provider = "slurm";
  t.vm_size = "Standard_DS1_v2";
  t.properties_json = R"({"partition":"nope"})";
  absl::Status s = compute::CheckSlurmTarget(t, *compute::PosixCommandRunner());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "compute '" + compute_ + "': unknown partition 'nope' (Slurm has: debug, lowpri)");
  // sbatch refuses too, and nothing is queued.
  t.properties_json = R"({"partition":"nope"})";
  absl::StatusOr<std::string> started = provider_->StartNode(t);
  EXPECT_EQ(started.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(started.status().message(), HasSubstr("Invalid partition name specified"));
  EXPECT_EQ(provider_->LiveNodes(compute_), 0);
}

}  // namespace
}  // namespace sweep::controller

// End to end: the real agent (gRPC client, posix processes) against a fake controller
// serving proto's SweepController on 127.0.0.1.
#include "rpc/worker_client.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "core/fault_env.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "proto/sweep.grpc.pb.h"
#include "tests/test_dir.h"
#include "tests/test_process.h"
#include "tests/test_services.h"
#include "tests/unit/worker/test_files.h"
#include "worker/agent.h"

namespace sweep::rpc {
namespace {

namespace fs = std::filesystem;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kToken[] = "s3cret-token";

// A scripted controller: hands out the queued leases one by one, then `shutdown`.
class FakeSweepService final : public proto::SweepController::Service {
 public:
  grpc::Status Register(grpc::ServerContext* context, const proto::RegisterRequest* request,
                        proto::RegisterReply* reply) override {
    if (grpc::Status auth = Authorize(context, "Register"); !auth.ok()) return auth;
    std::lock_guard<std::mutex> lock(mu_);
    last_register_ = *request;
    reply->set_node_id("node-7");
    reply->set_heartbeat_interval_ms(100);
    reply->set_lease_duration_ms(30'000);
    return grpc::Status::OK;
  }

  grpc::Status AcquireTrial(grpc::ServerContext* context, const proto::AcquireTrialRequest* request,
                            proto::AcquireTrialReply* reply) override {
    if (grpc::Status auth = Authorize(context, "AcquireTrial"); !auth.ok()) return auth;
    if (hold_polls_) {
      // A real long poll: wait out wait_ms unless the client cancels the call.
      auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(request->wait_ms());
      while (std::chrono::steady_clock::now() < end) {
        if (context->IsCancelled()) {
          std::lock_guard<std::mutex> lock(mu_);
          calls_.push_back("AcquireTrial(cancelled)");
          return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      return grpc::Status::OK;
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (request->node_id() != "node-7") {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown node " + request->node_id());
    }
    if (leases_.empty()) {
      reply->set_shutdown(true);
    } else {
      *reply->mutable_lease() = leases_.front();
      leases_.erase(leases_.begin());
    }
    return grpc::Status::OK;
  }

  grpc::Status Heartbeat(grpc::ServerContext* context, const proto::HeartbeatRequest* request,
                         proto::HeartbeatReply* reply) override {
    if (grpc::Status auth = Authorize(context, "Heartbeat"); !auth.ok()) return auth;
    std::lock_guard<std::mutex> lock(mu_);
    ++heartbeats_;
    return Decide(request->lease(), reply);
  }

  grpc::Status ReportMetrics(grpc::ServerContext* context,
                             const proto::ReportMetricsRequest* request,
                             proto::ReportMetricsReply* reply) override {
    if (grpc::Status auth = Authorize(context, "ReportMetrics"); !auth.ok()) return auth;
    std::lock_guard<std::mutex> lock(mu_);
    grpc::Status status = Decide(request->lease(), reply);
    if (status.ok()) {
      for (const auto& point : request->points()) points_.push_back(point);
      if (!report_marker_.empty()) std::ofstream(report_marker_) << "reported\n";
    }
    return status;
  }

  grpc::Status CompleteTrial(grpc::ServerContext* context,
                             const proto::CompleteTrialRequest* request,
                             proto::CompleteTrialReply* reply) override {
    if (grpc::Status auth = Authorize(context, "CompleteTrial"); !auth.ok()) return auth;
    std::lock_guard<std::mutex> lock(mu_);
    if (stale_tokens_.count(request->lease().fencing_token())) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "stale fencing token");
    }
    completions_.push_back(*request);
    for (const auto& point : request->points()) points_.push_back(point);
    reply->set_trial_state(request->outcome() == proto::SUCCEEDED ? "completed" : "failed");
    return grpc::Status::OK;
  }

  grpc::Status Deregister(grpc::ServerContext* context, const proto::DeregisterRequest* request,
                          proto::DeregisterReply* reply) override {
    if (grpc::Status auth = Authorize(context, "Deregister"); !auth.ok()) return auth;
    return grpc::Status::OK;
  }

  grpc::Status UploadArtifact(grpc::ServerContext* context,
                              const proto::UploadArtifactRequest* request,
                              proto::UploadArtifactReply*) override {
    if (grpc::Status auth = Authorize(context, "UploadArtifact"); !auth.ok()) return auth;
    std::lock_guard<std::mutex> lock(mu_);
    uploaded_[request->path()] += request->data();
    return grpc::Status::OK;
  }

  grpc::Status CommitArtifacts(grpc::ServerContext* context,
                               const proto::CommitArtifactsRequest* request,
                               proto::CommitArtifactsReply* reply) override {
    if (grpc::Status auth = Authorize(context, "CommitArtifacts"); !auth.ok()) return auth;
    reply->set_total_bytes(0);
    return grpc::Status::OK;
  }

  std::map<std::string, std::string> uploaded() {
    std::lock_guard<std::mutex> lock(mu_);
    return uploaded_;
  }

  void AddLease(const proto::Lease& lease) {
    std::lock_guard<std::mutex> lock(mu_);
    leases_.push_back(lease);
  }
  // Heartbeats and reports under this token get a STOP directive.
  void StopToken(uint64_t token, std::string reason) {
    std::lock_guard<std::mutex> lock(mu_);
    stop_tokens_[token] = std::move(reason);
  }
  void StaleToken(uint64_t token) {
    std::lock_guard<std::mutex> lock(mu_);
    stale_tokens_.insert(token);
  }

  std::vector<std::string> calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  std::vector<proto::CompleteTrialRequest> completions() {
    std::lock_guard<std::mutex> lock(mu_);
    return completions_;
  }
  std::vector<proto::MetricPoint> points() {
    std::lock_guard<std::mutex> lock(mu_);
    return points_;
  }
  proto::RegisterRequest last_register() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_register_;
  }
  // Each accepted ReportMetrics creates this file (a trial can wait for it).
  void SetReportMarker(std::string path) {
    std::lock_guard<std::mutex> lock(mu_);
    report_marker_ = std::move(path);
  }
  // AcquireTrial waits out its wait_ms (or a cancel) instead of answering at once.
  void HoldPolls() { hold_polls_ = true; }

 private:
  grpc::Status Authorize(grpc::ServerContext* context, const std::string& call) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = context->client_metadata().find("authorization");
    if (it == context->client_metadata().end() ||
        std::string(it->second.data(), it->second.size()) != std::string("Bearer ") + kToken) {
      calls_.push_back(call + "(unauthenticated)");
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "invalid token");
    }
    calls_.push_back(call);
    return grpc::Status::OK;
  }

  template <typename Reply>
  grpc::Status Decide(const proto::LeaseRef& ref, Reply* reply) {
    if (stale_tokens_.count(ref.fencing_token())) {
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "stale fencing token");
    }
    auto stop = stop_tokens_.find(ref.fencing_token());
    if (stop != stop_tokens_.end()) {
      reply->set_directive(proto::STOP);
      reply->set_reason(stop->second);
    } else {
      reply->set_directive(proto::CONTINUE);
    }
    return grpc::Status::OK;
  }

  std::atomic<bool> hold_polls_{false};
  std::string report_marker_;
  std::mutex mu_;
  std::vector<proto::Lease> leases_;
  std::map<uint64_t, std::string> stop_tokens_;
  std::map<std::string, std::string> uploaded_;  // path -> bytes received
  std::set<uint64_t> stale_tokens_;
  std::vector<std::string> calls_;
  std::vector<proto::CompleteTrialRequest> completions_;
  std::vector<proto::MetricPoint> points_;
  proto::RegisterRequest last_register_;
  int heartbeats_ = 0;
};

// Filters the heartbeats and reports out of a call log (their number depends on timing).
std::vector<std::string> Skeleton(const std::vector<std::string>& calls) {
  std::vector<std::string> out;
  for (const std::string& call : calls) {
    if (call != "Heartbeat" && call != "ReportMetrics") out.push_back(call);
  }
  return out;
}

// Waits (up to 60 s) until `path` has content: a trial wrote it.
void WaitForFile(const std::string& path) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (::sweep::worker::testing::ReadFile(path).empty() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

bool Alive(pid_t pid) { return testutil::ProcessAlive(pid); }

using ::sweep::worker::testing::ReadFile;

class GrpcAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("grpc-agent-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
    options_.server = "127.0.0.1:" + std::to_string(port_);
    options_.compute = "cpu-cluster";
    options_.token = kToken;
    options_.work_dir = dir_.string();
    options_.acquire_wait_ms = 200;
    options_.poll_interval_ms = 20;
    options_.metrics_flush_ms = 50;
  }
  void TearDown() override {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    fs::remove_all(dir_);
  }

  worker::WorkerResult Run() {
    GrpcClientOptions client_options;
    client_options.server = options_.server;
    client_options.token = options_.token;
    auto client = NewGrpcControllerClient(client_options);
    EXPECT_TRUE(client.ok()) << client.status();
    std::unique_ptr<worker::ProcessLauncher> launcher = worker::NewPosixProcessLauncher();
    worker::WorkerDeps deps;
    deps.client = client->get();
    deps.launcher = launcher.get();
    return RunWorkerWith(options_, deps, nullptr);
  }

  proto::Lease MakeLease(uint64_t token, std::vector<std::string> argv) {
    proto::Lease lease;
    lease.mutable_ref()->set_node_id("node-7");
    lease.mutable_ref()->set_sweep_id("sw-0123456789ab");
    lease.mutable_ref()->set_trial_id(static_cast<int64_t>(token));
    lease.mutable_ref()->set_attempt(1);
    lease.mutable_ref()->set_fencing_token(token);
    for (std::string& arg : argv) lease.add_argv(std::move(arg));
    lease.set_primary_metric("accuracy");
    lease.set_stop_grace_ms(2'000);
    return lease;
  }

  fs::path dir_;
  FakeSweepService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  worker::WorkerOptions options_;
};

TEST_F(GrpcAgentTest, RunsALeaseAndReportsItsMetrics) {
  proto::Lease lease = MakeLease(
      11, {"/bin/sh", "-c",
           "echo epoch=1 accuracy=0.5; "
           "echo '{\"name\": \"loss\", \"value\": 0.25, \"step\": 2}' >> \"$SWEEP_METRICS_FILE\"; "
           "echo \"$AZUREML_SWEEP_lr\" > \"$SWEEP_OUTPUTS_DIR/lr.txt\"; echo done >&2"});
  (*lease.mutable_env())["AZUREML_SWEEP_lr"] = "0.01";
  service_.AddLease(lease);

  worker::WorkerResult result = Run();
  EXPECT_EQ(result.exit_code, 0) << result.message;
  EXPECT_THAT(Skeleton(service_.calls()),
              ElementsAre("Register", "AcquireTrial", "UploadArtifact", "CommitArtifacts",
                          "CompleteTrial", "AcquireTrial", "Deregister"));
  EXPECT_EQ(service_.uploaded(), (std::map<std::string, std::string>{{"lr.txt", "0.01\n"}}));
  EXPECT_EQ(service_.last_register().compute(), "cpu-cluster");
  EXPECT_EQ(service_.last_register().pid(), ::getpid());

  auto completions = service_.completions();
  ASSERT_EQ(completions.size(), 1u);
  EXPECT_EQ(completions[0].outcome(), proto::SUCCEEDED);
  EXPECT_EQ(completions[0].lease().fencing_token(), 11u);
  EXPECT_EQ(completions[0].lease().node_id(), "node-7");
  std::map<std::string, std::pair<double, int64_t>> points;
  for (const auto& point : service_.points()) {
    points[point.name()] = {point.value(), point.step()};
    EXPECT_GT(point.timestamp_ms(), 0);
  }
  EXPECT_EQ(points.size(), 2u);
  EXPECT_EQ(points["accuracy"], std::make_pair(0.5, int64_t{1}));
  EXPECT_EQ(points["loss"], std::make_pair(0.25, int64_t{2}));

  fs::path attempt = dir_ / "attempts" / "sw-0123456789ab-11-1-11";
  // Uploaded, outputs/ is removed with the code copy; the logs stay.
  EXPECT_FALSE(fs::exists(attempt / "outputs"));
  EXPECT_EQ(ReadFile(attempt / "stdout.log"), "epoch=1 accuracy=0.5\n");
  EXPECT_EQ(ReadFile(attempt / "stderr.log"), "done\n");
}

TEST_F(GrpcAgentTest, MetricsAreReportedWhileTheTrialRuns) {
  fs::create_directories(dir_);
  std::string marker = (dir_ / "reported").string();
  service_.SetReportMarker(marker);
  // The trial only ends after the controller has received a report.
  service_.AddLease(MakeLease(
      16, {"/bin/sh", "-c",
           "echo accuracy=0.1; while [ ! -e \"$0\" ]; do sleep 0.02; done; echo accuracy=0.2",
           marker}));
  worker::WorkerResult result = Run();
  EXPECT_EQ(result.exit_code, 0) << result.message;
  std::vector<std::string> calls = service_.calls();
  auto report = std::find(calls.begin(), calls.end(), "ReportMetrics");
  auto complete = std::find(calls.begin(), calls.end(), "CompleteTrial");
  ASSERT_NE(report, calls.end());
  ASSERT_NE(complete, calls.end());
  EXPECT_LT(report - calls.begin(), complete - calls.begin());
  EXPECT_THAT(Skeleton(calls), ElementsAre("Register", "AcquireTrial", "CompleteTrial",
                                           "AcquireTrial", "Deregister"));
  std::vector<double> values;
  for (const auto& point : service_.points()) {
    EXPECT_EQ(point.name(), "accuracy");
    EXPECT_EQ(point.step(), -1);
    values.push_back(point.value());
  }
  EXPECT_THAT(values, ElementsAre(0.1, 0.2));
  ASSERT_EQ(service_.completions().size(), 1u);
  EXPECT_EQ(service_.completions()[0].outcome(), proto::SUCCEEDED);
}

TEST_F(GrpcAgentTest, StopDirectiveKillsTheTrial) {
  fs::create_directories(dir_);
  std::string pid_file = (dir_ / "pids").string();
  service_.AddLease(MakeLease(
      12, {"/bin/sh", "-c", "sleep 1000 & echo $! > \"$0\"; echo accuracy=0.1; wait", pid_file}));

  // The stop comes once the trial runs (has written its child's pid), not before.
  worker::WorkerResult result;
  std::thread worker([&] { result = Run(); });
  WaitForFile(pid_file);
  service_.StopToken(12, "early termination by bandit policy");
  worker.join();
  EXPECT_EQ(result.exit_code, 0) << result.message;
  auto completions = service_.completions();
  ASSERT_EQ(completions.size(), 1u);
  EXPECT_EQ(completions[0].outcome(), proto::STOPPED);
  EXPECT_EQ(completions[0].error(), "early termination by bandit policy");
  EXPECT_EQ(completions[0].signal(), SIGTERM);
  EXPECT_EQ(completions[0].exit_code(), -1);
  EXPECT_THAT(service_.calls(), Contains("Heartbeat"));
  pid_t sleeper = std::stoi(ReadFile(pid_file));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (Alive(sleeper) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_FALSE(Alive(sleeper));
}

TEST_F(GrpcAgentTest, StaleFencingTokenAbandonsTheAttempt) {
  fs::create_directories(dir_);
  std::string pid_file = (dir_ / "pid").string();
  service_.AddLease(
      MakeLease(13, {"/bin/sh", "-c", "echo $$ > \"$0\"; exec sleep 1000", pid_file}));

  // The lease goes stale once the trial runs (has written its pid), not before.
  worker::WorkerResult result;
  std::thread worker([&] { result = Run(); });
  WaitForFile(pid_file);
  service_.StaleToken(13);
  worker.join();
  EXPECT_EQ(result.exit_code, 0) << result.message;
  EXPECT_TRUE(service_.completions().empty());
  EXPECT_THAT(Skeleton(service_.calls()),
              ElementsAre("Register", "AcquireTrial", "AcquireTrial", "Deregister"));
  std::string pid_text = ReadFile(pid_file);
  ASSERT_FALSE(pid_text.empty());
  EXPECT_FALSE(Alive(std::stoi(pid_text)));
}

TEST_F(GrpcAgentTest, FailedTrialReportsStderrTail) {
  service_.AddLease(MakeLease(14, {"/bin/sh", "-c", "echo 'ValueError: bad lr' >&2; exit 4"}));
  worker::WorkerResult result = Run();
  EXPECT_EQ(result.exit_code, 0) << result.message;
  auto completions = service_.completions();
  ASSERT_EQ(completions.size(), 1u);
  EXPECT_EQ(completions[0].outcome(), proto::FAILED);
  EXPECT_EQ(completions[0].exit_code(), 4);
  EXPECT_EQ(completions[0].error(), "exit code 4; last lines of stderr:\nValueError: bad lr");
}

TEST_F(GrpcAgentTest, CommandNotFoundIsAFailedCompletion) {
  service_.AddLease(MakeLease(15, {"xyz-no-such-command", "--flag"}));
  worker::WorkerResult result = Run();
  EXPECT_EQ(result.exit_code, 0) << result.message;
  auto completions = service_.completions();
  ASSERT_EQ(completions.size(), 1u);
  EXPECT_EQ(completions[0].outcome(), proto::FAILED);
  EXPECT_EQ(completions[0].error(), "cannot run 'xyz-no-such-command': No such file or directory");
}

TEST_F(GrpcAgentTest, WrongTokenExitsWithItsMessage) {
  options_.token = "wrong";
  worker::WorkerResult result = Run();
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.message, "the controller at " + options_.server +
                                " rejected the workspace token (invalid token); check the "
                                "token given to the worker");
  EXPECT_THAT(service_.calls(), ElementsAre("Register(unauthenticated)"));
  // The real entry point returns the same exit code.
  EXPECT_EQ(RunWorker(options_, nullptr), 1);
}

TEST_F(GrpcAgentTest, UnreachableControllerGivesUp) {
  // A port nobody listens on: take one from the OS, then close it.
  server_->Shutdown(std::chrono::system_clock::now());
  options_.unreachable_timeout_ms = 1'000;
  worker::WorkerResult result = Run();
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.message,
              HasSubstr("the controller at " + options_.server + " has been unreachable for 1 s"));
}

TEST_F(GrpcAgentTest, StopFlagCancelsTheLongPollAndDeregisters) {
  service_.HoldPolls();
  options_.acquire_wait_ms = 60'000;
  std::atomic<bool> stop{false};
  std::thread stopper([&] {
    // Once the server holds the long poll (Register, then AcquireTrial).
    while (service_.calls().size() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    stop = true;  // what the SIGTERM handler does
  });
  GrpcClientOptions client_options;
  client_options.server = options_.server;
  client_options.token = kToken;
  auto client = NewGrpcControllerClient(client_options);
  ASSERT_TRUE(client.ok());
  auto launcher = worker::NewPosixProcessLauncher();
  worker::WorkerDeps deps;
  deps.client = client->get();
  deps.launcher = launcher.get();
  worker::WorkerResult result = RunWorkerWith(options_, deps, &stop);
  stopper.join();
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_EQ(result.message, "worker stopped by signal");
  // The server saw the poll cancelled, not answered after its 60 s wait.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (service_.calls().size() < 4 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_THAT(service_.calls(),
              ::testing::UnorderedElementsAre("Register", "AcquireTrial", "AcquireTrial(cancelled)",
                                              "Deregister"));
}

TEST(GrpcTlsTest, WorkerVerifiesATlsControllerWithItsCa) {
  SWEEP_REQUIRE_OPENSSL();
  ::sweep::testutil::TestDir test_dir("grpc-tls");
  const fs::path& dir = test_dir.path();
  std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
      "-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout " +
      (dir / "key.pem").string() + " -out " + (dir / "cert.pem").string() + " 2>/dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0);
  grpc::SslServerCredentialsOptions ssl;
  ssl.pem_key_cert_pairs.push_back({ReadFile(dir / "key.pem"), ReadFile(dir / "cert.pem")});
  FakeSweepService service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(ssl), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);

  worker::WorkerOptions options;
  options.server = "127.0.0.1:" + std::to_string(port);
  options.token = kToken;
  options.compute = "cpu";
  options.work_dir = (dir / "work").string();
  options.tls_ca_file = (dir / "cert.pem").string();
  EXPECT_EQ(RunWorker(options, nullptr), 0);  // no lease queued: told to shut down
  EXPECT_THAT(service.calls(), ElementsAre("Register", "AcquireTrial", "Deregister"));

  // A plaintext client cannot talk to it.
  options.tls_ca_file.clear();
  options.unreachable_timeout_ms = 500;
  EXPECT_EQ(RunWorker(options, nullptr), 1);
  server->Shutdown(std::chrono::system_clock::now());
}

TEST(GrpcClientTest, BadOptionsAreErrors) {
  GrpcClientOptions options;
  auto no_server = NewGrpcControllerClient(options);
  ASSERT_FALSE(no_server.ok());
  EXPECT_EQ(no_server.status().message(), "no controller address given (expected host:port)");
  options.server = "127.0.0.1:1";
  options.tls_ca_file = "/nonexistent/ca.pem";
  auto no_ca = NewGrpcControllerClient(options);
  ASSERT_FALSE(no_ca.ok());
  EXPECT_EQ(no_ca.status().message(), "cannot read TLS CA file '/nonexistent/ca.pem'");

  // An existing CA file the disk fails to read (through the Env) is the same error.
  core::FaultEnv faults(core::Env::Default());
  const std::string ca = ::testing::TempDir() + "/grpc-client-ca.pem";
  ASSERT_TRUE(faults.WriteFile(ca, "-----BEGIN CERTIFICATE-----\n").ok());
  faults.FailReads(ca);
  options.tls_ca_file = ca;
  options.env = &faults;
  auto eio = NewGrpcControllerClient(options);
  EXPECT_EQ(eio.status().message(), "cannot read TLS CA file '" + ca + "'");
  ASSERT_TRUE(faults.RemoveFile(ca).ok());
}

TEST(RunWorkerTest, MissingServerOrTokenIsUsageError) {
  worker::WorkerOptions options;
  EXPECT_EQ(RunWorker(options, nullptr), 2);
  options.server = "127.0.0.1:1";
  EXPECT_EQ(RunWorker(options, nullptr), 2);
}

}  // namespace
}  // namespace sweep::rpc

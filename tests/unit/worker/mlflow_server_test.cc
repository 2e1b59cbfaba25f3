// The MLflow endpoint over HTTP (MlflowServer), and inside the agent: what a trial logs
// through it reaches the controller as the attempt's metric points and outputs/.
#include "worker/mlflow_server.h"

#include <unistd.h>

#include <filesystem>
#include <mutex>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/unit/worker/fakes.h"
#include "worker/agent.h"
#include "worker/mlflow_tracking.h"

namespace sweep::worker {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

MATCHER_P3(Point, name, value, step, "") {
  return arg.name == name && arg.value == value && arg.step == step;
}

fs::path FreshDir(const std::string& prefix) {
  fs::path dir = fs::path(::testing::TempDir()) /
                 (prefix + std::to_string(::getpid()) + "-" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(dir);
  fs::create_directories(dir / "outputs");
  return dir;
}

// The port of "http://127.0.0.1:<port>".
int PortOf(const std::string& uri) { return std::stoi(uri.substr(uri.rfind(':') + 1)); }

void ExpectMlflowError(const httplib::Result& r, int status, const std::string& code) {
  ASSERT_TRUE(r) << "no answer";
  EXPECT_EQ(r->status, status) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  json body = json::parse(r->body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << r->body;
  EXPECT_EQ(body["error_code"], code) << r->body;
  EXPECT_FALSE(body["message"].get<std::string>().empty());
}

class MlflowServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshDir("mlflow-http-");
    MlflowAttempt attempt;
    attempt.run_id = "sw-1-3-1";
    attempt.experiment_id = "1";
    attempt.experiment_name = "sw-1";
    attempt.outputs_dir = (dir_ / "outputs").string();
    attempt.on_metrics = [this](std::vector<ParsedMetric> points) {
      std::lock_guard<std::mutex> lock(mu_);
      for (ParsedMetric& p : points) points_.push_back(std::move(p));
    };
    tracking_.BeginAttempt(attempt);
    absl::StatusOr<int> port = server_.Start();
    ASSERT_TRUE(port.ok()) << port.status();
    EXPECT_EQ(server_.uri(), "http://127.0.0.1:" + std::to_string(*port));
    client_ = std::make_unique<httplib::Client>("127.0.0.1", *port);
  }
  void TearDown() override {
    client_.reset();
    server_.Stop();
    fs::remove_all(dir_);
  }
  size_t PointCount() {
    std::lock_guard<std::mutex> lock(mu_);
    return points_.size();
  }

  fs::path dir_;
  MlflowTracking tracking_;
  MlflowServer server_{&tracking_};
  std::unique_ptr<httplib::Client> client_;
  std::mutex mu_;
  std::vector<ParsedMetric> points_;
};

TEST_F(MlflowServerTest, ServesTheTrackingApiOnEveryPrefix) {
  for (const std::string prefix :
       {"/api/2.0/mlflow", "/ajax-api/2.0/mlflow", "/api/2.0/preview/mlflow"}) {
    httplib::Result r = client_->Get(prefix + "/runs/get?run_id=sw-1-3-1");
    ASSERT_TRUE(r) << prefix;
    EXPECT_EQ(r->status, 200) << prefix << r->body;
    EXPECT_EQ(json::parse(r->body)["run"]["info"]["run_id"], "sw-1-3-1") << prefix;
  }
  httplib::Result logged = client_->Post(
      "/api/2.0/mlflow/runs/log-metric",
      R"({"run_id": "sw-1-3-1", "key": "loss", "value": 0.25, "timestamp": 1, "step": 4})",
      "application/json");
  ASSERT_TRUE(logged);
  EXPECT_EQ(logged->status, 200) << logged->body;
  EXPECT_EQ(logged->body, "{}");
  EXPECT_EQ(PointCount(), 1u);
}

TEST_F(MlflowServerTest, ArtifactsServicePutGetAndList) {
  const std::string base = "/api/2.0/mlflow-artifacts/artifacts/1/sw-1-3-1/artifacts";
  httplib::Result put =
      client_->Put(base + "/model/MLmodel", "artifact_path: model\n", "application/octet-stream");
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 200) << put->body;
  httplib::Result got = client_->Get(base + "/model/MLmodel");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(got->body, "artifact_path: model\n");
  httplib::Result listed =
      client_->Get("/api/2.0/mlflow-artifacts/artifacts?path=1/sw-1-3-1/artifacts/model");
  ASSERT_TRUE(listed);
  EXPECT_EQ(json::parse(listed->body),
            json::parse(R"({"files": [{"path": "MLmodel", "is_dir": false, "file_size": 21}]})"));
  EXPECT_TRUE(fs::is_regular_file(dir_ / "outputs/model/MLmodel"));
}

TEST_F(MlflowServerTest, EverythingElseIsEndpointNotFoundJson) {
  ExpectMlflowError(client_->Get("/"), 404, "ENDPOINT_NOT_FOUND");
  ExpectMlflowError(client_->Get("/api/2.0/mlflow/registered-models/get?name=x"), 404,
                    "ENDPOINT_NOT_FOUND");
  ExpectMlflowError(client_->Post("/api/2.0/mlflow/runs/delete", "{}", "application/json"), 404,
                    "ENDPOINT_NOT_FOUND");
  ExpectMlflowError(client_->Delete("/api/2.0/mlflow-artifacts/artifacts/1/sw-1-3-1/artifacts/x"),
                    404, "ENDPOINT_NOT_FOUND");
  ExpectMlflowError(client_->Post("/api/2.0/mlflow-artifacts/mpu/create", "{}", "application/json"),
                    404, "ENDPOINT_NOT_FOUND");
  ExpectMlflowError(
      client_->Post("/api/2.0/mlflow/runs/log-batch", "{not json", "application/json"), 400,
      "INVALID_PARAMETER_VALUE");
  ExpectMlflowError(client_->Post("/api/2.0/mlflow/runs/log-batch",
                                  R"({"run_id": "nope", "metrics": [{"key": "a", "value": 1,
                                      "timestamp": 1}]})",
                                  "application/json"),
                    404, "RESOURCE_DOES_NOT_EXIST");
  ExpectMlflowError(client_->Put("/api/2.0/mlflow-artifacts/artifacts/1/sw-1-3-1/artifacts/../../x",
                                 "x", "application/octet-stream"),
                    400, "INVALID_PARAMETER_VALUE");
  EXPECT_EQ(PointCount(), 0u);
  EXPECT_TRUE(fs::is_empty(dir_ / "outputs"));
}

TEST_F(MlflowServerTest, StopsWithAKeptAliveConnectionOpen) {
  client_->set_keep_alive(true);
  ASSERT_TRUE(client_->Get("/api/2.0/mlflow/runs/get?run_id=sw-1-3-1"));
  server_.Stop();
  server_.Stop();  // idempotent
  EXPECT_EQ(server_.uri(), "");
  EXPECT_FALSE(client_->Get("/api/2.0/mlflow/runs/get?run_id=sw-1-3-1")) << "served after Stop";
}

// The agent serves each attempt: a trial that logs only through MLflow reports its metrics
// (with their steps, stamped by the worker's clock like stdout lines) and its artifacts.
class MlflowAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = FreshDir("mlflow-agent-");
    options_.compute = "cpu";
    options_.work_dir = (dir_ / "work").string();
    options_.poll_interval_ms = 5;
    options_.heartbeat_interval_ms = 1'000;
  }
  void TearDown() override { fs::remove_all(dir_); }

  WorkerResult Run() {
    WorkerDeps deps;
    deps.client = &client_;
    deps.launcher = &launcher_;
    deps.clock = &clock_;
    return RunWorkerWith(options_, deps, nullptr);
  }

  static LeaseGrant Lease(int64_t trial) {
    LeaseGrant lease;
    lease.ref = {"node-1", "sw-1", trial, 1, static_cast<uint64_t>(100 + trial)};
    lease.argv = {"train"};
    lease.primary_metric = "accuracy";
    return lease;
  }

  fs::path dir_;
  WorkerOptions options_;
  testing::FakeClient client_;
  testing::FakeLauncher launcher_;
  core::FakeClock clock_;
};

TEST_F(MlflowAgentTest, MlflowLoggedMetricsAndArtifactsAreTheAttempts) {
  client_.QueueLease(Lease(3));
  client_.QueueLease(Lease(4));
  client_.QueueShutdown();
  std::vector<std::string> answers;
  launcher_.on_launch = [&](testing::FakeProcessState* p) {
    const std::map<std::string, std::string>& env = p->spec.env;
    httplib::Client mlflow("127.0.0.1", PortOf(env.at("MLFLOW_TRACKING_URI")));
    const std::string run_id = env.at("MLFLOW_RUN_ID");
    json batch = {{"run_id", run_id},
                  {"metrics",
                   {{{"key", "accuracy"}, {"value", 0.5}, {"timestamp", 1}, {"step", 1}},
                    {{"key", "accuracy"}, {"value", 0.75}, {"timestamp", 2}, {"step", 2}}}},
                  {"params", {{{"key", "lr"}, {"value", "0.1"}}}}};
    httplib::Result r =
        mlflow.Post("/api/2.0/mlflow/runs/log-batch", batch.dump(), "application/json");
    answers.push_back(r ? r->body : "no answer");
    r = mlflow.Put("/api/2.0/mlflow-artifacts/artifacts/" + env.at("MLFLOW_EXPERIMENT_ID") + "/" +
                       run_id + "/artifacts/model/model.pkl",
                   "weights", "application/octet-stream");
    answers.push_back(r ? r->body : "no answer");
    answers.push_back(env.at("MLFLOW_EXPERIMENT_NAME") + " " + run_id);
    p->Exit({0, 0});
  };
  ASSERT_EQ(Run().exit_code, 0);
  EXPECT_THAT(answers, ElementsAre("{}", "{}", "sw-1 sw-1-3-1", "{}", "{}", "sw-1 sw-1-4-1"));
  std::vector<Completion> completions = client_.completions();
  ASSERT_EQ(completions.size(), 2u);
  for (const Completion& c : completions) {
    EXPECT_EQ(c.outcome, Outcome::kSucceeded);
    EXPECT_THAT(c.points, ElementsAre(Point("accuracy", 0.5, 1), Point("accuracy", 0.75, 2)));
    for (const core::MetricPoint& point : c.points) {
      EXPECT_EQ(point.timestamp_ms, clock_.NowMillis()) << "stamped like stdout lines";
    }
  }
  EXPECT_EQ(completions[1].points[0].trial_id, 4);
  std::vector<ArtifactChunk> uploads = client_.uploads();
  ASSERT_EQ(uploads.size(), 2u);
  EXPECT_EQ(uploads[0].path, "model/model.pkl");
  EXPECT_EQ(uploads[0].data, "weights");
}

}  // namespace
}  // namespace sweep::worker

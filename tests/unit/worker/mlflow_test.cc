// The worker's MLflow tracking endpoint: the REST API on its own (MlflowTracking), over
// HTTP (MlflowServer), and inside the agent, where logged metrics become the attempt's
// metric points and logged artifacts its outputs/.
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "worker/mlflow_tracking.h"

namespace sweep::worker {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

MATCHER_P3(Point, name, value, step, "") {
  return arg.name == name && arg.value == value && arg.step == step;
}

std::string Slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class MlflowTrackingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("mlflow-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "outputs");
    MlflowAttempt attempt;
    attempt.run_id = MlflowRunId("sw-1", 3, 1);
    attempt.run_name = "sw-1_3";
    attempt.experiment_id = "1";
    attempt.experiment_name = "sw-1";
    attempt.outputs_dir = (dir_ / "outputs").string();
    attempt.start_time_ms = 1'700'000'000'000;
    attempt.on_metrics = [this](std::vector<ParsedMetric> points) {
      std::lock_guard<std::mutex> lock(mu_);
      for (ParsedMetric& p : points) points_.push_back(std::move(p));
    };
    tracking_.BeginAttempt(attempt);
  }
  void TearDown() override { fs::remove_all(dir_); }

  MlflowResponse Post(const std::string& endpoint, const std::string& body) {
    return tracking_.Call("POST", endpoint, {}, body);
  }
  MlflowResponse Get(const std::string& endpoint,
                     const std::multimap<std::string, std::string>& query) {
    return tracking_.Call("GET", endpoint, query, "");
  }
  json Run() {
    MlflowResponse r = Get("runs/get", {{"run_id", "sw-1-3-1"}});
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body)["run"];
  }
  std::vector<ParsedMetric> Points() {
    std::lock_guard<std::mutex> lock(mu_);
    return points_;
  }
  MlflowResponse Upload(const std::string& path, const std::string& content, bool whole = true) {
    return tracking_.UploadArtifact(path, [&](const MlflowTracking::BodySink& sink) {
      sink(content.substr(0, content.size() / 2));
      if (!whole) return false;
      return sink(content.substr(content.size() / 2));
    });
  }
  static void ExpectError(const MlflowResponse& r, int status, const std::string& code,
                          const std::string& message_part) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    json body = json::parse(r.body);
    EXPECT_EQ(body["error_code"], code) << r.body;
    EXPECT_THAT(body["message"].get<std::string>(), HasSubstr(message_part)) << r.body;
  }

  fs::path dir_;
  MlflowTracking tracking_;
  std::mutex mu_;
  std::vector<ParsedMetric> points_;
};

TEST_F(MlflowTrackingTest, RunIdsAreValidMlflowRunIds) {
  EXPECT_EQ(MlflowRunId("sw-1", 3, 1), "sw-1-3-1");
  EXPECT_EQ(MlflowRunId("my sweep.v2", 10, 2), "my_sweep_v2-10-2");
  EXPECT_EQ(MlflowRunId("-x", 1, 1), "r-x-1-1");
}

TEST_F(MlflowTrackingTest, ExperimentsResolveToTheAttemptsExperiment) {
  MlflowResponse by_name = Get("experiments/get-by-name", {{"experiment_name", "iris"}});
  ASSERT_EQ(by_name.status, 200) << by_name.body;
  json experiment = json::parse(by_name.body)["experiment"];
  EXPECT_EQ(experiment["experiment_id"], "1");
  EXPECT_EQ(experiment["name"], "sw-1");
  EXPECT_EQ(experiment["lifecycle_stage"], "active");
  EXPECT_EQ(experiment["artifact_location"], "mlflow-artifacts:/1");
  EXPECT_EQ(json::parse(Get("experiments/get", {{"experiment_id", "1"}}).body)["experiment"],
            experiment);
  EXPECT_EQ(json::parse(Post("experiments/create", R"({"name": "other"})").body),
            json({{"experiment_id", "1"}}));
  ExpectError(Get("experiments/get", {{"experiment_id", "7"}}), 404, "RESOURCE_DOES_NOT_EXIST",
              "No Experiment with id=7 exists");
  ExpectError(Get("experiments/get-by-name", {}), 400, "INVALID_PARAMETER_VALUE",
              "Missing value for required parameter 'experiment_name'");
}

TEST_F(MlflowTrackingTest, RunHasMlflowShape) {
  json run = Run();
  EXPECT_EQ(run["info"]["run_id"], "sw-1-3-1");
  EXPECT_EQ(run["info"]["run_uuid"], "sw-1-3-1");
  EXPECT_EQ(run["info"]["experiment_id"], "1");
  EXPECT_EQ(run["info"]["status"], "RUNNING");
  EXPECT_EQ(run["info"]["lifecycle_stage"], "active");
  EXPECT_EQ(run["info"]["start_time"], 1'700'000'000'000);
  EXPECT_EQ(run["info"]["artifact_uri"], "mlflow-artifacts:/1/sw-1-3-1/artifacts");
  EXPECT_EQ(run["data"]["tags"], json::parse(R"([{"key":"mlflow.runName","value":"sw-1_3"}])"));
  // runs/create and runs/search give the attempt's run.
  MlflowResponse created =
      Post("runs/create", R"({"experiment_id": "1", "start_time": 5, "run_name": "fold"})");
  ASSERT_EQ(created.status, 200) << created.body;
  EXPECT_EQ(json::parse(created.body)["run"]["info"]["run_id"], "sw-1-3-1");
  EXPECT_EQ(json::parse(created.body)["run"]["info"]["run_name"], "fold");
  json found = json::parse(Post("runs/search", R"({"experiment_ids": ["1"]})").body);
  ASSERT_EQ(found["runs"].size(), 1u);
  EXPECT_TRUE(
      json::parse(Post("runs/search", R"({"experiment_ids": ["9"]})").body)["runs"].empty());
  MlflowResponse by_get = tracking_.Call("GET", "runs/search", {{"experiment_ids", "1"}}, "");
  EXPECT_EQ(json::parse(by_get.body)["runs"].size(), 1u) << by_get.body;
  // runs/update as mlflow.end_run() sends it.
  MlflowResponse updated =
      Post("runs/update", R"({"run_id": "sw-1-3-1", "status": "FINISHED", "end_time": "99"})");
  ASSERT_EQ(updated.status, 200) << updated.body;
  EXPECT_EQ(json::parse(updated.body)["run_info"]["status"], "FINISHED");
  EXPECT_EQ(json::parse(updated.body)["run_info"]["end_time"], 99);
}

TEST_F(MlflowTrackingTest, LogBatchMetricsAreTrialMetricPointsWithSteps) {
  MlflowResponse r = Post("runs/log-batch", R"({
      "run_id": "sw-1-3-1",
      "metrics": [{"key": "accuracy", "value": 0.5, "timestamp": 1700000000001, "step": 1},
                  {"key": "accuracy", "value": 0.7, "timestamp": "1700000000002", "step": "2"},
                  {"key": "val/loss", "value": "NaN", "timestamp": 1700000000003}],
      "params": [{"key": "lr", "value": "0.1"}],
      "tags": [{"key": "team", "value": "vision"}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "{}");
  std::vector<ParsedMetric> points = Points();
  ASSERT_EQ(points.size(), 3u);
  EXPECT_THAT(std::vector<ParsedMetric>(points.begin(), points.begin() + 2),
              ElementsAre(Point("accuracy", 0.5, 1), Point("accuracy", 0.7, 2)));
  EXPECT_EQ(points[2].name, "val/loss");
  EXPECT_TRUE(std::isnan(points[2].value));
  EXPECT_EQ(points[2].step, 0) << "MLflow's default step";

  ASSERT_EQ(Post("runs/log-metric", R"({"run_id": "sw-1-3-1", "key": "accuracy", "value": 0.9,
                                        "timestamp": 1700000000009, "step": 3})")
                .status,
            200);
  EXPECT_THAT(Points().back(), Point("accuracy", 0.9, 3));
  json run = Run();
  EXPECT_EQ(run["data"]["params"], json::parse(R"([{"key":"lr","value":"0.1"}])"));
  EXPECT_THAT(run["data"]["tags"].dump(), HasSubstr(R"({"key":"team","value":"vision"})"));
  EXPECT_EQ(run["data"]["metrics"],
            json::parse(R"([{"key":"accuracy","value":0.9,"timestamp":1700000000009,"step":3},
                            {"key":"val/loss","value":"NaN","timestamp":1700000000003,"step":0}])"));
  json history = json::parse(
      Get("metrics/get-history", {{"run_id", "sw-1-3-1"}, {"metric_key", "accuracy"}}).body);
  ASSERT_EQ(history["metrics"].size(), 3u);
  EXPECT_EQ(history["metrics"][1]["value"], 0.7);
}

TEST_F(MlflowTrackingTest, ParamsTagsInputsAndModels) {
  ASSERT_EQ(
      Post("runs/log-parameter", R"({"run_uuid": "sw-1-3-1", "key": "C", "value": "1"})").status,
      200);
  // The same value again is fine; another value is refused, as MLflow does.
  EXPECT_EQ(
      Post("runs/log-parameter", R"({"run_id": "sw-1-3-1", "key": "C", "value": "1"})").status,
      200);
  ExpectError(Post("runs/log-parameter", R"({"run_id": "sw-1-3-1", "key": "C", "value": "2"})"),
              400, "INVALID_PARAMETER_VALUE", "Changing param values is not allowed");
  EXPECT_EQ(tracking_.Params(), (std::map<std::string, std::string>{{"C", "1"}}));
  ASSERT_EQ(Post("runs/set-tag", R"({"run_id": "sw-1-3-1", "key": "a", "value": "b"})").status,
            200);
  EXPECT_EQ(tracking_.Tags().at("a"), "b");
  ASSERT_EQ(Post("runs/delete-tag", R"({"run_id": "sw-1-3-1", "key": "a"})").status, 200);
  EXPECT_EQ(tracking_.Tags().count("a"), 0u);
  ASSERT_EQ(Post("runs/log-inputs", R"({"run_id": "sw-1-3-1", "datasets": [{"tags": [
      {"key": "mlflow.data.context", "value": "training"}], "dataset": {"name": "iris",
      "digest": "abc", "source_type": "code", "source": "{}"}}]})")
                .status,
            200);
  EXPECT_EQ(Run()["inputs"]["dataset_inputs"][0]["dataset"]["name"], "iris");
  ExpectError(Post("runs/log-inputs", R"({"run_id": "sw-1-3-1", "datasets": [{"dataset": {}}]})"),
              400, "INVALID_PARAMETER_VALUE", "'name'");
  ASSERT_EQ(Post("runs/log-model",
                 R"({"run_id": "sw-1-3-1", "model_json": "{\"artifact_path\": \"model\"}"})")
                .status,
            200);
  EXPECT_EQ(tracking_.Tags().at("mlflow.log-model.history"), R"([{"artifact_path":"model"}])");
}

// Bad requests get MLflow's error shape, and a refused request stores nothing.
TEST_F(MlflowTrackingTest, BadRequestsAreRefusedWholeAndStoreNothing) {
  ExpectError(Post("runs/frobnicate", "{}"), 404, "ENDPOINT_NOT_FOUND", "runs/frobnicate");
  ExpectError(Post("runs/get", "{}"), 404, "ENDPOINT_NOT_FOUND", "served for GET");
  ExpectError(Post("runs/log-batch", "{\"run_id\": \"sw-1-3-1\", \"metrics\": ["), 400,
              "INVALID_PARAMETER_VALUE", "Malformed JSON");
  ExpectError(Post("runs/log-batch", "[1]"), 400, "INVALID_PARAMETER_VALUE", "Malformed JSON");
  ExpectError(Post("runs/log-metric",
                   R"({"run_id": "other", "key": "accuracy", "value": 1, "timestamp": 1})"),
              404, "RESOURCE_DOES_NOT_EXIST", "Run with id=other not found");
  ExpectError(Get("runs/get", {{"run_id", "other"}}), 404, "RESOURCE_DOES_NOT_EXIST",
              "Run with id=other not found");
  ExpectError(Post("runs/log-metric", R"({"key": "accuracy", "value": 1})"), 400,
              "INVALID_PARAMETER_VALUE", "'run_id'");
  // One bad entry refuses the whole batch: the good metric before it is not stored either.
  ExpectError(Post("runs/log-batch", R"({"run_id": "sw-1-3-1", "metrics": [
                  {"key": "accuracy", "value": 0.5, "timestamp": 1, "step": 1},
                  {"key": "acc*", "value": 0.5, "timestamp": 1}]})"),
              400, "INVALID_PARAMETER_VALUE", "Invalid metric name: 'acc*'");
  ExpectError(Post("runs/log-batch", R"({"run_id": "sw-1-3-1", "metrics": [
                  {"key": "accuracy", "value": "high", "timestamp": 1}]})"),
              400, "INVALID_PARAMETER_VALUE", "'value'");
  ExpectError(Post("runs/log-batch", R"({"run_id": "sw-1-3-1", "metrics": [
                  {"key": "accuracy", "value": 1, "timestamp": 1, "step": 1.5}]})"),
              400, "INVALID_PARAMETER_VALUE", "'step'");
  ExpectError(Post("runs/log-batch", R"({"run_id": "sw-1-3-1", "metrics": [
                  {"key": "../x", "value": 1, "timestamp": 1}]})"),
              400, "INVALID_PARAMETER_VALUE", "'../x'");
  ExpectError(Post("runs/log-batch", R"({"run_id": "sw-1-3-1", "metrics": {"key": "a"}})"), 400,
              "INVALID_PARAMETER_VALUE", "must be a list");
  ExpectError(Post("runs/log-batch", R"({"run_id": "sw-1-3-1", "params": [
                  {"key": "ok", "value": "1"}, {"key": "long", "value": ")" +
                                         std::string(6001, 'x') + R"("}]})"),
              400, "INVALID_PARAMETER_VALUE", "exceeded length limit of 6000");
  json too_many = {{"run_id", "sw-1-3-1"}, {"metrics", json::array()}};
  for (int i = 0; i < 1001; ++i) {
    too_many["metrics"].push_back({{"key", "m"}, {"value", i}, {"timestamp", 1}});
  }
  ExpectError(Post("runs/log-batch", too_many.dump()), 400, "INVALID_PARAMETER_VALUE",
              "at most 1000 metrics");
  ExpectError(Post("runs/update", R"({"run_id": "sw-1-3-1", "status": "DONE"})"), 400,
              "INVALID_PARAMETER_VALUE", "'DONE'");
  EXPECT_THAT(Points(), IsEmpty());
  json run = Run();
  EXPECT_TRUE(run["data"]["metrics"].empty()) << run.dump();
  EXPECT_TRUE(run["data"]["params"].empty()) << run.dump();
  EXPECT_EQ(run["info"]["status"], "RUNNING");
}

TEST_F(MlflowTrackingTest, ArtifactsLandInOutputs) {
  const std::string root = "1/sw-1-3-1/artifacts";
  MlflowResponse put = Upload(root + "/model/MLmodel", "flavors: {}\n");
  ASSERT_EQ(put.status, 200) << put.body;
  ASSERT_EQ(Upload(root + "/model/model.pkl", std::string(1000, '\x01')).status, 200);
  ASSERT_EQ(Upload("/" + root + "//report.txt", "ok").status, 200);
  EXPECT_EQ(Slurp(dir_ / "outputs/model/MLmodel"), "flavors: {}\n");
  EXPECT_EQ(Slurp(dir_ / "outputs/model/model.pkl"), std::string(1000, '\x01'));
  EXPECT_EQ(Slurp(dir_ / "outputs/report.txt"), "ok");

  MlflowResponse got = tracking_.DownloadArtifact(root + "/model/MLmodel");
  EXPECT_EQ(got.status, 200);
  EXPECT_EQ(got.body, "flavors: {}\n");
  EXPECT_EQ(json::parse(tracking_.ListArtifacts(root).body),
            json::parse(R"({"files": [{"path": "model", "is_dir": true},
                                      {"path": "report.txt", "is_dir": false, "file_size": 2}]})"));
  EXPECT_EQ(json::parse(tracking_.ListArtifacts(root + "/model").body)["files"].size(), 2u);
  EXPECT_EQ(json::parse(tracking_.ListArtifacts(root + "/missing").body)["files"], json::array());
  json listed =
      json::parse(Get("artifacts/list", {{"run_id", "sw-1-3-1"}, {"path", "model"}}).body);
  EXPECT_EQ(listed["root_uri"], "mlflow-artifacts:/1/sw-1-3-1/artifacts");
  EXPECT_EQ(listed["files"][0]["path"], "model/MLmodel");
}

TEST_F(MlflowTrackingTest, BadArtifactRequestsStoreNothing) {
  const std::string root = "1/sw-1-3-1/artifacts";
  ExpectError(Upload(root + "/../escape.txt", "x"), 400, "INVALID_PARAMETER_VALUE", "'..'");
  ExpectError(Upload("1/other-run/artifacts/x.txt", "x"), 404, "RESOURCE_DOES_NOT_EXIST",
              "1/sw-1-3-1/artifacts");
  ExpectError(Upload(root, "x"), 400, "INVALID_PARAMETER_VALUE", "needs a file name");
  // A body that breaks off leaves no file, not even a partial one.
  ExpectError(Upload(root + "/model.pkl", "0123456789", /*whole=*/false), 400,
              "INVALID_PARAMETER_VALUE", "ended early");
  ExpectError(tracking_.DownloadArtifact(root + "/nope.txt"), 404, "RESOURCE_DOES_NOT_EXIST",
              "nope.txt");
  EXPECT_TRUE(fs::is_empty(dir_ / "outputs"));
  EXPECT_FALSE(fs::exists(dir_ / "escape.txt"));
}

TEST_F(MlflowTrackingTest, AfterTheAttemptTheRunIsGone) {
  tracking_.EndAttempt();
  ExpectError(Get("runs/get", {{"run_id", "sw-1-3-1"}}), 404, "RESOURCE_DOES_NOT_EXIST",
              "sw-1-3-1");
  ExpectError(
      Post("runs/log-metric", R"({"run_id": "sw-1-3-1", "key": "a", "value": 1, "timestamp": 1})"),
      404, "RESOURCE_DOES_NOT_EXIST", "sw-1-3-1");
  ExpectError(Upload("1/sw-1-3-1/artifacts/late.txt", "x"), 404, "RESOURCE_DOES_NOT_EXIST",
              "no run now");
  EXPECT_THAT(Points(), IsEmpty());
  EXPECT_TRUE(fs::is_empty(dir_ / "outputs"));
}

TEST(MlflowEnvTest, PointsTheTrialAtTheEndpointUnlessItChoseItsOwnServer) {
  MlflowAttempt attempt;
  attempt.run_id = "sw-1-3-1";
  attempt.experiment_id = "1";
  attempt.experiment_name = "sw-1";
  std::map<std::string, std::string> env = {{"MLFLOW_RUN_ID", "stale"}};
  SetMlflowEnv("http://127.0.0.1:5", attempt, {{"AZUREML_SWEEP_lr", "0.1"}}, &env);
  EXPECT_EQ(env,
            (std::map<std::string, std::string>{{"MLFLOW_EXPERIMENT_ID", "1"},
                                                {"MLFLOW_EXPERIMENT_NAME", "sw-1"},
                                                {"MLFLOW_RUN_ID", "sw-1-3-1"},
                                                {"MLFLOW_TRACKING_URI", "http://127.0.0.1:5"}}));
  std::map<std::string, std::string> own = {{"MLFLOW_TRACKING_URI", "http://mine:5000"}};
  SetMlflowEnv("http://127.0.0.1:5", attempt, {{"MLFLOW_TRACKING_URI", "http://mine:5000"}}, &own);
  EXPECT_EQ(own, (std::map<std::string, std::string>{{"MLFLOW_TRACKING_URI", "http://mine:5000"}}));
}

}  // namespace
}  // namespace sweep::worker

// Trials that report only through MLflow (the worker's tracking endpoint, docs/mlflow.md):
// raw REST requests from Python's standard library, the example's `mlflow` stand-in with
// early termination and model registration, and the npm registry's Node.js `mlflow` client.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "gtest/gtest.h"
#include "tests/e2e/e2e_util.h"
#include "tests/test_services.h"

namespace sweep::e2e {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string SweepId(const CommandResult& run) { return run.out.substr(0, run.out.find('\n')); }

// The points of one metric of a trial, as (step, value) in order.
std::vector<std::pair<int64_t, double>> Series(const std::string& ws, const std::string& id,
                                               int trial, const std::string& name) {
  nlohmann::json points =
      ParseJson(RunSweep({"metrics", id, std::to_string(trial), "--json", "--workspace", ws}));
  std::vector<std::pair<int64_t, double>> series;
  for (const auto& p : points) {
    if (p["name"] == name) series.emplace_back(p["step"].get<int64_t>(), p["value"].get<double>());
  }
  return series;
}

// Runs a two-trial grid sweep over `scale` (values in grid order) with `command`, and
// checks both trials completed with `intervals` reports of accuracy. Returns the sweep id
// ("" after a failure, which the test shows).
std::string RunScaleSweep(const TempDir& dir, const std::string& ws, const std::string& command,
                          const std::string& values, int intervals) {
  std::string spec = dir.Write("sweep.yml",
                               "type: sweep\n"
                               "trial:\n"
                               "  code: code\n"
                               "  command: " +
                                   command +
                                   " ${{search_space.scale}}\n"
                                   "compute: cpu-cluster\n"
                                   "sampling_algorithm: grid\n"
                                   "search_space:\n"
                                   "  scale: {type: choice, values: " +
                                   values +
                                   "}\n"
                                   "objective: {primary_metric: accuracy, goal: maximize}\n"
                                   "limits: {max_concurrent_trials: 2}\n");
  CommandResult run = RunSweep({"run", spec, "--workspace", ws, "-q"}, 300);
  EXPECT_EQ(run.exit_code, 0) << run.out << run.err;
  if (run.exit_code != 0) return "";
  std::string id = SweepId(run);
  nlohmann::json trials = ParseJson(RunSweep({"trials", id, "--json", "--workspace", ws}));
  EXPECT_EQ(trials.size(), 2u);
  for (const auto& t : trials) {
    EXPECT_EQ(t["state"], "completed") << t.dump();
    EXPECT_EQ(t["intervals"], intervals) << "one interval per logged accuracy point";
  }
  return id;
}

// (b) Python standard-library requests shaped as MLflow's REST reference defines them:
// log-batch with metrics, params and tags, a step sequence, an artifact upload, and the
// error answers. The script checks every answer itself and fails the trial otherwise.
TEST(MlflowE2E, RestRequestsFromPythonBecomeTrialMetricsAndArtifacts) {
  TempDir dir;
  std::string ws = dir.path() + "/ws";
  fs::create_directories(dir.path() + "/code");
  fs::copy_file(SourceDir() + "/tests/data/mlflow/rest_trial.py",
                dir.path() + "/code/rest_trial.py");
  std::string id =
      RunScaleSweep(dir, ws, "/usr/bin/python3 rest_trial.py", "[0.5, 1.0]", /*intervals=*/5);
  ASSERT_FALSE(id.empty());
  nlohmann::json best = ParseJson(RunSweep({"best", id, "--json", "--workspace", ws}));
  EXPECT_EQ(best["trial_id"], 2);
  EXPECT_DOUBLE_EQ(best["final_value"].get<double>(), 0.9);
  using Steps = std::vector<std::pair<int64_t, double>>;
  EXPECT_EQ(Series(ws, id, 2, "accuracy"),
            (Steps{{0, 0.2}, {1, 0.4}, {2, 0.6}, {3, 0.8}, {4, 0.9}}));
  EXPECT_EQ(Series(ws, id, 2, "loss"), (Steps{{0, 0.8}}));
  // The artifact logged through MLflow is the trial's stored outputs/.
  nlohmann::json artifacts =
      ParseJson(RunSweep({"artifacts", id, "2", "--json", "--workspace", ws}));
  ASSERT_EQ(artifacts["files"].size(), 1u) << artifacts.dump();
  EXPECT_EQ(artifacts["files"][0]["path"], "model/weights.txt");
  std::string out = dir.path() + "/download";
  ASSERT_EQ(RunSweep({"artifacts", id, "2", "--download", out, "--workspace", ws}).exit_code, 0);
  EXPECT_EQ(Slurp(out + "/model/weights.txt"), "weights for scale 1.0\n");
}

// A learning curve logged with the example's `mlflow` stand-in (mlflow.log_metric with
// steps); trials the test expects to be stopped at interval N wait there for the stop.
std::string CurveScript() {
  return "import sys, time, tempfile, os\n"
         "try:\n"
         "    import mlflow\n"
         "except ImportError:\n"
         "    import mlflow_standin as mlflow\n"
         "curves = [\n"
         "  [0.5, 0.6, 0.7, 0.75, 0.8, 0.82],\n"
         "  [0.1, 0.15, 0.2, 0.22, 0.25, 0.26],\n"
         "  [0.45, 0.55, 0.65, 0.7, 0.78, 0.85],\n"
         "  [0.3, 0.35, 0.4, 0.42, 0.45, 0.46],\n"
         "  [0.05, 0.06, 0.07, 0.08, 0.09, 0.1],\n"
         "  [0.48, 0.58, 0.68, 0.72, 0.79, 0.81],\n"
         "]\n"
         "hold = {1: 2, 3: 2, 4: 2}\n"
         "curve = int(sys.argv[1])\n"
         "with mlflow.start_run():\n"
         "    mlflow.log_param('curve', curve)\n"
         "    for epoch, value in enumerate(curves[curve], start=1):\n"
         "        mlflow.log_metric('accuracy', value, step=epoch)\n"
         "        time.sleep(300 if hold.get(curve) == epoch else 0.2)\n"
         "    with tempfile.TemporaryDirectory() as tmp:\n"
         "        os.makedirs(os.path.join(tmp, 'model'))\n"
         "        with open(os.path.join(tmp, 'model', 'weights.txt'), 'w') as f:\n"
         "            f.write(f'curve {curve}\\n')\n"
         "        mlflow.log_artifacts(os.path.join(tmp, 'model'), 'model')\n";
}

// (c) A sweep whose trials report only through MLflow: bandit stops exactly the trials the
// policy's rules stop (tests/e2e/policy_test.cc has the same curves through stdout), the
// best trial is right, and its MLflow-logged artifact is the registered model.
TEST(MlflowE2E, BanditStopsOnMlflowMetricsAndTheBestArtifactIsTheModel) {
  TempDir dir;
  std::string ws = dir.path() + "/ws";
  dir.Write("code/curve.py", CurveScript());
  fs::copy_file(SourceDir() + "/examples/iris-mlflow/src/mlflow_standin.py",
                dir.path() + "/code/mlflow_standin.py");
  std::string spec =
      dir.Write("sweep.yml",
                "type: sweep\n"
                "trial:\n"
                "  code: code\n"
                "  command: /usr/bin/python3 curve.py ${{search_space.curve}}\n"
                "compute: cpu-cluster\n"
                "sampling_algorithm: grid\n"
                "search_space:\n"
                "  curve: {type: choice, values: [0, 1, 2, 3, 4, 5]}\n"
                "objective: {primary_metric: accuracy, goal: maximize}\n"
                "early_termination: {type: bandit, slack_factor: 0.2, delay_evaluation: 2}\n"
                "limits: {max_concurrent_trials: 1}\n"
                "register_model: {name: curve-model}\n");
  CommandResult run = RunSweep({"run", spec, "--workspace", ws, "-q"}, 500);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  std::string id = SweepId(run);
  nlohmann::json trials = ParseJson(RunSweep({"trials", id, "--json", "--workspace", ws}));
  ASSERT_EQ(trials.size(), 6u);
  std::map<int, int> stopped;
  for (const auto& t : trials) {
    if (t["state"] == "early_terminated") {
      stopped[t["trial_id"].get<int>()] = t["intervals"];
    } else {
      EXPECT_EQ(t["state"], "completed") << t.dump();
      EXPECT_EQ(t["intervals"], 6) << t.dump();
    }
  }
  EXPECT_EQ(stopped, (std::map<int, int>{{2, 2}, {4, 2}, {5, 2}}));
  nlohmann::json best = ParseJson(RunSweep({"best", id, "--json", "--workspace", ws}));
  EXPECT_EQ(best["trial_id"], 3);
  EXPECT_DOUBLE_EQ(best["final_value"].get<double>(), 0.85);
  using Steps = std::vector<std::pair<int64_t, double>>;
  EXPECT_EQ(Series(ws, id, 2, "accuracy"), (Steps{{1, 0.1}, {2, 0.15}}));

  nlohmann::json model =
      ParseJson(RunSweep({"models", "show", "curve-model", "--json", "--workspace", ws}));
  EXPECT_EQ(model["trial_id"], 3) << model.dump();
  ASSERT_EQ(model["files"].size(), 1u) << model.dump();
  EXPECT_EQ(model["files"][0]["path"], "model/weights.txt");
  std::string out = dir.path() + "/model";
  ASSERT_EQ(
      RunSweep({"models", "download", "curve-model", "--to", out, "--workspace", ws}).exit_code, 0);
  EXPECT_EQ(Slurp(out + "/model/weights.txt"), "curve 2\n");
}

// The example adapted from Azure ML's iris sweep runs unchanged through autolog.
TEST(MlflowE2E, IrisExampleRegistersTheAutologgedModel) {
  SWEEP_REQUIRE_SKLEARN();
  TempDir ws;
  ASSERT_EQ(RunSweep({"environment", "create", "sklearn-env", "--user-managed", "--python",
                      "/usr/bin/python3", "--workspace", ws.path()})
                .exit_code,
            0);
  CommandResult run = RunSweep(
      {"run", SourceDir() + "/examples/iris-mlflow/sweep.yml", "--workspace", ws.path(), "-q"},
      600);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  std::string id = SweepId(run);
  nlohmann::json best = ParseJson(RunSweep({"best", id, "--json", "--workspace", ws.path()}));
  EXPECT_EQ(best["state"], "completed");
  EXPECT_GT(best["final_value"].get<double>(), 0.9) << "iris is an easy data set";
  nlohmann::json model =
      ParseJson(RunSweep({"models", "show", "iris-svm", "--json", "--workspace", ws.path()}));
  EXPECT_EQ(model["trial_id"], best["trial_id"]);
  std::vector<std::string> files;
  for (const auto& f : model["files"]) files.push_back(f["path"]);
  EXPECT_EQ(files, (std::vector<std::string>{"model/MLmodel", "model/conda.yaml", "model/model.pkl",
                                             "model/requirements.txt"}));
}

// (a) The npm registry's Node.js MLflow client (package `mlflow`), installed at test time
// into the build tree, drives the trials.
TEST(MlflowE2E, NodeMlflowClientDrivesATrial) {
  SWEEP_REQUIRE_TOOL("npm", "npm");
  const std::string fixtures = std::string(SWEEP_FIXTURE_DIR) + "/mlflow-npm";
  const std::string module = fixtures + "/node_modules/mlflow";
  if (!fs::exists(module + "/package.json")) {
    fs::create_directories(fixtures);
    CommandResult install = RunCommand(
        {"npm", "install", "--no-audit", "--no-fund", "--prefix", fixtures, "mlflow@2.0.7"}, 300);
    if (install.exit_code != 0) {
      SWEEP_SKIP_UNLESS_REQUIRED(
          "cannot install the npm package mlflow@2.0.7 (no registry "
          "access?): " +
          install.err);
    }
  }
  TempDir dir;
  std::string ws = dir.path() + "/ws";
  dir.Write(
      "code/trial.js",
      "const MLflow = require('" + module +
          "');\n"
          "const client = new MLflow({endpoint: process.env.MLFLOW_TRACKING_URI});\n"
          "const {Experiments, Runs, Metrics} = client;\n"
          "const run_id = process.env.MLFLOW_RUN_ID;\n"
          "const scale = Number(process.argv[2]);\n"
          "const check = (ok, what) => { if (!ok) throw new Error(what); };\n"
          "(async () => {\n"
          "  const {experiment} = await Experiments.get({experiment_id: "
          "process.env.MLFLOW_EXPERIMENT_ID});\n"
          "  const {run} = await Runs.get({run_id});\n"
          "  check(run.info.experiment_id === experiment.experiment_id, 'experiment');\n"
          "  await Runs.logParameter({run_id, key: 'scale', value: String(scale)});\n"
          "  await Runs.setTag({run_id, key: 'client', value: 'node'});\n"
          "  for (const [step, f] of [[1, 0.3], [2, 0.6], [3, 0.9]]) {\n"
          "    await Runs.logMetric({run_id, key: 'accuracy', value: scale * f,\n"
          "                          timestamp: Date.now(), step});\n"
          "  }\n"
          "  await Runs.logBatch({run_id, metrics: [{key: 'loss', value: 1 - scale,\n"
          "      timestamp: Date.now(), step: 3}], params: [], tags: []});\n"
          "  const {metrics} = await Metrics.getHistory({run_id, metric_key: 'accuracy'});\n"
          "  check(metrics.length === 3, 'history ' + JSON.stringify(metrics));\n"
          "  const {runs} = await Runs.search({experiment_ids: [experiment.experiment_id]});\n"
          "  check(runs.length === 1 && runs[0].data.params[0].value === String(scale), "
          "'search ' + JSON.stringify(runs));\n"
          "  let refused = false;\n"
          "  try { await Runs.get({run_id: 'another-run'}); } catch (e) {\n"
          "    refused = String(e).includes('RESOURCE_DOES_NOT_EXIST'); }\n"
          "  check(refused, 'another run must be RESOURCE_DOES_NOT_EXIST');\n"
          "  await Runs.update({run_id, status: 'FINISHED', end_time: Date.now()});\n"
          "})().catch((e) => { console.error(String(e)); process.exit(1); });\n");
  std::string id = RunScaleSweep(dir, ws, "node trial.js", "[1.0, 0.5]", /*intervals=*/3);
  ASSERT_FALSE(id.empty());
  nlohmann::json best = ParseJson(RunSweep({"best", id, "--json", "--workspace", ws}));
  EXPECT_EQ(best["trial_id"], 1);
  EXPECT_DOUBLE_EQ(best["final_value"].get<double>(), 0.9);
  using Steps = std::vector<std::pair<int64_t, double>>;
  EXPECT_EQ(Series(ws, id, 2, "accuracy"), (Steps{{1, 0.15}, {2, 0.3}, {3, 0.45}}));
}

}  // namespace
}  // namespace sweep::e2e

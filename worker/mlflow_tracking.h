// The MLflow tracking REST API of one worker, without the HTTP transport (worker/mlflow_server.h
// serves it on loopback). A training script that logs with MLflow (`mlflow.log_metric`,
// `mlflow.autolog()`) reaches the attempt it runs in: its run is the attempt's run, its
// metrics become the attempt's metric points exactly like stdout `name=value` lines, and
// the files it logs as artifacts land in the attempt's outputs/ (docs/mlflow.md).
//
// Served (requests and responses as in MLflow's REST API reference, `/api/2.0/mlflow/...`):
//   experiments/get-by-name, experiments/get, experiments/create, experiments/search,
//   experiments/list, runs/create, runs/get, runs/update, runs/search, runs/log-metric,
//   runs/log-batch, runs/log-parameter, runs/set-tag, runs/delete-tag, runs/log-inputs,
//   runs/log-model, metrics/get-history, artifacts/list; and the artifacts service
//   (`/api/2.0/mlflow-artifacts/artifacts/<path>`: PUT, GET, and GET ?path= to list).
// One experiment and one run exist per attempt: every experiment name resolves to the
// attempt's experiment (a script's set_experiment("x") lands in it, as the job's experiment
// wins in an Azure ML job), and runs/create returns the attempt's run.
//
// Errors have MLflow's shape {"error_code": "...", "message": "..."}: ENDPOINT_NOT_FOUND
// (404) for anything not served, INVALID_PARAMETER_VALUE (400) for a malformed request,
// RESOURCE_DOES_NOT_EXIST (404) for another run, experiment or artifact. A refused request
// changes nothing (a log-batch is checked whole before any of it is applied).
//
// Thread safety: every method may be called from any thread (the HTTP server's pool).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/env.h"
#include "nlohmann/json.hpp"
#include "worker/metric_parser.h"

namespace sweep::worker {

// What the endpoint needs to know of the attempt it serves.
struct MlflowAttempt {
  std::string run_id;           // see MlflowRunId
  std::string run_name;         // shown by MLflow clients
  std::string experiment_id;    // "1"
  std::string experiment_name;  // the sweep's id
  std::string outputs_dir;      // where artifacts land (the attempt's outputs/)
  int64_t start_time_ms = 0;
  // Receives the metric points logged to the run; must be thread-safe.
  std::function<void(std::vector<ParsedMetric>)> on_metrics;
};

// An HTTP answer: a status, a content type and a body.
struct MlflowResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// The run id of an attempt: "<sweep>-<trial>-<attempt>", characters outside [A-Za-z0-9_-]
// replaced by '_' (MLflow clients accept run ids matching [A-Za-z0-9][\w-]{0,255}).
std::string MlflowRunId(const std::string& sweep_id, int64_t trial_id, int64_t attempt);

// Points a trial's environment at the endpoint: MLFLOW_TRACKING_URI, MLFLOW_RUN_ID,
// MLFLOW_EXPERIMENT_NAME and MLFLOW_EXPERIMENT_ID. When the trial's own variables
// (`lease_env`, the spec's environment_variables) set MLFLOW_TRACKING_URI, the trial logs
// to that server and `env` is left alone.
void SetMlflowEnv(const std::string& tracking_uri, const MlflowAttempt& attempt,
                  const std::vector<std::pair<std::string, std::string>>& lease_env,
                  std::map<std::string, std::string>* env);

// MLflow's error body and HTTP status for an error code (404 for ENDPOINT_NOT_FOUND and
// RESOURCE_DOES_NOT_EXIST, 400 otherwise).
MlflowResponse MlflowError(std::string_view error_code, std::string_view message);

class MlflowTracking {
 public:
  // `env` (not owned) holds the artifact files and gives the time of entries logged
  // without one.
  explicit MlflowTracking(core::Env* env = core::Env::Default());
  ~MlflowTracking();

  // Serves `attempt` from now on (replacing the previous one).
  void BeginAttempt(MlflowAttempt attempt);
  // No attempt any more: run ids are unknown until the next BeginAttempt.
  void EndAttempt();

  // One call of the tracking API. `endpoint` is the path after ".../2.0/mlflow/"
  // ("runs/log-metric"); a GET takes its fields from `query`, other methods from the JSON
  // `body`.
  MlflowResponse Call(std::string_view method, std::string_view endpoint,
                      const std::multimap<std::string, std::string>& query, std::string_view body);

  // The artifacts service; `path` is what follows "/mlflow-artifacts/artifacts/"
  // ("1/<run>/artifacts/model/MLmodel"). Upload: `read_body` calls its sink with each
  // piece of the request body (the sink returns false to stop), and returns false when
  // the body could not be read whole; the file appears only once it arrived whole.
  using BodySink = std::function<bool(std::string_view)>;
  MlflowResponse UploadArtifact(std::string_view path,
                                const std::function<bool(const BodySink&)>& read_body);
  MlflowResponse DownloadArtifact(std::string_view path);
  // GET .../mlflow-artifacts/artifacts?path=<path>: the directory's entries (basenames).
  MlflowResponse ListArtifacts(std::string_view path);

  // The params and tags logged to the current run (for tests and logs).
  std::map<std::string, std::string> Params() const;
  std::map<std::string, std::string> Tags() const;

 private:
  struct Run;
  using Handler = MlflowResponse (MlflowTracking::*)(const nlohmann::json&);

  MlflowResponse GetExperimentByName(const nlohmann::json& request);
  MlflowResponse GetExperiment(const nlohmann::json& request);
  MlflowResponse CreateExperiment(const nlohmann::json& request);
  MlflowResponse SearchExperiments(const nlohmann::json& request);
  MlflowResponse CreateRun(const nlohmann::json& request);
  MlflowResponse GetRun(const nlohmann::json& request);
  MlflowResponse UpdateRun(const nlohmann::json& request);
  MlflowResponse SearchRuns(const nlohmann::json& request);
  MlflowResponse LogMetric(const nlohmann::json& request);
  MlflowResponse LogBatch(const nlohmann::json& request);
  MlflowResponse LogParameter(const nlohmann::json& request);
  MlflowResponse SetTag(const nlohmann::json& request);
  MlflowResponse DeleteTag(const nlohmann::json& request);
  MlflowResponse LogInputs(const nlohmann::json& request);
  MlflowResponse LogModel(const nlohmann::json& request);
  MlflowResponse GetMetricHistory(const nlohmann::json& request);
  MlflowResponse ListRunArtifacts(const nlohmann::json& request);

  // The run a request names (run_id or run_uuid), or the error to answer. mu_ held.
  std::optional<MlflowResponse> CheckRun(const nlohmann::json& request) const;
  nlohmann::json ExperimentJson() const;  // mu_ held
  nlohmann::json RunJson() const;         // mu_ held
  // The outputs/ file an artifact path names, or the error to answer. Takes mu_.
  std::optional<MlflowResponse> ResolveArtifact(std::string_view path, std::string* file) const;
  std::vector<nlohmann::json> ListDir(const std::string& dir, const std::string& prefix) const;
  // Applies validated metrics, params and tags. mu_ held.
  void Apply(std::vector<ParsedMetric> metrics, std::vector<int64_t> timestamps,
             const std::vector<std::pair<std::string, std::string>>& params,
             const std::vector<std::pair<std::string, std::string>>& tags);

  core::Env* const env_;
  mutable std::mutex mu_;
  std::optional<MlflowAttempt> attempt_;  // guarded by mu_
  std::unique_ptr<Run> run_;              // guarded by mu_; set with attempt_
};

}  // namespace sweep::worker

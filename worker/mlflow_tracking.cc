#include "worker/mlflow_tracking.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "worker/mlflow_request.h"

namespace sweep::worker {
namespace {

using json = nlohmann::json;
using mlflow::RequestError;

constexpr size_t kMaxHistoryPoints = 100'000;  // metric history kept for get-history
constexpr size_t kMaxDatasetInputs = 1'000;

MlflowResponse Ok(const json& body) { return {200, "application/json", body.dump()}; }

json KeyValues(const std::map<std::string, std::string>& entries) {
  json out = json::array();
  for (const auto& [key, value] : entries) out.push_back({{"key", key}, {"value", value}});
  return out;
}

json MetricJson(const mlflow::LoggedMetric& m) {
  return {{"key", m.key},
          {"value", mlflow::DoubleJson(m.value)},
          {"timestamp", m.timestamp_ms},
          {"step", m.step}};
}

bool IsRunStatus(const std::string& status) {
  return status == "RUNNING" || status == "SCHEDULED" || status == "FINISHED" ||
         status == "FAILED" || status == "KILLED";
}

}  // namespace

std::string MlflowRunId(const std::string& sweep_id, int64_t trial_id, int64_t attempt) {
  std::string id = absl::StrCat(sweep_id, "-", trial_id, "-", attempt);
  for (char& c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) c = '_';
  }
  if (id.front() == '_' || id.front() == '-') id.insert(0, "r");
  return id.substr(0, 256);
}

void SetMlflowEnv(const std::string& tracking_uri, const MlflowAttempt& attempt,
                  const std::vector<std::pair<std::string, std::string>>& lease_env,
                  std::map<std::string, std::string>* env) {
  for (const auto& [key, value] : lease_env) {
    if (key == "MLFLOW_TRACKING_URI") return;
  }
  (*env)["MLFLOW_TRACKING_URI"] = tracking_uri;
  (*env)["MLFLOW_RUN_ID"] = attempt.run_id;
  (*env)["MLFLOW_EXPERIMENT_NAME"] = attempt.experiment_name;
  (*env)["MLFLOW_EXPERIMENT_ID"] = attempt.experiment_id;
}

MlflowResponse MlflowError(std::string_view error_code, std::string_view message) {
  int status =
      error_code == mlflow::kEndpointNotFound || error_code == mlflow::kResourceDoesNotExist ? 404
                                                                                             : 400;
  return {status, "application/json",
          json{{"error_code", std::string(error_code)}, {"message", std::string(message)}}.dump()};
}

// The attempt's run as MLflow describes it.
struct MlflowTracking::Run {
  std::string name;
  std::string status = "RUNNING";
  std::optional<int64_t> end_time_ms;
  std::map<std::string, mlflow::LoggedMetric> latest;
  std::map<std::string, std::vector<mlflow::LoggedMetric>> history;
  size_t history_points = 0;
  std::map<std::string, std::string> params;
  std::map<std::string, std::string> tags;
  std::vector<json> dataset_inputs;
};

MlflowTracking::MlflowTracking(core::Env* env) : env_(env) {}
MlflowTracking::~MlflowTracking() = default;

void MlflowTracking::BeginAttempt(MlflowAttempt attempt) {
  std::lock_guard<std::mutex> lock(mu_);
  run_ = std::make_unique<Run>();
  run_->name = attempt.run_name;
  run_->tags["mlflow.runName"] = attempt.run_name;
  attempt_ = std::move(attempt);
}

void MlflowTracking::EndAttempt() {
  std::lock_guard<std::mutex> lock(mu_);
  attempt_.reset();
  run_.reset();
}

std::map<std::string, std::string> MlflowTracking::Params() const {
  std::lock_guard<std::mutex> lock(mu_);
  return run_ ? run_->params : std::map<std::string, std::string>{};
}

std::map<std::string, std::string> MlflowTracking::Tags() const {
  std::lock_guard<std::mutex> lock(mu_);
  return run_ ? run_->tags : std::map<std::string, std::string>{};
}

MlflowResponse MlflowTracking::Call(std::string_view method, std::string_view endpoint,
                                    const std::multimap<std::string, std::string>& query,
                                    std::string_view body) {
  struct Route {
    const char* endpoint;
    const char* method;  // MLflow's; a search also answers GET
    Handler handler;
  };
  static const Route kRoutes[] = {
      {"experiments/get-by-name", "GET", &MlflowTracking::GetExperimentByName},
      {"experiments/get", "GET", &MlflowTracking::GetExperiment},
      {"experiments/create", "POST", &MlflowTracking::CreateExperiment},
      {"experiments/search", "POST", &MlflowTracking::SearchExperiments},
      {"experiments/list", "GET", &MlflowTracking::SearchExperiments},
      {"runs/create", "POST", &MlflowTracking::CreateRun},
      {"runs/get", "GET", &MlflowTracking::GetRun},
      {"runs/update", "POST", &MlflowTracking::UpdateRun},
      {"runs/search", "POST", &MlflowTracking::SearchRuns},
      {"runs/log-metric", "POST", &MlflowTracking::LogMetric},
      {"runs/log-batch", "POST", &MlflowTracking::LogBatch},
      {"runs/log-parameter", "POST", &MlflowTracking::LogParameter},
      {"runs/set-tag", "POST", &MlflowTracking::SetTag},
      {"runs/delete-tag", "POST", &MlflowTracking::DeleteTag},
      {"runs/log-inputs", "POST", &MlflowTracking::LogInputs},
      {"runs/log-model", "POST", &MlflowTracking::LogModel},
      {"metrics/get-history", "GET", &MlflowTracking::GetMetricHistory},
      {"artifacts/list", "GET", &MlflowTracking::ListRunArtifacts},
  };
  const Route* route = nullptr;
  for (const Route& r : kRoutes) {
    if (endpoint == r.endpoint) route = &r;
  }
  bool search = endpoint.size() > 7 && endpoint.substr(endpoint.size() - 7) == "/search";
  if (route == nullptr || (method != route->method && !(search && method == "GET"))) {
    return MlflowError(
        mlflow::kEndpointNotFound,
        route == nullptr
            ? absl::StrCat("Sweep's MLflow endpoint does not serve '", std::string(endpoint),
                           "' (docs/mlflow.md lists what it serves)")
            : absl::StrCat("'", std::string(endpoint), "' is served for ", route->method, ", not ",
                           std::string(method)));
  }
  try {
    json request = method == "GET" ? mlflow::QueryToJson(query) : mlflow::ParseBody(body);
    return (this->*(route->handler))(request);
  } catch (const RequestError& error) {
    return MlflowError(error.code, error.message);
  } catch (const json::exception& error) {
    return MlflowError(mlflow::kInvalidParameterValue,
                       absl::StrCat("Malformed request: ", error.what()));
  }
}

json MlflowTracking::ExperimentJson() const {
  return {{"experiment_id", attempt_->experiment_id},
          {"name", attempt_->experiment_name},
          {"artifact_location", absl::StrCat("mlflow-artifacts:/", attempt_->experiment_id)},
          {"lifecycle_stage", "active"},
          {"creation_time", attempt_->start_time_ms},
          {"last_update_time", attempt_->start_time_ms},
          {"tags", json::array()}};
}

json MlflowTracking::RunJson() const {
  json info = {{"run_id", attempt_->run_id},
               {"run_uuid", attempt_->run_id},
               {"run_name", run_->name},
               {"experiment_id", attempt_->experiment_id},
               {"user_id", ""},
               {"status", run_->status},
               {"start_time", attempt_->start_time_ms},
               {"artifact_uri", absl::StrCat("mlflow-artifacts:/", attempt_->experiment_id, "/",
                                             attempt_->run_id, "/artifacts")},
               {"lifecycle_stage", "active"}};
  if (run_->end_time_ms) info["end_time"] = *run_->end_time_ms;
  json metrics = json::array();
  for (const auto& [key, metric] : run_->latest) metrics.push_back(MetricJson(metric));
  json data = {
      {"metrics", metrics}, {"params", KeyValues(run_->params)}, {"tags", KeyValues(run_->tags)}};
  return {
      {"info", info}, {"data", data}, {"inputs", {{"dataset_inputs", json(run_->dataset_inputs)}}}};
}

std::optional<MlflowResponse> MlflowTracking::CheckRun(const json& request) const {
  std::string run_id = mlflow::RunIdOf(request);
  if (!attempt_ || run_id != attempt_->run_id) {
    return MlflowError(mlflow::kResourceDoesNotExist,
                       absl::StrCat("Run with id=", run_id, " not found"));
  }
  return std::nullopt;
}

MlflowResponse MlflowTracking::GetExperimentByName(const json& request) {
  std::string name = mlflow::ReqString(request, "experiment_name");
  std::lock_guard<std::mutex> lock(mu_);
  if (!attempt_) {
    return MlflowError(mlflow::kResourceDoesNotExist,
                       absl::StrCat("Could not find experiment with name '", name,
                                    "': no trial runs on this node now"));
  }
  return Ok({{"experiment", ExperimentJson()}});
}

MlflowResponse MlflowTracking::GetExperiment(const json& request) {
  std::string id = mlflow::ReqString(request, "experiment_id");
  std::lock_guard<std::mutex> lock(mu_);
  if (!attempt_ || id != attempt_->experiment_id) {
    return MlflowError(mlflow::kResourceDoesNotExist,
                       absl::StrCat("No Experiment with id=", id, " exists"));
  }
  return Ok({{"experiment", ExperimentJson()}});
}

MlflowResponse MlflowTracking::CreateExperiment(const json& request) {
  std::string name = mlflow::ReqString(request, "name");
  for (const json& tag : mlflow::OptArray(request, "tags")) mlflow::ReadTag(tag);
  std::lock_guard<std::mutex> lock(mu_);
  if (!attempt_) {
    return MlflowError(mlflow::kResourceDoesNotExist,
                       "no trial runs on this node now: experiments cannot be created");
  }
  return Ok({{"experiment_id", attempt_->experiment_id}});
}

MlflowResponse MlflowTracking::SearchExperiments(const json& request) {
  std::lock_guard<std::mutex> lock(mu_);
  json experiments = json::array();
  if (attempt_) experiments.push_back(ExperimentJson());
  return Ok({{"experiments", experiments}});
}

MlflowResponse MlflowTracking::CreateRun(const json& request) {
  std::optional<std::string> experiment_id = mlflow::OptString(request, "experiment_id");
  std::optional<std::string> run_name = mlflow::OptString(request, "run_name");
  std::vector<std::pair<std::string, std::string>> tags;
  for (const json& tag : mlflow::OptArray(request, "tags")) tags.push_back(mlflow::ReadTag(tag));
  std::lock_guard<std::mutex> lock(mu_);
  if (!attempt_)
    return MlflowError(mlflow::kResourceDoesNotExist, "no trial runs on this node now");
  if (experiment_id && !experiment_id->empty() && *experiment_id != attempt_->experiment_id) {
    return MlflowError(mlflow::kResourceDoesNotExist,
                       absl::StrCat("No Experiment with id=", *experiment_id,
                                    " exists (this trial's is ", attempt_->experiment_id, ")"));
  }
  if (run_name && !run_name->empty()) run_->name = *run_name;
  run_->status = "RUNNING";
  run_->end_time_ms.reset();
  for (auto& [key, value] : tags) run_->tags[key] = value;
  if (run_name && !run_name->empty()) run_->tags["mlflow.runName"] = *run_name;
  return Ok({{"run", RunJson()}});
}

MlflowResponse MlflowTracking::GetRun(const json& request) {
  std::lock_guard<std::mutex> lock(mu_);
  if (std::optional<MlflowResponse> error = CheckRun(request)) return *error;
  return Ok({{"run", RunJson()}});
}

MlflowResponse MlflowTracking::UpdateRun(const json& request) {
  std::optional<std::string> status = mlflow::OptString(request, "status");
  if (status && !IsRunStatus(*status)) {
    throw RequestError{mlflow::kInvalidParameterValue,
                       absl::StrCat("Invalid value '", *status,
                                    "' for parameter 'status': expected RUNNING, "
                                    "SCHEDULED, FINISHED, FAILED or KILLED")};
  }
  std::optional<int64_t> end_time = mlflow::OptInt64(request, "end_time");
  std::optional<std::string> run_name = mlflow::OptString(request, "run_name");
  std::lock_guard<std::mutex> lock(mu_);
  if (std::optional<MlflowResponse> error = CheckRun(request)) return *error;
  if (status) run_->status = *status;
  if (end_time) run_->end_time_ms = *end_time;
  if (run_name && !run_name->empty()) {
    run_->name = *run_name;
    run_->tags["mlflow.runName"] = *run_name;
  }
  return Ok({{"run_info", RunJson()["info"]}});
}

MlflowResponse MlflowTracking::SearchRuns(const json& request) {
  std::vector<std::string> ids;
  for (const json& id : mlflow::OptArray(request, "experiment_ids")) {
    if (!id.is_string()) {
      throw RequestError{mlflow::kInvalidParameterValue,
                         "experiment_ids must be a list of strings"};
    }
    ids.push_back(id.get<std::string>());
  }
  std::lock_guard<std::mutex> lock(mu_);
  json runs = json::array();
  if (attempt_ &&
      (ids.empty() || std::find(ids.begin(), ids.end(), attempt_->experiment_id) != ids.end())) {
    runs.push_back(RunJson());
  }
  return Ok({{"runs", runs}});
}

void MlflowTracking::Apply(std::vector<ParsedMetric> metrics, std::vector<int64_t> timestamps,
                           const std::vector<std::pair<std::string, std::string>>& params,
                           const std::vector<std::pair<std::string, std::string>>& tags) {
  for (size_t i = 0; i < metrics.size(); ++i) {
    mlflow::LoggedMetric m{metrics[i].name, metrics[i].value, timestamps[i], metrics[i].step};
    mlflow::LoggedMetric& latest = run_->latest[m.key];
    // MLflow's latest value: the highest step, then the latest timestamp.
    if (latest.key.empty() || std::make_pair(m.step, m.timestamp_ms) >=
                                  std::make_pair(latest.step, latest.timestamp_ms)) {
      latest = m;
    }
    if (run_->history_points < kMaxHistoryPoints) {
      run_->history[m.key].push_back(m);
      ++run_->history_points;
    }
  }
  for (const auto& [key, value] : params) run_->params[key] = value;
  for (const auto& [key, value] : tags) run_->tags[key] = value;
  if (!metrics.empty() && attempt_->on_metrics) attempt_->on_metrics(std::move(metrics));
}

MlflowResponse MlflowTracking::LogMetric(const json& request) {
  mlflow::LoggedMetric m = mlflow::ReadMetric(request, env_->clock()->NowMillis());
  std::lock_guard<std::mutex> lock(mu_);
  if (std::optional<MlflowResponse> error = CheckRun(request)) return *error;
  Apply({{m.key, m.value, m.step}}, {m.timestamp_ms}, {}, {});
  return Ok(json::object());
}

MlflowResponse MlflowTracking::LogBatch(const json& request) {
  const json& metrics_json = mlflow::OptArray(request, "metrics");
  const json& params_json = mlflow::OptArray(request, "params");
  const json& tags_json = mlflow::OptArray(request, "tags");
  if (metrics_json.size() > mlflow::kMaxBatchMetrics ||
      params_json.size() > mlflow::kMaxBatchParams || tags_json.size() > mlflow::kMaxBatchTags ||
      metrics_json.size() + params_json.size() + tags_json.size() > mlflow::kMaxBatchEntries) {
    throw RequestError{
        mlflow::kInvalidParameterValue,
        absl::StrCat("A batch logging request can contain at most ", mlflow::kMaxBatchMetrics,
                     " metrics, ", mlflow::kMaxBatchParams, " params, ", mlflow::kMaxBatchTags,
                     " tags and ", mlflow::kMaxBatchEntries, " entries in all; got ",
                     metrics_json.size(), " metrics, ", params_json.size(), " params and ",
                     tags_json.size(), " tags")};
  }
  int64_t now = env_->clock()->NowMillis();
  std::vector<ParsedMetric> metrics;
  std::vector<int64_t> timestamps;
  for (const json& entry : metrics_json) {
    mlflow::LoggedMetric m = mlflow::ReadMetric(entry, now);
    metrics.push_back({m.key, m.value, m.step});
    timestamps.push_back(m.timestamp_ms);
  }
  std::vector<std::pair<std::string, std::string>> params, tags;
  for (const json& entry : params_json) params.push_back(mlflow::ReadParam(entry));
  for (const json& entry : tags_json) tags.push_back(mlflow::ReadTag(entry));
  std::lock_guard<std::mutex> lock(mu_);
  if (std::optional<MlflowResponse> error = CheckRun(request)) return *error;
  // Params are immutable in MLflow: a new value for a logged key refuses the whole batch.
  std::map<std::string, std::string> seen = run_->params;
  for (const auto& [key, value] : params) {
    auto [it, inserted] = seen.emplace(key, value);
    if (!inserted && it->second != value) {
      return MlflowError(
          mlflow::kInvalidParameterValue,
          absl::StrCat("Changing param values is not allowed. Param with "
                       "key='",
                       key, "' was already logged with value='", it->second, "' for run ID='",
                       attempt_->run_id, "'. Attempted logging new value '", value, "'."));
    }
  }
  Apply(std::move(metrics), std::move(timestamps), params, tags);
  return Ok(json::object());
}

MlflowResponse MlflowTracking::LogParameter(const json& request) {
  json batch = {{"params", json::array({request})}};
  if (request.contains("run_id")) batch["run_id"] = request["run_id"];
  if (request.contains("run_uuid")) batch["run_uuid"] = request["run_uuid"];
  return LogBatch(batch);
}

MlflowResponse MlflowTracking::SetTag(const json& request) {
  std::pair<std::string, std::string> tag = mlflow::ReadTag(request);
  std::lock_guard<std::mutex> lock(mu_);
  if (std::optional<MlflowResponse> error = CheckRun(request)) return *error;
  run_->tags[tag.first] = tag.second;
  if (tag.first == "mlflow.runName") run_->name = tag.second;
  return Ok(json::object());
}

MlflowResponse MlflowTracking::DeleteTag(const json& request) {
  std::string key = mlflow::ReqString(request, "key");
  std::lock_guard<std::mutex> lock(mu_);
  if (std::optional<MlflowResponse> error = CheckRun(request)) return *error;
  if (run_->tags.erase(key) == 0) {
    return MlflowError(
        mlflow::kResourceDoesNotExist,
        absl::StrCat("No tag with name: ", key, " in run with id ", attempt_->run_id));
  }
  return Ok(json::object());
}

MlflowResponse MlflowTracking::LogInputs(const json& request) {
  const json& datasets = mlflow::OptArray(request, "datasets");
  for (const json& input : datasets) {
    const json* dataset =
        input.is_object() && input.contains("dataset") ? &input["dataset"] : nullptr;
    if (dataset == nullptr || !dataset->is_object()) {
      throw RequestError{mlflow::kInvalidParameterValue,
                         "each entry of 'datasets' needs a 'dataset' object"};
    }
    for (const char* field : {"name", "digest", "source_type", "source"}) {
      mlflow::ReqString(*dataset, field);
    }
    for (const json& tag : mlflow::OptArray(input, "tags")) mlflow::ReadTag(tag);
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (std::optional<MlflowResponse> error = CheckRun(request)) return *error;
  for (const json& input : datasets) {
    if (run_->dataset_inputs.size() >= kMaxDatasetInputs) break;
    run_->dataset_inputs.push_back(input);
  }
  return Ok(json::object());
}

MlflowResponse MlflowTracking::LogModel(const json& request) {
  std::string model_json = mlflow::ReqString(request, "model_json");
  json model = json::parse(model_json, nullptr, /*allow_exceptions=*/false);
  if (model.is_discarded() || !model.is_object()) {
    throw RequestError{mlflow::kInvalidParameterValue,
                       "model_json must be a JSON object (an MLmodel as JSON)"};
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (std::optional<MlflowResponse> error = CheckRun(request)) return *error;
  // As MLflow's server does: the models logged to a run are a tag's JSON list.
  std::string& history = run_->tags["mlflow.log-model.history"];
  json models = json::parse(history.empty() ? "[]" : history, nullptr, false);
  if (!models.is_array()) models = json::array();
  models.push_back(model);
  history = models.dump();
  return Ok(json::object());
}

MlflowResponse MlflowTracking::GetMetricHistory(const json& request) {
  std::string key = mlflow::ReqString(request, "metric_key");
  std::lock_guard<std::mutex> lock(mu_);
  if (std::optional<MlflowResponse> error = CheckRun(request)) return *error;
  json metrics = json::array();
  auto it = run_->history.find(key);
  if (it != run_->history.end()) {
    for (const mlflow::LoggedMetric& m : it->second) metrics.push_back(MetricJson(m));
  }
  return Ok({{"metrics", metrics}});
}

}  // namespace sweep::worker

// Reading MLflow REST requests (worker/mlflow_tracking.h): fields as MLflow's protos define
// them, checked with the MLflow server's own rules. Internal to the worker.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nlohmann/json.hpp"

namespace sweep::worker::mlflow {

// A request MLflow's server would refuse: its error code and message. Thrown by the
// readers below and caught by MlflowTracking before it answers; never leaves the worker.
struct RequestError {
  std::string code;
  std::string message;
};

// MLflow's error codes (databricks.proto's ErrorCode) this endpoint answers.
inline constexpr char kInvalidParameterValue[] = "INVALID_PARAMETER_VALUE";
inline constexpr char kResourceDoesNotExist[] = "RESOURCE_DOES_NOT_EXIST";
inline constexpr char kEndpointNotFound[] = "ENDPOINT_NOT_FOUND";
inline constexpr char kInternalError[] = "INTERNAL_ERROR";

// MLflow's limits (mlflow/utils/validation.py).
inline constexpr size_t kMaxKeyLength = 250;
inline constexpr size_t kMaxParamValueLength = 6000;
inline constexpr size_t kMaxTagValueLength = 8000;
inline constexpr size_t kMaxBatchMetrics = 1000;
inline constexpr size_t kMaxBatchParams = 100;
inline constexpr size_t kMaxBatchTags = 100;
inline constexpr size_t kMaxBatchEntries = 1000;

// The JSON body of a POST (an object; "" is {}), or the fields of a GET's query string
// (strings; experiment_ids a list).
nlohmann::json ParseBody(std::string_view body);
nlohmann::json QueryToJson(const std::multimap<std::string, std::string>& query);

// A string field; nullopt when absent (or null). INVALID_PARAMETER_VALUE when it has
// another type.
std::optional<std::string> OptString(const nlohmann::json& request, const char* field);
// A required string field (INVALID_PARAMETER_VALUE "Missing value for required parameter").
std::string ReqString(const nlohmann::json& request, const char* field);
// An int64 field: a JSON integer or a string of one (protobuf's JSON form of int64).
std::optional<int64_t> OptInt64(const nlohmann::json& request, const char* field);
// A double field: a number, or "NaN", "Infinity", "-Infinity" (protobuf's JSON form).
double ReqDouble(const nlohmann::json& request, const char* field);
// The run a request names: run_id, else run_uuid (older clients).
std::string RunIdOf(const nlohmann::json& request);
// A repeated field: an array (absent is empty).
const nlohmann::json& OptArray(const nlohmann::json& request, const char* field);

// A metric, param or tag key as MLflow accepts it: 1-250 characters of [A-Za-z0-9_-./ ],
// not an absolute or "..". `what` names the entry in the message ("metric").
void CheckKey(const std::string& key, const char* what);

struct LoggedMetric {
  std::string key;
  double value = 0;
  int64_t timestamp_ms = 0;
  int64_t step = 0;
};
// A metric of log-metric or log-batch (timestamp defaults to `now_ms`, step to 0).
LoggedMetric ReadMetric(const nlohmann::json& entry, int64_t now_ms);
// A {key, value} param or tag, checked against MLflow's limits.
std::pair<std::string, std::string> ReadParam(const nlohmann::json& entry);
std::pair<std::string, std::string> ReadTag(const nlohmann::json& entry);

// A double as protobuf's JSON writes it (non-finite values as strings).
nlohmann::json DoubleJson(double value);

// An artifact path relative to the run's artifact root, split into safe components: no
// "..", ".", absolute path or NUL (INVALID_PARAMETER_VALUE otherwise). Empty components
// (a doubled '/') are dropped.
std::vector<std::string> SplitArtifactPath(std::string_view path);

}  // namespace sweep::worker::mlflow

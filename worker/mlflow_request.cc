#include "worker/mlflow_request.h"

#include <cmath>
#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace sweep::worker::mlflow {
namespace {

[[noreturn]] void Invalid(std::string message) {
  throw RequestError{kInvalidParameterValue, std::move(message)};
}

bool IsKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.' || c == '/' || c == ' ';
}

std::pair<std::string, std::string> ReadKeyValue(const nlohmann::json& entry, const char* what,
                                                 size_t max_value) {
  if (!entry.is_object()) Invalid(absl::StrCat("a ", what, " must be an object {key, value}"));
  std::string key = ReqString(entry, "key");
  CheckKey(key, what);
  std::optional<std::string> value = OptString(entry, "value");
  if (!value) value = "";
  if (value->size() > max_value) {
    Invalid(absl::StrCat(what, " '", key, "' had length ", value->size(),
                         ", which exceeded length limit of ", max_value));
  }
  return {key, *value};
}

}  // namespace

nlohmann::json ParseBody(std::string_view body) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return nlohmann::json::object();
  }
  nlohmann::json parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) Invalid("Malformed JSON request body: not valid JSON");
  if (!parsed.is_object()) Invalid("Malformed JSON request body: expected a JSON object");
  return parsed;
}

nlohmann::json QueryToJson(const std::multimap<std::string, std::string>& query) {
  nlohmann::json object = nlohmann::json::object();
  for (const auto& [key, value] : query) {
    // A repeated field comes as repeated keys (?experiment_ids=1&experiment_ids=2).
    if (key == "experiment_ids") {
      object[key].push_back(value);
    } else {
      object[key] = value;
    }
  }
  return object;
}

std::optional<std::string> OptString(const nlohmann::json& request, const char* field) {
  auto it = request.find(field);
  if (it == request.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) {
    Invalid(absl::StrCat("Invalid value ", it->dump(), " for parameter '", field,
                         "' supplied: it must be a string"));
  }
  return it->get<std::string>();
}

std::string ReqString(const nlohmann::json& request, const char* field) {
  std::optional<std::string> value = OptString(request, field);
  if (!value || value->empty()) {
    Invalid(absl::StrCat("Missing value for required parameter '", field, "'"));
  }
  return *value;
}

std::optional<int64_t> OptInt64(const nlohmann::json& request, const char* field) {
  auto it = request.find(field);
  if (it == request.end() || it->is_null()) return std::nullopt;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_number_float()) {
    double d = it->get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e18) {
      return static_cast<int64_t>(d);
    }
  }
  if (it->is_string()) {
    const std::string& text = it->get_ref<const std::string&>();
    int64_t value = 0;
    if (!text.empty() && absl::SimpleAtoi(text, &value)) return value;
  }
  Invalid(absl::StrCat("Invalid value ", it->dump(), " for parameter '", field,
                       "' supplied: it must be an integer"));
}

double ReqDouble(const nlohmann::json& request, const char* field) {
  auto it = request.find(field);
  if (it == request.end() || it->is_null()) {
    Invalid(absl::StrCat("Missing value for required parameter '", field, "'"));
  }
  if (it->is_number()) return it->get<double>();
  if (it->is_string()) {
    const std::string& text = it->get_ref<const std::string&>();
    if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
    if (text == "Infinity") return std::numeric_limits<double>::infinity();
    if (text == "-Infinity") return -std::numeric_limits<double>::infinity();
    double value = 0;
    if (absl::SimpleAtod(text, &value)) return value;
  }
  Invalid(absl::StrCat("Invalid value ", it->dump(), " for parameter '", field,
                       "' supplied: it must be a number"));
}

std::string RunIdOf(const nlohmann::json& request) {
  std::optional<std::string> id = OptString(request, "run_id");
  if (!id || id->empty()) id = OptString(request, "run_uuid");
  if (!id || id->empty()) Invalid("Missing value for required parameter 'run_id'");
  return *id;
}

const nlohmann::json& OptArray(const nlohmann::json& request, const char* field) {
  static const nlohmann::json kEmpty = nlohmann::json::array();
  auto it = request.find(field);
  if (it == request.end() || it->is_null()) return kEmpty;
  if (!it->is_array()) {
    Invalid(absl::StrCat("Invalid value ", it->dump(), " for parameter '", field,
                         "' supplied: it must be a list"));
  }
  return *it;
}

void CheckKey(const std::string& key, const char* what) {
  if (key.size() > kMaxKeyLength) {
    Invalid(absl::StrCat(what, " name '", key.substr(0, 40), "...' had length ", key.size(),
                         ", which exceeded length limit of ", kMaxKeyLength));
  }
  for (char c : key) {
    if (!IsKeyChar(c)) {
      Invalid(absl::StrCat("Invalid ", what, " name: '", key,
                           "'. Names may only contain alphanumerics, underscores (_), dashes (-), "
                           "periods (.), spaces ( ), and slashes (/)."));
    }
  }
  for (absl::string_view part : absl::StrSplit(key, '/')) {
    if (part == "..") Invalid(absl::StrCat("Invalid ", what, " name: '", key, "' (a '..' part)"));
  }
  if (key.front() == '/') {
    Invalid(absl::StrCat("Invalid ", what, " name: '", key, "' (an absolute path)"));
  }
}

LoggedMetric ReadMetric(const nlohmann::json& entry, int64_t now_ms) {
  if (!entry.is_object()) Invalid("a metric must be an object {key, value, timestamp, step}");
  LoggedMetric metric;
  metric.key = ReqString(entry, "key");
  CheckKey(metric.key, "metric");
  metric.value = ReqDouble(entry, "value");
  metric.timestamp_ms = OptInt64(entry, "timestamp").value_or(now_ms);
  metric.step = OptInt64(entry, "step").value_or(0);
  return metric;
}

std::pair<std::string, std::string> ReadParam(const nlohmann::json& entry) {
  return ReadKeyValue(entry, "param", kMaxParamValueLength);
}

std::pair<std::string, std::string> ReadTag(const nlohmann::json& entry) {
  return ReadKeyValue(entry, "tag", kMaxTagValueLength);
}

nlohmann::json DoubleJson(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  return value;
}

std::vector<std::string> SplitArtifactPath(std::string_view path) {
  if (path.find('\0') != std::string_view::npos) Invalid("Invalid artifact path: contains NUL");
  std::vector<std::string> parts;
  for (absl::string_view part : absl::StrSplit(absl::string_view(path.data(), path.size()), '/')) {
    if (part.empty()) continue;
    if (part == "." || part == "..") {
      Invalid(
          absl::StrCat("Invalid artifact path: '", std::string(path), "' (a '", part, "' part)"));
    }
    parts.emplace_back(part);
  }
  return parts;
}

}  // namespace sweep::worker::mlflow

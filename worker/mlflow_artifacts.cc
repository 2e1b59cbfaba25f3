// The artifacts part of MlflowTracking (worker/mlflow_tracking.h): files of the run's
// artifact root are files of the attempt's outputs/.
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "worker/mlflow_request.h"
#include "worker/mlflow_tracking.h"

namespace sweep::worker {
namespace {

using json = nlohmann::json;
using mlflow::RequestError;

constexpr char kUploadSuffix[] = ".sweep-upload";

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

}  // namespace

std::optional<MlflowResponse> MlflowTracking::ResolveArtifact(std::string_view path,
                                                              std::string* file) const {
  std::vector<std::string> parts = mlflow::SplitArtifactPath(path);
  std::lock_guard<std::mutex> lock(mu_);
  // The run's artifact root is mlflow-artifacts:/<experiment>/<run>/artifacts.
  if (!attempt_ || parts.size() < 3 || parts[0] != attempt_->experiment_id ||
      parts[1] != attempt_->run_id || parts[2] != "artifacts") {
    return MlflowError(mlflow::kResourceDoesNotExist,
                       absl::StrCat("No artifact root '", std::string(path), "': this node serves ",
                                    attempt_ ? absl::StrCat(attempt_->experiment_id, "/",
                                                            attempt_->run_id, "/artifacts")
                                             : std::string("no run now")));
  }
  parts.erase(parts.begin(), parts.begin() + 3);
  *file = attempt_->outputs_dir;
  if (!parts.empty()) absl::StrAppend(file, "/", absl::StrJoin(parts, "/"));
  return std::nullopt;
}

MlflowResponse MlflowTracking::UploadArtifact(
    std::string_view path, const std::function<bool(const BodySink&)>& read_body) {
  std::string file;
  try {
    if (std::optional<MlflowResponse> error = ResolveArtifact(path, &file)) return *error;
  } catch (const RequestError& error) {
    return MlflowError(error.code, error.message);
  }
  std::string root;
  {
    std::lock_guard<std::mutex> lock(mu_);
    root = attempt_ ? attempt_->outputs_dir : "";
  }
  if (file == root)
    return MlflowError(mlflow::kInvalidParameterValue, "an artifact upload needs a file name");
  if (absl::StatusOr<core::FileInfo> info = env_->Stat(file); info.ok() && info->is_directory()) {
    return MlflowError(mlflow::kInvalidParameterValue,
                       absl::StrCat("artifact '", std::string(path), "' is a directory"));
  }
  if (absl::Status s = env_->CreateDirs(file.substr(0, file.rfind('/'))); !s.ok()) {
    return MlflowError(mlflow::kInternalError,
                       absl::StrCat("cannot store artifact: ", s.message()));
  }
  // Written aside and renamed once whole: a broken upload leaves nothing behind.
  const std::string partial = file + kUploadSuffix;
  absl::StatusOr<std::unique_ptr<core::WritableFile>> out = env_->NewWritableFile(partial);
  if (!out.ok()) {
    return MlflowError(mlflow::kInternalError,
                       absl::StrCat("cannot store artifact: ", out.status().message()));
  }
  absl::Status write_status;
  bool whole = read_body([&](std::string_view piece) {
    write_status = (*out)->Append(piece);
    return write_status.ok();
  });
  absl::Status close_status = (*out)->Close();
  if (!whole || !write_status.ok() || !close_status.ok()) {
    env_->RemoveFile(partial).IgnoreError();
    std::string why = !write_status.ok()   ? std::string(write_status.message())
                      : !close_status.ok() ? std::string(close_status.message())
                                           : "the request body ended early";
    return MlflowError(whole ? mlflow::kInternalError : mlflow::kInvalidParameterValue,
                       absl::StrCat("artifact '", std::string(path), "' not stored: ", why));
  }
  if (absl::Status s = env_->Rename(partial, file); !s.ok()) {
    env_->RemoveFile(partial).IgnoreError();
    return MlflowError(mlflow::kInternalError,
                       absl::StrCat("cannot store artifact: ", s.message()));
  }
  return {200, "application/json", "{}"};
}

MlflowResponse MlflowTracking::DownloadArtifact(std::string_view path) {
  std::string file;
  try {
    if (std::optional<MlflowResponse> error = ResolveArtifact(path, &file)) return *error;
  } catch (const RequestError& error) {
    return MlflowError(error.code, error.message);
  }
  absl::StatusOr<core::FileInfo> info = env_->Stat(file);
  if (!info.ok() || !info->is_regular()) {
    return MlflowError(mlflow::kResourceDoesNotExist,
                       absl::StrCat("No artifact file '", std::string(path), "'"));
  }
  absl::StatusOr<std::string> content = env_->ReadFile(file);
  if (!content.ok()) {
    return MlflowError(mlflow::kInternalError, std::string(content.status().message()));
  }
  return {200, "application/octet-stream", *std::move(content)};
}

std::vector<json> MlflowTracking::ListDir(const std::string& dir, const std::string& prefix) const {
  std::vector<json> files;
  absl::StatusOr<std::vector<std::string>> names = env_->ListDir(dir);
  if (!names.ok()) return files;  // a missing directory lists as empty, as in MLflow
  for (const std::string& name : *names) {
    if (EndsWith(name, kUploadSuffix)) continue;
    absl::StatusOr<core::FileInfo> info = env_->Stat(dir + "/" + name);
    if (!info.ok()) continue;
    json entry = {{"path", prefix.empty() ? name : prefix + "/" + name},
                  {"is_dir", info->is_directory()}};
    if (!info->is_directory()) entry["file_size"] = info->size;
    files.push_back(std::move(entry));
  }
  return files;
}

MlflowResponse MlflowTracking::ListArtifacts(std::string_view path) {
  std::string dir;
  try {
    if (std::optional<MlflowResponse> error = ResolveArtifact(path, &dir)) return *error;
  } catch (const RequestError& error) {
    return MlflowError(error.code, error.message);
  }
  return {200, "application/json", json{{"files", ListDir(dir, "")}}.dump()};
}

// GET artifacts/list?run_id=&path=: the tracking API's listing, paths relative to the root.
MlflowResponse MlflowTracking::ListRunArtifacts(const json& request) {
  std::string prefix = absl::StrJoin(
      mlflow::SplitArtifactPath(mlflow::OptString(request, "path").value_or("")), "/");
  std::string dir, root_uri;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (std::optional<MlflowResponse> error = CheckRun(request)) return *error;
    dir = attempt_->outputs_dir + (prefix.empty() ? "" : "/" + prefix);
    root_uri = RunJson()["info"]["artifact_uri"];
  }
  return {200, "application/json",
          json{{"root_uri", root_uri}, {"files", ListDir(dir, prefix)}}.dump()};
}

}  // namespace sweep::worker

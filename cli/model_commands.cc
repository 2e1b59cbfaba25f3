#include "cli/model_commands.h"

#include <cmath>
#include <iostream>
#include <memory>
#include <utility>

#include "absl/strings/numbers.h"
#include "cli/admin.h"
#include "cli/output.h"
#include "core/status.h"
#include "spec/asset_names.h"
#include "workspace/artifact_store.h"
#include "workspace/registry.h"

namespace sweep::cli {
namespace {

struct ModelRef {
  std::string name;
  std::optional<int64_t> version;
};

absl::StatusOr<ModelRef> ParseModelRef(const std::string& reference) {
  ModelRef ref;
  const size_t colon = reference.rfind(':');
  ref.name = reference.substr(0, colon);
  if (absl::Status s = spec::ValidateModelName(ref.name); !s.ok()) return s;
  if (colon != std::string::npos) {
    int64_t version = 0;
    const std::string text = reference.substr(colon + 1);
    if (!absl::SimpleAtoi(text, &version) || version < 1) {
      return absl::InvalidArgumentError("model version '" + text + "' in '" + reference +
                                        "' is not a number >= 1 (write NAME or NAME:VERSION)");
    }
    ref.version = version;
  }
  return ref;
}

// NotFound says which models exist, so the user can correct the name.
absl::StatusOr<core::Model> LookupModel(store::Store* store, const ModelRef& ref) {
  absl::StatusOr<core::Model> model = store->GetModel(ref.name, ref.version);
  if (!absl::IsNotFound(model.status())) return model;
  if (ref.version && store->GetModel(ref.name, std::nullopt).ok()) {
    return absl::NotFoundError("model '" + ref.name + "' has no version " +
                               std::to_string(*ref.version) + " (`sweep models list` lists them)");
  }
  return absl::NotFoundError("model '" + ref.name +
                             "' not found (`sweep models list` lists registered models)");
}

nlohmann::json ModelToJson(const core::Model& m) {
  nlohmann::json tags = nlohmann::json::object();
  for (const auto& [key, value] : m.tags) tags[key] = value;
  nlohmann::json params = nlohmann::json::parse(m.params_json, nullptr, false);
  return {
      {"name", m.name},
      {"version", m.version},
      {"sweep_id", m.sweep_id},
      {"trial_id", m.trial_id},
      {"attempt", m.attempt},
      {"primary_metric", m.primary_metric},
      {"goal", core::GoalName(m.goal)},
      {"value", m.metric_value && std::isfinite(*m.metric_value) ? nlohmann::json(*m.metric_value)
                                                                 : nlohmann::json(nullptr)},
      {"params", params.is_discarded() ? nlohmann::json(nullptr) : params},
      {"tags", tags},
      {"total_bytes", m.total_bytes},
      {"manifest_digest", m.manifest_digest},
      {"created_at", FormatTime(m.created_ms)}};
}

// The workspace and the model a NAME[:VERSION] reference names, for show and download.
struct LoadedModel {
  std::unique_ptr<workspace::Workspace> workspace;
  core::Model model;
};
absl::StatusOr<LoadedModel> LoadModel(const GlobalOptions& options, const std::string& reference) {
  LoadedModel loaded;
  ASSIGN_OR_RETURN(ModelRef ref, ParseModelRef(reference));
  ASSIGN_OR_RETURN(loaded.workspace, workspace::Workspace::OpenOrCreate(WorkspaceDir(options)));
  ASSIGN_OR_RETURN(loaded.model, LookupModel(loaded.workspace->store(), ref));
  return loaded;
}

// Maps registration failures to exit codes: what the user asked for is wrong (2) or the
// workspace lacks something (1).
int ReportRegisterError(const absl::Status& status) {
  if (absl::IsFailedPrecondition(status) || absl::IsAlreadyExists(status)) {
    return ReportError(absl::InvalidArgumentError(status.message()));
  }
  return ReportError(status);
}

}  // namespace

int CmdModelRegister(const GlobalOptions& options, const ModelRegisterArgs& args) {
  workspace::ModelRequest request;
  request.name = args.name;
  request.trial_id = args.trial_id;
  for (const std::string& tag : args.tags) {
    const size_t eq = tag.find('=');
    if (eq == std::string::npos || eq == 0) {
      return ReportError(
          absl::InvalidArgumentError("--tag '" + tag + "' is not KEY=VALUE (e.g. stage=prod)"));
    }
    request.tags.emplace_back(tag.substr(0, eq), tag.substr(eq + 1));
  }
  auto admin = OpenAdmin(options, "sweep models register");
  if (!admin.ok()) return ReportError(admin.status());
  auto reader = (*admin)->reader();
  if (!reader.ok()) return ReportError(reader.status());
  auto sweep = ResolveSweep(*reader, args.sweep_id);
  if (!sweep.ok()) return ReportError(sweep.status());
  request.sweep_id = sweep->id;
  auto model = (*admin)->RegisterModel(request);
  if (!model.ok()) return ReportRegisterError(model.status());
  if (options.json) {
    std::cout << ModelToJson(*model).dump(2) << "\n";
  } else {
    std::cout << "registered model " << model->name << " version " << model->version
              << " from trial " << model->trial_id << " of sweep " << model->sweep_id << " ("
              << model->primary_metric << "=" << FormatValue(model->metric_value) << ", "
              << model->total_bytes << " bytes)\n";
  }
  return kExitOk;
}

int CmdModelList(const GlobalOptions& options) {
  auto source = OpenForQuery(options, /*create=*/true);
  if (!source.ok()) return ReportError(source.status());
  auto models = (*source)->store()->ListModels();
  if (!models.ok()) return ReportError(models.status());
  if (options.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& m : *models) out.push_back(ModelToJson(m));
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  Table table({"NAME", "VERSION", "SWEEP", "TRIAL", "METRIC", "VALUE", "BYTES", "CREATED"});
  for (const auto& m : *models) {
    table.AddRow({m.name, std::to_string(m.version), m.sweep_id, std::to_string(m.trial_id),
                  m.primary_metric, FormatValue(m.metric_value), std::to_string(m.total_bytes),
                  FormatTime(m.created_ms)});
  }
  table.Print(std::cout);
  return kExitOk;
}

int CmdModelShow(const GlobalOptions& options, const std::string& reference) {
  auto loaded = LoadModel(options, reference);
  if (!loaded.ok()) return ReportError(loaded.status());
  const core::Model& m = loaded->model;
  auto manifest =
      workspace::ReadManifest(workspace::ModelDir(loaded->workspace->dir(), m.name, m.version));
  if (!manifest.ok()) return ReportError(manifest.status());
  if (options.json) {
    nlohmann::json j = ModelToJson(m);
    nlohmann::json files = nlohmann::json::array();
    for (const auto& f : manifest->files) {
      files.push_back({{"path", f.path}, {"bytes", f.size}, {"sha256", f.sha256}});
    }
    j["files"] = files;
    std::cout << j.dump(2) << "\n";
    return kExitOk;
  }
  std::string tags;
  for (const auto& [key, value] : m.tags) tags += (tags.empty() ? "" : " ") + key + "=" + value;
  std::cout << "name      " << m.name << "\n"
            << "version   " << m.version << "\n"
            << "from      sweep " << m.sweep_id << ", trial " << m.trial_id << ", attempt "
            << m.attempt << "\n"
            << "metric    " << m.primary_metric << " = " << FormatValue(m.metric_value) << " ("
            << core::GoalName(m.goal) << ")\n"
            << "params    " << m.params_json << "\n"
            << "tags      " << (tags.empty() ? "-" : tags) << "\n"
            << "created   " << FormatTime(m.created_ms) << "\n"
            << "files     " << manifest->files.size() << " (" << m.total_bytes << " bytes)\n";
  for (const auto& f : manifest->files) std::cout << "  " << f.path << "  " << f.size << "\n";
  return kExitOk;
}

int CmdModelDownload(const GlobalOptions& options, const std::string& reference,
                     const std::string& to) {
  auto loaded = LoadModel(options, reference);
  if (!loaded.ok()) return ReportError(loaded.status());
  const core::Model* model = &loaded->model;
  if (absl::Status s = workspace::DownloadModel(loaded->workspace->dir(), *model, to); !s.ok()) {
    return ReportError(absl::IsFailedPrecondition(s) ? absl::InvalidArgumentError(s.message()) : s);
  }
  if (options.json) {
    nlohmann::json j = ModelToJson(*model);
    j["downloaded_to"] = to;
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << "downloaded model " << model->name << " version " << model->version << " ("
              << model->total_bytes << " bytes) to " << to << "\n";
  }
  return kExitOk;
}

}  // namespace sweep::cli

#include "workspace/registry.h"

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/digest.h"
#include "core/objective.h"
#include "core/status.h"
#include "nlohmann/json.hpp"
#include "spec/asset_names.h"
#include "workspace/artifact_store.h"

namespace sweep::workspace {
namespace {

absl::Status CheckDefinition(const core::Environment& e) {
  RETURN_IF_ERROR(spec::ValidateEnvironmentName(e.name));
  const std::string env = absl::StrCat("environment '", e.name, "'");
  if (e.kind == "user_managed") {
    if (!e.setup_command.empty() || !e.files.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          env,
          ": a user-managed environment runs in the node's own environment and takes no "
          "setup command or files; use --setup for a system-managed one"));
    }
    return absl::OkStatus();
  }
  if (e.kind != "system_managed") {
    return absl::InvalidArgumentError(absl::StrCat(env, ": unknown kind '", e.kind, "'"));
  }
  if (absl::StripAsciiWhitespace(e.setup_command).empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(env, ": a system-managed environment needs a setup command (--setup)"));
  }
  if (!e.python.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        env,
        ": --python is for user-managed environments; a system-managed one puts its own "
        "interpreter in $SWEEP_ENV_DIR/bin"));
  }
  std::set<std::string> names;
  int64_t total = 0;
  for (const core::EnvironmentFile& f : e.files) {
    if (f.name.empty() || f.name == "." || f.name == ".." ||
        f.name.find('/') != std::string::npos || f.name.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(env, ": file name '", f.name, "' must be a plain file name"));
    }
    if (!names.insert(f.name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(env, ": two files are named '", f.name, "'; file names must be unique"));
    }
    total += static_cast<int64_t>(f.content.size());
  }
  if (total > kMaxEnvironmentFilesBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        env, ": its files hold ", total, " bytes, more than the ", kMaxEnvironmentFilesBytes,
        "-byte limit for definition files; install large things from the setup command"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string EnvironmentDigest(const core::Environment& environment) {
  // Length-prefixed fields, so no two definitions serialize alike.
  core::Sha256 sha;
  auto field = [&](const std::string& value) {
    sha.Update(absl::StrCat(value.size(), ":"));
    sha.Update(value);
  };
  field(environment.kind);
  field(environment.python);
  field(environment.setup_command);
  std::vector<const core::EnvironmentFile*> files;
  for (const core::EnvironmentFile& f : environment.files) files.push_back(&f);
  std::sort(files.begin(), files.end(),
            [](const auto* a, const auto* b) { return a->name < b->name; });
  for (const core::EnvironmentFile* f : files) {
    field(f->name);
    field(f->content);
  }
  return sha.HexDigest();
}

absl::StatusOr<CreatedEnvironment> CreateEnvironment(store::Store* store,
                                                     core::Environment definition, int64_t now_ms) {
  RETURN_IF_ERROR(CheckDefinition(definition));
  std::sort(definition.files.begin(), definition.files.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  definition.digest = EnvironmentDigest(definition);
  absl::StatusOr<core::Environment> latest = store->GetEnvironment(definition.name, std::nullopt);
  if (!latest.ok() && !absl::IsNotFound(latest.status())) return latest.status();
  if (latest.ok() && latest->digest == definition.digest) {
    return CreatedEnvironment{*std::move(latest), false};
  }
  definition.version = latest.ok() ? latest->version + 1 : 1;
  definition.created_ms = now_ms;
  RETURN_IF_ERROR(store->Commit({.environments = {definition}}));
  return CreatedEnvironment{std::move(definition), true};
}

absl::StatusOr<core::Environment> ResolveEnvironment(store::Store* store,
                                                     const std::string& reference) {
  ASSIGN_OR_RETURN(spec::EnvironmentRef ref, spec::ParseEnvironmentRef(reference));
  absl::StatusOr<core::Environment> env = store->GetEnvironment(ref.name, ref.version);
  if (!absl::IsNotFound(env.status())) return env;
  if (ref.version && store->GetEnvironment(ref.name, std::nullopt).ok()) {
    return absl::NotFoundError(absl::StrCat("environment '", ref.name, "' has no version ",
                                            *ref.version, " (`sweep environment show ", ref.name,
                                            "` shows its versions)"));
  }
  if (spec::IsCuratedEnvironmentName(ref.name)) {
    return absl::NotFoundError(absl::StrCat(
        "environment '", ref.name,
        "' is an Azure ML curated environment, which does not exist outside Azure; create a "
        "workspace environment of that name so the spec runs unchanged: `sweep environment "
        "create ",
        ref.name,
        " --setup 'python3 -m venv \"$SWEEP_ENV_DIR\" && \"$SWEEP_ENV_DIR/bin/pip\" install "
        "scikit-learn'` (the packages it needs), or `--user-managed --python /usr/bin/python3` "
        "for a node that has them"));
  }
  return absl::NotFoundError(absl::StrCat("environment '", ref.name,
                                          "' not found in this workspace; create it with `sweep "
                                          "environment create ",
                                          ref.name,
                                          " --user-managed` or `sweep environment create ",
                                          ref.name, " --setup 'COMMAND' --file requirements.txt`"));
}

std::string ModelDir(const std::string& workspace_dir, const std::string& name, int64_t version) {
  return absl::StrCat(workspace_dir, "/models/", name, "/", version);
}

absl::StatusOr<core::Model> RegisterModel(store::Store* store, const std::string& workspace_dir,
                                          const ModelRequest& request, int64_t now_ms,
                                          core::Env* env) {
  RETURN_IF_ERROR(spec::ValidateModelName(request.name));
  ASSIGN_OR_RETURN(core::Sweep sweep, store->GetSweep(request.sweep_id));
  core::Trial trial;
  if (request.trial_id) {
    ASSIGN_OR_RETURN(trial, store->GetTrial(sweep.id, *request.trial_id));
    if (trial.state != core::TrialState::kCompleted) {
      return absl::FailedPreconditionError(absl::StrCat(
          "trial ", trial.trial_id, " of sweep ", sweep.id, " is ",
          core::TrialStateName(trial.state), "; only completed trials can be registered"));
    }
  } else {
    ASSIGN_OR_RETURN(std::vector<core::Trial> trials, store->ListTrials(sweep.id));
    std::optional<core::Trial> best = core::BestTrial(sweep, trials, /*completed_only=*/true);
    if (!best) {
      return absl::FailedPreconditionError(
          absl::StrCat("sweep ", sweep.id, " has no completed trial with a value of '",
                       sweep.objective.primary_metric, "' to register (`sweep trials ", sweep.id,
                       "` shows them)"));
    }
    trial = *std::move(best);
  }
  ASSIGN_OR_RETURN(TrialArtifacts artifacts,
                   FindTrialArtifacts(workspace_dir, sweep.id, trial.trial_id, env));

  // One registration of a name at a time (across processes), so the next version and
  // its directory are ours until the record is committed.
  const std::string name_dir = absl::StrCat(workspace_dir, "/models/", request.name);
  RETURN_IF_ERROR(env->CreateDirs(name_dir));
  ASSIGN_OR_RETURN(std::unique_ptr<core::FileLock> lock, env->OpenLockFile(name_dir + "/.lock"));
  RETURN_IF_ERROR(lock->Lock());

  absl::StatusOr<core::Model> latest = store->GetModel(request.name, std::nullopt);
  if (!latest.ok() && !absl::IsNotFound(latest.status())) return latest.status();
  core::Model model;
  model.name = request.name;
  model.version = latest.ok() ? latest->version + 1 : 1;
  model.sweep_id = sweep.id;
  model.trial_id = trial.trial_id;
  model.attempt = artifacts.attempt;
  model.primary_metric = sweep.objective.primary_metric;
  model.goal = sweep.objective.goal;
  model.metric_value = trial.final_value;
  model.params_json = core::ConfigToJson(trial.config).dump();
  model.tags = request.tags;
  model.total_bytes = artifacts.manifest.total_bytes;
  model.created_ms = now_ms;

  const std::string dir = ModelDir(workspace_dir, model.name, model.version);
  env->RemoveAll(dir).IgnoreError();  // left by a registration that crashed before its commit
  auto fail = [&](absl::Status status) {
    env->RemoveAll(dir).IgnoreError();
    return status;
  };
  absl::Status status =
      CopyVerified(artifacts.dir + "/files", artifacts.manifest, dir + "/files", env);
  if (status.ok()) status = WriteManifest(dir, artifacts.manifest, env);
  if (!status.ok()) return fail(status);
  absl::StatusOr<std::string> digest = core::Sha256File(dir + "/manifest.json", env);
  if (!digest.ok()) return fail(digest.status());
  model.manifest_digest = *digest;
  if (absl::Status s = store->Commit({.models = {model}}); !s.ok()) return fail(s);
  return model;
}

absl::Status DownloadModel(const std::string& workspace_dir, const core::Model& model,
                           const std::string& dest_dir, core::Env* env) {
  const std::string dir = ModelDir(workspace_dir, model.name, model.version);
  absl::StatusOr<std::string> digest = core::Sha256File(dir + "/manifest.json", env);
  if (!digest.ok() || *digest != model.manifest_digest) {
    return absl::DataLossError(absl::StrCat(
        "model '", model.name, "' version ", model.version, ": the stored manifest in ", dir,
        digest.ok() ? " does not match the registered one" : " cannot be read",
        "; the workspace was changed outside sweep"));
  }
  ASSIGN_OR_RETURN(ArtifactManifest manifest, ReadManifest(dir, env));
  return CopyVerified(dir + "/files", manifest, dest_dir, env);
}

}  // namespace sweep::workspace

// Workspace environments and the model registry: creating environment versions,
// resolving a spec's environment reference (syntax: spec/asset_names.h), registering a trial's
// artifacts as a model version and copying a model out.
//
// Models live in the workspace as
//   <ws>/models/<name>/<version>/files/<relative path>
//   <ws>/models/<name>/<version>/manifest.json
// (the artifact_store.h shape). Registration copies the files (verified) and writes the
// manifest first and commits the store record last; on any failure it removes what it
// copied, so a failed registration leaves neither files nor a record. A model directory
// without a record is therefore garbage from a crash and is replaced by the next
// registration of that version.
//
// Writers: the workspace's writer runs these (admin.h: the serving controller, or a CLI
// command holding the workspace lock). Environments and models are insert-only rows the
// controller never caches, and a version is claimed by the store's insert (AlreadyExists
// if another writer took it).
//
// Thread safety: the functions are thread-safe; callers racing for the same new version
// get AlreadyExists, not a half-written version.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/env.h"
#include "core/types.h"
#include "store/store.h"

namespace sweep::workspace {

// Total size of an environment's definition files.
inline constexpr int64_t kMaxEnvironmentFilesBytes = 1 << 20;

// SHA-256 of what defines an environment's behaviour: kind, python, setup command and
// files (names and bytes). Name, version and creation time are not part of it.
std::string EnvironmentDigest(const core::Environment& environment);

struct CreatedEnvironment {
  core::Environment environment;
  bool created = false;  // false: the latest version already had this definition
};

// Stores `definition` (name (spec::ValidateEnvironmentName), kind, python, setup_command, files
// set) as the next version of its name, unless the newest version has the same digest (then returns
// that one, created = false). InvalidArgument for a bad name, a user_managed environment with a
// setup command or files, a system_managed one without a setup command or with python,
// duplicate or non-plain file names, or files over kMaxEnvironmentFilesBytes.
absl::StatusOr<CreatedEnvironment> CreateEnvironment(store::Store* store,
                                                     core::Environment definition, int64_t now_ms);

// The environment a spec reference (spec/asset_names.h) names, as stored now. NotFound naming the
// name (or version) and how to create it.
absl::StatusOr<core::Environment> ResolveEnvironment(store::Store* store,
                                                     const std::string& reference);

// Members default to {} so designated initializers may leave some out.
struct ModelRequest {
  std::string name = {};
  std::string sweep_id = {};
  std::optional<int64_t> trial_id = {};  // nullopt: the best completed trial
  std::vector<std::pair<std::string, std::string>> tags = {};
};

// <workspace_dir>/models/<name>/<version>
std::string ModelDir(const std::string& workspace_dir, const std::string& name, int64_t version);

// Registers the trial's newest complete artifact upload as the next version of the model.
// InvalidArgument for a bad name; NotFound for an unknown sweep or trial, or a trial
// without uploaded artifacts; FailedPrecondition for a sweep with no completed trial or a
// chosen trial that is not completed; AlreadyExists when another writer took the version;
// DataLoss when a stored artifact does not match its manifest.
// Files are reached through `env`.
absl::StatusOr<core::Model> RegisterModel(store::Store* store, const std::string& workspace_dir,
                                          const ModelRequest& request, int64_t now_ms,
                                          core::Env* env = core::Env::Default());

// Copies a model version's files into `dest_dir` (created; must not exist or be empty),
// verified against the stored manifest, nothing half-written (CopyVerified).
// DataLoss when the stored manifest does not match the model record or a file its digest.
absl::Status DownloadModel(const std::string& workspace_dir, const core::Model& model,
                           const std::string& dest_dir, core::Env* env = core::Env::Default());

}  // namespace sweep::workspace

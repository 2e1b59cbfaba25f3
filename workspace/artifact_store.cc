#include "workspace/artifact_store.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/digest.h"
#include "core/file_tree.h"
#include "nlohmann/json.hpp"

namespace sweep::workspace {
namespace {

namespace fs = std::filesystem;

}  // namespace

std::string ArtifactAttemptDir(const std::string& workspace_dir, const std::string& sweep_id,
                               int64_t trial_id, int32_t attempt) {
  return absl::StrCat(workspace_dir, "/artifacts/", sweep_id, "/", trial_id, "/", attempt);
}

absl::Status ValidateRelativePath(const std::string& path) {
  return core::ValidateRelativePath(path);
}

absl::StatusOr<ArtifactManifest> ReadManifest(const std::string& dir, core::Env* env) {
  std::string path = dir + "/manifest.json";
  auto text = env->ReadFile(path);
  if (!text.ok()) return text.status();
  auto corrupt = [&](const std::string& why) {
    return absl::DataLossError(absl::StrCat("manifest ", path, " is corrupt: ", why));
  };
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("files") || !j["files"].is_array()) {
    return corrupt("not a manifest object");
  }
  ArtifactManifest manifest;
  for (const auto& f : j["files"]) {
    if (!f.is_object() || !f.contains("path") || !f["path"].is_string() || !f.contains("size") ||
        !f["size"].is_number_integer() || !f.contains("sha256") || !f["sha256"].is_string()) {
      return corrupt("a file entry lacks path, size or sha256");
    }
    ArtifactFile file{f["path"].get<std::string>(), f["size"].get<int64_t>(),
                      f["sha256"].get<std::string>()};
    if (absl::Status s = ValidateRelativePath(file.path); !s.ok()) return corrupt(s.ToString());
    if (file.size < 0 || !core::IsSha256Hex(file.sha256)) {
      return corrupt(absl::StrCat("bad size or digest for '", file.path, "'"));
    }
    manifest.total_bytes += file.size;
    manifest.files.push_back(std::move(file));
  }
  return manifest;
}

absl::Status WriteManifest(const std::string& dir, const ArtifactManifest& manifest,
                           core::Env* env) {
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : manifest.files) {
    files.push_back({{"path", f.path}, {"size", f.size}, {"sha256", f.sha256}});
  }
  nlohmann::json j = {{"files", files}, {"total_bytes", manifest.total_bytes}};
  return env->WriteFileAtomically(dir + "/manifest.json", j.dump(1) + "\n");
}

absl::StatusOr<ArtifactManifest> ScanFiles(const std::string& files_dir, core::Env* env) {
  absl::StatusOr<std::vector<core::FileEntry>> files = core::ListFiles(files_dir, nullptr, env);
  if (!files.ok()) return files.status();
  ArtifactManifest manifest;
  for (core::FileEntry& f : *files) {
    manifest.total_bytes += f.size;
    manifest.files.push_back({std::move(f.path), f.size, std::move(f.sha256)});
  }
  return manifest;
}

absl::StatusOr<TrialArtifacts> FindTrialArtifacts(const std::string& workspace_dir,
                                                  const std::string& sweep_id, int64_t trial_id,
                                                  core::Env* env) {
  const std::string trial_dir = absl::StrCat(workspace_dir, "/artifacts/", sweep_id, "/", trial_id);
  std::vector<int32_t> attempts;
  if (env->IsDirectory(trial_dir)) {
    absl::StatusOr<std::vector<std::string>> names = env->ListDir(trial_dir);
    if (!names.ok()) return names.status();
    for (const std::string& name : *names) {
      int32_t attempt = 0;
      if (std::all_of(name.begin(), name.end(), ::isdigit) && absl::SimpleAtoi(name, &attempt)) {
        attempts.push_back(attempt);
      }
    }
  }
  std::sort(attempts.rbegin(), attempts.rend());
  for (int32_t attempt : attempts) {
    std::string dir = ArtifactAttemptDir(workspace_dir, sweep_id, trial_id, attempt);
    auto manifest = ReadManifest(dir, env);
    if (absl::IsNotFound(manifest.status())) continue;  // incomplete upload
    if (!manifest.ok()) return manifest.status();
    return TrialArtifacts{dir, attempt, *std::move(manifest)};
  }
  return absl::NotFoundError(
      absl::StrCat("trial ", trial_id, " of sweep ", sweep_id, " has no uploaded artifacts"));
}

absl::Status CopyVerified(const std::string& files_dir, const ArtifactManifest& manifest,
                          const std::string& dest_dir, core::Env* env) {
  if (env->Exists(dest_dir)) {
    absl::StatusOr<std::vector<std::string>> names = env->ListDir(dest_dir);
    if (!names.ok() || !names->empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat(dest_dir, " already exists and is not an empty directory"));
    }
  }
  const std::string staging = absl::StrCat(dest_dir, ".partial-", ::getpid());
  env->RemoveAll(staging).IgnoreError();
  auto fail = [&](absl::Status s) {
    env->RemoveAll(staging).IgnoreError();
    return s;
  };
  if (absl::Status s = env->CreateDirs(staging); !s.ok()) return fail(s);
  for (const ArtifactFile& file : manifest.files) {
    if (absl::Status s = ValidateRelativePath(file.path); !s.ok()) return fail(s);
    const std::string source = absl::StrCat(files_dir, "/", file.path);
    absl::StatusOr<core::FileInfo> link = env->Stat(source, /*follow_symlinks=*/false);
    if (link.ok() && link->type == core::FileType::kSymlink) {
      return fail(
          absl::DataLossError(absl::StrCat("stored file '", file.path, "' is a symbolic link")));
    }
    auto digest = core::Sha256File(source, env);
    if (!digest.ok()) return fail(digest.status());
    if (*digest != file.sha256 || !link.ok() || link->size != file.size) {
      return fail(absl::DataLossError(absl::StrCat(
          "stored file '", file.path, "' does not match its recorded digest; it is corrupt")));
    }
    const std::string target = absl::StrCat(staging, "/", file.path);
    if (absl::Status s = env->CreateDirs(fs::path(target).parent_path().string()); !s.ok()) {
      return fail(s);
    }
    if (absl::Status s = env->CopyFile(source, target, /*sync=*/true); !s.ok()) return fail(s);
  }
  // Durable before the caller commits the record that points at it (a model).
  if (absl::Status s = core::SyncTree(staging, /*files=*/false, env); !s.ok()) return fail(s);
  env->RemoveAll(dest_dir).IgnoreError();  // an empty directory, if any
  if (absl::Status s = env->Rename(staging, dest_dir); !s.ok()) return fail(s);
  return env->SyncDir(fs::path(dest_dir).parent_path().string());
}

}  // namespace sweep::workspace

#include "workspace/artifact_store.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "core/digest.h"
#include "core/file_tree.h"
#include "core/files.h"
#include "nlohmann/json.hpp"

namespace sweep::workspace {
namespace {

namespace fs = std::filesystem;

absl::Status FsError(const std::string& what, const fs::path& path, const std::error_code& ec) {
  return absl::InternalError(absl::StrCat(what, " ", path.string(), ": ", ec.message()));
}

}  // namespace

std::string ArtifactAttemptDir(const std::string& workspace_dir, const std::string& sweep_id,
                               int64_t trial_id, int32_t attempt) {
  return absl::StrCat(workspace_dir, "/artifacts/", sweep_id, "/", trial_id, "/", attempt);
}

absl::Status ValidateRelativePath(const std::string& path) {
  return core::ValidateRelativePath(path);
}

absl::StatusOr<ArtifactManifest> ReadManifest(const std::string& dir) {
  std::string path = dir + "/manifest.json";
  auto text = core::ReadFileToString(path);
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

absl::Status WriteManifest(const std::string& dir, const ArtifactManifest& manifest) {
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : manifest.files) {
    files.push_back({{"path", f.path}, {"size", f.size}, {"sha256", f.sha256}});
  }
  nlohmann::json j = {{"files", files}, {"total_bytes", manifest.total_bytes}};
  if (absl::Status s = core::WriteFileAtomically(dir + "/manifest.json", j.dump(1) + "\n");
      !s.ok()) {
    return s;
  }
  return core::SyncDirectory(dir);
}

absl::StatusOr<ArtifactManifest> ScanFiles(const std::string& files_dir) {
  absl::StatusOr<std::vector<core::FileEntry>> files = core::ListFiles(files_dir);
  if (!files.ok()) return files.status();
  ArtifactManifest manifest;
  for (core::FileEntry& f : *files) {
    manifest.total_bytes += f.size;
    manifest.files.push_back({std::move(f.path), f.size, std::move(f.sha256)});
  }
  return manifest;
}

absl::StatusOr<TrialArtifacts> FindTrialArtifacts(const std::string& workspace_dir,
                                                  const std::string& sweep_id, int64_t trial_id) {
  fs::path trial_dir = fs::path(workspace_dir) / "artifacts" / sweep_id / std::to_string(trial_id);
  std::vector<int32_t> attempts;
  std::error_code ec;
  if (fs::is_directory(trial_dir, ec)) {
    for (const auto& entry : fs::directory_iterator(trial_dir, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
      attempts.push_back(std::stoi(name));
    }
  }
  std::sort(attempts.rbegin(), attempts.rend());
  for (int32_t attempt : attempts) {
    std::string dir = ArtifactAttemptDir(workspace_dir, sweep_id, trial_id, attempt);
    auto manifest = ReadManifest(dir);
    if (absl::IsNotFound(manifest.status())) continue;  // incomplete upload
    if (!manifest.ok()) return manifest.status();
    return TrialArtifacts{dir, attempt, *std::move(manifest)};
  }
  return absl::NotFoundError(
      absl::StrCat("trial ", trial_id, " of sweep ", sweep_id, " has no uploaded artifacts"));
}

absl::Status CopyVerified(const std::string& files_dir, const ArtifactManifest& manifest,
                          const std::string& dest_dir) {
  std::error_code ec;
  fs::path dest(dest_dir);
  if (fs::exists(dest, ec)) {
    if (!fs::is_directory(dest, ec) || !fs::is_empty(dest, ec)) {
      return absl::FailedPreconditionError(
          absl::StrCat(dest_dir, " already exists and is not an empty directory"));
    }
  }
  fs::path staging = dest;
  staging += absl::StrCat(".partial-", ::getpid());
  fs::remove_all(staging, ec);
  auto fail = [&](absl::Status s) {
    fs::remove_all(staging, ec);
    return s;
  };
  if (!fs::create_directories(staging, ec) && ec) return FsError("cannot create", staging, ec);
  for (const ArtifactFile& file : manifest.files) {
    if (absl::Status s = ValidateRelativePath(file.path); !s.ok()) return fail(s);
    fs::path source = fs::path(files_dir) / file.path;
    if (fs::is_symlink(source, ec)) {
      return fail(
          absl::DataLossError(absl::StrCat("stored file '", file.path, "' is a symbolic link")));
    }
    auto digest = core::Sha256File(source.string());
    if (!digest.ok()) return fail(digest.status());
    if (*digest != file.sha256 || static_cast<int64_t>(fs::file_size(source, ec)) != file.size) {
      return fail(absl::DataLossError(absl::StrCat(
          "stored file '", file.path, "' does not match its recorded digest; it is corrupt")));
    }
    fs::path target = staging / file.path;
    fs::create_directories(target.parent_path(), ec);
    if (!fs::copy_file(source, target, fs::copy_options::overwrite_existing, ec)) {
      return fail(FsError("cannot copy to", target, ec));
    }
  }
  fs::remove(dest, ec);  // an empty directory, if any
  if (fs::rename(staging, dest, ec); ec) return fail(FsError("cannot rename to", dest, ec));
  return absl::OkStatus();
}

}  // namespace sweep::workspace

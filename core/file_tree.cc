#include "core/file_tree.h"

#include <sys/stat.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/digest.h"
#include "core/status.h"
#include "nlohmann/json.hpp"

namespace sweep::core {
namespace {

// Appends the files under dir/relative (relative "" is dir itself) to `files`.
absl::Status WalkInto(Env* env, const std::string& dir, const std::string& relative,
                      const SkipFn& skip, bool digests, std::vector<FileEntry>& files) {
  const std::string here = relative.empty() ? dir : absl::StrCat(dir, "/", relative);
  absl::StatusOr<std::vector<std::string>> names = env->ListDir(here);
  if (!names.ok()) return names.status();
  for (const std::string& name : *names) {
    const std::string rel = relative.empty() ? name : absl::StrCat(relative, "/", name);
    const std::string path = absl::StrCat(dir, "/", rel);
    absl::StatusOr<FileInfo> info = env->Stat(path, /*follow_symlinks=*/false);
    if (!info.ok()) return info.status();
    const bool is_dir = info->is_directory();
    if (skip && skip(rel, is_dir)) continue;  // a skipped directory is not entered
    if (info->type == FileType::kSymlink) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", rel, "' is a symbolic link; only regular files are allowed"));
    }
    if (is_dir) {
      if (absl::Status s = WalkInto(env, dir, rel, skip, digests, files); !s.ok()) return s;
      continue;
    }
    if (!info->is_regular()) {
      return absl::InvalidArgumentError(absl::StrCat("'", rel, "' is not a regular file"));
    }
    FileEntry file;
    file.path = rel;
    file.size = info->size;
    file.executable = (info->mode & S_IXUSR) != 0;
    if (digests) {
      absl::StatusOr<std::string> digest = Sha256File(path, env);
      if (!digest.ok()) return digest.status();
      file.sha256 = *std::move(digest);
    }
    files.push_back(std::move(file));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<FileEntry>> Walk(Env* env, const std::string& dir, const SkipFn& skip,
                                            bool digests) {
  std::vector<FileEntry> files;
  if (absl::IsNotFound(env->Stat(dir).status())) return files;
  if (absl::Status s = WalkInto(env, dir, "", skip, digests, files); !s.ok()) return s;
  std::sort(files.begin(), files.end(),
            [](const FileEntry& a, const FileEntry& b) { return a.path < b.path; });
  return files;
}

}  // namespace

absl::Status ValidateRelativePath(const std::string& path) {
  auto bad = [&](const char* why) {
    return absl::InvalidArgumentError(absl::StrCat("path '", path, "' is not allowed: ", why));
  };
  if (path.empty()) return bad("it is empty");
  if (path.find('\0') != std::string::npos) return bad("it contains a NUL byte");
  if (path.front() == '/') return bad("it is absolute");
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part.empty()) return bad("it has an empty component");
    if (part == ".") return bad("it has a '.' component");
    if (part == "..") return bad("it escapes the directory with '..'");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<FileEntry>> ListFiles(const std::string& dir, const SkipFn& skip,
                                                 Env* env) {
  return Walk(env, dir, skip, /*digests=*/true);
}

absl::StatusOr<std::vector<FileEntry>> ListFileSizes(const std::string& dir, const SkipFn& skip,
                                                     Env* env) {
  return Walk(env, dir, skip, /*digests=*/false);
}

absl::Status CopyTree(const std::string& from, const std::string& to, Env* env) {
  if (absl::Status s = env->CreateDirs(to); !s.ok()) return s;
  absl::StatusOr<std::vector<std::string>> names = env->ListDir(from);
  if (!names.ok()) return names.status();
  for (const std::string& name : *names) {
    const std::string source = absl::StrCat(from, "/", name);
    const std::string target = absl::StrCat(to, "/", name);
    absl::StatusOr<FileInfo> info = env->Stat(source, /*follow_symlinks=*/false);
    if (!info.ok()) return info.status();
    absl::Status s;
    switch (info->type) {
      case FileType::kDirectory:
        s = CopyTree(source, target, env);
        if (s.ok()) s = env->SetPermissions(target, info->mode);
        break;
      case FileType::kRegular:
        s = env->CopyFile(source, target);
        break;
      case FileType::kSymlink: {
        absl::StatusOr<std::string> link = env->ReadSymlink(source);
        s = link.ok() ? env->CreateSymlink(*link, target) : link.status();
        break;
      }
      case FileType::kOther:
        s = absl::InvalidArgumentError(
            absl::StrCat("cannot copy '", source, "': not a file, directory or link"));
    }
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status SyncTree(const std::string& dir, bool files, Env* env) {
  absl::StatusOr<std::vector<std::string>> names = env->ListDir(dir);
  if (!names.ok()) return names.status();
  for (const std::string& name : *names) {
    const std::string path = absl::StrCat(dir, "/", name);
    absl::StatusOr<FileInfo> info = env->Stat(path, /*follow_symlinks=*/false);
    if (!info.ok()) return info.status();
    if (info->type == FileType::kDirectory) {
      RETURN_IF_ERROR(SyncTree(path, files, env));
    } else if (files && info->type == FileType::kRegular) {
      // Opened for appending (nothing is written) only to fsync it.
      ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file,
                       env->NewWritableFile(path, {.append = true, .no_follow = true}));
      absl::Status synced = file->Sync();
      absl::Status closed = file->Close();
      RETURN_IF_ERROR(synced);
      RETURN_IF_ERROR(closed);
    }
  }
  return env->SyncDir(dir);
}

std::string EncodeFileList(const std::vector<FileEntry>& files) {
  nlohmann::json list = nlohmann::json::array();
  for (const FileEntry& f : files) {
    list.push_back(
        {{"path", f.path}, {"size", f.size}, {"sha256", f.sha256}, {"executable", f.executable}});
  }
  return nlohmann::json{{"files", list}}.dump();
}

absl::StatusOr<std::vector<FileEntry>> DecodeFileList(const std::string& text) {
  auto corrupt = [](const std::string& why) {
    return absl::DataLossError(absl::StrCat("file list is corrupt: ", why));
  };
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("files") || !j["files"].is_array()) {
    return corrupt("not an object with a files array");
  }
  std::vector<FileEntry> files;
  for (const auto& f : j["files"]) {
    if (!f.is_object() || !f.contains("path") || !f["path"].is_string() || !f.contains("size") ||
        !f["size"].is_number_integer() || !f.contains("sha256") || !f["sha256"].is_string() ||
        !f.contains("executable") || !f["executable"].is_boolean()) {
      return corrupt("an entry lacks path, size, sha256 or executable");
    }
    FileEntry entry{f["path"].get<std::string>(), f["size"].get<int64_t>(),
                    f["sha256"].get<std::string>(), f["executable"].get<bool>()};
    if (absl::Status s = ValidateRelativePath(entry.path); !s.ok()) {
      return corrupt(std::string(s.message()));
    }
    if (entry.size < 0 || !IsSha256Hex(entry.sha256)) {
      return corrupt(absl::StrCat("bad size or digest for '", entry.path, "'"));
    }
    files.push_back(std::move(entry));
  }
  return files;
}

}  // namespace sweep::core

#include "core/file_tree.h"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/digest.h"
#include "nlohmann/json.hpp"

namespace sweep::core {
namespace {

namespace fs = std::filesystem;

absl::Status FsError(const std::string& what, const fs::path& path, const std::error_code& ec) {
  return absl::InternalError(absl::StrCat(what, " ", path.string(), ": ", ec.message()));
}

absl::StatusOr<std::vector<FileEntry>> Walk(const std::string& dir, const SkipFn& skip,
                                            bool digests) {
  std::vector<FileEntry> files;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return files;
  fs::recursive_directory_iterator it(dir, ec), end;
  if (ec) return FsError("cannot list", dir, ec);
  for (; it != end; it.increment(ec)) {
    if (ec) return FsError("cannot list", dir, ec);
    const fs::directory_entry& entry = *it;
    std::string relative = entry.path().lexically_relative(dir).generic_string();
    const bool is_symlink = entry.is_symlink(ec);
    const bool is_dir = !is_symlink && entry.is_directory(ec);
    if (skip && skip(relative, is_dir)) {
      if (is_dir) it.disable_recursion_pending();
      continue;
    }
    if (is_symlink) {
      return absl::InvalidArgumentError(
          absl::StrCat("'", relative, "' is a symbolic link; only regular files are allowed"));
    }
    if (is_dir) continue;
    if (!entry.is_regular_file(ec)) {
      return absl::InvalidArgumentError(absl::StrCat("'", relative, "' is not a regular file"));
    }
    FileEntry file;
    file.path = relative;
    struct stat st {};
    if (::stat(entry.path().c_str(), &st) != 0) {
      return FsError("cannot stat", entry.path(), std::error_code(errno, std::generic_category()));
    }
    file.size = static_cast<int64_t>(st.st_size);
    file.executable = (st.st_mode & S_IXUSR) != 0;
    if (digests) {
      absl::StatusOr<std::string> digest = Sha256File(entry.path().string());
      if (!digest.ok()) return digest.status();
      file.sha256 = *std::move(digest);
    }
    files.push_back(std::move(file));
  }
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

absl::StatusOr<std::vector<FileEntry>> ListFiles(const std::string& dir, const SkipFn& skip) {
  return Walk(dir, skip, /*digests=*/true);
}

absl::StatusOr<std::vector<FileEntry>> ListFileSizes(const std::string& dir, const SkipFn& skip) {
  return Walk(dir, skip, /*digests=*/false);
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

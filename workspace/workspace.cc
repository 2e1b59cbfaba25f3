#include "workspace/workspace.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <thread>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "nlohmann/json.hpp"

namespace sweep::workspace {
namespace {

constexpr size_t kTokenBytes = 32;

absl::StatusOr<std::string> RandomHex(core::Env* env, size_t bytes) {
  ASSIGN_OR_RETURN(std::string raw, env->RandomBytes(bytes));
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes * 2);
  for (unsigned char c : raw) {
    hex.push_back(kHex[c >> 4]);
    hex.push_back(kHex[c & 15]);
  }
  return hex;
}

// Creates the token file unless it exists. O_EXCL: if two processes race to create it, one
// wins and the other reads it.
absl::Status CreateToken(core::Env* env, const std::string& path) {
  if (env->Exists(path)) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::string fresh, RandomHex(env, kTokenBytes));
  absl::StatusOr<std::unique_ptr<core::WritableFile>> file =
      env->NewWritableFile(path, {.mode = 0600, .exclusive = true});
  if (core::ErrnoOf(file.status()) == EEXIST) return absl::OkStatus();
  if (!file.ok()) return file.status();
  absl::Status status = (*file)->Append(fresh + "\n");
  if (status.ok()) status = (*file)->Sync();
  if (absl::Status closed = (*file)->Close(); status.ok()) status = closed;
  if (!status.ok()) env->RemoveFile(path).IgnoreError();
  return status;
}

// Reads the token, refusing (like ssh does for keys) a file others could read.
absl::StatusOr<std::string> ReadToken(core::Env* env, const std::string& path) {
  absl::StatusOr<core::FileInfo> info = env->Stat(path);
  if (absl::IsNotFound(info.status())) {
    return absl::NotFoundError(absl::StrCat("token file ", path, " does not exist"));
  }
  if (!info.ok()) return info.status();
  if ((info->mode & (S_IRWXG | S_IRWXO)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(info->mode & 07777));
    return absl::PermissionDeniedError(absl::StrCat("token file ", path,
                                                    " is accessible by group/others (mode ", mode,
                                                    "); run `chmod 600 ", path, "`"));
  }
  ASSIGN_OR_RETURN(std::string token, env->ReadFile(path));
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) {
    token.pop_back();
  }
  if (token.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("token file ", path, " is empty; delete it to get a new token"));
  }
  return token;
}

core::ComputeTarget DefaultTarget(int64_t now_ms) {
  core::ComputeTarget t;
  t.name = "cpu-cluster";
  t.type = "amlcompute";
  t.provider = "local";
  t.min_nodes = 0;
  t.max_nodes = std::max<int64_t>(1, std::thread::hardware_concurrency());
  t.created_ms = now_ms;
  return t;
}

}  // namespace

std::string DefaultWorkspaceDir() {
  const char* env = std::getenv("SWEEP_WORKSPACE");
  if (env != nullptr && env[0] != '\0') return env;
  return "./.sweep";
}

absl::Status CreateWorkspaceDir(core::Env* env, const std::string& dir) {
  const bool existed = env->IsDirectory(dir);
  absl::Status s = env->CreateDirs(dir);
  if (s.ok() && !existed) s = env->SetPermissions(dir, 0700);
  if (!s.ok()) return core::ErrnoStatus(s, "cannot create workspace directory", dir);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Workspace>> Workspace::OpenOrCreate(const std::string& dir,
                                                                   core::Env* env) {
  RETURN_IF_ERROR(CreateWorkspaceDir(env, dir));
  for (const char* sub : {"snapshots", "artifacts", "logs"}) {
    RETURN_IF_ERROR(env->CreateDirs(absl::StrCat(dir, "/", sub)));
  }
  const std::string token_path = dir + "/token";
  RETURN_IF_ERROR(CreateToken(env, token_path));
  ASSIGN_OR_RETURN(std::string token, ReadToken(env, token_path));

  std::string db_path = dir + "/sweep.db";
  bool fresh_db = !env->Exists(db_path);
  if (fresh_db) {
    // Created 0600 before SQLite opens it (an empty file is an empty database); its -wal
    // and -shm files take the same mode.
    absl::StatusOr<std::unique_ptr<core::WritableFile>> created =
        env->NewWritableFile(db_path, {.mode = 0600, .exclusive = true});
    if (created.ok()) {
      RETURN_IF_ERROR((*created)->Close());
    } else if (core::ErrnoOf(created.status()) != EEXIST) {
      return core::ErrnoStatus(created.status(), "cannot create", db_path);
    }
  }
  ASSIGN_OR_RETURN(std::unique_ptr<store::Store> store, store::OpenSqliteStore(db_path));
  if (fresh_db) {
    // Only on creation: a user who deleted cpu-cluster does not get it back.
    absl::StatusOr<core::ComputeTarget> existing = store->GetCompute("cpu-cluster");
    if (absl::IsNotFound(existing.status())) {
      store::WriteBatch batch;
      batch.computes.push_back(DefaultTarget(env->NowMillis()));
      RETURN_IF_ERROR(store->Commit(batch));
    } else if (!existing.ok()) {
      return existing.status();
    }
  }
  return std::unique_ptr<Workspace>(new Workspace(dir, env, std::move(store), std::move(token)));
}

absl::StatusOr<std::unique_ptr<Workspace>> Workspace::OpenReadOnly(const std::string& dir,
                                                                   core::Env* env) {
  std::string db_path = dir + "/sweep.db";
  if (!env->Exists(db_path)) {
    return absl::NotFoundError(absl::StrCat("no workspace at ", dir,
                                            " (no sweep.db); run `sweep run SPEC` there, or pass "
                                            "--workspace / set SWEEP_WORKSPACE"));
  }
  absl::StatusOr<std::unique_ptr<store::Store>> opened = store::OpenSqliteStoreReadOnly(db_path);
  if (absl::IsFailedPrecondition(opened.status())) {
    // Written by an older sweep: a writable open applies the migrations (each in its
    // own transaction), then we read. A newer schema fails here with its own message.
    ASSIGN_OR_RETURN(std::unique_ptr<store::Store> upgraded, store::OpenSqliteStore(db_path));
    upgraded.reset();
    opened = store::OpenSqliteStoreReadOnly(db_path);
  }
  ASSIGN_OR_RETURN(std::unique_ptr<store::Store> store, std::move(opened));
  std::string token;
  absl::StatusOr<std::string> read = ReadToken(env, dir + "/token");
  if (read.ok()) {
    token = *read;
  } else if (!absl::IsNotFound(read.status())) {
    return read.status();
  }
  return std::unique_ptr<Workspace>(new Workspace(dir, env, std::move(store), std::move(token)));
}

absl::Status Workspace::WriteControllerAddress(const ControllerAddress& address) const {
  nlohmann::json j = {{"address", address.address}, {"pid", address.pid}};
  return env_->WriteFileAtomically(dir_ + "/controller.json", j.dump() + "\n",
                                   {.mode = 0600, .sync_dir = false});
}

void Workspace::RemoveControllerAddress() const {
  env_->RemoveFile(dir_ + "/controller.json").IgnoreError();
}

std::optional<ControllerAddress> Workspace::ReadControllerAddress() const {
  absl::StatusOr<std::string> text = env_->ReadFile(dir_ + "/controller.json");
  if (!text.ok()) return std::nullopt;
  ControllerAddress address;
  try {
    nlohmann::json j = nlohmann::json::parse(*text);
    address.address = j.at("address").get<std::string>();
    address.pid = j.at("pid").get<int64_t>();
  } catch (const std::exception&) {
    return std::nullopt;  // a torn or foreign file means no usable controller
  }
  if (address.pid <= 0 || address.address.empty()) return std::nullopt;
  if (!env_->ProcessExists(address.pid)) return std::nullopt;
  return address;
}

absl::StatusOr<std::string> Workspace::NodeKey() const {
  const std::string path = dir_ + "/node.key";
  RETURN_IF_ERROR(CreateToken(env_, path));
  return ReadToken(env_, path);
}

}  // namespace sweep::workspace

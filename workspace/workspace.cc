#include "workspace/workspace.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "core/clock.h"
#include "core/files.h"
#include "core/status.h"
#include "nlohmann/json.hpp"

namespace sweep::workspace {
namespace {

namespace fs = std::filesystem;

constexpr size_t kTokenBytes = 32;

absl::Status ErrnoError(const std::string& what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

absl::StatusOr<std::string> RandomHex(size_t bytes) {
  int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open", "/dev/urandom");
  std::string raw(bytes, '\0');
  size_t got = 0;
  while (got < bytes) {
    ssize_t n = ::read(fd, raw.data() + got, bytes - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return ErrnoError("cannot read", "/dev/urandom");
    }
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes * 2);
  for (unsigned char c : raw) {
    hex.push_back(kHex[c >> 4]);
    hex.push_back(kHex[c & 15]);
  }
  return hex;
}

// Reads the token, refusing (like ssh does for keys) a file others could read.
absl::StatusOr<std::string> ReadToken(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      return absl::NotFoundError(absl::StrCat("token file ", path, " does not exist"));
    }
    return ErrnoError("cannot stat", path);
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return absl::PermissionDeniedError(absl::StrCat("token file ", path,
                                                    " is accessible by group/others (mode ", mode,
                                                    "); run `chmod 600 ", path, "`"));
  }
  std::ifstream in(path);
  if (!in) return ErrnoError("cannot read", path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string token = ss.str();
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) {
    token.pop_back();
  }
  if (token.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("token file ", path, " is empty; delete it to get a new token"));
  }
  return token;
}

core::ComputeTarget DefaultTarget() {
  core::ComputeTarget t;
  t.name = "cpu-cluster";
  t.type = "amlcompute";
  t.provider = "local";
  t.min_nodes = 0;
  t.max_nodes = std::max<int64_t>(1, std::thread::hardware_concurrency());
  t.created_ms = core::SystemClock::Default()->NowMillis();
  return t;
}

}  // namespace

std::string DefaultWorkspaceDir() {
  const char* env = std::getenv("SWEEP_WORKSPACE");
  if (env != nullptr && env[0] != '\0') return env;
  return "./.sweep";
}

absl::StatusOr<std::unique_ptr<Workspace>> Workspace::OpenOrCreate(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create workspace directory ", dir, ": ", ec.message()));
  }
  for (const char* sub : {"snapshots", "artifacts", "logs"}) {
    fs::create_directories(fs::path(dir) / sub, ec);
    if (ec) {
      return absl::InternalError(
          absl::StrCat("cannot create ", (fs::path(dir) / sub).string(), ": ", ec.message()));
    }
  }
  std::string token_path = dir + "/token";
  if (!fs::exists(token_path, ec)) {
    ASSIGN_OR_RETURN(std::string fresh, RandomHex(kTokenBytes));
    // O_EXCL: if two processes race to create it, one wins and the other reads it.
    int fd = ::open(token_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
      std::string line = fresh + "\n";
      bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
      ok = (::fsync(fd) == 0) && ok;
      ::close(fd);
      if (!ok) {
        ::unlink(token_path.c_str());
        return ErrnoError("cannot write", token_path);
      }
    } else if (errno != EEXIST) {
      return ErrnoError("cannot create", token_path);
    }
  }
  ASSIGN_OR_RETURN(std::string token, ReadToken(token_path));

  std::string db_path = dir + "/sweep.db";
  bool fresh_db = !fs::exists(db_path, ec);
  ASSIGN_OR_RETURN(std::unique_ptr<store::Store> store, store::OpenSqliteStore(db_path));
  if (fresh_db) {
    // Only on creation: a user who deleted cpu-cluster does not get it back.
    absl::StatusOr<core::ComputeTarget> existing = store->GetCompute("cpu-cluster");
    if (absl::IsNotFound(existing.status())) {
      store::WriteBatch batch;
      batch.computes.push_back(DefaultTarget());
      RETURN_IF_ERROR(store->Commit(batch));
    } else if (!existing.ok()) {
      return existing.status();
    }
  }
  return std::unique_ptr<Workspace>(new Workspace(dir, std::move(store), std::move(token)));
}

absl::StatusOr<std::unique_ptr<Workspace>> Workspace::OpenReadOnly(const std::string& dir) {
  std::error_code ec;
  std::string db_path = dir + "/sweep.db";
  if (!fs::exists(db_path, ec)) {
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
  absl::StatusOr<std::string> read = ReadToken(dir + "/token");
  if (read.ok()) {
    token = *read;
  } else if (!absl::IsNotFound(read.status())) {
    return read.status();
  }
  return std::unique_ptr<Workspace>(new Workspace(dir, std::move(store), std::move(token)));
}

absl::Status Workspace::WriteControllerAddress(const ControllerAddress& address) const {
  nlohmann::json j = {{"address", address.address}, {"pid", address.pid}};
  return core::WriteFileAtomically(dir_ + "/controller.json", j.dump() + "\n", 0600);
}

void Workspace::RemoveControllerAddress() const { ::unlink((dir_ + "/controller.json").c_str()); }

std::optional<ControllerAddress> Workspace::ReadControllerAddress() const {
  std::ifstream in(dir_ + "/controller.json");
  if (!in) return std::nullopt;
  ControllerAddress address;
  try {
    nlohmann::json j = nlohmann::json::parse(in);
    address.address = j.at("address").get<std::string>();
    address.pid = j.at("pid").get<int64_t>();
  } catch (const std::exception&) {
    return std::nullopt;  // a torn or foreign file means no usable controller
  }
  if (address.pid <= 0 || address.address.empty()) return std::nullopt;
  if (::kill(static_cast<pid_t>(address.pid), 0) != 0 && errno != EPERM) return std::nullopt;
  return address;
}

}  // namespace sweep::workspace

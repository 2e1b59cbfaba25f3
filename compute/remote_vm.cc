#include "compute/remote_vm.h"

#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "core/compute_target.h"
#include "core/files.h"
#include "nlohmann/json.hpp"
#include "workspace/workspace.h"

namespace sweep::compute {
namespace {

namespace fs = std::filesystem;

std::string CredentialDir(const std::string& workspace_dir, const std::string& name) {
  return absl::StrCat(workspace_dir, "/ssh/", name);
}

std::string Absolute(const std::string& workspace_dir, const std::string& relative) {
  return relative.empty() ? "" : absl::StrCat(workspace_dir, "/", relative);
}

// Copies one credential byte for byte; returns its workspace-relative path.
absl::StatusOr<std::string> CopySecret(const std::string& workspace_dir, const std::string& name,
                                       const std::string& from, const std::string& stem,
                                       const std::string& what) {
  std::ifstream in(from, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read ", what, " ", from));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string relative = absl::StrCat("ssh/", name, "/", stem);
  if (absl::Status s = core::WriteFileAtomically(Absolute(workspace_dir, relative), ss.str(), 0600);
      !s.ok()) {
    return s;
  }
  return relative;
}

}  // namespace

std::string KnownHostsPath(const std::string& workspace_dir) {
  return absl::StrCat(workspace_dir, "/ssh/known_hosts");
}

absl::StatusOr<RemoteVmProperties> ParseRemoteVmProperties(const core::ComputeTarget& target) {
  auto attach_again = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "remotevm target '", target.name, "' has incomplete SSH settings (", why,
        "); attach it again with `sweep compute attach ", target.name, " --type remotevm ...`"));
  };
  absl::StatusOr<nlohmann::json> props = core::ParseTargetProperties(target);
  if (!props.ok()) return attach_again(props.status().message());
  const nlohmann::json& j = *props;
  RemoteVmProperties p;
  try {
    p.address = j.at("address").get<std::string>();
    p.port = j.at("port").get<int>();
    p.username = j.at("username").get<std::string>();
    p.auth = j.at("auth").get<std::string>();
    p.password_file = j.value("password_file", "");
    p.private_key_file = j.value("private_key_file", "");
    p.passphrase_file = j.value("passphrase_file", "");
    p.sweep_path = j.value("sweep_path", "sweep");
    p.work_dir = j.value("work_dir", "");
    p.workers_per_node = j.value("workers_per_node", int64_t{1});
  } catch (const std::exception& e) {
    return attach_again(e.what());
  }
  if ((p.auth == "password" && p.password_file.empty()) ||
      (p.auth == "private_key" && p.private_key_file.empty()) ||
      (p.auth != "password" && p.auth != "private_key")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "remotevm target '", target.name, "' has no usable credentials (auth '", p.auth,
        "'); attach it again with `sweep compute attach ", target.name, " --type remotevm ...`"));
  }
  return p;
}

std::string RemoteVmPropertiesJson(const RemoteVmProperties& p) {
  nlohmann::json j = {{"address", p.address},
                      {"port", p.port},
                      {"username", p.username},
                      {"auth", p.auth},
                      {"sweep_path", p.sweep_path},
                      {"work_dir", p.work_dir},
                      {"workers_per_node", p.workers_per_node}};
  if (!p.password_file.empty()) j["password_file"] = p.password_file;
  if (!p.private_key_file.empty()) j["private_key_file"] = p.private_key_file;
  if (!p.passphrase_file.empty()) j["passphrase_file"] = p.passphrase_file;
  return j.dump();
}

SshEndpoint WorkspaceEndpoint(const RemoteVmProperties& props, const std::string& workspace_dir) {
  SshEndpoint e;
  e.host = props.address;
  e.port = props.port;
  e.username = props.username;
  e.password_file = Absolute(workspace_dir, props.password_file);
  e.private_key_file = Absolute(workspace_dir, props.private_key_file);
  e.passphrase_file = Absolute(workspace_dir, props.passphrase_file);
  e.known_hosts_file = KnownHostsPath(workspace_dir);
  return e;
}

std::string RemoteWorkDir(const RemoteVmProperties& props, const std::string& target_name) {
  return props.work_dir.empty() ? absl::StrCat(".sweep-remote/", target_name) : props.work_dir;
}

absl::Status StoreCredentials(const std::string& workspace_dir, const std::string& name,
                              const SshEndpoint& endpoint, RemoteVmProperties& props) {
  std::string dir = CredentialDir(workspace_dir, name);
  std::error_code ec;
  fs::remove_all(dir, ec);
  for (const std::string& d : {absl::StrCat(workspace_dir, "/ssh"), dir}) {
    fs::create_directories(d, ec);
    fs::permissions(d, fs::perms::owner_all, ec);
    if (ec) {
      return absl::InternalError(absl::StrCat("cannot create ", d, ": ", ec.message()));
    }
  }
  struct Item {
    const std::string& from;
    std::string& to;
    const char* stem;
    const char* what;
  };
  props.password_file.clear();
  props.private_key_file.clear();
  props.passphrase_file.clear();
  for (const Item& item :
       {Item{endpoint.password_file, props.password_file, "password", "password file"},
        Item{endpoint.private_key_file, props.private_key_file, "private_key", "private key file"},
        Item{endpoint.passphrase_file, props.passphrase_file, "passphrase",
             "private key passphrase file"}}) {
    if (item.from.empty()) continue;
    auto copied = CopySecret(workspace_dir, name, item.from, item.stem, item.what);
    if (!copied.ok()) {
      RemoveCredentials(workspace_dir, name);
      return copied.status();
    }
    item.to = *copied;
  }
  return absl::OkStatus();
}

void RemoveCredentials(const std::string& workspace_dir, const std::string& name) {
  std::error_code ec;
  fs::remove_all(CredentialDir(workspace_dir, name), ec);
}

}  // namespace sweep::compute

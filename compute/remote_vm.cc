#include "compute/remote_vm.h"

#include <exception>

#include "absl/strings/str_cat.h"
#include "core/compute_target.h"
#include "core/env.h"
#include "core/status.h"
#include "nlohmann/json.hpp"
#include "workspace/workspace.h"

namespace sweep::compute {
namespace {

std::string CredentialDir(const std::string& workspace_dir, const std::string& name) {
  return absl::StrCat(workspace_dir, "/ssh/", name);
}

std::string Absolute(const std::string& workspace_dir, const std::string& relative) {
  return relative.empty() ? "" : absl::StrCat(workspace_dir, "/", relative);
}

// Writes one credential; returns its workspace-relative path.
absl::StatusOr<std::string> WriteSecret(core::Env* env, const std::string& workspace_dir,
                                        const std::string& name, const std::string& content,
                                        const std::string& stem) {
  std::string relative = absl::StrCat("ssh/", name, "/", stem);
  RETURN_IF_ERROR(env->WriteFileAtomically(Absolute(workspace_dir, relative), content,
                                           {.mode = 0600, .sync_dir = false}));
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
                              const RemoteVmCredentials& credentials, RemoteVmProperties& props,
                              core::Env* env) {
  std::string dir = CredentialDir(workspace_dir, name);
  env->RemoveAll(dir).IgnoreError();
  for (const std::string& d : {absl::StrCat(workspace_dir, "/ssh"), dir}) {
    absl::Status s = env->CreateDirs(d);
    if (s.ok()) s = env->SetPermissions(d, 0700);
    if (!s.ok()) {
      RemoveCredentials(workspace_dir, name, env);
      return core::ErrnoStatus(s, "cannot create", d);
    }
  }
  struct Item {
    const std::optional<std::string>& from;
    std::string& to;
    const char* stem;
  };
  props.password_file.clear();
  props.private_key_file.clear();
  props.passphrase_file.clear();
  for (const Item& item : {Item{credentials.password, props.password_file, "password"},
                           Item{credentials.private_key, props.private_key_file, "private_key"},
                           Item{credentials.passphrase, props.passphrase_file, "passphrase"}}) {
    if (!item.from) continue;
    auto written = WriteSecret(env, workspace_dir, name, *item.from, item.stem);
    if (!written.ok()) {
      RemoveCredentials(workspace_dir, name, env);
      return written.status();
    }
    item.to = *written;
  }
  return absl::OkStatus();
}

void RemoveCredentials(const std::string& workspace_dir, const std::string& name, core::Env* env) {
  env->RemoveAll(CredentialDir(workspace_dir, name)).IgnoreError();
}

}  // namespace sweep::compute

// Attached `remotevm` targets: their settings (ComputeTarget::properties_json) and the
// credentials the workspace keeps for them.
//
// Layout in the workspace (directories 0700, files 0600):
//   <ws>/ssh/known_hosts          host keys accepted when targets were attached
//   <ws>/ssh/<NAME>/password      the bytes of --password-file, or
//   <ws>/ssh/<NAME>/private_key   the bytes of --private-key-file
//   <ws>/ssh/<NAME>/passphrase    the bytes of --private-key-passphrase-file
// properties_json holds paths relative to <ws>, never a secret.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "compute/ssh_session.h"
#include "core/env.h"
#include "core/types.h"

namespace sweep::compute {

struct RemoteVmProperties {
  std::string address;
  int port = 22;
  std::string username;
  std::string auth;              // "password" or "private_key"
  std::string password_file;     // relative to the workspace
  std::string private_key_file;  // relative to the workspace
  std::string passphrase_file;   // relative to the workspace; "" = unencrypted key
  std::string sweep_path = "sweep";
  std::string work_dir;  // on the VM; "" = ~/.sweep-remote/<NAME>
  int64_t workers_per_node = 1;
};

std::string KnownHostsPath(const std::string& workspace_dir);

// InvalidArgument naming the target if properties_json lacks a field or has a bad value.
absl::StatusOr<RemoteVmProperties> ParseRemoteVmProperties(const core::ComputeTarget& target);
std::string RemoteVmPropertiesJson(const RemoteVmProperties& props);

// How to log into the VM with the workspace's copies of the credentials.
SshEndpoint WorkspaceEndpoint(const RemoteVmProperties& props, const std::string& workspace_dir);

// The work directory on the VM (the default when props.work_dir is empty).
std::string RemoteWorkDir(const RemoteVmProperties& props, const std::string& target_name);

// The credentials of a VM: the bytes of the user's files; unset ones are not kept.
struct RemoteVmCredentials {
  std::optional<std::string> password;
  std::optional<std::string> private_key;
  std::optional<std::string> passphrase;
};

// Writes the credentials byte for byte into <ws>/ssh/<NAME>/ (0700, files 0600) and fills
// the *_file fields of `props` with their workspace-relative paths. Replaces an older copy.
// Internal naming the file on error; then nothing is left behind.
absl::Status StoreCredentials(const std::string& workspace_dir, const std::string& name,
                              const RemoteVmCredentials& credentials, RemoteVmProperties& props,
                              core::Env* env = core::Env::Default());
// Removes <ws>/ssh/<NAME>/ (after a failed attach, or when the target is deleted).
void RemoveCredentials(const std::string& workspace_dir, const std::string& name,
                       core::Env* env = core::Env::Default());

}  // namespace sweep::compute

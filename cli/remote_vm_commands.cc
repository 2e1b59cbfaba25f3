#include "cli/remote_vm_commands.h"

#include <iostream>
#include <optional>
#include <tuple>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "cli/admin.h"
#include "cli/output.h"
#include "compute/remote_vm.h"
#include "compute/ssh_session.h"
#include "core/files.h"

namespace sweep::cli {
namespace {

// The bytes of a credential file. InvalidArgument naming `what` and the path when it
// cannot be read.
absl::StatusOr<std::optional<std::string>> ReadCredential(const std::string& path,
                                                          const std::string& what) {
  if (path.empty()) return std::nullopt;
  absl::StatusOr<std::string> bytes = core::ReadFileToString(path);
  if (bytes.ok()) return *std::move(bytes);
  absl::Status named = compute::ReadSecretFile(path, what).status();  // says why, naming `what`
  return named.ok() ? bytes.status() : named;
}

std::string AuthLabel(const std::string& auth) {
  return auth == "password" ? "password" : "private key";
}

}  // namespace

int CmdComputeAttach(const GlobalOptions& options, const AttachArgs& args) {
  if (args.type != "remotevm") {
    return ReportError(absl::InvalidArgumentError(absl::StrCat(
        "only remotevm targets can be attached (got --type ", args.type,
        "); create clusters with `sweep compute create ", args.name, " --type amlcompute ...`")));
  }
  workspace::RemoteVmRequest request;
  request.name = args.name;
  request.address = args.address;
  request.port = args.ssh_port;
  request.username = args.username;
  request.sweep_path = args.sweep_path;
  request.work_dir = args.work_dir;
  request.workers_per_node = args.workers_per_node;
  // The user's files are read here; their bytes travel to whoever keeps them.
  for (const auto& [path, what, bytes, source] :
       {std::tuple{&args.password_file, "password file (--password-file)", &request.password,
                   &request.password_source},
        std::tuple{&args.private_key_file, "private key file (--private-key-file)",
                   &request.private_key, &request.private_key_source},
        std::tuple{&args.passphrase_file, "passphrase file (--private-key-passphrase-file)",
                   &request.passphrase, &request.passphrase_source}}) {
    auto read = ReadCredential(*path, what);
    if (!read.ok()) return ReportError(read.status());
    *bytes = *std::move(read);
    *source = *path;
  }
  auto admin = OpenAdmin(options, "sweep compute attach");
  if (!admin.ok()) return ReportError(admin.status());
  auto attached = (*admin)->AttachRemoteVm(request);
  if (!attached.ok()) return ReportError(attached.status());

  const core::ComputeTarget& target = attached->target;
  if (options.json) {
    nlohmann::json j = ComputeToJson(target);
    j["host_key"] = {{"fingerprint", attached->host_key_fingerprint},
                     {"added", attached->host_key_added}};
    j["remote_version"] = attached->remote_version;
    std::cout << j.dump(2) << "\n";
    return kExitOk;
  }
  if (attached->host_key_added) {
    std::cout << "host " << args.address << ":" << args.ssh_port << " was not known; trusted "
              << "its key " << attached->host_key_fingerprint << " (recorded in "
              << attached->known_hosts_file << ")\n";
  }
  std::cout << "attached compute target " << target.name << " (remotevm, " << attached->endpoint
            << ", " << AuthLabel(args.password_file.empty() ? "private_key" : "password") << ", "
            << args.workers_per_node << " worker(s)); the VM runs " << attached->remote_version
            << "\n";
  return kExitOk;
}

void AddAttachCommand(CLI::App* compute_cmd, GlobalOptions& g, AttachArgs& a,
                      std::function<int()>& action) {
  auto* cmd = compute_cmd->add_subcommand("attach",
                                          "Attach a machine reached over SSH as a remotevm target");
  cmd->add_option("name", a.name, "Target name (2-16 letters, digits, '-')")->required();
  cmd->add_option("--type", a.type, "remotevm (the only type that can be attached)")
      ->capture_default_str();
  cmd->add_option("--address", a.address, "Host name or IP address of the VM")->required();
  cmd->add_option("--ssh-port", a.ssh_port, "SSH port of the VM")->capture_default_str();
  cmd->add_option("--username", a.username, "User to log in as")->required();
  cmd->add_option("--password-file", a.password_file, "File holding the user's password");
  cmd->add_option("--private-key-file", a.private_key_file, "Private key to log in with");
  cmd->add_option("--private-key-passphrase-file", a.passphrase_file,
                  "File holding the passphrase of an encrypted private key");
  cmd->add_option("--sweep-path", a.sweep_path, "The sweep binary on the VM")
      ->capture_default_str();
  cmd->add_option("--workers-per-node", a.workers_per_node,
                  "Workers started on the VM while a sweep uses it")
      ->capture_default_str();
  cmd->add_option("--work-dir", a.work_dir,
                  "Where workers keep their files on the VM (default ~/.sweep-remote/NAME)");
  cmd->add_flag("--json", g.json, "Print JSON (stable field names, docs/json.md)");
  cmd->callback([&] { action = [&] { return CmdComputeAttach(g, a); }; });
}

void PrintRemoteVm(std::ostream& out, const core::ComputeTarget& target) {
  auto props = compute::ParseRemoteVmProperties(target);
  if (!props.ok()) {
    out << "ssh         " << props.status().message() << "\n";
    return;
  }
  out << "ssh         " << props->username << "@" << props->address << ":" << props->port << " ("
      << AuthLabel(props->auth) << ")\n"
      << "sweep path  " << props->sweep_path << "\n"
      << "work dir    " << compute::RemoteWorkDir(*props, target.name) << "\n"
      << "workers     " << props->workers_per_node << "\n";
}

}  // namespace sweep::cli

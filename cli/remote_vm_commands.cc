#include "cli/remote_vm_commands.h"

#include <filesystem>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "cli/output.h"
#include "compute/remote_vm.h"
#include "compute/ssh_session.h"
#include "compute/targets.h"
#include "core/clock.h"
#include "core/compute_target.h"

namespace sweep::cli {
namespace {

constexpr int64_t kMaxWorkersPerNode = 256;
constexpr int kVersionTimeoutMs = 15'000;
constexpr int kExitCommandNotFound = 127;

absl::Status ValidateAttachArgs(const AttachArgs& a) {
  if (absl::Status s = core::ValidateComputeName(a.name); !s.ok()) return s;
  if (a.type != "remotevm") {
    return absl::InvalidArgumentError(absl::StrCat(
        "only remotevm targets can be attached (got --type ", a.type,
        "); create clusters with `sweep compute create ", a.name, " --type amlcompute ...`"));
  }
  if (a.address.empty()) {
    return absl::InvalidArgumentError("--address must name the VM (host name or IP address)");
  }
  if (a.ssh_port < 1 || a.ssh_port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--ssh-port must be 1-65535 (got ", a.ssh_port, ")"));
  }
  if (a.username.empty()) return absl::InvalidArgumentError("--username must not be empty");
  if (a.password_file.empty() == a.private_key_file.empty()) {
    return absl::InvalidArgumentError(
        "pass exactly one of --password-file F or --private-key-file F to log into the VM");
  }
  if (!a.passphrase_file.empty() && a.private_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--private-key-passphrase-file needs --private-key-file (it decrypts that key)");
  }
  if (a.workers_per_node < 1 || a.workers_per_node > kMaxWorkersPerNode) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--workers-per-node must be 1-", kMaxWorkersPerNode, " (got ", a.workers_per_node, ")"));
  }
  if (a.sweep_path.empty()) {
    return absl::InvalidArgumentError("--sweep-path must not be empty");
  }
  // Unreadable credential files are the user's to fix, before any connection is made.
  for (const auto& [path, what] :
       {std::pair{a.password_file, "password file (--password-file)"},
        std::pair{a.private_key_file, "private key file (--private-key-file)"},
        std::pair{a.passphrase_file, "passphrase file (--private-key-passphrase-file)"}}) {
    if (path.empty()) continue;
    if (auto r = compute::ReadSecretFile(path, what); !r.ok()) return r.status();
  }
  return absl::OkStatus();
}

absl::Status NotAlreadyThere(const std::string& workspace_dir, const std::string& name) {
  if (!std::filesystem::exists(workspace_dir)) return absl::OkStatus();
  auto ws = workspace::Workspace::OpenReadOnly(workspace_dir);
  if (!ws.ok()) return absl::OkStatus();  // not a workspace yet: OpenOrCreate decides later
  if ((*ws)->store()->GetCompute(name).ok()) {
    return absl::AlreadyExistsError(absl::StrCat(
        "compute target '", name, "' already exists; delete it first (`sweep compute delete ", name,
        "`) to attach it again"));
  }
  return absl::OkStatus();
}

// Runs `<sweep-path> --version` on the VM; returns what it printed.
absl::StatusOr<std::string> CheckRemoteSweep(compute::SshSession& session,
                                             const std::string& sweep_path) {
  auto r = session.Exec(compute::ShellQuote(sweep_path) + " --version", "", kVersionTimeoutMs);
  if (!r.ok()) return r.status();
  std::string output(absl::StripAsciiWhitespace(r->output));
  if (r->exit_status == kExitCommandNotFound) {
    return absl::FailedPreconditionError(absl::StrCat(
        "sweep was not found on ", session.Describe(), " at '", sweep_path,
        "': install sweep on the VM, or pass --sweep-path with the full path of its sweep "
        "binary (",
        output, ")"));
  }
  if (r->exit_status != 0 || output.rfind("sweep", 0) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("`", sweep_path, " --version` on ", session.Describe(),
                     " did not report a sweep "
                     "version (exit ",
                     r->exit_status, ", output '", output,
                     "'); pass --sweep-path with the full path of sweep on the VM"));
  }
  return output;
}

std::string AuthLabel(const std::string& auth) {
  return auth == "password" ? "password" : "private key";
}

}  // namespace

int CmdComputeAttach(const GlobalOptions& options, const AttachArgs& args) {
  if (absl::Status s = ValidateAttachArgs(args); !s.ok()) return ReportError(s);
  const std::string ws_dir = WorkspaceDir(options);
  if (absl::Status s = NotAlreadyThere(ws_dir, args.name); !s.ok()) return ReportError(s);

  compute::SshEndpoint endpoint;
  endpoint.host = args.address;
  endpoint.port = args.ssh_port;
  endpoint.username = args.username;
  endpoint.password_file = args.password_file;
  endpoint.private_key_file = args.private_key_file;
  endpoint.passphrase_file = args.passphrase_file;
  endpoint.known_hosts_file = compute::KnownHostsPath(ws_dir);
  auto session = compute::SshSession::Connect(endpoint);
  if (!session.ok()) return ReportError(session.status());
  auto version = CheckRemoteSweep(**session, args.sweep_path);
  if (!version.ok()) return ReportError(version.status());

  // Everything checked: now write the workspace.
  auto ws = workspace::Workspace::OpenOrCreate(ws_dir);
  if (!ws.ok()) return ReportError(ws.status());
  if (absl::Status s = NotAlreadyThere(ws_dir, args.name); !s.ok()) return ReportError(s);
  compute::RemoteVmProperties props;
  props.address = args.address;
  props.port = args.ssh_port;
  props.username = args.username;
  props.auth = args.password_file.empty() ? "private_key" : "password";
  props.sweep_path = args.sweep_path;
  props.work_dir = args.work_dir;
  props.workers_per_node = args.workers_per_node;
  if (absl::Status s = compute::StoreCredentials((*ws)->dir(), args.name, endpoint, props);
      !s.ok()) {
    return ReportError(s);
  }
  core::ComputeTarget target;
  target.name = args.name;
  target.type = "remotevm";
  target.provider = "ssh";
  target.min_nodes = 0;
  target.max_nodes = args.workers_per_node;
  target.properties_json = compute::RemoteVmPropertiesJson(props);
  target.created_ms = core::SystemClock::Default()->NowMillis();
  absl::Status status = compute::ValidateTarget(target);
  const bool new_host = (*session)->host_was_unknown();
  if (status.ok() && new_host) status = (*session)->TrustHost();
  if (status.ok()) {
    store::WriteBatch batch;
    batch.computes.push_back(target);
    status = (*ws)->store()->Commit(batch);
  }
  if (!status.ok()) {
    compute::RemoveCredentials((*ws)->dir(), args.name);
    return ReportError(status);
  }

  if (options.json) {
    nlohmann::json j = ComputeToJson(target);
    j["host_key"] = {{"fingerprint", (*session)->fingerprint()}, {"added", new_host}};
    j["remote_version"] = *version;
    std::cout << j.dump(2) << "\n";
    return kExitOk;
  }
  if (new_host) {
    std::cout << "host " << args.address << ":" << args.ssh_port << " was not known; trusted "
              << "its key " << (*session)->fingerprint() << " (recorded in "
              << endpoint.known_hosts_file << ")\n";
  }
  std::cout << "attached compute target " << target.name << " (remotevm, " << (*session)->Describe()
            << ", " << AuthLabel(props.auth) << ", " << args.workers_per_node
            << " worker(s)); the VM runs " << *version << "\n";
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
  cmd->add_flag("--json", g.json, "Print JSON (stable field names, see README)");
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

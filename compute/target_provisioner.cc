#include "compute/target_provisioner.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "compute/remote_vm.h"
#include "compute/ssh_session.h"
#include "compute/targets.h"
#include "core/status.h"

namespace sweep::compute {
namespace {

constexpr int kVersionTimeoutMs = 15'000;
constexpr int kExitCommandNotFound = 127;

// Runs `<sweep_path> --version` on the VM; returns what it printed.
absl::StatusOr<std::string> CheckRemoteSweep(SshSession& session, const std::string& sweep_path) {
  ASSIGN_OR_RETURN(ExecResult r,
                   session.Exec(ShellQuote(sweep_path) + " --version", "", kVersionTimeoutMs));
  std::string output(absl::StripAsciiWhitespace(r.output));
  if (r.exit_status == kExitCommandNotFound) {
    return absl::FailedPreconditionError(absl::StrCat(
        "sweep was not found on ", session.Describe(), " at '", sweep_path,
        "': install sweep on the VM, or pass --sweep-path with the full path of its sweep "
        "binary (",
        output, ")"));
  }
  if (r.exit_status != 0 || output.rfind("sweep", 0) != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("`", sweep_path, " --version` on ", session.Describe(),
                     " did not report a sweep version (exit ", r.exit_status, ", output '", output,
                     "'); pass --sweep-path with the full path of sweep on the VM"));
  }
  return output;
}

class Provisioner final : public workspace::TargetProvisioner {
 public:
  Provisioner(std::string workspace_dir, std::shared_ptr<CommandRunner> runner)
      : dir_(std::move(workspace_dir)),
        runner_(runner ? std::move(runner) : PosixCommandRunner()) {}

  absl::Status CheckTarget(const core::ComputeTarget& target) override {
    RETURN_IF_ERROR(ValidateTarget(target));
    if (target.type == "amlcompute" && target.provider == "slurm") {
      return CheckSlurmTarget(target, *runner_);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<workspace::AttachedRemoteVm> AttachRemoteVm(
      const workspace::RemoteVmRequest& request) override {
    RemoteVmProperties props;
    props.address = request.address;
    props.port = static_cast<int>(request.port);
    props.username = request.username;
    props.auth = request.password ? "password" : "private_key";
    props.sweep_path = request.sweep_path;
    props.work_dir = request.work_dir;
    props.workers_per_node = request.workers_per_node;
    RETURN_IF_ERROR(StoreCredentials(
        dir_, request.name, {request.password, request.private_key, request.passphrase}, props));
    absl::StatusOr<workspace::AttachedRemoteVm> attached = LogIn(request, props);
    if (!attached.ok()) RemoveCredentials(dir_, request.name);
    return attached;
  }

  void ForgetTarget(const std::string& name) override { RemoveCredentials(dir_, name); }

 private:
  // Logs in with the workspace's copies of the credentials, checks sweep runs on the VM,
  // then trusts an unknown host.
  absl::StatusOr<workspace::AttachedRemoteVm> LogIn(const workspace::RemoteVmRequest& request,
                                                    const RemoteVmProperties& props) {
    SshEndpoint endpoint = WorkspaceEndpoint(props, dir_);
    endpoint.password_label = request.password_source;
    endpoint.private_key_label = request.private_key_source;
    endpoint.passphrase_label = request.passphrase_source;
    ASSIGN_OR_RETURN(std::unique_ptr<SshSession> session, SshSession::Connect(endpoint));
    workspace::AttachedRemoteVm out;
    ASSIGN_OR_RETURN(out.remote_version, CheckRemoteSweep(*session, request.sweep_path));
    core::ComputeTarget& target = out.target;
    target.name = request.name;
    target.type = "remotevm";
    target.provider = "ssh";
    target.min_nodes = 0;
    target.max_nodes = request.workers_per_node;
    target.properties_json = RemoteVmPropertiesJson(props);
    out.endpoint = session->Describe();
    out.host_key_fingerprint = session->fingerprint();
    out.host_key_added = session->host_was_unknown();
    out.known_hosts_file = endpoint.known_hosts_file;
    if (out.host_key_added) RETURN_IF_ERROR(session->TrustHost());
    return out;
  }

  const std::string dir_;
  const std::shared_ptr<CommandRunner> runner_;
};

}  // namespace

std::shared_ptr<workspace::TargetProvisioner> NewTargetProvisioner(
    const std::string& workspace_dir, std::shared_ptr<CommandRunner> runner) {
  return std::make_shared<Provisioner>(workspace_dir, std::move(runner));
}

}  // namespace sweep::compute

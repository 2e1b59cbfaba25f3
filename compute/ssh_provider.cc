#include "compute/ssh_provider.h"

#include <atomic>

#include "absl/strings/str_cat.h"
#include "compute/remote_vm.h"
#include "compute/ssh_session.h"
#include "spdlog/spdlog.h"
#include "workspace/workspace.h"

namespace sweep::compute {
namespace {

constexpr int kRemoteCommandTimeoutMs = 15'000;

std::string HostOf(const std::string& address) {
  size_t colon = address.rfind(':');
  std::string host = colon == std::string::npos ? address : address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  return host;
}

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

}  // namespace

struct SshNodeProvider::Node {
  std::string name;
  std::string compute;
  std::string host;      // user@host:port, for messages
  std::string pid_file;  // on the VM
  std::string log_path;
  std::unique_ptr<SshSession> session;
  std::unique_ptr<SshChannel> channel;
  std::atomic<bool> stop{false};
  bool exited = false;  // guarded by mu_
  std::thread thread;
};

SshNodeProvider::SshNodeProvider(SshNodeProviderOptions options) : options_(std::move(options)) {}

SshNodeProvider::~SshNodeProvider() { StopAll(); }

absl::StatusOr<std::string> SshNodeProvider::StartNode(const core::ComputeTarget& target) {
  auto props = ParseRemoteVmProperties(target);
  if (!props.ok()) return props.status();
  if (IsLoopback(HostOf(options_.server_address)) && !IsLoopback(props->address)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "workers on ", props->address, " would dial the controller at ", options_.server_address,
        ", which is the VM itself; run the controller with "
        "--listen <an address of this machine the VM can reach>:<port>"));
  }
  std::string name;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Forget nodes whose thread finished, so threads do not pile up.
    for (auto it = nodes_.begin(); it != nodes_.end();) {
      if (it->second->exited) {
        if (it->second->thread.joinable()) it->second->thread.join();
        it = nodes_.erase(it);
      } else {
        ++it;
      }
    }
    name = absl::StrCat("node-", next_node_++);
  }

  auto session =
      SshSession::Connect(WorkspaceEndpoint(*props, options_.workspace_dir), options_.env);
  if (!session.ok()) return session.status();
  if ((*session)->host_was_unknown()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the host key of ", props->address, ":", props->port, " (", (*session)->fingerprint(),
        ") is not in ", KnownHostsPath(options_.workspace_dir),
        "; attach the target again "
        "(`sweep compute attach ",
        target.name, " ...`) to trust it"));
  }
  const std::string dir = RemoteWorkDir(*props, target.name);
  auto shipped = (*session)->Exec(
      // Through a new file and a rename: an existing token file keeps its mode on `>`.
      absl::StrCat("umask 077 && mkdir -p ", ShellQuote(dir), " && cat > ",
                   ShellQuote(dir + "/token.new"), " && mv -f ", ShellQuote(dir + "/token.new"),
                   " ", ShellQuote(dir + "/token")),
      options_.token + "\n", kRemoteCommandTimeoutMs);
  if (!shipped.ok()) return shipped.status();
  if (shipped->exit_status != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot write the worker token to ", dir, "/token on ", (*session)->Describe(), " (exit ",
        shipped->exit_status, "): ", shipped->output, "; check --work-dir of the target"));
  }

  std::string tls_flag;
  if (!options_.tls_ca_pem.empty()) {
    auto ca = (*session)->Exec(absl::StrCat("umask 077 && cat > ", ShellQuote(dir + "/tls-ca.pem")),
                               options_.tls_ca_pem, kRemoteCommandTimeoutMs);
    if (!ca.ok()) return ca.status();
    if (ca->exit_status != 0) {
      return absl::FailedPreconditionError(absl::StrCat("cannot write the TLS CA certificate to ",
                                                        dir, "/tls-ca.pem on ",
                                                        (*session)->Describe(), ": ", ca->output));
    }
    tls_flag = absl::StrCat(" --tls-ca ", ShellQuote(dir + "/tls-ca.pem"));
  }

  auto node = std::make_unique<Node>();
  node->name = name;
  node->compute = target.name;
  node->host = (*session)->Describe();
  node->pid_file = absl::StrCat(dir, "/", name, ".pid");
  std::string command = absl::StrCat(
      "echo $$ > ", ShellQuote(node->pid_file), " && exec ", ShellQuote(props->sweep_path),
      " worker --server ", ShellQuote(options_.server_address), " --compute ",
      ShellQuote(target.name), " --token-file ", ShellQuote(dir + "/token"), " --work-dir ",
      ShellQuote(absl::StrCat(dir, "/", name)), tls_flag);
  auto channel = (*session)->Start(command, /*pty=*/true);
  if (!channel.ok()) return channel.status();
  node->session = std::move(*session);
  node->channel = std::move(*channel);

  std::string log_dir = options_.log_dir.empty() ? std::string(".") : options_.log_dir;
  options_.env->CreateDirs(log_dir).IgnoreError();  // the log is best effort
  node->log_path = absl::StrCat(log_dir, "/ssh-", target.name, "-", name, ".log");

  std::lock_guard<std::mutex> lock(mu_);
  Node* raw = node.get();
  nodes_[name] = std::move(node);
  raw->thread = std::thread([this, raw] { RunNode(raw); });
  spdlog::debug("started ssh worker {} on {} for {}, log {}", name, raw->host, target.name,
                raw->log_path);
  return name;
}

void SshNodeProvider::RunNode(Node* node) {
  absl::StatusOr<std::unique_ptr<core::WritableFile>> log =
      options_.env->NewWritableFile(node->log_path, {.append = true});
  auto pump = [&](int timeout_ms) {
    std::string out;
    bool running = node->channel->Read(out, timeout_ms);
    if (!out.empty() && log.ok()) (*log)->Append(out).IgnoreError();
    return running;
  };
  auto signal_worker = [&](const char* sig) {
    auto r = node->session->Exec(
        absl::StrCat("kill -", sig, " \"$(cat ", ShellQuote(node->pid_file), ")\" 2>/dev/null"), "",
        kRemoteCommandTimeoutMs);
    if (!r.ok()) {
      spdlog::warn("ssh worker {} on {}: {}", node->name, node->host, r.status().ToString());
    }
  };
  auto pump_for = [&](int64_t ms) {
    const int64_t deadline = options_.env->MonotonicMillis() + ms;
    bool running = true;
    while (running && options_.env->MonotonicMillis() < deadline) running = pump(200);
    return running;
  };
  bool running = true;
  while (running && !node->stop.load()) running = pump(200);
  if (running) {
    signal_worker("TERM");
    if (pump_for(options_.stop_grace_ms)) {
      spdlog::warn("ssh worker {} on {} ignored SIGTERM for {} ms; killing it", node->name,
                   node->host, options_.stop_grace_ms);
      signal_worker("KILL");
      // Closing the channel below also hangs up the worker's terminal.
      pump_for(kRemoteCommandTimeoutMs);
    }
  }
  int status = node->channel->ExitStatus();
  spdlog::debug("ssh worker {} on {} exited (status {})", node->name, node->host, status);
  node->channel.reset();
  node->session.reset();
  std::lock_guard<std::mutex> lock(mu_);
  node->exited = true;
}

int64_t SshNodeProvider::LiveNodes(const std::string& compute) {
  std::lock_guard<std::mutex> lock(mu_);
  int64_t n = 0;
  for (const auto& [name, node] : nodes_) {
    if (!node->exited && node->compute == compute) ++n;
  }
  return n;
}

void SshNodeProvider::StopAll() {
  std::map<std::string, std::unique_ptr<Node>> nodes;
  {
    std::lock_guard<std::mutex> lock(mu_);
    nodes.swap(nodes_);
  }
  for (auto& [name, node] : nodes) node->stop.store(true);
  for (auto& [name, node] : nodes) {
    if (node->thread.joinable()) node->thread.join();
  }
}

std::shared_ptr<SshNodeProvider> NewSshNodeProvider(const workspace::Workspace& workspace,
                                                    const std::string& server_address,
                                                    const std::string& tls_ca_pem) {
  SshNodeProviderOptions options;
  options.workspace_dir = workspace.dir();
  options.server_address = server_address;
  options.token = workspace.token();
  options.tls_ca_pem = tls_ca_pem;
  options.log_dir = workspace.dir() + "/logs";
  options.stop_grace_ms = 5'000;
  options.env = workspace.env();
  return std::make_shared<SshNodeProvider>(std::move(options));
}

}  // namespace sweep::compute

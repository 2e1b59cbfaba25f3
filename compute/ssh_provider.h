// The `ssh` node provider: each node of a remotevm target is a `sweep worker` started on
// the VM over its own SSH connection (credentials and known_hosts from the workspace,
// see remote_vm.h). For node N of target NAME, with D the target's work dir on the VM:
//
//   1. `umask 077; mkdir -p D; cat > D/token.new; mv D/token.new D/token`, the workspace
//      token sent on stdin (never on a command line, where `ps` would show it);
//   2. `echo $$ > D/node-N.pid; exec SWEEP worker --server ADDR --compute NAME
//      --token-file D/token --work-dir D/node-N` on a channel with a pty.
//
// The worker's output goes to <log_dir>/ssh-NAME-node-N.log. When it exits (crash,
// scale-down, killed) its channel ends and it stops counting in LiveNodes, so the
// controller starts a replacement. StopAll sends SIGTERM through the pid file, waits
// stop_grace_ms for the worker to deregister and exit, then SIGKILL. If this process
// dies instead, the connection drops and the pty's hangup (SIGHUP) ends the worker.
//
// Thread safety: all methods are thread-safe. One thread per node owns its connection.
// The destructor calls StopAll().
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "compute/node_provider.h"
#include "core/env.h"
#include "workspace/workspace.h"

namespace sweep::compute {

struct SshNodeProviderOptions {
  std::string workspace_dir;   // credentials and known_hosts are read from here
  std::string server_address;  // what workers dial, e.g. "10.0.0.4:7070"
  std::string token;           // the workspace token, shipped to the VM
  std::string tls_ca_pem;      // non-empty: shipped too; workers verify a TLS controller
  std::string log_dir;         // <workspace>/logs; created if missing
  int64_t stop_grace_ms = 10'000;
  core::Env* env = core::Env::Default();  // not owned; credentials, logs, clocks
};

class SshNodeProvider final : public NodeProvider {
 public:
  explicit SshNodeProvider(SshNodeProviderOptions options);
  ~SshNodeProvider() override;

  // Connects to the target's VM and starts one worker there; returns "node-N".
  // InvalidArgument/FailedPrecondition/Unavailable (as SshSession::Connect) when the VM
  // cannot be logged into; FailedPrecondition when its host key is not in the
  // workspace's known_hosts, when workers would dial a loopback address of the VM, or
  // when the token cannot be written there.
  absl::StatusOr<std::string> StartNode(const core::ComputeTarget& target) override;
  int64_t LiveNodes(const std::string& compute) override;
  // Stops every worker started (SIGTERM, SIGKILL after stop_grace_ms) and closes the
  // connections; returns when all are closed.
  void StopAll() override;

 private:
  struct Node;
  void RunNode(Node* node);

  const SshNodeProviderOptions options_;
  std::mutex mu_;
  int64_t next_node_ = 1;
  std::map<std::string, std::unique_ptr<Node>> nodes_;
};

// The provider `sweep run` attaches for "ssh": workspace credentials, token and logs/,
// workers dialing `server_address`.
std::shared_ptr<SshNodeProvider> NewSshNodeProvider(const workspace::Workspace& workspace,
                                                    const std::string& server_address,
                                                    const std::string& tls_ca_pem = "");

}  // namespace sweep::compute

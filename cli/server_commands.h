// `sweep server` (the controller as a long-lived service) and `sweep submit` (hand it a
// sweep). Query commands reach a server through GlobalOptions::server (context.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/context.h"

namespace sweep::cli {

struct ServerArgs {
  std::string listen;               // required, host:port (port 0: any free port)
  int64_t lease_seconds = 30;       // as `sweep run --lease-seconds`
  int64_t node_wait_seconds = 600;  // as `sweep run --node-wait-seconds`
};
// Serves the workspace until SIGTERM/SIGINT, resuming its running sweeps. Exit 0 after a
// clean shutdown (nodes stopped, controller.json removed); 1 if it cannot start (workspace
// already served, address in use); 2 for a malformed address or lease.
int CmdServer(const GlobalOptions& options, const ServerArgs& args);

// Validates SPEC locally, submits it to options.server and prints the sweep id.
// Exit 2 for an invalid spec or one the server cannot run (unknown compute target);
// 1 when the server is unreachable or rejects the token.
int CmdSubmit(const GlobalOptions& options, const std::string& spec_path,
              const std::vector<std::string>& warm_start);

}  // namespace sweep::cli

// A minimal `sweep worker` for controller_grpc_test: compute::LocalNodeProvider starts it
// as `worker_main worker --server ADDR --compute NAME --token-file FILE [--work-dir DIR]`,
// so tests get real worker processes (which they may SIGKILL mid-trial) without the CLI.
// Built as its own executable, not a test: ctest does not see it.
#include <cstdio>
#include <string>

#include "rpc/worker_client.h"
#include "worker/agent.h"

int main(int argc, char** argv) {
  sweep::worker::WorkerOptions o;
  std::string token_file;
  for (int i = 1; i + 1 < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--server") o.server = argv[i + 1];
    if (flag == "--compute") o.compute = argv[i + 1];
    if (flag == "--token-file") token_file = argv[i + 1];
    if (flag == "--work-dir") o.work_dir = argv[i + 1];
  }
  auto token = sweep::worker::ReadTokenFile(token_file);
  if (!token.ok()) {
    std::fprintf(stderr, "worker_main: %s\n", std::string(token.status().message()).c_str());
    return 2;
  }
  o.token = *token;
  o.acquire_wait_ms = 1'000;
  o.poll_interval_ms = 20;
  o.metrics_flush_ms = 50;
  o.default_stop_grace_ms = 1'000;
  return sweep::rpc::RunWorker(o, sweep::worker::InstallStopSignalHandlers());
}

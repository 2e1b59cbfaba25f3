// The worker agent (`sweep worker`): registers with the controller, leases trials,
// runs each as a child process, streams its metrics and obeys stop directives.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace sweep::worker {

struct WorkerOptions {
  std::string server;       // host:port of the controller
  std::string compute;      // target name this node belongs to
  std::string token;        // workspace token
  std::string node_id;      // optional fixed id; empty: controller assigns
  std::string work_dir;     // attempts run under <work_dir>/attempts/...; default a temp dir
  int64_t acquire_wait_ms = 10'000;
  int64_t metrics_flush_ms = 200;  // batch window for ReportMetrics
  int max_idle_polls = -1;         // exit after this many empty polls; -1: never
};

// Runs until the controller says shutdown, `stop` becomes true (SIGTERM handler), or
// the controller stays unreachable for long. Returns a process exit code.
int RunWorker(const WorkerOptions& options, std::atomic<bool>* stop);

}  // namespace sweep::worker

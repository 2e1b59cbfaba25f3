// The `local` node provider: each node is a `sweep worker` child process on this host.
//
//   BINARY worker --server ADDR --compute NAME --token-file F [--work-dir D/node-N]
//
// stdout/stderr of node N go to <log_dir>/node-N.log (appended). Children are spawned
// through options.env (each in its own process group) and reaped by one thread each
// (waitpid on that pid only, so other children of the process are left alone). A child that
// exits on its own (scale-down, crash) stops counting in LiveNodes. A child is killed
// (SIGKILL, PR_SET_PDEATHSIG) when the thread that started it ends, so local workers die
// with their controller even when it is SIGKILLed: start nodes from a thread that lives as
// long as they should (the controller's ticker).
//
// Thread safety: all methods are thread-safe. The destructor calls StopAll().
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "compute/node_provider.h"
#include "core/env.h"

namespace sweep::compute {

struct LocalNodeProviderOptions {
  std::string binary;              // the `sweep` executable (the CLI passes /proc/self/exe)
  std::string server_address;      // what workers dial, e.g. "127.0.0.1:41234"
  std::string token_file;          // the workspace token file
  std::string log_dir;             // <workspace>/logs; created if missing
  std::string work_dir;            // "" = the worker's default; else node N uses work_dir/node-N
  int64_t stop_grace_ms = 15'000;  // SIGTERM -> SIGKILL delay in StopAll
  std::vector<std::string> extra_args;    // appended to every worker command line
  core::Env* env = core::Env::Default();  // not owned; spawns and the log directory
};

class LocalNodeProvider final : public NodeProvider {
 public:
  explicit LocalNodeProvider(LocalNodeProviderOptions options);
  ~LocalNodeProvider() override;

  // Spawns one worker for `target`. Returns "node-N" (also its log file's stem).
  // Internal if the process cannot be spawned (missing binary, fork failure).
  absl::StatusOr<std::string> StartNode(const core::ComputeTarget& target) override;
  int64_t LiveNodes(const std::string& compute) override;
  // SIGTERM to every live child, SIGKILL to those still alive after stop_grace_ms;
  // returns when all were reaped. Nodes can be started again afterwards.
  void StopAll() override;

  // pid of every live child (for tests and diagnostics).
  std::vector<pid_t> LivePids();

 private:
  struct Child {
    std::unique_ptr<core::Subprocess> process;
    std::string compute;
    bool exited = false;
    std::thread reaper;
  };

  const LocalNodeProviderOptions options_;
  std::mutex mu_;
  std::condition_variable exited_cv_;
  int64_t next_node_ = 1;
  std::map<std::string, std::unique_ptr<Child>> children_;
};

}  // namespace sweep::compute

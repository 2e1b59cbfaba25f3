// Commands that drive a controller: `sweep run`, `sweep worker`, `sweep cancel`.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cli/context.h"
#include "controller/controller.h"
#include "worker/attempt_retention.h"

namespace sweep::cli {

struct RunArgs {
  std::string spec_path;
  std::string listen = "127.0.0.1:0";
  bool quiet = false;              // only the id line and the summary
  bool plain = false;              // log lines even on a terminal (no live view)
  int64_t lease_seconds = 30;      // a lease expires this long after its last renewal
  int64_t snapshot_max_mb = 300;   // cap on the snapshot of trial.code
  int64_t artifact_max_mb = 1024;  // cap on one attempt's outputs/
  // A sweep that gets no node for this long ends `failed`; its spec's
  // limits.node_wait_timeout wins. 0 = wait for ever.
  int64_t node_wait_seconds = 600;
  // --warm-start ID (repeatable): added to the spec's warm_start.sweeps.
  std::vector<std::string> warm_start;
};
// Runs a sweep to its end on an in-process controller. Exit 0 when it completed,
// 1 when it failed or was canceled, 2 for an invalid spec or compute target.
int CmdRun(const GlobalOptions& options, const RunArgs& args);

// What `sweep run` does once it has a spec, shared with `sweep extend`: serves the
// workspace with an in-process controller, calls `start` to get a sweep running (its
// error goes to `on_start_error`, whose exit code is returned), then shows progress
// until the sweep ends and prints the summary. Exit 0 when it completed.
int RunSweepHere(const GlobalOptions& options, const RunArgs& args, const std::string& compute,
                 const std::function<absl::StatusOr<std::string>(controller::Controller&)>& start,
                 const std::function<int(const absl::Status&)>& on_start_error);

struct WorkerArgs {
  std::string server;
  std::string compute;
  std::string token_file;  // default: <workspace>/token
  std::string work_dir;
  std::string node_id;
  int max_idle_polls = -1;
  int keep_attempts = worker::kDefaultKeepAttempts;  // --keep-attempts
};
int CmdWorker(const GlobalOptions& options, const WorkerArgs& args);

// Cancels through the running controller if there is one, else directly in the store.
int CmdCancel(const GlobalOptions& options, const std::string& sweep_id);

// What `sweep cancel` does to a running sweep, for commands that already resolved it:
// through --server, else the controller serving the workspace, else in the store.
absl::Status CancelSweepOf(const GlobalOptions& options, const QuerySource& source,
                           const core::Sweep& sweep);

// The end-of-sweep summary `sweep run` prints (JSON with `json`): state, duration, best.
void PrintSweepSummary(store::Store* store, const std::string& sweep_id, bool json);

}  // namespace sweep::cli

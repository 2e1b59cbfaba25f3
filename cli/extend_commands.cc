#include "cli/extend_commands.h"

#include <unistd.h>

#include <iostream>
#include <optional>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "controller/extension.h"
#include "nlohmann/json.hpp"
#include "rpc/admin_client.h"
#include "workspace/admin.h"
#include "workspace/workspace_lock.h"

namespace sweep::cli {
namespace {

// How long a local change waits for another command that is changing the workspace.
constexpr int64_t kLockWaitMs = 30'000;

}  // namespace

absl::Status ChangeSweep(const GlobalOptions& options, const workspace::Workspace* ws,
                         const std::string& role,
                         const std::function<absl::Status(const std::string& address,
                                                          const std::string& token)>& via_server,
                         const std::function<absl::Status(controller::Controller& ctrl)>& locally) {
  if (ws == nullptr) {  // --server: the server is the only writer of its workspace
    auto token = ReadServerToken(options);
    if (!token.ok()) return token.status();
    return via_server(options.server, *token);
  }
  if (auto running = ws->ReadControllerAddress()) return via_server(running->address, ws->token());
  // No controller serves the workspace: this process writes it, under the workspace lock
  // (a controller that started meanwhile holds it, and gets the change instead).
  const workspace::LockHolder me{.pid = ::getpid(), .role = role};
  auto attempt = workspace::WorkspaceLock::Acquire(ws->dir(), me, kLockWaitMs);
  if (!attempt.ok()) return attempt.status();
  if (!attempt->lock) {
    return attempt->holder.address.empty()
               ? workspace::ServedByController(ws->dir(), attempt->holder)
               : via_server(attempt->holder.address, ws->token());
  }
  // The caller may have opened the workspace read-only (a query source).
  auto writable = workspace::Workspace::OpenOrCreate(ws->dir());
  if (!writable.ok()) return writable.status();
  auto ctrl = controller::Controller::Create((*writable)->store(), controller::ControllerOptions{});
  if (!ctrl.ok()) return ctrl.status();
  absl::Status status = locally(**ctrl);
  (*ctrl)->Shutdown();
  return status;
}

void AddEnqueueOptions(CLI::App* cmd, EnqueueArgs& args) {
  cmd->add_option("sweep", args.sweep_id, "Sweep id (or a unique prefix)")->required();
  cmd->add_option("--param", args.params,
                  "NAME=VALUE, once per active parameter (a nested choice takes its option's "
                  "index)")
      ->required();
}

int CmdEnqueue(const GlobalOptions& options, const EnqueueArgs& args) {
  auto source = OpenForQuery(options, /*create=*/true);
  if (!source.ok()) return ReportError(source.status());
  auto sweep = ResolveSweep((*source)->store(), args.sweep_id);
  if (!sweep.ok()) return ReportError(sweep.status());
  int64_t trial_id = 0;
  absl::Status status = ChangeSweep(
      options, (*source)->workspace.get(), "sweep enqueue",
      [&](const std::string& address, const std::string& token) {
        absl::StatusOr<int64_t> id = rpc::EnqueueViaServer(address, token, sweep->id, args.params);
        if (id.ok()) trial_id = *id;
        return id.status();
      },
      [&](controller::Controller& ctrl) {
        absl::StatusOr<int64_t> id = ctrl.EnqueueTrial(sweep->id, args.params);
        if (id.ok()) trial_id = *id;
        return id.status();
      });
  if (!status.ok()) return ReportError(status);
  if (options.json) {
    nlohmann::json out = {{"sweep_id", sweep->id}, {"trial_id", trial_id}};
    std::cout << out.dump() << "\n";
  } else {
    std::cout << "enqueued trial " << trial_id << " of " << sweep->id << "\n";
  }
  return kExitOk;
}

void AddExtendOptions(CLI::App* cmd, ExtendArgs& args) {
  cmd->add_option("sweep", args.sweep_id, "Sweep id (or a unique prefix)")->required();
  cmd->add_option("--max-total-trials", args.request.max_total_trials,
                  "Trials in all once extended (above the trials it has)")
      ->required();
  cmd->add_option("--timeout", args.request.timeout_s,
                  "Seconds the extension may run, from now (default: the spec's limits.timeout)");
  cmd->add_option("--max-concurrent-trials", args.request.max_concurrent_trials,
                  "Trials at once during the extension (default: the sweep's)");
  cmd->add_flag("--quiet,-q", args.run.quiet, "Print only the sweep id and the summary");
  cmd->add_flag("--plain", args.run.plain,
                "Print log lines instead of the live view, also on a terminal");
}

namespace {

// The exit code of a refused extension: bad input (2) or a runtime failure (1).
int ReportExtendError(const absl::Status& status) {
  std::cerr << "sweep: error: " << status.message() << "\n";
  return absl::IsInvalidArgument(status) || absl::IsNotFound(status) ||
                 absl::IsFailedPrecondition(status)
             ? kExitUsage
             : kExitFailure;
}

void PrintExtended(const GlobalOptions& options, const std::string& sweep_id, int64_t n,
                   const std::string& where) {
  if (options.json) {
    std::cout << nlohmann::json{{"sweep_id", sweep_id}, {"extension", n}, {"server", where}}.dump()
              << "\n";
  } else {
    std::cout << "extended " << sweep_id << " (extension " << n << "), running on " << where
              << "; follow it with `sweep watch " << sweep_id << "`\n";
  }
}

}  // namespace

int CmdExtend(const GlobalOptions& options, const ExtendArgs& args) {
  if (absl::Status ok = controller::CheckExtendRequest(args.request); !ok.ok()) {
    return ReportExtendError(ok);
  }
  std::string sweep_id;
  std::string compute;
  std::optional<std::string> served_by;  // the controller that runs the workspace, if any
  std::string token;
  {
    auto source = OpenForQuery(options, /*create=*/true);
    if (!source.ok()) return ReportError(source.status());
    auto sweep = ResolveSweep((*source)->store(), args.sweep_id);
    if (!sweep.ok()) return ReportExtendError(sweep.status());
    sweep_id = sweep->id;
    compute = sweep->compute;
    const workspace::Workspace* ws = (*source)->workspace.get();
    if (ws == nullptr) {  // --server
      auto read = ReadServerToken(options);
      if (!read.ok()) return ReportError(read.status());
      served_by = options.server;
      token = *read;
    } else if (auto running = ws->ReadControllerAddress()) {
      served_by = running->address;
      token = ws->token();
    }
  }  // the workspace is closed before a controller here opens it
  if (served_by) {
    absl::StatusOr<int64_t> n = rpc::ExtendViaServer(*served_by, token, sweep_id, args.request);
    if (!n.ok()) return ReportExtendError(n.status());
    PrintExtended(options, sweep_id, *n, *served_by);
    return kExitOk;
  }
  return RunSweepHere(
      options, args.run, compute,
      [&](controller::Controller& ctrl) -> absl::StatusOr<std::string> {
        absl::StatusOr<int64_t> n = ctrl.ExtendSweep(sweep_id, args.request);
        if (!n.ok()) return n.status();
        return sweep_id;
      },
      ReportExtendError);
}

}  // namespace sweep::cli

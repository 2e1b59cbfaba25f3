#include "cli/compute_commands.h"

#include <iostream>

#include "cli/output.h"
#include "cli/remote_vm_commands.h"
#include "controller/compute.h"
#include "controller/remote_vm.h"
#include "core/clock.h"

namespace sweep::cli {
namespace {

void ApplyArgs(const ComputeArgs& args, core::ComputeTarget& target) {
  if (args.min_nodes) target.min_nodes = *args.min_nodes;
  if (args.max_nodes) target.max_nodes = *args.max_nodes;
  if (args.vm_size) target.vm_size = *args.vm_size;
  if (args.vm_priority) target.vm_priority = *args.vm_priority;
  if (args.idle_seconds_before_scaledown) {
    target.idle_seconds_before_scaledown = *args.idle_seconds_before_scaledown;
  }
}

int SaveTarget(controller::Workspace& ws, const core::ComputeTarget& target, const char* verb,
               const GlobalOptions& options) {
  if (absl::Status s = controller::ValidateComputeTarget(target); !s.ok()) {
    return ReportError(s);
  }
  store::WriteBatch batch;
  batch.computes.push_back(target);
  if (absl::Status s = ws.store()->Commit(batch); !s.ok()) return ReportError(s);
  if (options.json) {
    std::cout << ComputeToJson(target).dump(2) << "\n";
  } else {
    std::cout << verb << " compute target " << target.name << " (" << target.type << ", "
              << target.provider << ", " << target.min_nodes << "-" << target.max_nodes
              << " nodes)\n";
  }
  return kExitOk;
}

}  // namespace

int CmdComputeCreate(const GlobalOptions& options, const ComputeArgs& args) {
  if (absl::Status s = controller::ValidateComputeName(args.name); !s.ok()) {
    return ReportError(s);
  }
  if (args.type == "remotevm") {
    return ReportError(absl::InvalidArgumentError(
        "remotevm targets are attached, not created: `sweep compute attach " + args.name +
        " --type remotevm --address HOST --username USER (--password-file F | "
        "--private-key-file F)`"));
  }
  core::ComputeTarget target;
  target.name = args.name;
  target.type = args.type;
  target.provider = !args.provider.empty() ? args.provider
                    : args.type == "remotevm" ? "ssh"
                                              : "local";
  target.max_nodes = 4;
  ApplyArgs(args, target);
  target.created_ms = core::SystemClock::Default()->NowMillis();
  // Validate before touching the workspace, so a rejected target writes nothing.
  if (absl::Status s = controller::ValidateComputeTarget(target); !s.ok()) {
    return ReportError(s);
  }
  auto ws = controller::Workspace::OpenOrCreate(WorkspaceDir(options));
  if (!ws.ok()) return ReportError(ws.status());
  if ((*ws)->store()->GetCompute(args.name).ok()) {
    return ReportError(absl::AlreadyExistsError("compute target '" + args.name +
                                                "' already exists; change it with `sweep "
                                                "compute update " + args.name + " ...`"));
  }
  return SaveTarget(**ws, target, "created", options);
}

int CmdComputeUpdate(const GlobalOptions& options, const ComputeArgs& args) {
  auto ws = controller::Workspace::OpenOrCreate(WorkspaceDir(options));
  if (!ws.ok()) return ReportError(ws.status());
  auto target = (*ws)->store()->GetCompute(args.name);
  if (!target.ok()) {
    return ReportError(absl::NotFoundError("compute target '" + args.name +
                                           "' not found (`sweep compute list` lists them)"));
  }
  if (target->type == "remotevm" && (args.min_nodes || args.max_nodes)) {
    return ReportError(absl::InvalidArgumentError(
        "remotevm target '" + args.name + "' runs the workers given by --workers-per-node " +
        "when it was attached; delete it and attach it again to change that"));
  }
  ApplyArgs(args, *target);
  return SaveTarget(**ws, *target, "updated", options);
}

int CmdComputeList(const GlobalOptions& options) {
  auto ws = controller::Workspace::OpenOrCreate(WorkspaceDir(options));
  if (!ws.ok()) return ReportError(ws.status());
  auto targets = (*ws)->store()->ListComputes();
  if (!targets.ok()) return ReportError(targets.status());
  if (options.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& t : *targets) out.push_back(ComputeToJson(t));
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  Table table({"NAME", "TYPE", "PROVIDER", "NODES", "VM_SIZE", "PRIORITY", "IDLE_S"});
  for (const auto& t : *targets) {
    table.AddRow({t.name, t.type, t.provider,
                  std::to_string(t.min_nodes) + "-" + std::to_string(t.max_nodes),
                  t.vm_size.empty() ? "-" : t.vm_size, t.vm_priority,
                  std::to_string(t.idle_seconds_before_scaledown)});
  }
  table.Print(std::cout);
  return kExitOk;
}

int CmdComputeShow(const GlobalOptions& options, const std::string& name) {
  auto ws = controller::Workspace::OpenOrCreate(WorkspaceDir(options));
  if (!ws.ok()) return ReportError(ws.status());
  store::Store* store = (*ws)->store();
  auto target = store->GetCompute(name);
  if (!target.ok()) {
    return ReportError(absl::NotFoundError("compute target '" + name +
                                           "' not found (`sweep compute list` lists them)"));
  }
  auto nodes = store->ListNodes();
  if (!nodes.ok()) return ReportError(nodes.status());
  std::erase_if(*nodes, [&](const core::Node& n) {
    return n.compute != name || n.state == "gone";
  });
  if (options.json) {
    nlohmann::json j = ComputeToJson(*target);
    nlohmann::json node_list = nlohmann::json::array();
    for (const core::Node& n : *nodes) {
      node_list.push_back({{"node_id", n.node_id},
                           {"hostname", n.hostname},
                           {"pid", n.pid},
                           {"state", n.state},
                           {"registered_at", FormatTime(n.registered_ms)},
                           {"last_seen_at", FormatTime(n.last_seen_ms)}});
    }
    j["nodes"] = node_list;
    std::cout << j.dump(2) << "\n";
    return kExitOk;
  }
  const core::ComputeTarget& t = *target;
  std::cout << "name        " << t.name << "\n"
            << "type        " << t.type << " (provider " << t.provider << ")\n"
            << "nodes       min " << t.min_nodes << ", max " << t.max_nodes << "\n"
            << "vm_size     " << (t.vm_size.empty() ? "-" : t.vm_size) << "\n"
            << "priority    " << t.vm_priority << "\n"
            << "scale down  after " << t.idle_seconds_before_scaledown << " s idle\n"
            << "created     " << FormatTime(t.created_ms) << "\n";
  if (t.type == "remotevm") PrintRemoteVm(std::cout, t);
  std::cout << "\ncurrent nodes: " << nodes->size() << "\n";
  if (!nodes->empty()) {
    Table table({"NODE", "STATE", "HOST", "PID", "LAST_SEEN"});
    for (const core::Node& n : *nodes) {
      table.AddRow({n.node_id, n.state, n.hostname, std::to_string(n.pid),
                    FormatTime(n.last_seen_ms)});
    }
    table.Print(std::cout);
  }
  return kExitOk;
}

int CmdComputeDelete(const GlobalOptions& options, const std::string& name) {
  auto ws = controller::Workspace::OpenOrCreate(WorkspaceDir(options));
  if (!ws.ok()) return ReportError(ws.status());
  store::Store* store = (*ws)->store();
  if (!store->GetCompute(name).ok()) {
    return ReportError(absl::NotFoundError("compute target '" + name + "' not found"));
  }
  auto sweeps = store->ListSweeps();
  if (!sweeps.ok()) return ReportError(sweeps.status());
  for (const core::Sweep& s : *sweeps) {
    if (s.compute == name && s.state == core::SweepState::kRunning) {
      return ReportError(absl::FailedPreconditionError(
          "compute target '" + name + "' is used by running sweep " + s.id +
          "; cancel it first (`sweep cancel " + s.id + "`)"));
    }
  }
  store::WriteBatch batch;
  batch.deleted_computes.push_back(name);
  if (absl::Status s = store->Commit(batch); !s.ok()) return ReportError(s);
  controller::RemoveCredentials((*ws)->dir(), name);
  if (!options.json) std::cout << "deleted compute target " << name << "\n";
  else std::cout << nlohmann::json{{"deleted", name}}.dump() << "\n";
  return kExitOk;
}

}  // namespace sweep::cli

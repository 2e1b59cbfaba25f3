#include "cli/compute_commands.h"

#include <algorithm>
#include <iostream>
#include <optional>
#include <set>

#include "cli/admin.h"
#include "cli/output.h"
#include "cli/remote_vm_commands.h"
#include "core/status.h"
#include "rpc/admin_client.h"

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

void PrintTarget(const core::ComputeTarget& target, const char* verb,
                 const GlobalOptions& options) {
  if (options.json) {
    std::cout << ComputeToJson(target).dump(2) << "\n";
  } else {
    std::cout << verb << " compute target " << target.name << " (" << target.type << ", "
              << target.provider << ", " << target.min_nodes << "-" << target.max_nodes
              << " nodes)\n";
  }
}

// The controller's view of the target when one serves the workspace (the --server one, or
// the one in controller.json); nullopt when none runs.
absl::StatusOr<std::optional<controller::ComputeStatus>> LiveComputeStatus(
    const GlobalOptions& options, const QuerySource& source, const std::string& name) {
  std::string address, token;
  if (source.workspace == nullptr) {
    address = options.server;
    ASSIGN_OR_RETURN(token, ReadServerToken(options));
  } else if (auto running = source.workspace->ReadControllerAddress()) {
    address = running->address;
    token = source.workspace->token();
  } else {
    return std::nullopt;
  }
  absl::StatusOr<controller::ComputeStatus> status =
      rpc::ComputeStatusViaServer(address, token, name);
  // A controller that has not read a new target yet, or (local) one that just exited.
  if (absl::IsNotFound(status.status()) ||
      (source.workspace != nullptr && absl::IsUnavailable(status.status()))) {
    return std::nullopt;
  }
  if (!status.ok()) return status.status();
  return *status;
}

// The target's recent scaling events (workspace-level and those of its sweeps), oldest
// first.
absl::StatusOr<std::vector<core::Event>> ScalingDecisions(store::Store* store,
                                                          const std::string& name) {
  constexpr size_t kRecent = 10;
  static const std::set<std::string> kKinds = {"scale_target",     "scale_up",
                                               "scale_up_failed",  "scale_down",
                                               "node_scaled_down", "node_restarted"};
  std::vector<std::string> sources{""};
  ASSIGN_OR_RETURN(std::vector<core::Sweep> sweeps, store->ListSweeps());
  for (const core::Sweep& s : sweeps) {
    if (s.compute == name) sources.push_back(s.id);
  }
  const std::string prefix = "compute " + name + ":";
  std::vector<core::Event> out;
  for (const std::string& id : sources) {
    ASSIGN_OR_RETURN(std::vector<core::Event> events, store->ListEvents(id));
    for (core::Event& e : events) {
      if (kKinds.count(e.kind) && e.message.rfind(prefix, 0) == 0) out.push_back(std::move(e));
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const core::Event& a, const core::Event& b) {
    return a.timestamp_ms != b.timestamp_ms ? a.timestamp_ms < b.timestamp_ms : a.id < b.id;
  });
  if (out.size() > kRecent) out.erase(out.begin(), out.end() - kRecent);
  return out;
}

}  // namespace

int CmdComputeCreate(const GlobalOptions& options, const ComputeArgs& args) {
  core::ComputeTarget target;
  target.name = args.name;
  target.type = args.type;
  target.provider = !args.provider.empty()    ? args.provider
                    : args.type == "remotevm" ? "ssh"
                                              : "local";
  target.max_nodes = 4;
  ApplyArgs(args, target);
  if (absl::Status s = ApplySlurmArgs(args.slurm, target); !s.ok()) return ReportError(s);
  auto admin = OpenAdmin(options, "sweep compute create");
  if (!admin.ok()) return ReportError(admin.status());
  auto created = (*admin)->PutComputeTarget(target, workspace::PutMode::kCreate);
  if (!created.ok()) return ReportError(created.status());
  PrintTarget(*created, "created", options);
  return kExitOk;
}

int CmdComputeUpdate(const GlobalOptions& options, const ComputeArgs& args) {
  auto admin = OpenAdmin(options, "sweep compute update");
  if (!admin.ok()) return ReportError(admin.status());
  auto reader = (*admin)->reader();
  if (!reader.ok()) return ReportError(reader.status());
  auto target = (*reader)->GetCompute(args.name);
  if (absl::IsNotFound(target.status())) {
    return ReportError(absl::NotFoundError("compute target '" + args.name +
                                           "' not found (`sweep compute list` lists them)"));
  }
  if (!target.ok()) return ReportError(target.status());
  ApplyArgs(args, *target);
  if (absl::Status s = ApplySlurmArgs(args.slurm, *target); !s.ok()) return ReportError(s);
  auto updated = (*admin)->PutComputeTarget(*target, workspace::PutMode::kUpdate);
  if (!updated.ok()) return ReportError(updated.status());
  PrintTarget(*updated, "updated", options);
  return kExitOk;
}

int CmdComputeList(const GlobalOptions& options) {
  auto ws = OpenForQuery(options, /*create=*/true);
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
  auto ws = OpenForQuery(options, /*create=*/true);
  if (!ws.ok()) return ReportError(ws.status());
  store::Store* store = (*ws)->store();
  auto target = store->GetCompute(name);
  if (!target.ok()) {
    return ReportError(absl::NotFoundError("compute target '" + name +
                                           "' not found (`sweep compute list` lists them)"));
  }
  auto status = LiveComputeStatus(options, **ws, name);
  if (!status.ok()) return ReportError(status.status());
  std::vector<controller::NodeStatus> nodes;
  if (*status) {
    nodes = (*status)->nodes;
  } else {  // no controller: the nodes as last recorded
    auto stored = store->ListNodes();
    if (!stored.ok()) return ReportError(stored.status());
    for (core::Node& n : *stored) {
      if (n.compute != name || n.state == "gone") continue;
      nodes.emplace_back().node = std::move(n);
    }
  }
  auto decisions = ScalingDecisions(store, name);
  if (!decisions.ok()) return ReportError(decisions.status());

  if (options.json) {
    using nlohmann::json;
    json j = ComputeToJson(*target);
    json node_list = json::array();
    for (const controller::NodeStatus& s : nodes) {
      const core::Node& n = s.node;
      node_list.push_back({{"node_id", n.node_id},
                           {"hostname", n.hostname},
                           {"pid", n.pid},
                           {"state", n.state},
                           {"registered_at", FormatTime(n.registered_ms)},
                           {"last_seen_at", FormatTime(n.last_seen_ms)},
                           {"sweep_id", s.sweep_id.empty() ? json(nullptr) : json(s.sweep_id)},
                           {"trial_id", s.trial_id == 0 ? json(nullptr) : json(s.trial_id)}});
    }
    j["nodes"] = node_list;
    j["controller_running"] = status->has_value();
    j["desired_nodes"] = *status ? json((*status)->desired_nodes) : json(nullptr);
    j["provider_nodes"] = *status ? json((*status)->provider_nodes) : json(nullptr);
    j["live_nodes"] = nodes.size();
    json events = json::array();
    for (const core::Event& e : *decisions) {
      events.push_back({{"time", FormatTime(e.timestamp_ms)},
                        {"kind", e.kind},
                        {"sweep_id", e.sweep_id.empty() ? json(nullptr) : json(e.sweep_id)},
                        {"message", e.message}});
    }
    j["scaling_decisions"] = events;
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
  if (*status) {
    std::cout << "autoscaler  desired " << (*status)->desired_nodes << " nodes, live "
              << nodes.size() << " (provider " << t.provider << " runs "
              << (*status)->provider_nodes << ")\n";
  } else {
    std::cout << "autoscaler  idle: no controller serves this workspace (`sweep run` or "
                 "`sweep server` starts one)\n";
  }
  std::cout << "\ncurrent nodes: " << nodes.size() << "\n";
  if (!nodes.empty()) {
    Table table({"NODE", "STATE", "HOST", "PID", "SINCE", "LAST_SEEN", "TRIAL"});
    for (const controller::NodeStatus& s : nodes) {
      const core::Node& n = s.node;
      table.AddRow({n.node_id, n.state, n.hostname, std::to_string(n.pid),
                    FormatTime(n.registered_ms), FormatTime(n.last_seen_ms),
                    s.sweep_id.empty() ? "-" : s.sweep_id + " #" + std::to_string(s.trial_id)});
    }
    table.Print(std::cout);
  }
  std::cout << "\nrecent scaling decisions:" << (decisions->empty() ? " none" : "") << "\n";
  for (const core::Event& e : *decisions) {
    std::cout << "  " << FormatTime(e.timestamp_ms) << "  " << e.kind << ": " << e.message << "\n";
  }
  return kExitOk;
}

int CmdComputeDelete(const GlobalOptions& options, const std::string& name) {
  auto admin = OpenAdmin(options, "sweep compute delete");
  if (!admin.ok()) return ReportError(admin.status());
  if (absl::Status s = (*admin)->DeleteComputeTarget(name); !s.ok()) return ReportError(s);
  if (!options.json)
    std::cout << "deleted compute target " << name << "\n";
  else
    std::cout << nlohmann::json{{"deleted", name}}.dump() << "\n";
  return kExitOk;
}

}  // namespace sweep::cli

#include "controller/autoscaler.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"

namespace sweep::controller {
namespace {

bool Scalable(const core::ComputeTarget& target) {
  return target.type == "amlcompute" || target.type == "remotevm";
}

// The running sweeps' demand for nodes of one target, in numbers and in words.
struct Demand {
  int64_t nodes = 0;
  std::string first_sweep;  // the events' sweep: the oldest running one, "" when none
  std::string reason;
};

Demand SumDemand(const std::vector<SweepDemand>& sweeps) {
  Demand d;
  for (const SweepDemand& s : sweeps) {
    d.nodes += std::min(s.max_concurrent, s.running + s.startable);
    if (d.first_sweep.empty()) d.first_sweep = s.sweep_id;
    if (s.running + s.startable == 0) continue;
    absl::StrAppend(&d.reason, d.reason.empty() ? "" : "; ", s.startable, " trials waiting in ",
                    s.sweep_id, " (", s.running, " running, at most ", s.max_concurrent,
                    " at once)");
  }
  if (d.reason.empty()) d.reason = "no trials waiting";
  return d;
}

// Idle nodes past the idle timeout, while more are registered than needed.
void PlanScaleDown(const TargetScaling& ts, int64_t desired, const Demand& demand, int64_t now,
                   ScalingPlan& plan) {
  const core::ComputeTarget& target = ts.target;
  int64_t registered = static_cast<int64_t>(ts.nodes.size());
  int64_t surplus = registered - std::max(desired, target.min_nodes);
  for (const RegisteredNode& n : ts.nodes) {
    if (surplus <= 0) break;
    if (n.busy || now - n.idle_since_ms < target.idle_seconds_before_scaledown * 1000) continue;
    plan.shut_down.push_back(n.node_id);
    plan.events.push_back(
        NewEvent(demand.first_sweep, 0, "scale_down",
                 absl::StrCat("compute ", target.name, ": node ", n.node_id, " idle for ",
                              (now - n.idle_since_ms) / 1000, "s (limit ",
                              target.idle_seconds_before_scaledown, "s); ", registered, " -> ",
                              registered - 1, " nodes (desired ", desired, ", min ",
                              target.min_nodes, "): ", demand.reason),
                 now));
    --registered;
    --surplus;
  }
}

// Why no node came: the last failed start, else the nodes started that never registered.
std::string NoNodeReason(const TargetScaling& ts, int64_t waited_ms) {
  std::string why = !ts.last_start_error.empty()
                        ? absl::StrCat("the last start failed: ", ts.last_start_error)
                    : ts.live_nodes.value_or(0) > 0
                        ? absl::StrCat(*ts.live_nodes, " node(s) started by the '",
                                       ts.target.provider, "' provider never registered")
                        : std::string("no node could be started");
  return absl::StrCat("no node of compute '", ts.target.name, "' registered for ", waited_ms / 1000,
                      " s (limits.node_wait_timeout): ", why);
}

// The sweeps that still count: those that waited too long for a node become timeouts.
std::vector<SweepDemand> CheckNodeWaits(const TargetScaling& ts, int64_t now, ScalingPlan& plan) {
  // Only a target whose provider starts nodes can be waited for; without one, workers
  // are started by hand, whenever their owner likes.
  const bool no_node = ts.live_nodes.has_value() && ts.nodes.empty();
  std::vector<SweepDemand> counted;
  for (const SweepDemand& s : ts.sweeps) {
    const bool waiting = no_node && s.running == 0 && s.startable > 0;
    std::optional<int64_t> since;
    if (waiting) since = s.waiting_since_ms.value_or(now);
    plan.waiting.emplace_back(s.sweep_id, since);
    if (since && s.node_wait_ms > 0 && now - *since >= s.node_wait_ms) {
      plan.timeouts.push_back({s.sweep_id, NoNodeReason(ts, now - *since)});
      continue;
    }
    counted.push_back(s);
  }
  return counted;
}

}  // namespace

ScalingPlan PlanScaling(const ScalingInput& input) {
  ScalingPlan plan;
  const int64_t now = input.now_ms;
  for (const TargetScaling& ts : input.targets) {
    const core::ComputeTarget& target = ts.target;
    if (!Scalable(target)) continue;
    const bool remote = target.type == "remotevm";
    const std::vector<SweepDemand> sweeps = CheckNodeWaits(ts, now, plan);
    const Demand demand = SumDemand(sweeps);
    // A remotevm target keeps its fixed worker count (max_nodes, the workers per node)
    // alive while a sweep of it runs; a cluster follows the demand.
    const int64_t desired = remote ? (sweeps.empty() ? target.min_nodes : target.max_nodes)
                                   : std::clamp(demand.nodes, target.min_nodes, target.max_nodes);
    const bool forget_started = remote && sweeps.empty();
    plan.targets.push_back({target.name, desired, forget_started});
    if (ts.last_desired != desired) {
      plan.events.push_back(
          NewEvent(demand.first_sweep, 0, "scale_target",
                   absl::StrCat("compute ", target.name, ": desired nodes ", ts.last_desired,
                                " -> ", desired, " (min ", target.min_nodes, ", max ",
                                target.max_nodes, "): ", demand.reason),
                   now));
    }
    PlanScaleDown(ts, desired, demand, now, plan);

    if (!ts.live_nodes) continue;  // no provider: workers are started by hand
    if (ts.retry_after_ms && now < *ts.retry_after_ms) continue;
    const int64_t live = *ts.live_nodes;
    if (live >= desired) continue;
    const int64_t started = forget_started ? 0 : ts.remote_started;
    plan.starts.push_back({target, desired - live, live, desired, demand.first_sweep, demand.reason,
                           remote && started >= desired});
  }
  return plan;
}

core::Event StartEvent(const NodeStart& start, int64_t started, const std::string& error,
                       int64_t now_ms) {
  const core::ComputeTarget& target = start.target;
  std::string message = start.restart
                            ? absl::StrCat("compute ", target.name, ": ", start.count,
                                           " worker(s) exited; restarted ", started, " of them")
                            : absl::StrCat("compute ", target.name, ": ", start.live, " -> ",
                                           start.live + started, " nodes (desired ", start.desired,
                                           ", max ", target.max_nodes, "): ", start.reason);
  if (!error.empty()) {
    absl::StrAppend(&message, "; failed to start more: ", error, " (retrying in ",
                    kStartRetryMs / 1000, "s)");
  }
  const char* kind = !error.empty()  ? "scale_up_failed"
                     : start.restart ? "node_restarted"
                                     : "scale_up";
  return NewEvent(start.sweep_id, 0, kind, message, now_ms);
}

// ---------------------------------------------------------------------------
// Autoscaler

void Autoscaler::SetProvider(const std::string& name,
                             std::shared_ptr<compute::NodeProvider> provider) {
  providers_[name] = std::move(provider);
}

std::vector<std::shared_ptr<compute::NodeProvider>> Autoscaler::Providers() const {
  std::vector<std::shared_ptr<compute::NodeProvider>> out;
  for (const auto& [name, p] : providers_) {
    if (p) out.push_back(p);
  }
  return out;
}

void Autoscaler::SetTargets(std::vector<core::ComputeTarget> targets) {
  targets_.clear();
  for (core::ComputeTarget& t : targets) targets_[t.name] = std::move(t);
}

void Autoscaler::UpdateTarget(const std::string& name, const core::ComputeTarget* target) {
  if (target != nullptr) {
    targets_[name] = *target;
  } else {
    targets_.erase(name);
  }
}

std::vector<Autoscaler::Start> Autoscaler::Plan(Txn& txn, State& state, int64_t now,
                                                std::vector<NodeWaitTimeout>* timeouts) {
  ScalingInput input;
  input.now_ms = now;
  for (const auto& [name, target] : targets_) {
    if (!Scalable(target)) continue;
    TargetScaling& ts = input.targets.emplace_back();
    ts.target = target;
    if (auto it = state.running.find(name); it != state.running.end()) {
      for (const std::string& id : it->second) {
        const SweepRec& s = *state.sweeps.at(id);
        SweepDemand& d = ts.sweeps.emplace_back();
        d.sweep_id = id;
        d.running = s.active;
        d.startable = s.Startable();
        d.max_concurrent = s.max_concurrent;
        d.node_wait_ms = s.spec.limits.node_wait_timeout_s
                             ? *s.spec.limits.node_wait_timeout_s * 1000
                             : default_node_wait_ms_;
        if (auto w = waiting_since_ms_.find(id); w != waiting_since_ms_.end()) {
          d.waiting_since_ms = w->second;
        }
      }
    }
    for (const auto& [id, n] : state.nodes) {
      if (n.node.compute != name || n.node.state == "gone" || n.told_shutdown) continue;
      ts.nodes.push_back({id, n.lease.has_value(), n.idle_since_ms});
    }
    auto p = providers_.find(target.provider);
    if (p != providers_.end() && p->second) ts.live_nodes = p->second->LiveNodes(name);
    if (auto d = desired_.find(name); d != desired_.end()) ts.last_desired = d->second;
    if (auto r = remote_started_.find(name); r != remote_started_.end()) {
      ts.remote_started = r->second;
    }
    if (auto r = retry_after_ms_.find(name); r != retry_after_ms_.end()) {
      ts.retry_after_ms = r->second;
      if (now >= r->second) retry_after_ms_.erase(r);  // the back-off is over
    }
    if (!ts.nodes.empty()) last_error_.erase(name);  // a node came: old failures are history
    if (auto e = last_error_.find(name); e != last_error_.end()) ts.last_start_error = e->second;
  }

  ScalingPlan plan = PlanScaling(input);
  waiting_since_ms_.clear();
  for (const auto& [id, since] : plan.waiting) {
    if (since) waiting_since_ms_[id] = *since;
  }
  if (timeouts != nullptr) {
    timeouts->insert(timeouts->end(), plan.timeouts.begin(), plan.timeouts.end());
  }
  for (const TargetPlan& t : plan.targets) {
    desired_[t.compute] = t.desired;
    if (t.forget_started) remote_started_.erase(t.compute);
  }
  for (const std::string& id : plan.shut_down) state.nodes.at(id).told_shutdown = true;
  if (!plan.shut_down.empty()) txn.wake_pollers = true;
  for (core::Event& e : plan.events) txn.batch.events.push_back(std::move(e));
  std::vector<Start> starts;
  for (NodeStart& s : plan.starts) {
    std::shared_ptr<compute::NodeProvider> provider = providers_.at(s.target.provider);
    starts.push_back({std::move(s), std::move(provider)});
  }
  return starts;
}

std::vector<core::Event> Autoscaler::StartNodes(std::vector<Start>& starts,
                                                const core::Clock& clock) {
  std::vector<core::Event> events;
  for (Start& s : starts) {
    for (int64_t i = 0; i < s.plan.count; ++i) {
      absl::StatusOr<std::string> handle = s.provider->StartNode(s.plan.target);
      if (!handle.ok()) {
        s.error = std::string(handle.status().message());
        break;
      }
      ++s.started;
    }
    events.push_back(StartEvent(s.plan, s.started, s.error, clock.NowMillis()));
  }
  return events;
}

void Autoscaler::Record(const std::vector<Start>& starts, int64_t now) {
  for (const Start& s : starts) {
    const std::string& name = s.plan.target.name;
    if (s.plan.target.type == "remotevm") remote_started_[name] += s.started;
    if (!s.error.empty()) {
      retry_after_ms_[name] = now + kStartRetryMs;
      last_error_[name] = s.error;
    }
  }
}

absl::StatusOr<ComputeStatus> Autoscaler::Status(const std::string& compute,
                                                 const State& state) const {
  auto target = targets_.find(compute);
  if (target == targets_.end()) {
    return absl::NotFoundError(absl::StrCat("compute target '", compute, "' not found"));
  }
  ComputeStatus status;
  auto desired = desired_.find(compute);
  if (desired != desired_.end()) status.desired_nodes = desired->second;
  auto p = providers_.find(target->second.provider);
  if (p != providers_.end() && p->second) status.provider_nodes = p->second->LiveNodes(compute);
  for (const auto& [id, n] : state.nodes) {
    if (n.node.compute != compute || n.node.state == "gone") continue;
    NodeStatus& out = status.nodes.emplace_back();
    out.node = n.node;
    if (n.lease) std::tie(out.sweep_id, out.trial_id) = *n.lease;
  }
  return status;
}

}  // namespace sweep::controller

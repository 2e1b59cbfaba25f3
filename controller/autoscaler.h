// Autoscaling of compute targets (controller.h, "Semantics"): PlanScaling is a pure
// function from what the controller knows now to a plan of actions with their reasons;
// Autoscaler keeps what scaling remembers between ticks and applies plans.
//
// - amlcompute: desired nodes = clamp(sum over running sweeps of min(max_concurrent,
//   running + startable), min_nodes, max_nodes); the provider starts nodes up to that.
// - Idle nodes past idle_seconds_before_scaledown are told to shut down while more nodes
//   than max(desired, min_nodes) are registered.
// - remotevm (provider "ssh") keeps max_nodes workers while a sweep of it runs; once that
//   many were started, a start replaces a worker that exited (node_restarted).
// - After a provider failed to start a node, the target is not scaled up for
//   kStartRetryMs (an unreachable VM would otherwise stall every tick and flood events).
// - Never hang silently: a running sweep that wants nodes (it could start trials and has
//   none running) while its target, whose provider starts nodes, has not one registered
//   node is "waiting for a node". Once it has waited its node_wait_ms (the spec's
//   limits.node_wait_timeout, else the controller's default; 0 = for ever), the plan
//   says to end it `failed`, naming the target, the time and the last reason (the last
//   failed start, else how many started nodes never registered); its demand no longer
//   counts. Targets without a provider (workers started by hand) never time out.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "compute/node_provider.h"
#include "controller/controller.h"
#include "controller/state.h"
#include "core/clock.h"
#include "core/types.h"

namespace sweep::controller {

constexpr int64_t kStartRetryMs = 10'000;

// ---------------------------------------------------------------------------
// The pure plan.

// One running sweep's demand for nodes.
struct SweepDemand {
  std::string sweep_id;
  int64_t running = 0;    // leased or running attempts
  int64_t startable = 0;  // queued retries plus trials it may still create
  int64_t max_concurrent = 0;
  int64_t node_wait_ms = 0;                      // how long it may wait for a node; 0 = for ever
  std::optional<int64_t> waiting_since_ms = {};  // since when it waits (the previous plan's)
};

// A registered node of the target, not gone and not yet told to shut down.
struct RegisteredNode {
  std::string node_id;
  bool busy = false;  // holds a lease
  int64_t idle_since_ms = 0;
};

struct TargetScaling {
  core::ComputeTarget target;
  std::vector<SweepDemand> sweeps;        // its running sweeps, oldest first
  std::vector<RegisteredNode> nodes;      // by node id (the order idle nodes are shut down in)
  std::optional<int64_t> live_nodes;      // what its provider runs; nullopt without a provider
  int64_t last_desired = 0;               // the previous plan's desired count
  int64_t remote_started = 0;             // remotevm: workers started for its running sweeps
  std::optional<int64_t> retry_after_ms;  // no start before this, after a failed start
  std::string last_start_error;           // the latest failed start since a node registered
};

struct ScalingInput {
  int64_t now_ms = 0;
  std::vector<TargetScaling> targets;  // other types than amlcompute / remotevm are skipped
};

// Start `count` nodes of `target` (its provider now runs `live`).
struct NodeStart {
  core::ComputeTarget target;
  int64_t count = 0;
  int64_t live = 0;
  int64_t desired = 0;
  std::string sweep_id;  // the sweep the event belongs to ("" when none runs)
  std::string reason;    // why these nodes are wanted, for the event
  bool restart = false;  // remotevm: replaces workers that exited while a sweep runs
};

struct TargetPlan {
  std::string compute;
  int64_t desired = 0;
  // remotevm without a running sweep: the next start is a scale-up, not a restart.
  bool forget_started = false;
};

// A sweep that waited for a node longer than it may: end it `failed` with `reason`.
struct NodeWaitTimeout {
  std::string sweep_id;
  std::string reason;  // "no node of compute 'c' registered for 600 s: ..."
};

struct ScalingPlan {
  std::vector<TargetPlan> targets;     // one per amlcompute / remotevm target
  std::vector<std::string> shut_down;  // idle nodes to tell to shut down
  std::vector<core::Event> events;     // scale_target and scale_down, at input.now_ms
  std::vector<NodeStart> starts;
  // Every running sweep of those targets: since when it waits for a node (nullopt: it
  // does not), for the next plan's SweepDemand::waiting_since_ms.
  std::vector<std::pair<std::string, std::optional<int64_t>>> waiting;
  std::vector<NodeWaitTimeout> timeouts;
};

ScalingPlan PlanScaling(const ScalingInput& input);

// The event recording a NodeStart: `started` nodes came up, then `error` stopped it ("" when
// all came up): scale_up, node_restarted or scale_up_failed.
core::Event StartEvent(const NodeStart& start, int64_t started, const std::string& error,
                       int64_t now_ms);

// ---------------------------------------------------------------------------
// Applying plans.

// Thread safety: none; requires ControllerImpl's mu_, except StartNodes, which must run
// without it (it forks, or dials SSH). Ownership: shares the providers it is given.
class Autoscaler {
 public:
  // A NodeStart with the provider to run it, and what running it did.
  struct Start {
    NodeStart plan;
    std::shared_ptr<compute::NodeProvider> provider;
    int64_t started = 0;     // nodes that came up
    std::string error = {};  // why the next one did not; "" when all did
  };

  void SetProvider(const std::string& name, std::shared_ptr<compute::NodeProvider> provider);
  std::vector<std::shared_ptr<compute::NodeProvider>> Providers() const;
  // The targets as stored now (re-read every tick: other processes create them).
  void SetTargets(std::vector<core::ComputeTarget> targets);
  // One target was stored (`target` set) or deleted (null), e.g. by an admin call.
  void UpdateTarget(const std::string& name, const core::ComputeTarget* target);

  // Plans from `state` (asks each provider for its live nodes), records the plan's events
  // and shutdowns in `txn` and `state`, and returns the starts to run. Sweeps that waited
  // too long for a node are added to `timeouts`, for the caller to end.
  std::vector<Start> Plan(Txn& txn, State& state, int64_t now,
                          std::vector<NodeWaitTimeout>* timeouts = nullptr);
  // Runs the starts (filling started and error) and returns their events. Call without
  // mu_: touches nothing but `starts`.
  static std::vector<core::Event> StartNodes(std::vector<Start>& starts, const core::Clock& clock);
  // What StartNodes did, as of `now`: remotevm start counts, back-off after a failure.
  void Record(const std::vector<Start>& starts, int64_t now);

  // NotFound for a target not known (as of the last SetTargets).
  absl::StatusOr<ComputeStatus> Status(const std::string& compute, const State& state) const;

  // How long a sweep whose spec does not say may wait for a node (0 = for ever).
  void SetNodeWaitTimeout(int64_t ms) { default_node_wait_ms_ = ms; }

 private:
  std::map<std::string, std::shared_ptr<compute::NodeProvider>> providers_;
  std::map<std::string, core::ComputeTarget> targets_;
  std::map<std::string, int64_t> desired_;  // compute -> desired nodes at the last plan
  // remotevm target -> workers started for its running sweeps; once that reaches the
  // target's count, further starts replace workers that exited.
  std::map<std::string, int64_t> remote_started_;
  std::map<std::string, int64_t> retry_after_ms_;    // target -> no start before this
  std::map<std::string, std::string> last_error_;    // target -> its latest failed start
  std::map<std::string, int64_t> waiting_since_ms_;  // sweep -> waiting for a node since
  int64_t default_node_wait_ms_ = 0;
};

}  // namespace sweep::controller

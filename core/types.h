// Domain records shared by the store, controller, CLI and worker.
// Plain value types; no invariants beyond those stated per field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/search_space.h"

namespace sweep::core {

enum class Goal { kMaximize, kMinimize };
const char* GoalName(Goal goal);  // "maximize" / "minimize"

// True when a is strictly better than b under the goal.
inline bool Better(Goal goal, double a, double b) {
  return goal == Goal::kMaximize ? a > b : a < b;
}

enum class Aggregation { kLast, kBest };

struct Objective {
  std::string primary_metric;
  Goal goal = Goal::kMaximize;
  Aggregation aggregation = Aggregation::kLast;
};

enum class SweepState { kRunning, kCompleted, kFailed, kCanceled };
enum class TrialState { kPending, kRunning, kCompleted, kFailed, kEarlyTerminated, kCanceled };
// kInterrupted: lost to the controller's own restart (its lease ran out while no controller
// was up, or was inherited by a restarted controller and never renewed); not charged to
// max_retries.
enum class AttemptState {
  kLeased,
  kRunning,
  kSucceeded,
  kFailed,
  kLost,
  kPreempted,
  kStopped,
  kInterrupted
};

const char* SweepStateName(SweepState s);      // "running", "completed", ...
const char* TrialStateName(TrialState s);      // "pending", ..., "early_terminated"
const char* AttemptStateName(AttemptState s);  // "leased", ..., "preempted"
std::optional<SweepState> ParseSweepState(const std::string& s);
std::optional<TrialState> ParseTrialState(const std::string& s);
std::optional<AttemptState> ParseAttemptState(const std::string& s);

bool IsTerminal(SweepState s);
bool IsTerminal(TrialState s);
bool IsTerminal(AttemptState s);

// A persistent compute target.
struct ComputeTarget {
  std::string name;
  std::string type = "amlcompute";  // amlcompute | remotevm
  std::string provider = "local";   // amlcompute: local | slurm
  int64_t min_nodes = 0;
  int64_t max_nodes = 1;
  std::string vm_size;
  std::string vm_priority = "dedicated";  // dedicated | lowpriority
  int64_t idle_seconds_before_scaledown = 120;
  std::string properties_json = "{}";  // provider-specific settings
  int64_t created_ms = 0;
};

struct Sweep {
  std::string id;         // "sw-" + 12 hex chars
  std::string name;       // display name (spec display_name or the spec file stem)
  std::string spec_yaml;  // the spec as submitted
  std::string spec_path;  // absolute path of the spec file when submitted
  std::string compute;
  // Copied from the spec so queries need not re-parse it.
  core::Objective objective;
  std::string sampling_algorithm;  // "random", "grid", "bayesian", "tpe", "sobol"
  int64_t max_total_trials = 0;
  SweepState state = SweepState::kRunning;
  std::string status_message;  // why it ended, when it did
  int64_t created_ms = 0;
  int64_t ended_ms = 0;  // 0 while running
  // SHA-256 naming the snapshot of trial.code (controller/snapshot_store.h); "" when the
  // spec has no code directory.
  std::string snapshot_digest;
  // The environment trial.environment resolved to at submission, "NAME@VERSION"; "" for
  // the node's own. Fixed for the sweep's life, so @latest cannot change under it.
  std::string environment;
  // `sweep extend`: how many extensions the sweep had, when the latest began (its
  // timeout counts from then), and the limits it set (0: the spec's).
  int64_t extension = 0;
  int64_t extended_ms = 0;
  int64_t max_concurrent_trials = 0;
  int64_t timeout_s = 0;
  // Sweeps whose finished trials warm-start this one (spec warm_start.sweeps and
  // `sweep run --warm-start`), in order.
  std::vector<std::string> warm_start;
};

struct Trial {
  std::string sweep_id;
  int64_t trial_id = 0;  // 1, 2, ... in creation order within the sweep
  Config config;
  TrialState state = TrialState::kPending;
  std::optional<double> final_value;  // the objective's value, once known
  int64_t intervals = 0;              // reports of the primary metric so far
  int32_t attempts = 0;               // attempts started
  int32_t retries = 0;                // lost attempts counted against max_retries
  std::string reason;                 // failure / stop reason
  int64_t created_ms = 0;
  int64_t started_ms = 0;
  int64_t ended_ms = 0;
  // Where the configuration came from: "sampled" (the sweep's sampler), "enqueued"
  // (spec initial_points or `sweep enqueue`), or "extension N" (sampled during the Nth
  // `sweep extend`).
  std::string origin = "sampled";
};

// How many trials are in each state (summaries, the live view, the report).
struct TrialCounts {
  int64_t total = 0, pending = 0, running = 0, completed = 0, failed = 0, early_terminated = 0,
          canceled = 0;
};
TrialCounts CountTrials(const std::vector<Trial>& trials);

struct Attempt {
  std::string sweep_id;
  int64_t trial_id = 0;
  int32_t attempt = 0;  // 1, 2, ... within the trial
  std::string node_id;
  uint64_t fencing_token = 0;
  AttemptState state = AttemptState::kLeased;
  int64_t started_ms = 0;
  int64_t expires_ms = 0;
  int64_t ended_ms = 0;
  int32_t exit_code = 0;
  std::string error;
};

struct MetricPoint {
  std::string sweep_id;
  int64_t trial_id = 0;
  int32_t attempt = 0;
  std::string name;
  double value = 0;
  int64_t step = -1;     // as reported by the trial; -1 when absent
  int64_t interval = 0;  // 1-based index among the primary metric's reports; 0 otherwise
  int64_t timestamp_ms = 0;
  // On the wire from a worker only (not stored): the point's number within its attempt,
  // 1, 2, 3... in the order the trial printed them; 0 when not numbered. The controller
  // stores each numbered point once, however often a report is re-sent.
  int64_t seq = 0;
};

// Something that happened, for `sweep show` and auditing.
struct Event {
  int64_t id = 0;  // assigned by the store
  std::string sweep_id;
  int64_t trial_id = 0;  // 0 when about the sweep
  std::string kind;      // e.g. "trial_started", "attempt_lost", "sweep_completed"
  std::string message;
  int64_t timestamp_ms = 0;
};

// One early-termination evaluation of one trial at one interval.
struct Decision {
  std::string sweep_id;
  int64_t trial_id = 0;
  int64_t interval = 0;
  std::string policy;    // bandit | median_stopping | truncation_selection | asha
  double value = 0;      // the trial's value used in the comparison
  double reference = 0;  // best / median / cutoff the policy compared against
  double threshold = 0;  // the value the trial had to reach
  bool stop = false;
  std::string explanation;  // plain words
  int64_t timestamp_ms = 0;
};

struct Node {
  std::string node_id;
  std::string compute;
  std::string hostname;
  int64_t pid = 0;
  std::string state = "idle";  // idle | busy | gone
  int64_t registered_ms = 0;
  int64_t last_seen_ms = 0;
};

// One file of an environment's definition (e.g. requirements.txt), stored with it.
struct EnvironmentFile {
  std::string name;     // a plain file name, no directories
  std::string content;  // bytes
};

// A named, versioned workspace environment (`sweep environment create`). Versions are
// 1, 2, ... per name; a version never changes once stored.
struct Environment {
  std::string name;
  int64_t version = 0;
  std::string kind = "user_managed";   // user_managed | system_managed
  std::string python;                  // user_managed: interpreter put first on PATH; "" none
  std::string setup_command;           // system_managed: run by /bin/sh -c to build it
  std::vector<EnvironmentFile> files;  // system_managed: sorted by name
  std::string digest;                  // SHA-256 of the definition (kind, python, setup, files)
  int64_t created_ms = 0;
};

// A registered model version: a trial's stored files plus its metric and lineage.
struct Model {
  std::string name;
  int64_t version = 0;  // 1, 2, ... per name
  std::string sweep_id;
  int64_t trial_id = 0;
  int32_t attempt = 0;  // the attempt whose artifacts were registered
  std::string primary_metric;
  Goal goal = Goal::kMaximize;
  std::optional<double> metric_value;                     // the trial's final value
  std::string params_json = "{}";                         // the trial's configuration
  std::vector<std::pair<std::string, std::string>> tags;  // in the order given
  std::string manifest_digest;                            // SHA-256 of the stored manifest.json
  int64_t total_bytes = 0;
  int64_t created_ms = 0;
};

}  // namespace sweep::core

// Warm start: the finished trials of earlier sweeps of the workspace that a new sweep's
// sampler learns from (spec `warm_start: {sweeps: [...]}`, `sweep run --warm-start`).
// They join the sampler's history ahead of the sweep's own trials and count against none
// of its limits.
//
// A trial is used when it finished with a value (completed, or stopped early after
// reporting) and its configuration fits the new space: every parameter it has exists
// there with the same kind (nested ones included), its values lie inside the new space
// and it holds every parameter active there (spec/points.h CheckPoint). The rest are
// skipped, each with its reason.
//
// Thread safety: free functions; the store must be usable from the calling thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/search_space.h"
#include "core/types.h"
#include "spec/spec.h"
#include "store/store.h"

namespace sweep::workspace {

struct WarmTrial {
  std::string sweep_id;
  int64_t trial_id = 0;
  core::Config config;  // canonical for the new space
  core::TrialState state = core::TrialState::kCompleted;
  double value = 0;
  int64_t intervals = 0;
};

struct WarmSkip {
  std::string sweep_id;
  int64_t trial_id = 0;
  std::string reason;
};

struct WarmStart {
  std::vector<std::string> sweep_ids;  // full ids, in the order given
  std::vector<WarmTrial> used;         // by sweep, then trial number
  std::vector<WarmSkip> skipped;
};

// The sweep `id_or_prefix` names: an exact id, else the one sweep whose id starts with it.
// NotFound "no sweep 'X' in this workspace (...)"; InvalidArgument for an empty or
// ambiguous prefix (naming two matches).
absl::StatusOr<core::Sweep> FindSweep(store::Store* store, const std::string& id_or_prefix);

// Collects the warm-start trials of `sweep_ids` (full ids or unique prefixes) for a sweep
// of `spec`. Trials that ended after `ended_by_ms` are left out silently (a resumed or
// extended sweep sees the same trials it saw when it was submitted); nullopt: all.
// NotFound "no sweep 'X'" (or InvalidArgument for an ambiguous prefix or a sweep listed
// twice); InvalidArgument when a sweep's objective (metric or goal) differs from the
// spec's, naming both. Store errors are passed through.
absl::StatusOr<WarmStart> CollectWarmStart(store::Store* store, const spec::SweepSpec& spec,
                                           const std::vector<std::string>& sweep_ids,
                                           std::optional<int64_t> ended_by_ms);

// Why `config` (a trial of a sweep over `old_space`) cannot join a sweep over
// `new_space`, or nullopt when it can; *canonical gets the config as the new space types it.
std::optional<std::string> WarmStartMismatch(const core::SearchSpace& old_space,
                                             const core::SearchSpace& new_space,
                                             const core::Config& config, core::Config* canonical);

// One line for an event: "used 12 of 15 trials of sw-..; skipped: sw-..#3 (reason); ...",
// the skips capped at `max_skips` (then a count).
std::string DescribeWarmStart(const WarmStart& warm, size_t max_skips = 20);

}  // namespace sweep::workspace

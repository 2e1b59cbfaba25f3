#include "workspace/warm_start.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/status.h"
#include "spec/points.h"

namespace sweep::workspace {
namespace {

// Every parameter of a space by name, nested ones included.
void Flatten(const std::vector<core::ParamSpec>& params,
             std::map<std::string, const core::ParamSpec*>& out) {
  for (const core::ParamSpec& p : params) {
    out[p.name] = &p;
    for (const core::ChoiceOption& o : p.options) Flatten(o.subspace, out);
  }
}

// The option of choice `p` whose value is `v`, if any.
const core::ChoiceOption* OptionOf(const core::ParamSpec& p, const core::ParamValue& v) {
  for (const core::ChoiceOption& o : p.options) {
    if (o.value == v) return &o;
  }
  return nullptr;
}

std::string Objective(const core::Objective& o) {
  return absl::StrCat(o.primary_metric, " (", core::GoalName(o.goal), ")");
}

// The spec a stored sweep was submitted with (its search space is what its trials mean).
absl::StatusOr<spec::SweepSpec> StoredSpec(const core::Sweep& sweep) {
  const std::string base_dir = sweep.spec_path.empty()
                                   ? std::string()
                                   : std::filesystem::path(sweep.spec_path).parent_path().string();
  return spec::ParseSpec(sweep.spec_yaml, sweep.spec_path, base_dir);
}

// The trials of `sweep` that warm-start a sweep of `spec`, into `out`.
absl::Status CollectFrom(store::Store* store, const spec::SweepSpec& spec, const core::Sweep& sweep,
                         std::optional<int64_t> ended_by_ms, WarmStart& out) {
  ASSIGN_OR_RETURN(std::vector<core::Trial> trials, store->ListTrials(sweep.id));
  absl::StatusOr<spec::SweepSpec> old_spec = StoredSpec(sweep);
  for (const core::Trial& t : trials) {
    if (!core::IsTerminal(t.state)) continue;  // not finished (yet): nothing to learn
    if (ended_by_ms && t.ended_ms > *ended_by_ms) continue;
    auto skip = [&](std::string reason) {
      out.skipped.push_back({sweep.id, t.trial_id, std::move(reason)});
    };
    const bool valued = t.final_value && std::isfinite(*t.final_value);
    if (t.state != core::TrialState::kCompleted &&
        !(t.state == core::TrialState::kEarlyTerminated && valued)) {
      skip(absl::StrCat(core::TrialStateName(t.state), " without a value"));
      continue;
    }
    if (!valued) {
      skip("no finite value of " + spec.objective.primary_metric);
      continue;
    }
    if (!old_spec.ok()) {
      skip(absl::StrCat("its sweep's spec no longer parses: ", old_spec.status().message()));
      continue;
    }
    core::Config canonical;
    if (std::optional<std::string> why =
            WarmStartMismatch(old_spec->search_space, spec.search_space, t.config, &canonical)) {
      skip(*why);
      continue;
    }
    out.used.push_back(
        {sweep.id, t.trial_id, std::move(canonical), t.state, *t.final_value, t.intervals});
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<core::Sweep> FindSweep(store::Store* store, const std::string& id_or_prefix) {
  if (id_or_prefix.empty()) return absl::InvalidArgumentError("a sweep id is required");
  absl::StatusOr<core::Sweep> exact = store->GetSweep(id_or_prefix);
  if (exact.ok() || !absl::IsNotFound(exact.status())) return exact;
  ASSIGN_OR_RETURN(std::vector<core::Sweep> sweeps, store->ListSweeps());
  std::optional<core::Sweep> match;
  for (const core::Sweep& s : sweeps) {
    if (s.id.rfind(id_or_prefix, 0) != 0) continue;
    if (match) {
      return absl::InvalidArgumentError("sweep id '" + id_or_prefix +
                                        "' is ambiguous: it matches " + match->id + " and " + s.id);
    }
    match = s;
  }
  if (!match) {
    return absl::NotFoundError("no sweep '" + id_or_prefix +
                               "' in this workspace (`sweep ls` lists them)");
  }
  return *match;
}

std::optional<std::string> WarmStartMismatch(const core::SearchSpace& old_space,
                                             const core::SearchSpace& new_space,
                                             const core::Config& config, core::Config* canonical) {
  std::map<std::string, const core::ParamSpec*> was, now;
  Flatten(old_space.params, was);
  Flatten(new_space.params, now);
  for (const auto& [name, value] : config) {
    auto n = now.find(name);
    if (n == now.end()) return absl::StrCat("parameter '", name, "' is not in the new space");
    auto w = was.find(name);
    if (w != was.end() && w->second->kind != n->second->kind) {
      return absl::StrCat("parameter '", name, "' was ", core::ParamKindName(w->second->kind),
                          ", is ", core::ParamKindName(n->second->kind), " in the new space");
    }
    // A nested choice holds its option's index: the option must be a nested space in both.
    if (w != was.end() && n->second->kind == core::ParamKind::kChoice) {
      const core::ChoiceOption* before = OptionOf(*w->second, value);
      const core::ChoiceOption* after = OptionOf(*n->second, value);
      if (before != nullptr && after != nullptr && before->is_subspace != after->is_subspace) {
        return absl::StrCat("parameter '", name, "': option ", core::ParamValueToString(value),
                            before->is_subspace ? " was a nested space, is a value now"
                                                : " was a value, is a nested space now");
      }
    }
  }
  absl::StatusOr<core::Config> checked = spec::CheckPoint(new_space, config);
  if (!checked.ok()) return std::string(checked.status().message());
  if (canonical != nullptr) *canonical = std::move(*checked);
  return std::nullopt;
}

absl::StatusOr<WarmStart> CollectWarmStart(store::Store* store, const spec::SweepSpec& spec,
                                           const std::vector<std::string>& sweep_ids,
                                           std::optional<int64_t> ended_by_ms) {
  WarmStart warm;
  for (const std::string& given : sweep_ids) {
    ASSIGN_OR_RETURN(core::Sweep sweep, FindSweep(store, given));
    if (std::find(warm.sweep_ids.begin(), warm.sweep_ids.end(), sweep.id) != warm.sweep_ids.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("warm start: sweep ", sweep.id, " is listed twice"));
    }
    if (sweep.objective.primary_metric != spec.objective.primary_metric ||
        sweep.objective.goal != spec.objective.goal) {
      return absl::InvalidArgumentError(absl::StrCat(
          "warm start: sweep ", sweep.id, " optimizes ", Objective(sweep.objective),
          " but this spec optimizes ", Objective(spec.objective),
          "; only sweeps with the same objective (metric and goal) can warm-start it"));
    }
    warm.sweep_ids.push_back(sweep.id);
    RETURN_IF_ERROR(CollectFrom(store, spec, sweep, ended_by_ms, warm));
  }
  return warm;
}

std::string DescribeWarmStart(const WarmStart& warm, size_t max_skips) {
  std::string out = absl::StrCat(
      "warm start from ", absl::StrJoin(warm.sweep_ids, ", "), ": using ", warm.used.size(), " of ",
      warm.used.size() + warm.skipped.size(), " finished trials as history");
  if (warm.skipped.empty()) return out;
  absl::StrAppend(&out, "; skipped:");
  for (size_t i = 0; i < warm.skipped.size() && i < max_skips; ++i) {
    const WarmSkip& k = warm.skipped[i];
    absl::StrAppend(&out, i == 0 ? " " : "; ", k.sweep_id, " trial ", k.trial_id, " (", k.reason,
                    ")");
  }
  if (warm.skipped.size() > max_skips) {
    absl::StrAppend(&out, "; and ", warm.skipped.size() - max_skips, " more");
  }
  return out;
}

}  // namespace sweep::workspace

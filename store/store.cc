#include "store/store.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <unordered_set>
#include <utility>

#include "absl/strings/cord.h"
#include "core/status.h"

namespace sweep::store {
namespace {

template <typename T>
void MoveAppend(std::vector<T>& to, std::vector<T>& from) {
  if (to.empty()) {
    to = std::move(from);
    return;
  }
  to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
}

}  // namespace

absl::Status CheckTrialQuery(const TrialQuery& query) {
  if (query.limit < 0) {
    return absl::InvalidArgumentError("QueryTrials: the limit must not be negative");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<core::Trial>> Store::QueryTrials(const std::string& sweep_id,
                                                            const TrialQuery& query) {
  RETURN_IF_ERROR(CheckTrialQuery(query));
  ASSIGN_OR_RETURN(std::vector<core::Trial> trials, ListTrials(sweep_id));
  if (query.state) {
    std::erase_if(trials, [&](const core::Trial& t) { return t.state != *query.state; });
  }
  if (query.order != TrialQuery::Order::kTrialId) {
    const bool descending = query.order == TrialQuery::Order::kValueDescending;
    auto keyed = [](const core::Trial& t) {
      return t.final_value && std::isfinite(*t.final_value);
    };
    // Stable: equal keys, and trials without one, stay in trial_id order.
    std::stable_sort(trials.begin(), trials.end(), [&](const core::Trial& a, const core::Trial& b) {
      if (!keyed(a) || !keyed(b)) return keyed(a) && !keyed(b);
      return descending ? *a.final_value > *b.final_value : *a.final_value < *b.final_value;
    });
  }
  if (query.limit > 0 && static_cast<int64_t>(trials.size()) > query.limit) {
    trials.resize(query.limit);
  }
  return trials;
}

namespace {
constexpr char kBusyPayload[] = "type.sweep/store.busy";
}  // namespace

bool IsBusy(const absl::Status& status) {
  return !status.ok() && status.GetPayload(kBusyPayload).has_value();
}

absl::Status MarkBusy(absl::Status status) {
  if (!status.ok()) status.SetPayload(kBusyPayload, absl::Cord("1"));
  return status;
}

bool WriteBatch::empty() const {
  return computes.empty() && deleted_computes.empty() && sweeps.empty() && trials.empty() &&
         attempts.empty() && metrics.empty() && events.empty() && decisions.empty() &&
         nodes.empty() && environments.empty() && models.empty();
}

void WriteBatch::Append(WriteBatch&& other) {
  // A batch applies compute upserts before compute deletions. Keep that equal to "in
  // order of the appends": a later deletion drops earlier upserts of the name, a later
  // upsert cancels an earlier deletion.
  if (!other.deleted_computes.empty() && !computes.empty()) {
    const std::unordered_set<std::string> deleted(other.deleted_computes.begin(),
                                                  other.deleted_computes.end());
    std::erase_if(computes, [&](const core::ComputeTarget& c) { return deleted.contains(c.name); });
  }
  if (!other.computes.empty() && !deleted_computes.empty()) {
    std::unordered_set<std::string> upserted;
    for (const core::ComputeTarget& c : other.computes) upserted.insert(c.name);
    std::erase_if(deleted_computes, [&](const std::string& n) { return upserted.contains(n); });
  }
  MoveAppend(computes, other.computes);
  MoveAppend(deleted_computes, other.deleted_computes);
  MoveAppend(sweeps, other.sweeps);
  MoveAppend(trials, other.trials);
  MoveAppend(attempts, other.attempts);
  MoveAppend(metrics, other.metrics);
  MoveAppend(events, other.events);
  MoveAppend(decisions, other.decisions);
  MoveAppend(nodes, other.nodes);
  MoveAppend(environments, other.environments);
  MoveAppend(models, other.models);
  other = WriteBatch();
}

}  // namespace sweep::store

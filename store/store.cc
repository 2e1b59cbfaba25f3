#include "store/store.h"

#include <algorithm>
#include <iterator>
#include <unordered_set>
#include <utility>

#include "absl/strings/cord.h"

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

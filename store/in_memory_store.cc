// InMemoryStore: the Store contract on std::maps behind one mutex, for tests and for
// runs that need no persistence. Same checks, errors and orderings as SqliteStore
// (tests/unit/store runs one conformance suite against both).
#include <algorithm>
#include <cstdint>
#include <iterator>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "store/batch_checks.h"
#include "store/store.h"

namespace sweep::store {
namespace {

using TrialKey = std::pair<std::string, int64_t>;
using AttemptKey = std::tuple<std::string, int64_t, int32_t>;
using VersionKey = std::pair<std::string, int64_t>;  // (name, version)

class InMemoryStore final : public Store {
 public:
  absl::Status Commit(const WriteBatch& batch) override {
    if (absl::Status status = internal::ValidateBatch(batch); !status.ok()) return status;
    if (batch.empty()) return absl::OkStatus();
    std::lock_guard<std::mutex> lock(mu_);
    // Check everything first, so a refused batch changes nothing. Records are applied
    // sweeps before trials before their children, so a parent anywhere in the batch
    // counts, as it does in SqliteStore.
    std::set<std::string> new_sweeps;
    for (const core::Sweep& sweep : batch.sweeps) new_sweeps.insert(sweep.id);
    std::set<TrialKey> new_trials;
    for (const core::Trial& trial : batch.trials) {
      if (!sweeps_.contains(trial.sweep_id) && !new_sweeps.contains(trial.sweep_id)) {
        return internal::TrialWithoutSweep(trial);
      }
      new_trials.emplace(trial.sweep_id, trial.trial_id);
    }
    auto trial_exists = [&](const std::string& sweep_id, int64_t trial_id) {
      TrialKey key(sweep_id, trial_id);
      return trials_.contains(key) || new_trials.contains(key);
    };
    for (const core::Attempt& attempt : batch.attempts) {
      if (!trial_exists(attempt.sweep_id, attempt.trial_id)) {
        return internal::AttemptWithoutTrial(attempt);
      }
    }
    for (const core::MetricPoint& metric : batch.metrics) {
      if (!trial_exists(metric.sweep_id, metric.trial_id)) {
        return internal::MetricWithoutTrial(metric);
      }
    }
    for (const core::Decision& decision : batch.decisions) {
      if (!trial_exists(decision.sweep_id, decision.trial_id)) {
        return internal::DecisionWithoutTrial(decision);
      }
    }
    for (const core::Environment& environment : batch.environments) {
      if (environments_.contains(VersionKey(environment.name, environment.version))) {
        return internal::EnvironmentExists(environment);
      }
    }
    for (const core::Model& model : batch.models) {
      if (!trial_exists(model.sweep_id, model.trial_id)) return internal::ModelWithoutTrial(model);
      if (models_.contains(VersionKey(model.name, model.version))) {
        return internal::ModelExists(model);
      }
    }

    for (const core::ComputeTarget& compute : batch.computes) computes_[compute.name] = compute;
    for (const std::string& name : batch.deleted_computes) computes_.erase(name);
    for (const core::Sweep& sweep : batch.sweeps) {
      auto [it, inserted] = sweeps_.try_emplace(sweep.id);
      if (inserted) it->second.first = next_sweep_seq_++;
      it->second.second = sweep;
    }
    for (const core::Trial& trial : batch.trials) {
      trials_[TrialKey(trial.sweep_id, trial.trial_id)] = trial;
    }
    for (const core::Attempt& attempt : batch.attempts) {
      attempts_[AttemptKey(attempt.sweep_id, attempt.trial_id, attempt.attempt)] = attempt;
      max_fencing_token_ = std::max(max_fencing_token_, attempt.fencing_token);
    }
    for (const core::MetricPoint& metric : batch.metrics) {
      metrics_[metric.sweep_id].push_back(metric);
    }
    for (const core::Event& event : batch.events) {
      core::Event& stored = events_[event.sweep_id].emplace_back(event);
      stored.id = next_event_id_++;
    }
    for (const core::Decision& decision : batch.decisions) {
      decisions_[decision.sweep_id].push_back(decision);
    }
    for (const core::Node& node : batch.nodes) nodes_[node.node_id] = node;
    for (const core::Environment& e : batch.environments) {
      environments_[VersionKey(e.name, e.version)] = e;
    }
    for (const core::Model& m : batch.models) models_[VersionKey(m.name, m.version)] = m;
    return absl::OkStatus();
  }

  absl::StatusOr<core::ComputeTarget> GetCompute(const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = computes_.find(name);
    if (it == computes_.end()) return internal::ComputeNotFound(name);
    return it->second;
  }

  absl::StatusOr<std::vector<core::ComputeTarget>> ListComputes() override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<core::ComputeTarget> out;
    out.reserve(computes_.size());
    for (const auto& [name, compute] : computes_) out.push_back(compute);
    return out;
  }

  absl::StatusOr<core::Sweep> GetSweep(const std::string& id) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sweeps_.find(id);
    if (it == sweeps_.end()) return internal::SweepNotFound(id);
    return it->second.second;
  }

  absl::StatusOr<std::vector<core::Sweep>> ListSweeps() override {
    std::vector<const std::pair<int64_t, core::Sweep>*> sorted;
    std::lock_guard<std::mutex> lock(mu_);
    sorted.reserve(sweeps_.size());
    for (const auto& [id, entry] : sweeps_) sorted.push_back(&entry);
    // Newest first; among equal creation times, the later first-inserted first.
    std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) {
      return std::tie(b->second.created_ms, b->first) < std::tie(a->second.created_ms, a->first);
    });
    std::vector<core::Sweep> out;
    out.reserve(sorted.size());
    for (const auto* entry : sorted) out.push_back(entry->second);
    return out;
  }

  absl::StatusOr<core::Trial> GetTrial(const std::string& sweep_id, int64_t trial_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = trials_.find(TrialKey(sweep_id, trial_id));
    if (it == trials_.end()) return internal::TrialNotFound(sweep_id, trial_id);
    return it->second;
  }

  absl::StatusOr<std::vector<core::Trial>> ListTrials(const std::string& sweep_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<core::Trial> out;
    for (auto it = trials_.lower_bound(TrialKey(sweep_id, INT64_MIN));
         it != trials_.end() && it->first.first == sweep_id; ++it) {
      out.push_back(it->second);
    }
    return out;
  }

  absl::StatusOr<std::vector<core::Attempt>> ListAttempts(
      const std::string& sweep_id, std::optional<int64_t> trial_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<core::Attempt> out;
    for (auto it =
             attempts_.lower_bound(AttemptKey(sweep_id, trial_id.value_or(INT64_MIN), INT32_MIN));
         it != attempts_.end() && std::get<0>(it->first) == sweep_id &&
         (!trial_id || std::get<1>(it->first) == *trial_id);
         ++it) {
      out.push_back(it->second);
    }
    return out;
  }

  absl::StatusOr<std::vector<core::MetricPoint>> ListMetrics(const MetricFilter& filter) override {
    if (absl::Status status = internal::ValidateMetricFilter(filter); !status.ok()) return status;
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<core::MetricPoint> out;
    auto it = metrics_.find(filter.sweep_id);
    if (it == metrics_.end()) return out;
    for (const core::MetricPoint& metric : it->second) {
      if (filter.trial_id && metric.trial_id != *filter.trial_id) continue;
      if (filter.name && metric.name != *filter.name) continue;
      out.push_back(metric);
    }
    // Stored in insertion order, so a stable sort gives (trial_id, timestamp, insertion).
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
      return std::tie(a.trial_id, a.timestamp_ms) < std::tie(b.trial_id, b.timestamp_ms);
    });
    return out;
  }

  absl::StatusOr<std::vector<core::Event>> ListEvents(const std::string& sweep_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = events_.find(sweep_id);
    if (it == events_.end()) return std::vector<core::Event>();
    return it->second;  // appended with increasing ids
  }

  absl::StatusOr<std::vector<core::Decision>> ListDecisions(
      const std::string& sweep_id, std::optional<int64_t> trial_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<core::Decision> out;
    auto it = decisions_.find(sweep_id);
    if (it == decisions_.end()) return out;
    for (const core::Decision& decision : it->second) {
      if (!trial_id || decision.trial_id == *trial_id) out.push_back(decision);
    }
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
      return std::tie(a.trial_id, a.interval) < std::tie(b.trial_id, b.interval);
    });
    return out;
  }

  absl::StatusOr<std::vector<core::Node>> ListNodes() override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<core::Node> out;
    out.reserve(nodes_.size());
    for (const auto& [id, node] : nodes_) out.push_back(node);
    return out;
  }

  absl::StatusOr<core::Environment> GetEnvironment(const std::string& name,
                                                   std::optional<int64_t> version) override {
    std::lock_guard<std::mutex> lock(mu_);
    return Lookup(environments_, name, version, internal::EnvironmentNotFound);
  }

  absl::StatusOr<std::vector<core::Environment>> ListEnvironments() override {
    std::lock_guard<std::mutex> lock(mu_);
    return Values(environments_);
  }

  absl::StatusOr<core::Model> GetModel(const std::string& name,
                                       std::optional<int64_t> version) override {
    std::lock_guard<std::mutex> lock(mu_);
    return Lookup(models_, name, version, internal::ModelNotFound);
  }

  absl::StatusOr<std::vector<core::Model>> ListModels() override {
    std::lock_guard<std::mutex> lock(mu_);
    return Values(models_);
  }

  absl::StatusOr<uint64_t> MaxFencingToken() override {
    std::lock_guard<std::mutex> lock(mu_);
    return max_fencing_token_;
  }

 private:
  // The given version, or the newest one of `name` when nullopt.
  template <typename T>
  static absl::StatusOr<T> Lookup(const std::map<VersionKey, T>& map, const std::string& name,
                                  std::optional<int64_t> version,
                                  absl::Status (*not_found)(const std::string&,
                                                            std::optional<int64_t>)) {
    if (version) {
      auto it = map.find(VersionKey(name, *version));
      if (it == map.end()) return not_found(name, version);
      return it->second;
    }
    auto it = map.upper_bound(VersionKey(name, INT64_MAX));
    if (it == map.begin() || std::prev(it)->first.first != name) return not_found(name, version);
    return std::prev(it)->second;
  }

  template <typename T>
  static std::vector<T> Values(const std::map<VersionKey, T>& map) {
    std::vector<T> out;
    out.reserve(map.size());
    for (const auto& [key, value] : map) out.push_back(value);
    return out;
  }

  std::mutex mu_;
  std::map<std::string, core::ComputeTarget> computes_;
  // id -> (first-insertion sequence, sweep).
  std::map<std::string, std::pair<int64_t, core::Sweep>> sweeps_;
  int64_t next_sweep_seq_ = 1;
  std::map<TrialKey, core::Trial> trials_;
  std::map<AttemptKey, core::Attempt> attempts_;
  uint64_t max_fencing_token_ = 0;
  // Per sweep, in insertion order.
  std::map<std::string, std::vector<core::MetricPoint>> metrics_;
  std::map<std::string, std::vector<core::Event>> events_;
  int64_t next_event_id_ = 1;
  std::map<std::string, std::vector<core::Decision>> decisions_;
  std::map<std::string, core::Node> nodes_;
  std::map<VersionKey, core::Environment> environments_;
  std::map<VersionKey, core::Model> models_;
};

}  // namespace

std::unique_ptr<Store> NewInMemoryStore() { return std::make_unique<InMemoryStore>(); }

}  // namespace sweep::store

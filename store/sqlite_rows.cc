#include "store/sqlite_rows.h"

#include <algorithm>
#include <optional>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "core/search_space.h"
#include "nlohmann/json.hpp"

namespace sweep::store::sqlite_internal {
namespace {

template <typename State>
State ReadState(Row& row, std::optional<State> (*parse)(const std::string&), const char* what) {
  std::string text = row.Text();
  std::optional<State> state = parse(text);
  if (!state) {
    row.Fail(absl::StrFormat("unknown %s state '%s'", what, text));
    return State{};
  }
  return *state;
}

}  // namespace

core::ComputeTarget ReadCompute(Row& row) {
  core::ComputeTarget c;
  c.name = row.Text();
  c.type = row.Text();
  c.provider = row.Text();
  c.min_nodes = row.Int();
  c.max_nodes = row.Int();
  c.vm_size = row.Text();
  c.vm_priority = row.Text();
  c.idle_seconds_before_scaledown = row.Int();
  c.properties_json = row.Text();
  c.created_ms = row.Int();
  return c;
}

core::Sweep ReadSweep(Row& row) {
  core::Sweep s;
  s.id = row.Text();
  s.name = row.Text();
  s.spec_yaml = row.Text();
  s.spec_path = row.Text();
  s.compute = row.Text();
  s.state = ReadState<core::SweepState>(row, core::ParseSweepState, "sweep");
  s.status_message = row.Text();
  s.created_ms = row.Int();
  s.ended_ms = row.Int();
  s.objective.primary_metric = row.Text();
  s.objective.goal = row.Text() == "minimize" ? core::Goal::kMinimize : core::Goal::kMaximize;
  s.objective.aggregation =
      row.Text() == "best" ? core::Aggregation::kBest : core::Aggregation::kLast;
  s.sampling_algorithm = row.Text();
  s.max_total_trials = row.Int();
  s.snapshot_digest = row.Text();
  s.environment = row.Text();
  s.extension = row.Int();
  s.extended_ms = row.Int();
  s.max_concurrent_trials = row.Int();
  s.timeout_s = row.Int();
  const std::string warm_start_json = row.Text();
  nlohmann::json warm = nlohmann::json::parse(warm_start_json, nullptr, false);
  if (warm.is_array() && std::all_of(warm.begin(), warm.end(),
                                     [](const nlohmann::json& id) { return id.is_string(); })) {
    s.warm_start = warm.get<std::vector<std::string>>();
  } else {
    row.Fail(absl::StrFormat("warm_start '%s' is not a JSON array of sweep ids", warm_start_json));
  }
  return s;
}

core::Trial ReadTrial(Row& row) {
  core::Trial t;
  t.sweep_id = row.Text();
  t.trial_id = row.Int();
  const std::string config_json = row.Text();
  nlohmann::json json = nlohmann::json::parse(config_json, nullptr, /*allow_exceptions=*/false);
  std::optional<core::Config> config;
  if (!json.is_discarded()) config = core::ConfigFromJson(json);
  if (config) {
    t.config = std::move(*config);
  } else {
    row.Fail(absl::StrFormat("config '%s' is not a JSON object of parameter values", config_json));
  }
  t.state = ReadState<core::TrialState>(row, core::ParseTrialState, "trial");
  t.final_value = row.OptionalDouble();
  t.intervals = row.Int();
  t.attempts = row.Int32();
  t.retries = row.Int32();
  t.reason = row.Text();
  t.created_ms = row.Int();
  t.started_ms = row.Int();
  t.ended_ms = row.Int();
  t.origin = row.Text();
  return t;
}

core::Attempt ReadAttempt(Row& row) {
  core::Attempt a;
  a.sweep_id = row.Text();
  a.trial_id = row.Int();
  a.attempt = row.Int32();
  a.node_id = row.Text();
  a.fencing_token = static_cast<uint64_t>(row.Int());
  a.state = ReadState<core::AttemptState>(row, core::ParseAttemptState, "attempt");
  a.started_ms = row.Int();
  a.expires_ms = row.Int();
  a.ended_ms = row.Int();
  a.exit_code = row.Int32();
  a.error = row.Text();
  return a;
}

core::Event ReadEvent(Row& row) {
  core::Event e;
  e.id = row.Int();
  e.sweep_id = row.Text();
  e.trial_id = row.Int();
  e.kind = row.Text();
  e.message = row.Text();
  e.timestamp_ms = row.Int();
  return e;
}

core::Decision ReadDecision(Row& row) {
  core::Decision d;
  d.sweep_id = row.Text();
  d.trial_id = row.Int();
  d.interval = row.Int();
  d.policy = row.Text();
  d.value = row.Double();
  d.reference = row.Double();
  d.threshold = row.Double();
  d.stop = row.Int() != 0;
  d.explanation = row.Text();
  d.timestamp_ms = row.Int();
  return d;
}

core::Node ReadNode(Row& row) {
  core::Node n;
  n.node_id = row.Text();
  n.compute = row.Text();
  n.hostname = row.Text();
  n.pid = row.Int();
  n.state = row.Text();
  n.registered_ms = row.Int();
  n.last_seen_ms = row.Int();
  return n;
}

std::string FilesToJson(const std::vector<core::EnvironmentFile>& files) {
  nlohmann::json json = nlohmann::json::array();
  for (const core::EnvironmentFile& f : files) {
    json.push_back({{"name", f.name}, {"content_b64", absl::Base64Escape(f.content)}});
  }
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

core::Environment ReadEnvironment(Row& row) {
  core::Environment e;
  e.name = row.Text();
  e.version = row.Int();
  e.kind = row.Text();
  e.python = row.Text();
  e.setup_command = row.Text();
  const std::string files_json = row.Text();
  nlohmann::json json = nlohmann::json::parse(files_json, nullptr, /*allow_exceptions=*/false);
  bool ok = json.is_array();
  for (const nlohmann::json& f : ok ? json : nlohmann::json::array()) {
    core::EnvironmentFile file;
    ok = f.is_object() && f.value("name", nlohmann::json()).is_string() &&
         f.value("content_b64", nlohmann::json()).is_string() &&
         absl::Base64Unescape(f["content_b64"].get<std::string>(), &file.content);
    if (!ok) break;
    file.name = f["name"].get<std::string>();
    e.files.push_back(std::move(file));
  }
  if (!ok) row.Fail(absl::StrFormat("files '%s' are not a JSON array of files", files_json));
  e.digest = row.Text();
  e.created_ms = row.Int();
  return e;
}

core::Model ReadModel(Row& row) {
  core::Model m;
  m.name = row.Text();
  m.version = row.Int();
  m.sweep_id = row.Text();
  m.trial_id = row.Int();
  m.attempt = row.Int32();
  m.primary_metric = row.Text();
  m.goal = row.Text() == "minimize" ? core::Goal::kMinimize : core::Goal::kMaximize;
  m.metric_value = row.OptionalDouble();
  m.params_json = row.Text();
  const std::string tags_json = row.Text();
  nlohmann::json json = nlohmann::json::parse(tags_json, nullptr, /*allow_exceptions=*/false);
  bool ok = json.is_array();
  for (const nlohmann::json& t : ok ? json : nlohmann::json::array()) {
    ok = t.is_array() && t.size() == 2 && t[0].is_string() && t[1].is_string();
    if (!ok) break;
    m.tags.emplace_back(t[0].get<std::string>(), t[1].get<std::string>());
  }
  if (!ok) row.Fail(absl::StrFormat("tags '%s' are not a JSON array of pairs", tags_json));
  m.manifest_digest = row.Text();
  m.total_bytes = row.Int();
  m.created_ms = row.Int();
  return m;
}

std::string TagsToJson(const std::vector<std::pair<std::string, std::string>>& tags) {
  nlohmann::json json = nlohmann::json::array();
  for (const auto& [key, value] : tags) json.push_back({key, value});
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace sweep::store::sqlite_internal

#include "rpc/store_wire.h"

#include <type_traits>

#include "absl/strings/str_cat.h"
#include "core/status.h"

namespace sweep::rpc {
namespace {

namespace pb = ::sweep::proto;

void ToProto(const core::ParamValue& in, pb::ParamValueRecord* out) {
  std::visit(
      [out](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, int64_t>) {
          out->set_int_value(v);
        } else if constexpr (std::is_same_v<T, double>) {
          out->set_double_value(v);
        } else if constexpr (std::is_same_v<T, std::string>) {
          out->set_string_value(v);
        } else {
          out->set_bool_value(v);
        }
      },
      in);
}

absl::StatusOr<core::ParamValue> FromProto(const pb::ParamValueRecord& in) {
  switch (in.value_case()) {
    case pb::ParamValueRecord::kIntValue:
      return core::ParamValue(in.int_value());
    case pb::ParamValueRecord::kDoubleValue:
      return core::ParamValue(in.double_value());
    case pb::ParamValueRecord::kStringValue:
      return core::ParamValue(in.string_value());
    case pb::ParamValueRecord::kBoolValue:
      return core::ParamValue(in.bool_value());
    default:
      return absl::DataLossError("a configuration value from the server has no type");
  }
}

// Parses a state name with one of core's Parse*State functions.
template <typename Parse>
auto ParseState(Parse parse, const std::string& name, const char* what)
    -> absl::StatusOr<typename decltype(parse(name))::value_type> {
  auto state = parse(name);
  if (!state) {
    return absl::DataLossError(
        absl::StrCat("unknown ", what, " state '", name, "' from the server"));
  }
  return *state;
}

}  // namespace

void ToProto(const core::ComputeTarget& in, pb::ComputeRecord* out) {
  out->set_name(in.name);
  out->set_type(in.type);
  out->set_provider(in.provider);
  out->set_min_nodes(in.min_nodes);
  out->set_max_nodes(in.max_nodes);
  out->set_vm_size(in.vm_size);
  out->set_vm_priority(in.vm_priority);
  out->set_idle_seconds_before_scaledown(in.idle_seconds_before_scaledown);
  out->set_properties_json(in.properties_json);
  out->set_created_ms(in.created_ms);
}

core::ComputeTarget FromProto(const pb::ComputeRecord& in) {
  core::ComputeTarget out;
  out.name = in.name();
  out.type = in.type();
  out.provider = in.provider();
  out.min_nodes = in.min_nodes();
  out.max_nodes = in.max_nodes();
  out.vm_size = in.vm_size();
  out.vm_priority = in.vm_priority();
  out.idle_seconds_before_scaledown = in.idle_seconds_before_scaledown();
  out.properties_json = in.properties_json();
  out.created_ms = in.created_ms();
  return out;
}

void ToProto(const core::Sweep& in, pb::SweepRecord* out) {
  out->set_id(in.id);
  out->set_name(in.name);
  out->set_spec_yaml(in.spec_yaml);
  out->set_spec_path(in.spec_path);
  out->set_compute(in.compute);
  out->set_primary_metric(in.objective.primary_metric);
  out->set_minimize(in.objective.goal == core::Goal::kMinimize);
  out->set_aggregate_best(in.objective.aggregation == core::Aggregation::kBest);
  out->set_sampling_algorithm(in.sampling_algorithm);
  out->set_max_total_trials(in.max_total_trials);
  out->set_state(core::SweepStateName(in.state));
  out->set_status_message(in.status_message);
  out->set_created_ms(in.created_ms);
  out->set_ended_ms(in.ended_ms);
  out->set_snapshot_digest(in.snapshot_digest);
  out->set_environment(in.environment);
  out->set_extension(in.extension);
  out->set_extended_ms(in.extended_ms);
  out->set_max_concurrent_trials(in.max_concurrent_trials);
  out->set_timeout_s(in.timeout_s);
  for (const std::string& id : in.warm_start) out->add_warm_start(id);
}

absl::StatusOr<core::Sweep> FromProto(const pb::SweepRecord& in) {
  core::Sweep out;
  out.id = in.id();
  out.name = in.name();
  out.spec_yaml = in.spec_yaml();
  out.spec_path = in.spec_path();
  out.compute = in.compute();
  out.objective.primary_metric = in.primary_metric();
  out.objective.goal = in.minimize() ? core::Goal::kMinimize : core::Goal::kMaximize;
  out.objective.aggregation =
      in.aggregate_best() ? core::Aggregation::kBest : core::Aggregation::kLast;
  out.sampling_algorithm = in.sampling_algorithm();
  out.max_total_trials = in.max_total_trials();
  ASSIGN_OR_RETURN(out.state, ParseState(core::ParseSweepState, in.state(), "sweep"));
  out.status_message = in.status_message();
  out.created_ms = in.created_ms();
  out.ended_ms = in.ended_ms();
  out.snapshot_digest = in.snapshot_digest();
  out.environment = in.environment();
  out.extension = in.extension();
  out.extended_ms = in.extended_ms();
  out.max_concurrent_trials = in.max_concurrent_trials();
  out.timeout_s = in.timeout_s();
  out.warm_start.assign(in.warm_start().begin(), in.warm_start().end());
  return out;
}

void ToProto(const core::Trial& in, pb::TrialRecord* out) {
  out->set_sweep_id(in.sweep_id);
  out->set_trial_id(in.trial_id);
  for (const auto& [name, value] : in.config) ToProto(value, &(*out->mutable_config())[name]);
  out->set_state(core::TrialStateName(in.state));
  if (in.final_value) out->set_final_value(*in.final_value);
  out->set_intervals(in.intervals);
  out->set_attempts(in.attempts);
  out->set_retries(in.retries);
  out->set_reason(in.reason);
  out->set_created_ms(in.created_ms);
  out->set_started_ms(in.started_ms);
  out->set_ended_ms(in.ended_ms);
  out->set_origin(in.origin);
}

absl::StatusOr<core::Trial> FromProto(const pb::TrialRecord& in) {
  core::Trial out;
  out.sweep_id = in.sweep_id();
  out.trial_id = in.trial_id();
  for (const auto& [name, value] : in.config()) {
    ASSIGN_OR_RETURN(out.config[name], FromProto(value));
  }
  ASSIGN_OR_RETURN(out.state, ParseState(core::ParseTrialState, in.state(), "trial"));
  if (in.has_final_value()) out.final_value = in.final_value();
  out.intervals = in.intervals();
  out.attempts = in.attempts();
  out.retries = in.retries();
  out.reason = in.reason();
  out.created_ms = in.created_ms();
  out.started_ms = in.started_ms();
  out.ended_ms = in.ended_ms();
  if (!in.origin().empty()) out.origin = in.origin();  // "" from a server before origins
  return out;
}

void ToProto(const core::Attempt& in, pb::AttemptRecord* out) {
  out->set_sweep_id(in.sweep_id);
  out->set_trial_id(in.trial_id);
  out->set_attempt(in.attempt);
  out->set_node_id(in.node_id);
  out->set_fencing_token(in.fencing_token);
  out->set_state(core::AttemptStateName(in.state));
  out->set_started_ms(in.started_ms);
  out->set_expires_ms(in.expires_ms);
  out->set_ended_ms(in.ended_ms);
  out->set_exit_code(in.exit_code);
  out->set_error(in.error);
}

absl::StatusOr<core::Attempt> FromProto(const pb::AttemptRecord& in) {
  core::Attempt out;
  out.sweep_id = in.sweep_id();
  out.trial_id = in.trial_id();
  out.attempt = in.attempt();
  out.node_id = in.node_id();
  out.fencing_token = in.fencing_token();
  ASSIGN_OR_RETURN(out.state, ParseState(core::ParseAttemptState, in.state(), "attempt"));
  out.started_ms = in.started_ms();
  out.expires_ms = in.expires_ms();
  out.ended_ms = in.ended_ms();
  out.exit_code = in.exit_code();
  out.error = in.error();
  return out;
}

void ToProto(const core::MetricPoint& in, pb::MetricRecord* out) {
  out->set_sweep_id(in.sweep_id);
  out->set_trial_id(in.trial_id);
  out->set_attempt(in.attempt);
  out->set_name(in.name);
  out->set_value(in.value);
  out->set_step(in.step);
  out->set_interval(in.interval);
  out->set_timestamp_ms(in.timestamp_ms);
}

core::MetricPoint FromProto(const pb::MetricRecord& in) {
  core::MetricPoint out;
  out.sweep_id = in.sweep_id();
  out.trial_id = in.trial_id();
  out.attempt = in.attempt();
  out.name = in.name();
  out.value = in.value();
  out.step = in.step();
  out.interval = in.interval();
  out.timestamp_ms = in.timestamp_ms();
  return out;
}

void ToProto(const core::Event& in, pb::EventRecord* out) {
  out->set_id(in.id);
  out->set_sweep_id(in.sweep_id);
  out->set_trial_id(in.trial_id);
  out->set_kind(in.kind);
  out->set_message(in.message);
  out->set_timestamp_ms(in.timestamp_ms);
}

core::Event FromProto(const pb::EventRecord& in) {
  core::Event out;
  out.id = in.id();
  out.sweep_id = in.sweep_id();
  out.trial_id = in.trial_id();
  out.kind = in.kind();
  out.message = in.message();
  out.timestamp_ms = in.timestamp_ms();
  return out;
}

void ToProto(const core::Decision& in, pb::DecisionRecord* out) {
  out->set_sweep_id(in.sweep_id);
  out->set_trial_id(in.trial_id);
  out->set_interval(in.interval);
  out->set_policy(in.policy);
  out->set_value(in.value);
  out->set_reference(in.reference);
  out->set_threshold(in.threshold);
  out->set_stop(in.stop);
  out->set_explanation(in.explanation);
  out->set_timestamp_ms(in.timestamp_ms);
}

core::Decision FromProto(const pb::DecisionRecord& in) {
  core::Decision out;
  out.sweep_id = in.sweep_id();
  out.trial_id = in.trial_id();
  out.interval = in.interval();
  out.policy = in.policy();
  out.value = in.value();
  out.reference = in.reference();
  out.threshold = in.threshold();
  out.stop = in.stop();
  out.explanation = in.explanation();
  out.timestamp_ms = in.timestamp_ms();
  return out;
}

void ToProto(const core::Node& in, pb::NodeRecord* out) {
  out->set_node_id(in.node_id);
  out->set_compute(in.compute);
  out->set_hostname(in.hostname);
  out->set_pid(in.pid);
  out->set_state(in.state);
  out->set_registered_ms(in.registered_ms);
  out->set_last_seen_ms(in.last_seen_ms);
}

core::Node FromProto(const pb::NodeRecord& in) {
  core::Node out;
  out.node_id = in.node_id();
  out.compute = in.compute();
  out.hostname = in.hostname();
  out.pid = in.pid();
  out.state = in.state();
  out.registered_ms = in.registered_ms();
  out.last_seen_ms = in.last_seen_ms();
  return out;
}

void ToProto(const core::Environment& in, pb::EnvironmentDefinition* out) {
  out->set_name(in.name);
  out->set_version(in.version);
  out->set_kind(in.kind);
  out->set_python(in.python);
  out->set_setup_command(in.setup_command);
  for (const core::EnvironmentFile& f : in.files) {
    pb::EnvironmentFile* file = out->add_files();
    file->set_name(f.name);
    file->set_content(f.content);
  }
  out->set_digest(in.digest);
  out->set_created_ms(in.created_ms);
}

core::Environment FromProto(const pb::EnvironmentDefinition& in) {
  core::Environment out;
  out.name = in.name();
  out.version = in.version();
  out.kind = in.kind();
  out.python = in.python();
  out.setup_command = in.setup_command();
  for (const pb::EnvironmentFile& f : in.files()) out.files.push_back({f.name(), f.content()});
  out.digest = in.digest();
  out.created_ms = in.created_ms();
  return out;
}

void ToProto(const core::Model& in, pb::ModelRecord* out) {
  out->set_name(in.name);
  out->set_version(in.version);
  out->set_sweep_id(in.sweep_id);
  out->set_trial_id(in.trial_id);
  out->set_attempt(in.attempt);
  out->set_primary_metric(in.primary_metric);
  out->set_minimize(in.goal == core::Goal::kMinimize);
  if (in.metric_value) out->set_metric_value(*in.metric_value);
  out->set_params_json(in.params_json);
  for (const auto& [key, value] : in.tags) {
    pb::ModelTag* tag = out->add_tags();
    tag->set_key(key);
    tag->set_value(value);
  }
  out->set_manifest_digest(in.manifest_digest);
  out->set_total_bytes(in.total_bytes);
  out->set_created_ms(in.created_ms);
}

core::Model FromProto(const pb::ModelRecord& in) {
  core::Model out;
  out.name = in.name();
  out.version = in.version();
  out.sweep_id = in.sweep_id();
  out.trial_id = in.trial_id();
  out.attempt = in.attempt();
  out.primary_metric = in.primary_metric();
  out.goal = in.minimize() ? core::Goal::kMinimize : core::Goal::kMaximize;
  if (in.has_metric_value()) out.metric_value = in.metric_value();
  out.params_json = in.params_json();
  for (const pb::ModelTag& tag : in.tags()) out.tags.emplace_back(tag.key(), tag.value());
  out.manifest_digest = in.manifest_digest();
  out.total_bytes = in.total_bytes();
  out.created_ms = in.created_ms();
  return out;
}

void ToProto(const workspace::RemoteVmRequest& in, pb::AttachRemoteVmRequest* out) {
  out->set_name(in.name);
  out->set_address(in.address);
  out->set_port(in.port);
  out->set_username(in.username);
  if (in.password) out->set_password(*in.password);
  if (in.private_key) out->set_private_key(*in.private_key);
  if (in.passphrase) out->set_passphrase(*in.passphrase);
  out->set_password_source(in.password_source);
  out->set_private_key_source(in.private_key_source);
  out->set_passphrase_source(in.passphrase_source);
  out->set_sweep_path(in.sweep_path);
  out->set_work_dir(in.work_dir);
  out->set_workers_per_node(in.workers_per_node);
}

workspace::RemoteVmRequest FromProto(const pb::AttachRemoteVmRequest& in) {
  workspace::RemoteVmRequest out;
  out.name = in.name();
  out.address = in.address();
  out.port = in.port();
  out.username = in.username();
  if (in.has_password()) out.password = in.password();
  if (in.has_private_key()) out.private_key = in.private_key();
  if (in.has_passphrase()) out.passphrase = in.passphrase();
  out.password_source = in.password_source();
  out.private_key_source = in.private_key_source();
  out.passphrase_source = in.passphrase_source();
  out.sweep_path = in.sweep_path();
  out.work_dir = in.work_dir();
  out.workers_per_node = in.workers_per_node();
  return out;
}

void ToProto(const workspace::AttachedRemoteVm& in, pb::AttachRemoteVmReply* out) {
  ToProto(in.target, out->mutable_target());
  out->set_endpoint(in.endpoint);
  out->set_host_key_fingerprint(in.host_key_fingerprint);
  out->set_host_key_added(in.host_key_added);
  out->set_known_hosts_file(in.known_hosts_file);
  out->set_remote_version(in.remote_version);
}

workspace::AttachedRemoteVm FromProto(const pb::AttachRemoteVmReply& in) {
  workspace::AttachedRemoteVm out;
  out.target = FromProto(in.target());
  out.endpoint = in.endpoint();
  out.host_key_fingerprint = in.host_key_fingerprint();
  out.host_key_added = in.host_key_added();
  out.known_hosts_file = in.known_hosts_file();
  out.remote_version = in.remote_version();
  return out;
}

void ToProto(const workspace::ModelRequest& in, pb::RegisterModelRequest* out) {
  out->set_name(in.name);
  out->set_sweep_id(in.sweep_id);
  if (in.trial_id) out->set_trial_id(*in.trial_id);
  for (const auto& [key, value] : in.tags) {
    pb::ModelTag* tag = out->add_tags();
    tag->set_key(key);
    tag->set_value(value);
  }
}

workspace::ModelRequest FromProto(const pb::RegisterModelRequest& in) {
  workspace::ModelRequest out;
  out.name = in.name();
  out.sweep_id = in.sweep_id();
  if (in.has_trial_id()) out.trial_id = in.trial_id();
  for (const pb::ModelTag& tag : in.tags()) out.tags.emplace_back(tag.key(), tag.value());
  return out;
}

absl::Status ServeReadStore(store::Store& store, const pb::ReadStoreRequest& request,
                            pb::ReadStoreReply* reply) {
  auto all = [](const auto& records, auto* out) {
    for (const auto& r : records) ToProto(r, out->Add());
  };
  std::optional<int64_t> trial_id;
  if (request.has_trial_id()) trial_id = request.trial_id();
  std::optional<int64_t> version;
  if (request.has_version()) version = request.version();
  const std::string& key = request.key();
  switch (request.method()) {
    case pb::ReadStoreRequest::GET_COMPUTE: {
      ASSIGN_OR_RETURN(core::ComputeTarget c, store.GetCompute(key));
      ToProto(c, reply->add_computes());
      return absl::OkStatus();
    }
    case pb::ReadStoreRequest::LIST_COMPUTES: {
      ASSIGN_OR_RETURN(auto list, store.ListComputes());
      all(list, reply->mutable_computes());
      return absl::OkStatus();
    }
    case pb::ReadStoreRequest::GET_SWEEP: {
      ASSIGN_OR_RETURN(core::Sweep s, store.GetSweep(key));
      ToProto(s, reply->add_sweeps());
      return absl::OkStatus();
    }
    case pb::ReadStoreRequest::LIST_SWEEPS: {
      ASSIGN_OR_RETURN(auto list, store.ListSweeps());
      all(list, reply->mutable_sweeps());
      return absl::OkStatus();
    }
    case pb::ReadStoreRequest::GET_TRIAL: {
      if (!trial_id) return absl::InvalidArgumentError("ReadStore GET_TRIAL needs trial_id");
      ASSIGN_OR_RETURN(core::Trial t, store.GetTrial(key, *trial_id));
      ToProto(t, reply->add_trials());
      return absl::OkStatus();
    }
    case pb::ReadStoreRequest::LIST_TRIALS: {
      ASSIGN_OR_RETURN(auto list, store.ListTrials(key));
      all(list, reply->mutable_trials());
      return absl::OkStatus();
    }
    case pb::ReadStoreRequest::LIST_ATTEMPTS: {
      ASSIGN_OR_RETURN(auto list, store.ListAttempts(key, trial_id));
      // A fencing token is a lease credential: never handed out (it reads as 0).
      for (core::Attempt& a : list) a.fencing_token = 0;
      all(list, reply->mutable_attempts());
      return absl::OkStatus();
    }
    case pb::ReadStoreRequest::LIST_METRICS: {
      store::MetricFilter filter;
      filter.sweep_id = key;
      filter.trial_id = trial_id;
      if (request.has_metric_name()) filter.name = request.metric_name();
      ASSIGN_OR_RETURN(auto list, store.ListMetrics(filter));
      all(list, reply->mutable_metrics());
      return absl::OkStatus();
    }
    case pb::ReadStoreRequest::LIST_EVENTS: {
      ASSIGN_OR_RETURN(auto list, store.ListEvents(key));
      all(list, reply->mutable_events());
      return absl::OkStatus();
    }
    case pb::ReadStoreRequest::LIST_DECISIONS: {
      ASSIGN_OR_RETURN(auto list, store.ListDecisions(key, trial_id));
      all(list, reply->mutable_decisions());
      return absl::OkStatus();
    }
    case pb::ReadStoreRequest::LIST_NODES: {
      ASSIGN_OR_RETURN(auto list, store.ListNodes());
      all(list, reply->mutable_nodes());
      return absl::OkStatus();
    }
    case pb::ReadStoreRequest::MAX_FENCING_TOKEN: {
      return absl::PermissionDeniedError(
          "ReadStore does not serve fencing tokens: they are lease credentials");
    }
    case pb::ReadStoreRequest::GET_ENVIRONMENT: {
      ASSIGN_OR_RETURN(core::Environment e, store.GetEnvironment(key, version));
      ToProto(e, reply->add_environments());
      return absl::OkStatus();
    }
    case pb::ReadStoreRequest::LIST_ENVIRONMENTS: {
      ASSIGN_OR_RETURN(auto list, store.ListEnvironments());
      all(list, reply->mutable_environments());
      return absl::OkStatus();
    }
    case pb::ReadStoreRequest::GET_MODEL: {
      ASSIGN_OR_RETURN(core::Model m, store.GetModel(key, version));
      ToProto(m, reply->add_models());
      return absl::OkStatus();
    }
    case pb::ReadStoreRequest::LIST_MODELS: {
      ASSIGN_OR_RETURN(auto list, store.ListModels());
      all(list, reply->mutable_models());
      return absl::OkStatus();
    }
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("ReadStore: unknown method ", static_cast<int>(request.method())));
  }
}

}  // namespace sweep::rpc

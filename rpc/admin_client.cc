#include "rpc/admin_client.h"

#include <chrono>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "core/limits.h"
#include "core/status.h"
#include "grpcpp/grpcpp.h"
#include "proto/sweep.grpc.pb.h"
#include "rpc/status_mapping.h"
#include "rpc/store_wire.h"

namespace sweep::rpc {

using controller::ComputeStatus;
using controller::NodeStatus;
namespace {

namespace pb = ::sweep::proto;

constexpr auto kCallDeadline = std::chrono::seconds(10);

std::mutex g_tls_mu;
std::string g_tls_ca_pem;  // SetClientTlsCa; empty: plaintext

std::unique_ptr<pb::SweepController::Stub> Dial(const std::string& address) {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  {
    std::lock_guard<std::mutex> lock(g_tls_mu);
    if (g_tls_ca_pem.empty()) {
      credentials = grpc::InsecureChannelCredentials();
    } else {
      grpc::SslCredentialsOptions ssl;
      ssl.pem_root_certs = g_tls_ca_pem;
      credentials = grpc::SslCredentials(ssl);
    }
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(core::kMaxMessageBytes);
  return pb::SweepController::NewStub(grpc::CreateCustomChannel(address, credentials, args));
}

void Prepare(grpc::ClientContext& context, const std::string& token) {
  context.AddMetadata("authorization", "Bearer " + token);
  context.set_deadline(std::chrono::system_clock::now() + kCallDeadline);
}

// FromGrpcStatus, with what to check when the server cannot be reached or refuses the
// token.
absl::Status FromGrpc(const grpc::Status& status, const std::string& address) {
  if (status.ok()) return absl::OkStatus();
  const std::string& message = status.error_message();
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return absl::UnavailableError(
          absl::StrCat("cannot reach the sweep server at ", address, ": ", message,
                       " (is `sweep server` running there, and is the address right?)"));
    case grpc::StatusCode::UNAUTHENTICATED:
      return absl::UnauthenticatedError(absl::StrCat(
          "the sweep server at ", address, " rejected the token: ", message,
          "; pass the server workspace's token file with --token-file or SWEEP_TOKEN_FILE"));
    default:
      return FromGrpcStatus(status);
  }
}

// The reply's records of one kind, chosen by the (unused) pointer's type.
const auto& Records(const pb::ReadStoreReply& r, core::ComputeTarget*) { return r.computes(); }
const auto& Records(const pb::ReadStoreReply& r, core::Sweep*) { return r.sweeps(); }
const auto& Records(const pb::ReadStoreReply& r, core::Trial*) { return r.trials(); }
const auto& Records(const pb::ReadStoreReply& r, core::Attempt*) { return r.attempts(); }
const auto& Records(const pb::ReadStoreReply& r, core::MetricPoint*) { return r.metrics(); }
const auto& Records(const pb::ReadStoreReply& r, core::Event*) { return r.events(); }
const auto& Records(const pb::ReadStoreReply& r, core::Decision*) { return r.decisions(); }
const auto& Records(const pb::ReadStoreReply& r, core::Node*) { return r.nodes(); }
const auto& Records(const pb::ReadStoreReply& r, core::Environment*) { return r.environments(); }
const auto& Records(const pb::ReadStoreReply& r, core::Model*) { return r.models(); }

class RemoteStore final : public store::Store {
 public:
  RemoteStore(std::string address, std::string token)
      : address_(std::move(address)), token_(std::move(token)), stub_(Dial(address_)) {}

  absl::Status Commit(const store::WriteBatch&) override {
    return absl::FailedPreconditionError(
        absl::StrCat("the store of the sweep server at ", address_, " is read-only here"));
  }

  absl::StatusOr<core::ComputeTarget> GetCompute(const std::string& name) override {
    return First<core::ComputeTarget>(Request(pb::ReadStoreRequest::GET_COMPUTE, name));
  }
  absl::StatusOr<std::vector<core::ComputeTarget>> ListComputes() override {
    return All<core::ComputeTarget>(Request(pb::ReadStoreRequest::LIST_COMPUTES));
  }
  absl::StatusOr<core::Sweep> GetSweep(const std::string& id) override {
    return First<core::Sweep>(Request(pb::ReadStoreRequest::GET_SWEEP, id));
  }
  absl::StatusOr<std::vector<core::Sweep>> ListSweeps() override {
    return All<core::Sweep>(Request(pb::ReadStoreRequest::LIST_SWEEPS));
  }
  absl::StatusOr<core::Trial> GetTrial(const std::string& sweep_id, int64_t trial_id) override {
    return First<core::Trial>(Request(pb::ReadStoreRequest::GET_TRIAL, sweep_id, trial_id));
  }
  absl::StatusOr<std::vector<core::Trial>> ListTrials(const std::string& sweep_id) override {
    return All<core::Trial>(Request(pb::ReadStoreRequest::LIST_TRIALS, sweep_id));
  }
  absl::StatusOr<std::vector<core::Attempt>> ListAttempts(
      const std::string& sweep_id, std::optional<int64_t> trial_id) override {
    return All<core::Attempt>(Request(pb::ReadStoreRequest::LIST_ATTEMPTS, sweep_id, trial_id));
  }
  absl::StatusOr<std::vector<core::MetricPoint>> ListMetrics(
      const store::MetricFilter& filter) override {
    pb::ReadStoreRequest request =
        Request(pb::ReadStoreRequest::LIST_METRICS, filter.sweep_id, filter.trial_id);
    if (filter.name) request.set_metric_name(*filter.name);
    return All<core::MetricPoint>(request);
  }
  absl::StatusOr<std::vector<core::Event>> ListEvents(const std::string& sweep_id) override {
    return All<core::Event>(Request(pb::ReadStoreRequest::LIST_EVENTS, sweep_id));
  }
  absl::StatusOr<std::vector<core::Decision>> ListDecisions(
      const std::string& sweep_id, std::optional<int64_t> trial_id) override {
    return All<core::Decision>(Request(pb::ReadStoreRequest::LIST_DECISIONS, sweep_id, trial_id));
  }
  absl::StatusOr<std::vector<core::Node>> ListNodes() override {
    return All<core::Node>(Request(pb::ReadStoreRequest::LIST_NODES));
  }
  absl::StatusOr<core::Environment> GetEnvironment(const std::string& name,
                                                   std::optional<int64_t> version) override {
    return First<core::Environment>(
        Versioned(pb::ReadStoreRequest::GET_ENVIRONMENT, name, version));
  }
  absl::StatusOr<std::vector<core::Environment>> ListEnvironments() override {
    return All<core::Environment>(Request(pb::ReadStoreRequest::LIST_ENVIRONMENTS));
  }
  absl::StatusOr<core::Model> GetModel(const std::string& name,
                                       std::optional<int64_t> version) override {
    return First<core::Model>(Versioned(pb::ReadStoreRequest::GET_MODEL, name, version));
  }
  absl::StatusOr<std::vector<core::Model>> ListModels() override {
    return All<core::Model>(Request(pb::ReadStoreRequest::LIST_MODELS));
  }
  absl::StatusOr<uint64_t> MaxFencingToken() override {
    pb::ReadStoreReply reply;
    if (absl::Status s = Call(Request(pb::ReadStoreRequest::MAX_FENCING_TOKEN), &reply); !s.ok()) {
      return s;
    }
    return reply.max_fencing_token();
  }

 private:
  static pb::ReadStoreRequest Request(pb::ReadStoreRequest::Method method,
                                      const std::string& key = "",
                                      std::optional<int64_t> trial_id = std::nullopt) {
    pb::ReadStoreRequest request;
    request.set_method(method);
    request.set_key(key);
    if (trial_id) request.set_trial_id(*trial_id);
    return request;
  }

  static pb::ReadStoreRequest Versioned(pb::ReadStoreRequest::Method method,
                                        const std::string& name, std::optional<int64_t> version) {
    pb::ReadStoreRequest request = Request(method, name);
    if (version) request.set_version(*version);
    return request;
  }

  absl::Status Call(const pb::ReadStoreRequest& request, pb::ReadStoreReply* reply) {
    grpc::ClientContext context;
    Prepare(context, token_);
    return FromGrpc(stub_->ReadStore(&context, request, reply), address_);
  }

  // The records of one field of the reply, converted.
  template <typename T>
  absl::StatusOr<std::vector<T>> All(const pb::ReadStoreRequest& request) {
    pb::ReadStoreReply reply;
    if (absl::Status s = Call(request, &reply); !s.ok()) return s;
    std::vector<T> out;
    if (absl::Status s = AppendFromProto(Records(reply, static_cast<T*>(nullptr)), &out); !s.ok()) {
      return s;
    }
    return out;
  }

  // A GET_*: exactly one record, or the server's NotFound.
  template <typename T>
  absl::StatusOr<T> First(const pb::ReadStoreRequest& request) {
    auto list = All<T>(request);
    if (!list.ok()) return list.status();
    if (list->size() != 1) {
      return absl::DataLossError(absl::StrCat("the sweep server at ", address_,
                                              " answered a read with ", list->size(),
                                              " records instead of one"));
    }
    return std::move(list->front());
  }

  const std::string address_;
  const std::string token_;
  std::unique_ptr<pb::SweepController::Stub> stub_;
};

// Registering a model copies its files and attaching a VM waits on SSH: longer than a query.
constexpr auto kAdminDeadline = std::chrono::minutes(2);
constexpr auto kRegisterDeadline = std::chrono::minutes(10);

class RemoteAdmin final : public workspace::WorkspaceAdmin {
 public:
  RemoteAdmin(std::string address, std::string token)
      : address_(std::move(address)),
        token_(std::move(token)),
        stub_(Dial(address_)),
        reader_(address_, token_) {}

  absl::StatusOr<store::Store*> reader() override { return &reader_; }

  absl::StatusOr<core::ComputeTarget> PutComputeTarget(const core::ComputeTarget& target,
                                                       workspace::PutMode mode) override {
    pb::PutComputeTargetRequest request;
    ToProto(target, request.mutable_target());
    request.set_mode(mode == workspace::PutMode::kCreate ? pb::PutComputeTargetRequest::CREATE
                                                         : pb::PutComputeTargetRequest::UPDATE);
    pb::PutComputeTargetReply reply;
    RETURN_IF_ERROR(Call(&Stub::PutComputeTarget, request, &reply));
    return FromProto(reply.target());
  }

  absl::Status DeleteComputeTarget(const std::string& name) override {
    pb::DeleteComputeTargetRequest request;
    request.set_name(name);
    pb::DeleteComputeTargetReply reply;
    return Call(&Stub::DeleteComputeTarget, request, &reply);
  }

  absl::StatusOr<workspace::AttachedRemoteVm> AttachRemoteVm(
      const workspace::RemoteVmRequest& vm) override {
    pb::AttachRemoteVmRequest request;
    ToProto(vm, &request);
    pb::AttachRemoteVmReply reply;
    RETURN_IF_ERROR(Call(&Stub::AttachRemoteVm, request, &reply));
    return FromProto(reply);
  }

  absl::StatusOr<workspace::CreatedEnvironment> CreateEnvironment(
      const core::Environment& definition) override {
    pb::CreateEnvironmentRequest request;
    ToProto(definition, request.mutable_definition());
    pb::CreateEnvironmentReply reply;
    RETURN_IF_ERROR(Call(&Stub::CreateEnvironment, request, &reply));
    return workspace::CreatedEnvironment{FromProto(reply.environment()), reply.created()};
  }

  absl::StatusOr<core::Model> RegisterModel(const workspace::ModelRequest& model) override {
    pb::RegisterModelRequest request;
    ToProto(model, &request);
    pb::RegisterModelReply reply;
    RETURN_IF_ERROR(Call(&Stub::RegisterModel, request, &reply, kRegisterDeadline));
    return FromProto(reply.model());
  }

 private:
  using Stub = pb::SweepController::Stub;

  template <typename Request, typename Reply>
  absl::Status Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Reply*),
                    const Request& request, Reply* reply,
                    std::chrono::seconds deadline = kAdminDeadline) {
    grpc::ClientContext context;
    Prepare(context, token_);
    context.set_deadline(std::chrono::system_clock::now() + deadline);
    grpc::Status status = (stub_.get()->*method)(&context, request, reply);
    if (status.ok()) return absl::OkStatus();
    const auto& trailing = context.GetServerTrailingMetadata();
    auto marker = trailing.find(kAdminErrorKey);
    if (marker != trailing.end() && marker->second == kAdminErrorValue) {
      return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                          status.error_message());
    }
    return FromGrpc(status, address_);
  }

  const std::string address_;
  const std::string token_;
  std::unique_ptr<Stub> stub_;
  RemoteStore reader_;
};

}  // namespace

std::unique_ptr<workspace::WorkspaceAdmin> NewRemoteAdmin(const std::string& address,
                                                          const std::string& token) {
  return std::make_unique<RemoteAdmin>(address, token);
}

absl::Status CancelViaServer(const std::string& address, const std::string& token,
                             const std::string& sweep_id) {
  grpc::ClientContext context;
  Prepare(context, token);
  pb::CancelSweepRequest request;
  request.set_sweep_id(sweep_id);
  pb::CancelSweepReply reply;
  return FromGrpc(Dial(address)->CancelSweep(&context, request, &reply), address);
}

absl::StatusOr<int64_t> EnqueueViaServer(const std::string& address, const std::string& token,
                                         const std::string& sweep_id,
                                         const std::vector<std::string>& params) {
  grpc::ClientContext context;
  Prepare(context, token);
  pb::EnqueueTrialRequest request;
  request.set_sweep_id(sweep_id);
  for (const std::string& p : params) request.add_params(p);
  pb::EnqueueTrialReply reply;
  RETURN_IF_ERROR(FromGrpc(Dial(address)->EnqueueTrial(&context, request, &reply), address));
  return reply.trial_id();
}

absl::StatusOr<int64_t> ExtendViaServer(const std::string& address, const std::string& token,
                                        const std::string& sweep_id,
                                        const controller::ExtendRequest& extend) {
  grpc::ClientContext context;
  Prepare(context, token);
  pb::ExtendSweepRequest request;
  request.set_sweep_id(sweep_id);
  request.set_max_total_trials(extend.max_total_trials);
  request.set_timeout_s(extend.timeout_s);
  request.set_max_concurrent_trials(extend.max_concurrent_trials);
  pb::ExtendSweepReply reply;
  RETURN_IF_ERROR(FromGrpc(Dial(address)->ExtendSweep(&context, request, &reply), address));
  return reply.extension();
}

absl::StatusOr<std::string> SubmitViaServer(const std::string& address, const std::string& token,
                                            const std::string& spec_yaml,
                                            const std::string& spec_path,
                                            const std::vector<std::string>& warm_start) {
  grpc::ClientContext context;
  Prepare(context, token);
  pb::SubmitSweepRequest request;
  request.set_spec_yaml(spec_yaml);
  request.set_spec_path(spec_path);
  for (const std::string& id : warm_start) request.add_warm_start(id);
  pb::SubmitSweepReply reply;
  if (absl::Status s = FromGrpc(Dial(address)->SubmitSweep(&context, request, &reply), address);
      !s.ok()) {
    return s;
  }
  return reply.sweep_id();
}

absl::StatusOr<ComputeStatus> ComputeStatusViaServer(const std::string& address,
                                                     const std::string& token,
                                                     const std::string& compute) {
  grpc::ClientContext context;
  Prepare(context, token);
  pb::ComputeStatusRequest request;
  request.set_compute(compute);
  pb::ComputeStatusReply reply;
  if (absl::Status s =
          FromGrpc(Dial(address)->GetComputeStatus(&context, request, &reply), address);
      !s.ok()) {
    return s;
  }
  ComputeStatus status;
  status.desired_nodes = reply.desired_nodes();
  status.provider_nodes = reply.provider_nodes();
  for (const pb::NodeStatusRecord& n : reply.nodes()) {
    NodeStatus& out = status.nodes.emplace_back();
    out.node = FromProto(n.node());
    out.sweep_id = n.sweep_id();
    out.trial_id = n.trial_id();
  }
  return status;
}

std::unique_ptr<store::Store> NewRemoteStore(const std::string& address, const std::string& token) {
  return std::make_unique<RemoteStore>(address, token);
}

absl::Status SetClientTlsCa(const std::string& ca_file, core::Env* env) {
  std::string pem;
  if (!ca_file.empty()) {
    absl::StatusOr<std::string> read = env->ReadFile(ca_file);
    if (!read.ok() || read->empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read the TLS CA file '", ca_file, "' (--tls-ca / SWEEP_TLS_CA)"));
    }
    pem = std::move(*read);
  }
  std::lock_guard<std::mutex> lock(g_tls_mu);
  g_tls_ca_pem = std::move(pem);
  return absl::OkStatus();
}

}  // namespace sweep::rpc

#include "rpc/worker_client.h"

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>

#include "absl/strings/str_cat.h"
#include "core/limits.h"
#include "core/status.h"
#include "core/utf8.h"
#include "grpcpp/grpcpp.h"
#include "proto/sweep.grpc.pb.h"
#include "rpc/packed_points.h"
#include "rpc/status_mapping.h"
#include "worker/logging.h"

namespace sweep::rpc {

using worker::ControllerClient;
using SnapshotChunk = core::BlobChunk;
namespace {

void ToProto(const core::LeaseRef& ref, const std::string& node_secret, proto::LeaseRef* out) {
  out->set_node_secret(node_secret);
  out->set_node_id(ref.node_id);
  out->set_sweep_id(ref.sweep_id);
  out->set_trial_id(ref.trial_id);
  out->set_attempt(ref.attempt);
  out->set_fencing_token(ref.fencing_token);
}

void ToProto(const core::MetricPoint& point, proto::MetricPoint* out) {
  out->set_name(core::SanitizeUtf8(point.name));  // proto3 strings must be UTF-8
  out->set_value(point.value);
  out->set_step(point.step);
  out->set_timestamp_ms(point.timestamp_ms);
  out->set_seq(point.seq);
}

core::LeaseGrant FromProto(const proto::Lease& in) {
  core::LeaseGrant lease;
  lease.ref.node_id = in.ref().node_id();
  lease.ref.sweep_id = in.ref().sweep_id();
  lease.ref.trial_id = in.ref().trial_id();
  lease.ref.attempt = in.ref().attempt();
  lease.ref.fencing_token = in.ref().fencing_token();
  lease.argv.assign(in.argv().begin(), in.argv().end());
  lease.shell = in.shell();
  for (const auto& [key, value] : in.env()) lease.env.emplace_back(key, value);
  lease.params_json = in.params_json();
  lease.primary_metric = in.primary_metric();
  lease.expires_at_ms = in.expires_at_ms();
  lease.trial_timeout_ms = in.trial_timeout_ms();
  lease.stop_grace_ms = in.stop_grace_ms();
  lease.snapshot_digest = in.snapshot_digest();
  lease.artifact_max_bytes = in.artifact_max_bytes();
  if (in.has_environment()) {
    const proto::EnvironmentDefinition& e = in.environment();
    core::Environment& env = lease.environment.emplace();
    env.name = e.name();
    env.version = e.version();
    env.kind = e.kind();
    env.python = e.python();
    env.setup_command = e.setup_command();
    for (const proto::EnvironmentFile& f : e.files()) env.files.push_back({f.name(), f.content()});
    env.digest = e.digest();
  }
  return lease;
}

template <typename Reply>
core::DirectiveReply DirectiveFromProto(const Reply& reply) {
  core::DirectiveReply out;
  out.directive =
      reply.directive() == proto::STOP ? core::Directive::kStop : core::Directive::kContinue;
  out.expires_at_ms = reply.expires_at_ms();
  out.reason = reply.reason();
  return out;
}

class GrpcControllerClient final : public ControllerClient {
 public:
  GrpcControllerClient(const GrpcClientOptions& options,
                       std::shared_ptr<grpc::ChannelCredentials> credentials)
      : options_(options) {
    grpc::ChannelArguments args;
    // Reconnect quickly after a controller restart instead of gRPC's default (up to 2 min).
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2'000);
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
    args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 200);
    args.SetMaxReceiveMessageSize(core::kMaxMessageBytes);
    stub_ = proto::SweepController::NewStub(
        grpc::CreateCustomChannel(options.server, credentials, args));
  }

  absl::StatusOr<core::Registered> Register(const core::NodeRegistration& request) override {
    proto::RegisterRequest req;
    req.set_node_id(request.node_id);
    req.set_compute(request.compute);
    req.set_hostname(request.hostname);
    req.set_pid(request.pid);
    req.set_version(request.version);
    req.set_node_secret(SecretOf(request.node_id));
    proto::RegisterReply reply;
    RETURN_IF_ERROR(Call(&Stub::Register, req, &reply));
    {
      std::lock_guard<std::mutex> lock(mu_);
      secrets_[reply.node_id()] = reply.node_secret();
    }
    return core::Registered{reply.node_id(), reply.heartbeat_interval_ms(),
                            reply.lease_duration_ms()};
  }

  absl::StatusOr<core::AcquireResult> AcquireTrial(const std::string& node_id,
                                                   int64_t wait_ms) override {
    proto::AcquireTrialRequest req;
    req.set_node_id(node_id);
    req.set_node_secret(SecretOf(node_id));
    req.set_wait_ms(wait_ms);
    proto::AcquireTrialReply reply;
    grpc::ClientContext context;
    Prepare(&context, wait_ms + options_.long_poll_margin_ms);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (acquire_interrupted_) return absl::CancelledError("the worker is shutting down");
      acquire_contexts_.insert(&context);
    }
    grpc::Status status = stub_->AcquireTrial(&context, req, &reply);
    {
      std::lock_guard<std::mutex> lock(mu_);
      acquire_contexts_.erase(&context);
    }
    if (!status.ok()) return FromGrpcStatus(status);
    core::AcquireResult out;
    out.shutdown = reply.shutdown();
    if (reply.has_lease()) out.lease = FromProto(reply.lease());
    return out;
  }

  absl::StatusOr<core::DirectiveReply> Heartbeat(const core::LeaseRef& lease) override {
    proto::HeartbeatRequest req;
    ToProto(lease, SecretOf(lease.node_id), req.mutable_lease());
    proto::HeartbeatReply reply;
    RETURN_IF_ERROR(Call(&Stub::Heartbeat, req, &reply));
    return DirectiveFromProto(reply);
  }

  absl::StatusOr<core::DirectiveReply> ReportMetrics(
      const core::LeaseRef& lease, const std::vector<core::MetricPoint>& points) override {
    proto::ReportMetricsRequest req;
    ToProto(lease, SecretOf(lease.node_id), req.mutable_lease());
    AddPoints(points, &req);
    proto::ReportMetricsReply reply;
    RETURN_IF_ERROR(Call(&Stub::ReportMetrics, req, &reply));
    if (reply.takes_packed_points()) packed_points_ = true;
    return DirectiveFromProto(reply);
  }

  absl::StatusOr<std::string> CompleteTrial(const core::LeaseRef& lease,
                                            const core::Completion& completion) override {
    return Complete(lease, completion, nullptr);
  }

  absl::StatusOr<std::string> CompleteTrialAndAcquire(
      const core::LeaseRef& lease, const core::Completion& completion,
      std::optional<core::AcquireResult>* next) override {
    return Complete(lease, completion, next);
  }

  // CompleteTrial, asking for the next lease too when `next` is set.
  absl::StatusOr<std::string> Complete(const core::LeaseRef& lease,
                                       const core::Completion& completion,
                                       std::optional<core::AcquireResult>* next) {
    if (next != nullptr) next->reset();
    proto::CompleteTrialRequest req;
    ToProto(lease, SecretOf(lease.node_id), req.mutable_lease());
    switch (completion.outcome) {
      case core::Outcome::kSucceeded:
        req.set_outcome(proto::SUCCEEDED);
        break;
      case core::Outcome::kFailed:
        req.set_outcome(proto::FAILED);
        break;
      case core::Outcome::kStopped:
        req.set_outcome(proto::STOPPED);
        break;
    }
    req.set_exit_code(completion.exit_code);
    req.set_signal(completion.signal);
    // Whole characters only, and valid UTF-8: gRPC refuses the whole message otherwise,
    // and the exit code would be lost with it.
    req.set_error(core::SanitizeUtf8(core::Utf8Prefix(completion.error, core::kMaxErrorBytes)));
    AddPoints(completion.points, &req);
    req.set_acquire_next(next != nullptr);
    proto::CompleteTrialReply reply;
    RETURN_IF_ERROR(Call(&Stub::CompleteTrial, req, &reply));
    if (next != nullptr && reply.has_next()) {
      core::AcquireResult out;
      out.shutdown = reply.next().shutdown();
      if (reply.next().has_lease()) out.lease = FromProto(reply.next().lease());
      *next = std::move(out);
    }
    return reply.trial_state();
  }

  absl::Status Deregister(const std::string& node_id) override {
    proto::DeregisterRequest req;
    req.set_node_id(node_id);
    req.set_node_secret(SecretOf(node_id));
    proto::DeregisterReply reply;
    return Call(&Stub::Deregister, req, &reply);
  }

  absl::StatusOr<SnapshotChunk> FetchSnapshot(const std::string& digest, const std::string& blob,
                                              int64_t offset, int64_t max_bytes) override {
    proto::FetchSnapshotRequest req;
    req.set_digest(digest);
    req.set_blob(blob);
    req.set_offset(offset);
    req.set_max_bytes(max_bytes);
    proto::FetchSnapshotReply reply;
    RETURN_IF_ERROR(Call(&Stub::FetchSnapshot, req, &reply));
    return SnapshotChunk{std::move(*reply.mutable_data()), reply.chunk_sha256(),
                         reply.total_size()};
  }

  absl::Status UploadArtifact(const core::LeaseRef& lease,
                              const core::ArtifactChunk& chunk) override {
    proto::UploadArtifactRequest req;
    ToProto(lease, SecretOf(lease.node_id), req.mutable_lease());
    req.set_path(chunk.path);
    req.set_offset(chunk.offset);
    req.set_data(chunk.data);
    req.set_chunk_sha256(chunk.chunk_sha256);
    req.set_file_size(chunk.file_size);
    req.set_last(chunk.last);
    req.set_file_sha256(chunk.file_sha256);
    proto::UploadArtifactReply reply;
    return Call(&Stub::UploadArtifact, req, &reply);
  }

  absl::StatusOr<int64_t> CommitArtifacts(const core::LeaseRef& lease,
                                          int64_t file_count) override {
    proto::CommitArtifactsRequest req;
    ToProto(lease, SecretOf(lease.node_id), req.mutable_lease());
    req.set_file_count(file_count);
    proto::CommitArtifactsReply reply;
    RETURN_IF_ERROR(Call(&Stub::CommitArtifacts, req, &reply));
    return reply.total_bytes();
  }

  void InterruptAcquire() override {
    std::lock_guard<std::mutex> lock(mu_);
    acquire_interrupted_ = true;
    for (grpc::ClientContext* context : acquire_contexts_) context->TryCancel();
  }

 private:
  using Stub = proto::SweepController::Stub;

  // Packed once the controller has said it reads them, one message per point before.
  template <typename Request>
  void AddPoints(const std::vector<core::MetricPoint>& points, Request* req) const {
    if (packed_points_) {
      if (!points.empty()) PackPoints(points, req->mutable_packed_points());
      return;
    }
    for (const core::MetricPoint& point : points) ToProto(point, req->add_points());
  }

  // One unary call under the usual deadline.
  template <typename Request, typename Reply>
  absl::Status Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Reply*),
                    const Request& req, Reply* reply) {
    grpc::ClientContext context;
    Prepare(&context, options_.call_timeout_ms);
    return FromGrpcStatus((stub_.get()->*method)(&context, req, reply));
  }

  void Prepare(grpc::ClientContext* context, int64_t timeout_ms) const {
    context->AddMetadata("authorization", "Bearer " + options_.token);
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeout_ms));
  }

  const GrpcClientOptions options_;
  std::unique_ptr<proto::SweepController::Stub> stub_;

  // The secret Register gave `node_id` ("" before registering).
  std::string SecretOf(const std::string& node_id) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = secrets_.find(node_id);
    return it == secrets_.end() ? std::string() : it->second;
  }

  std::atomic<bool> packed_points_{false};  // a ReportMetricsReply set takes_packed_points
  std::mutex mu_;
  bool acquire_interrupted_ = false;
  std::set<grpc::ClientContext*> acquire_contexts_;
  std::map<std::string, std::string> secrets_;  // node id -> its secret, from Register
};

}  // namespace

absl::StatusOr<std::unique_ptr<ControllerClient>> NewGrpcControllerClient(
    const GrpcClientOptions& options) {
  if (options.server.empty()) {
    return absl::InvalidArgumentError("no controller address given (expected host:port)");
  }
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (options.tls_ca_file.empty()) {
    credentials = grpc::InsecureChannelCredentials();
  } else {
    absl::StatusOr<std::string> pem = options.env->ReadFile(options.tls_ca_file);
    if (!pem.ok() || pem->empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read TLS CA file '", options.tls_ca_file, "'"));
    }
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = *pem;
    credentials = grpc::SslCredentials(ssl);
  }
  return std::unique_ptr<ControllerClient>(new GrpcControllerClient(options, credentials));
}

int RunWorker(const worker::WorkerOptions& options, std::atomic<bool>* stop, core::Env* env) {
  worker::WorkerResult result;
  if (options.server.empty()) {
    result = {2, "no controller address given (expected --server host:port)"};
  } else if (options.token.empty()) {
    result = {2, "no workspace token given"};
  } else {
    GrpcClientOptions client_options;
    client_options.server = options.server;
    client_options.token = options.token;
    client_options.tls_ca_file = options.tls_ca_file;
    client_options.env = env;
    absl::StatusOr<std::unique_ptr<ControllerClient>> client =
        NewGrpcControllerClient(client_options);
    if (!client.ok()) {
      result = {2, std::string(client.status().message())};
    } else {
      std::unique_ptr<worker::ProcessLauncher> launcher = worker::NewPosixProcessLauncher(env);
      worker::WorkerDeps deps;
      deps.client = client->get();
      deps.launcher = launcher.get();
      deps.env = env;
      result = worker::RunWorkerWith(options, deps, stop);
    }
  }
  if (result.exit_code == 0) {
    worker::Log()->info("worker exiting: {}", result.message);
  } else {
    worker::Log()->error("worker exiting: {}", result.message);
  }
  return result.exit_code;
}

}  // namespace sweep::rpc

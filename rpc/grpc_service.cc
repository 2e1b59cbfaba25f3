#include "rpc/grpc_service.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/security/server_credentials.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/digest.h"
#include "core/env.h"
#include "core/limits.h"
#include "core/status.h"
#include "proto/sweep.grpc.pb.h"
#include "rpc/packed_points.h"
#include "rpc/status_mapping.h"
#include "rpc/store_wire.h"
#include "spdlog/spdlog.h"
#include "spec/spec.h"

namespace sweep::rpc {

using controller::ComputeStatus;
using controller::Controller;
using controller::NodeStatus;
using core::AcquireResult;
using core::ArtifactChunk;
using core::BlobChunk;
using core::Completion;
using core::Directive;
using core::DirectiveReply;
using core::LeaseGrant;
using core::LeaseRef;
using core::NodeRegistration;
using core::Outcome;
using core::Registered;
namespace {

namespace pb = ::sweep::proto;

// A long poll is served in slices this long, checking for cancellation in between.
constexpr int64_t kPollSliceMs = 500;

LeaseRef FromProto(const pb::LeaseRef& r) {
  LeaseRef out;
  out.node_id = r.node_id();
  out.sweep_id = r.sweep_id();
  out.trial_id = r.trial_id();
  out.attempt = r.attempt();
  out.fencing_token = r.fencing_token();
  return out;
}

void ToProto(const LeaseRef& r, pb::LeaseRef* out) {
  out->set_node_id(r.node_id);
  out->set_sweep_id(r.sweep_id);
  out->set_trial_id(r.trial_id);
  out->set_attempt(r.attempt);
  out->set_fencing_token(r.fencing_token);
}

void ToProto(const LeaseGrant& g, pb::Lease* out) {
  ToProto(g.ref, out->mutable_ref());
  for (const std::string& a : g.argv) out->add_argv(a);
  out->set_shell(g.shell);
  auto* env = out->mutable_env();
  for (const auto& [k, v] : g.env) (*env)[k] = v;
  out->set_params_json(g.params_json);
  out->set_primary_metric(g.primary_metric);
  out->set_expires_at_ms(g.expires_at_ms);
  out->set_trial_timeout_ms(g.trial_timeout_ms);
  out->set_stop_grace_ms(g.stop_grace_ms);
  out->set_snapshot_digest(g.snapshot_digest);
  out->set_artifact_max_bytes(g.artifact_max_bytes);
  if (g.environment) rpc::ToProto(*g.environment, out->mutable_environment());
}

std::vector<core::MetricPoint> FromProto(
    const google::protobuf::RepeatedPtrField<pb::MetricPoint>& points) {
  std::vector<core::MetricPoint> out;
  out.reserve(points.size());
  for (const pb::MetricPoint& p : points) {
    core::MetricPoint m;
    m.name = p.name();
    m.value = p.value();
    m.step = p.step();
    m.timestamp_ms = p.timestamp_ms();
    m.seq = p.seq();
    out.push_back(std::move(m));
  }
  return out;
}

// A report's points: `points`, then `packed_points`.
template <typename Request>
absl::StatusOr<std::vector<core::MetricPoint>> PointsOf(const Request& req) {
  std::vector<core::MetricPoint> out = FromProto(req.points());
  if (req.has_packed_points()) RETURN_IF_ERROR(UnpackPoints(req.packed_points(), &out));
  return out;
}

pb::Directive ToProto(Directive d) { return d == Directive::kStop ? pb::STOP : pb::CONTINUE; }

// Compares without an early exit, so timing does not reveal how much of a guess matched.
bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ (b.empty() ? 0 : b[i % b.size()]));
  }
  return diff == 0;
}

// A key for node secrets that lives as long as this server.
std::string RandomKey() {
  absl::StatusOr<std::string> key = core::Env::Default()->RandomBytes(32);
  if (key.ok()) return *key;
  // Without the kernel's randomness, fall back on the clock: weak, so say so.
  spdlog::warn("no random node key ({}); node secrets are guessable",
               std::string(key.status().message()));
  return absl::StrCat("sweep-node-key-",
                      std::chrono::steady_clock::now().time_since_epoch().count());
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  absl::StatusOr<std::string> text = core::Env::Default()->ReadFile(path);
  if (!text.ok()) return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  return text;
}

class Service final : public pb::SweepController::Service {
 public:
  Service(Controller* controller, store::Store* read_store, std::string token, std::string node_key)
      : controller_(controller),
        read_store_(read_store),
        expected_(absl::StrCat("Bearer ", token)),
        node_key_(std::move(node_key)) {}

  void Stop() { stopping_ = true; }

  grpc::Status Register(grpc::ServerContext* ctx, const pb::RegisterRequest* req,
                        pb::RegisterReply* reply) override {
    if (grpc::Status a = Authorize(ctx); !a.ok()) return a;
    NodeRegistration r;
    r.node_id = req->node_id();
    r.compute = req->compute();
    r.hostname = req->hostname();
    r.pid = req->pid();
    r.version = req->version();
    if (!r.node_id.empty() && !SecretMatches(r.node_id, req->node_secret()) &&
        controller_->NodeIsClaimed(r.node_id)) {
      return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                          absl::StrCat("node ", r.node_id,
                                       " is registered and live; registering again as it needs "
                                       "its node secret"));
    }
    absl::StatusOr<Registered> out = controller_->Register(r);
    if (!out.ok()) return ToGrpcStatus(out.status());
    reply->set_node_id(out->node_id);
    reply->set_node_secret(NodeSecret(out->node_id));
    reply->set_heartbeat_interval_ms(out->heartbeat_interval_ms);
    reply->set_lease_duration_ms(out->lease_duration_ms);
    return grpc::Status::OK;
  }

  grpc::Status AcquireTrial(grpc::ServerContext* ctx, const pb::AcquireTrialRequest* req,
                            pb::AcquireTrialReply* reply) override {
    if (grpc::Status a = Authorize(ctx); !a.ok()) return a;
    if (grpc::Status n = CheckNode(req->node_id(), req->node_secret()); !n.ok()) return n;
    const auto deadline =
        std::chrono::steady_clock::now() +
        std::chrono::milliseconds(std::clamp<int64_t>(req->wait_ms(), 0, core::kMaxWaitMs));
    while (true) {
      int64_t left = std::chrono::duration_cast<std::chrono::milliseconds>(
                         deadline - std::chrono::steady_clock::now())
                         .count();
      absl::StatusOr<AcquireResult> out =
          controller_->AcquireTrial(req->node_id(), std::clamp<int64_t>(left, 0, kPollSliceMs));
      if (!out.ok()) return ToGrpcStatus(out.status());
      if (out->lease) ToProto(*out->lease, reply->mutable_lease());
      reply->set_shutdown(out->shutdown);
      if (out->lease || out->shutdown || left <= kPollSliceMs) return grpc::Status::OK;
      if (stopping_ || ctx->IsCancelled()) return grpc::Status::OK;
    }
  }

  grpc::Status Heartbeat(grpc::ServerContext* ctx, const pb::HeartbeatRequest* req,
                         pb::HeartbeatReply* reply) override {
    if (grpc::Status a = Authorize(ctx); !a.ok()) return a;
    if (grpc::Status n = CheckLease(req->lease()); !n.ok()) return n;
    absl::StatusOr<DirectiveReply> out = controller_->Heartbeat(FromProto(req->lease()));
    if (!out.ok()) return ToGrpcStatus(out.status());
    reply->set_directive(ToProto(out->directive));
    reply->set_expires_at_ms(out->expires_at_ms);
    reply->set_reason(out->reason);
    return grpc::Status::OK;
  }

  grpc::Status ReportMetrics(grpc::ServerContext* ctx, const pb::ReportMetricsRequest* req,
                             pb::ReportMetricsReply* reply) override {
    if (grpc::Status a = Authorize(ctx); !a.ok()) return a;
    if (grpc::Status n = CheckLease(req->lease()); !n.ok()) return n;
    absl::StatusOr<std::vector<core::MetricPoint>> points = PointsOf(*req);
    if (!points.ok()) return ToGrpcStatus(points.status());
    absl::StatusOr<DirectiveReply> out =
        controller_->ReportMetrics(FromProto(req->lease()), *points);
    if (!out.ok()) return ToGrpcStatus(out.status());
    reply->set_takes_packed_points(true);
    reply->set_directive(ToProto(out->directive));
    reply->set_expires_at_ms(out->expires_at_ms);
    reply->set_reason(out->reason);
    return grpc::Status::OK;
  }

  grpc::Status CompleteTrial(grpc::ServerContext* ctx, const pb::CompleteTrialRequest* req,
                             pb::CompleteTrialReply* reply) override {
    if (grpc::Status a = Authorize(ctx); !a.ok()) return a;
    if (grpc::Status n = CheckLease(req->lease()); !n.ok()) return n;
    Completion c;
    switch (req->outcome()) {
      case pb::SUCCEEDED:
        c.outcome = Outcome::kSucceeded;
        break;
      case pb::FAILED:
        c.outcome = Outcome::kFailed;
        break;
      case pb::STOPPED:
        c.outcome = Outcome::kStopped;
        break;
      default:
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "CompleteTrial: outcome must be SUCCEEDED, FAILED or STOPPED");
    }
    c.exit_code = req->exit_code();
    c.signal = req->signal();
    c.error = req->error();
    absl::StatusOr<std::vector<core::MetricPoint>> points = PointsOf(*req);
    if (!points.ok()) return ToGrpcStatus(points.status());
    c.points = std::move(*points);
    if (req->acquire_next()) {
      absl::StatusOr<controller::Controller::CompletedAndNext> out =
          controller_->CompleteTrialAndAcquire(FromProto(req->lease()), c);
      if (!out.ok()) return ToGrpcStatus(out.status());
      reply->set_trial_state(core::TrialStateName(out->state));
      if (out->next) {
        if (out->next->lease) ToProto(*out->next->lease, reply->mutable_next()->mutable_lease());
        reply->mutable_next()->set_shutdown(out->next->shutdown);
      }
      return grpc::Status::OK;
    }
    absl::StatusOr<core::TrialState> out = controller_->CompleteTrial(FromProto(req->lease()), c);
    if (!out.ok()) return ToGrpcStatus(out.status());
    reply->set_trial_state(core::TrialStateName(*out));
    return grpc::Status::OK;
  }

  grpc::Status Deregister(grpc::ServerContext* ctx, const pb::DeregisterRequest* req,
                          pb::DeregisterReply*) override {
    if (grpc::Status a = Authorize(ctx); !a.ok()) return a;
    if (grpc::Status n = CheckNode(req->node_id(), req->node_secret()); !n.ok()) return n;
    return ToGrpcStatus(controller_->Deregister(req->node_id()));
  }

  grpc::Status CancelSweep(grpc::ServerContext* ctx, const pb::CancelSweepRequest* req,
                           pb::CancelSweepReply* reply) override {
    if (grpc::Status a = Authorize(ctx); !a.ok()) return a;
    if (absl::Status s = controller_->CancelSweep(req->sweep_id()); !s.ok()) return ToGrpcStatus(s);
    reply->set_state(core::SweepStateName(core::SweepState::kCanceled));
    return grpc::Status::OK;
  }

  grpc::Status EnqueueTrial(grpc::ServerContext* ctx, const pb::EnqueueTrialRequest* req,
                            pb::EnqueueTrialReply* reply) override {
    if (grpc::Status a = Authorize(ctx); !a.ok()) return a;
    absl::StatusOr<int64_t> id = controller_->EnqueueTrial(
        req->sweep_id(), std::vector<std::string>(req->params().begin(), req->params().end()));
    if (!id.ok()) return ToGrpcStatus(id.status());
    reply->set_trial_id(*id);
    return grpc::Status::OK;
  }

  grpc::Status ExtendSweep(grpc::ServerContext* ctx, const pb::ExtendSweepRequest* req,
                           pb::ExtendSweepReply* reply) override {
    if (grpc::Status a = Authorize(ctx); !a.ok()) return a;
    absl::StatusOr<int64_t> n = controller_->ExtendSweep(
        req->sweep_id(), {.max_total_trials = req->max_total_trials(),
                          .timeout_s = req->timeout_s(),
                          .max_concurrent_trials = req->max_concurrent_trials()});
    if (!n.ok()) return ToGrpcStatus(n.status());
    reply->set_extension(*n);
    return grpc::Status::OK;
  }

  grpc::Status SubmitSweep(grpc::ServerContext* ctx, const pb::SubmitSweepRequest* req,
                           pb::SubmitSweepReply* reply) override {
    if (grpc::Status a = Authorize(ctx); !a.ok()) return a;
    std::string base_dir = req->base_dir();
    if (base_dir.empty() && !req->spec_path().empty()) {
      base_dir = std::filesystem::path(req->spec_path()).parent_path().string();
    }
    absl::StatusOr<spec::SweepSpec> spec =
        spec::ParseSpec(req->spec_yaml(), req->spec_path(), base_dir);
    if (!spec.ok()) return ToGrpcStatus(spec.status());
    spec->path = req->spec_path();  // kept with the sweep; restarts re-parse against it
    spec::AddWarmStartSweeps(*spec, {req->warm_start().begin(), req->warm_start().end()});
    absl::StatusOr<std::string> id = controller_->SubmitSweep(*spec, req->spec_yaml());
    if (!id.ok()) return ToGrpcStatus(id.status());
    reply->set_sweep_id(*id);
    return grpc::Status::OK;
  }

  grpc::Status ReadStore(grpc::ServerContext* ctx, const pb::ReadStoreRequest* req,
                         pb::ReadStoreReply* reply) override {
    if (grpc::Status a = Authorize(ctx); !a.ok()) return a;
    if (read_store_ == nullptr) {
      return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                          "this controller does not serve store reads");
    }
    return ToGrpcStatus(ServeReadStore(*read_store_, *req, reply));
  }

  grpc::Status GetComputeStatus(grpc::ServerContext* ctx, const pb::ComputeStatusRequest* req,
                                pb::ComputeStatusReply* reply) override {
    if (grpc::Status a = Authorize(ctx); !a.ok()) return a;
    absl::StatusOr<ComputeStatus> status = controller_->GetComputeStatus(req->compute());
    if (!status.ok()) return ToGrpcStatus(status.status());
    reply->set_desired_nodes(status->desired_nodes);
    reply->set_provider_nodes(status->provider_nodes);
    for (const NodeStatus& n : status->nodes) {
      pb::NodeStatusRecord* out = reply->add_nodes();
      rpc::ToProto(n.node, out->mutable_node());
      out->set_sweep_id(n.sweep_id);
      out->set_trial_id(n.trial_id);
    }
    return grpc::Status::OK;
  }

  grpc::Status FetchSnapshot(grpc::ServerContext* ctx, const pb::FetchSnapshotRequest* req,
                             pb::FetchSnapshotReply* reply) override {
    if (grpc::Status a = Authorize(ctx); !a.ok()) return a;
    absl::StatusOr<BlobChunk> out =
        controller_->FetchSnapshot(req->digest(), req->blob(), req->offset(), req->max_bytes());
    if (!out.ok()) return ToGrpcStatus(out.status());
    reply->set_data(std::move(out->data));
    reply->set_chunk_sha256(out->sha256);
    reply->set_total_size(out->total_size);
    return grpc::Status::OK;
  }

  grpc::Status UploadArtifact(grpc::ServerContext* ctx, const pb::UploadArtifactRequest* req,
                              pb::UploadArtifactReply*) override {
    if (grpc::Status a = Authorize(ctx); !a.ok()) return a;
    if (grpc::Status n = CheckLease(req->lease()); !n.ok()) return n;
    ArtifactChunk chunk;
    chunk.path = req->path();
    chunk.offset = req->offset();
    chunk.data = req->data();
    chunk.chunk_sha256 = req->chunk_sha256();
    chunk.file_size = req->file_size();
    chunk.last = req->last();
    chunk.file_sha256 = req->file_sha256();
    return ToGrpcStatus(controller_->UploadArtifact(FromProto(req->lease()), chunk));
  }

  grpc::Status CommitArtifacts(grpc::ServerContext* ctx, const pb::CommitArtifactsRequest* req,
                               pb::CommitArtifactsReply* reply) override {
    if (grpc::Status a = Authorize(ctx); !a.ok()) return a;
    if (grpc::Status n = CheckLease(req->lease()); !n.ok()) return n;
    absl::StatusOr<int64_t> total =
        controller_->CommitArtifacts(FromProto(req->lease()), req->file_count());
    if (!total.ok()) return ToGrpcStatus(total.status());
    reply->set_total_bytes(*total);
    return grpc::Status::OK;
  }

  // --- Admin

  grpc::Status PutComputeTarget(grpc::ServerContext* ctx, const pb::PutComputeTargetRequest* req,
                                pb::PutComputeTargetReply* reply) override {
    if (grpc::Status a = Authorize(ctx); !a.ok()) return a;
    workspace::PutMode mode;
    switch (req->mode()) {
      case pb::PutComputeTargetRequest::CREATE:
        mode = workspace::PutMode::kCreate;
        break;
      case pb::PutComputeTargetRequest::UPDATE:
        mode = workspace::PutMode::kUpdate;
        break;
      default:
        return AdminError(
            ctx, absl::InvalidArgumentError("PutComputeTarget: mode must be CREATE or UPDATE"));
    }
    absl::StatusOr<core::ComputeTarget> stored =
        controller_->PutComputeTarget(rpc::FromProto(req->target()), mode);
    if (!stored.ok()) return AdminError(ctx, stored.status());
    rpc::ToProto(*stored, reply->mutable_target());
    return grpc::Status::OK;
  }

  grpc::Status DeleteComputeTarget(grpc::ServerContext* ctx,
                                   const pb::DeleteComputeTargetRequest* req,
                                   pb::DeleteComputeTargetReply*) override {
    if (grpc::Status a = Authorize(ctx); !a.ok()) return a;
    return AdminError(ctx, controller_->DeleteComputeTarget(req->name()));
  }

  grpc::Status AttachRemoteVm(grpc::ServerContext* ctx, const pb::AttachRemoteVmRequest* req,
                              pb::AttachRemoteVmReply* reply) override {
    if (grpc::Status a = Authorize(ctx); !a.ok()) return a;
    absl::StatusOr<workspace::AttachedRemoteVm> attached =
        controller_->AttachRemoteVm(rpc::FromProto(*req));
    if (!attached.ok()) return AdminError(ctx, attached.status());
    rpc::ToProto(*attached, reply);
    return grpc::Status::OK;
  }

  grpc::Status CreateEnvironment(grpc::ServerContext* ctx, const pb::CreateEnvironmentRequest* req,
                                 pb::CreateEnvironmentReply* reply) override {
    if (grpc::Status a = Authorize(ctx); !a.ok()) return a;
    absl::StatusOr<workspace::CreatedEnvironment> created =
        controller_->CreateEnvironment(rpc::FromProto(req->definition()));
    if (!created.ok()) return AdminError(ctx, created.status());
    rpc::ToProto(created->environment, reply->mutable_environment());
    reply->set_created(created->created);
    return grpc::Status::OK;
  }

  grpc::Status RegisterModel(grpc::ServerContext* ctx, const pb::RegisterModelRequest* req,
                             pb::RegisterModelReply* reply) override {
    if (grpc::Status a = Authorize(ctx); !a.ok()) return a;
    absl::StatusOr<core::Model> model = controller_->RegisterModel(rpc::FromProto(*req));
    if (!model.ok()) return AdminError(ctx, model.status());
    rpc::ToProto(*model, reply->mutable_model());
    return grpc::Status::OK;
  }

 private:
  // Every lease rpc checks a secret, and deriving it (an HMAC through OpenSSL 3) was 4%
  // of the controller's CPU in the dispatch benchmark: each node's is computed once. The
  // cache is emptied when it grows past kMaxCachedSecrets (only callers holding the
  // workspace token reach it, but their node ids are theirs to choose).
  std::string NodeSecret(const std::string& node_id) const {
    {
      absl::MutexLock lock(&secrets_mu_);
      auto it = secrets_.find(node_id);
      if (it != secrets_.end()) return it->second;
    }
    std::string secret = core::HmacSha256Hex(node_key_, absl::StrCat("sweep-node:", node_id));
    absl::MutexLock lock(&secrets_mu_);
    if (secrets_.size() >= kMaxCachedSecrets) secrets_.clear();
    secrets_.emplace(node_id, secret);
    return secret;
  }
  bool SecretMatches(const std::string& node_id, const std::string& secret) const {
    return !secret.empty() && ConstantTimeEquals(secret, NodeSecret(node_id));
  }
  // The caller proves it is node `node_id`.
  grpc::Status CheckNode(const std::string& node_id, const std::string& secret) const {
    if (SecretMatches(node_id, secret)) return grpc::Status::OK;
    return grpc::Status(
        grpc::StatusCode::PERMISSION_DENIED,
        absl::StrCat(secret.empty() ? "no node secret" : "a wrong node secret", " for node '",
                     node_id, "': a node acts only for itself, with the secret Register gave it"));
  }
  grpc::Status CheckLease(const pb::LeaseRef& ref) const {
    return CheckNode(ref.node_id(), ref.node_secret());
  }

  grpc::Status Authorize(grpc::ServerContext* ctx) const {
    const auto& md = ctx->client_metadata();
    auto it = md.find("authorization");
    if (it == md.end()) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          "missing authorization metadata (expected \"Bearer <token>\" with "
                          "the workspace token)");
    }
    std::string_view got(it->second.data(), it->second.size());
    if (!ConstantTimeEquals(got, expected_)) {
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                          "invalid token: it does not match the workspace token");
    }
    return grpc::Status::OK;
  }

  // A failed admin call, marked as the controller's own error (see kAdminErrorKey).
  static grpc::Status AdminError(grpc::ServerContext* ctx, const absl::Status& status) {
    if (!status.ok()) ctx->AddTrailingMetadata(kAdminErrorKey, kAdminErrorValue);
    return ToGrpcStatus(status);
  }

  Controller* const controller_;
  store::Store* const read_store_;
  const std::string expected_;
  const std::string node_key_;
  static constexpr size_t kMaxCachedSecrets = 4096;
  mutable absl::Mutex secrets_mu_;
  mutable absl::flat_hash_map<std::string, std::string> secrets_ ABSL_GUARDED_BY(secrets_mu_);
  std::atomic<bool> stopping_{false};
};

}  // namespace

void ApplySyncServerOptions(grpc::ServerBuilder* builder) {
  builder->SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::NUM_CQS, 1);
  builder->SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 1);
  // Threads that finish a call go back to polling, up to this many, instead of exiting:
  // with 2, busy workers made gRPC create (and end) a thread for almost every call.
  builder->SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 16);
}

class GrpcServer::Impl {
 public:
  Impl(Controller* controller, const GrpcServerOptions& options)
      : service_(controller, options.read_store, options.token,
                 options.node_key.empty() ? RandomKey() : options.node_key),
        options_(options) {}

  absl::Status Start() {
    std::shared_ptr<grpc::ServerCredentials> creds;
    if (!options_.tls_cert_file.empty() || !options_.tls_key_file.empty()) {
      if (options_.tls_cert_file.empty() || options_.tls_key_file.empty()) {
        return absl::InvalidArgumentError("TLS needs both a certificate file and a key file");
      }
      absl::StatusOr<std::string> cert = ReadFile(options_.tls_cert_file);
      if (!cert.ok()) return cert.status();
      absl::StatusOr<std::string> key = ReadFile(options_.tls_key_file);
      if (!key.ok()) return key.status();
      grpc::SslServerCredentialsOptions ssl;
      ssl.pem_key_cert_pairs.push_back({*key, *cert});
      creds = grpc::SslServerCredentials(ssl);
    } else {
      creds = grpc::InsecureServerCredentials();
    }
    grpc::ServerBuilder builder;
    builder.SetMaxReceiveMessageSize(core::kMaxMessageBytes);
    builder.SetMaxSendMessageSize(core::kMaxMessageBytes);
    int selected = 0;
    builder.AddListeningPort(options_.listen_address, creds, &selected);
    builder.RegisterService(&service_);
    grpc::ResourceQuota quota("sweep-controller");
    quota.SetMaxThreads(options_.max_threads);
    builder.SetResourceQuota(quota);
    ApplySyncServerOptions(&builder);
    server_ = builder.BuildAndStart();
    if (!server_ || selected == 0) {
      server_.reset();
      return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.listen_address,
                                                 " (address in use or invalid?)"));
    }
    port_ = selected;
    std::string host = options_.listen_address;
    size_t colon = host.rfind(':');
    if (colon != std::string::npos) host = host.substr(0, colon);
    address_ = absl::StrCat(host, ":", port_);
    return absl::OkStatus();
  }

  void Shutdown() {
    std::lock_guard<std::mutex> lock(mu_);
    if (!server_) return;
    service_.Stop();
    // Long polls notice within one slice; give them a little longer than that.
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::milliseconds(2 * kPollSliceMs));
    server_->Wait();
    server_.reset();
  }

  int port() const { return port_; }
  const std::string& address() const { return address_; }

 private:
  Service service_;
  GrpcServerOptions options_;
  std::mutex mu_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::string address_;
};

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(Controller* controller,
                                                              const GrpcServerOptions& options) {
  if (controller == nullptr) return absl::InvalidArgumentError("GrpcServer: controller is null");
  if (options.token.empty()) {
    return absl::InvalidArgumentError("GrpcServer: a token is required");
  }
  if (options.max_threads < 4) {
    return absl::InvalidArgumentError(
        absl::StrCat("GrpcServer: max_threads must be >= 4 (got ", options.max_threads, ")"));
  }
  auto impl = std::make_unique<Impl>(controller, options);
  if (absl::Status s = impl->Start(); !s.ok()) return s;
  spdlog::debug("controller listening on {}", impl->address());
  return std::unique_ptr<GrpcServer>(new GrpcServer(std::move(impl)));
}

GrpcServer::GrpcServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GrpcServer::~GrpcServer() { Shutdown(); }
int GrpcServer::port() const { return impl_->port(); }
std::string GrpcServer::address() const { return impl_->address(); }
void GrpcServer::Shutdown() { impl_->Shutdown(); }

}  // namespace sweep::rpc

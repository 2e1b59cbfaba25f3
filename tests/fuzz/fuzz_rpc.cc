// libFuzzer target: the controller's gRPC handlers (rpc/grpc_service.h) with fuzzed request
// messages, over a real GrpcServer on loopback in front of a Controller on a temporary
// workspace (SQLite store, artifact and model directories).
//
// Input: byte 0 picks the rpc, byte 1 holds flags, the rest is the request message in the
// protobuf wire format (inputs that do not parse are skipped). Flag 1 writes the node id
// and secret of a node registered at start into every node_id / node_secret field, and
// flag 2 points every LeaseRef at that node's current lease (a sweep is submitted at
// start), and flag 4 fills an artifact chunk's checksums from its data, so the fuzzer gets
// past the credential, fencing and checksum checks into the handlers.
// Every call carries the workspace token. Long polls are cut to 0 ms.
//
// The controller keeps state across inputs (sweeps, trials, leases), as a long-running
// server does; a crash input may need the inputs before it to reproduce.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <type_traits>

#include "controller/controller.h"
#include "core/digest.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "grpc/support/log.h"
#include "grpcpp/grpcpp.h"
#include "proto/sweep.grpc.pb.h"
#include "rpc/grpc_service.h"
#include "spdlog/spdlog.h"
#include "workspace/workspace.h"

namespace {

namespace pb = sweep::proto;
namespace gp = google::protobuf;

constexpr char kSpec[] =
    "type: sweep\n"
    "trial:\n"
    "  command: echo accuracy=${{search_space.a}}\n"
    "compute: azureml:cpu-cluster\n"
    "sampling_algorithm: {type: random, seed: 1}\n"
    "search_space:\n"
    "  a: {type: uniform, min_value: 0, max_value: 1}\n"
    "objective: {primary_metric: accuracy, goal: maximize}\n"
    "limits: {max_total_trials: 1000000, max_concurrent_trials: 4}\n";

struct Harness {
  std::string dir;
  std::unique_ptr<sweep::workspace::Workspace> ws;
  std::unique_ptr<sweep::controller::Controller> controller;
  std::unique_ptr<sweep::rpc::GrpcServer> server;
  std::unique_ptr<pb::SweepController::Stub> stub;
  std::string node_id;
  std::string node_secret;

  void Prepare(grpc::ClientContext& ctx) const {
    ctx.AddMetadata("authorization", "Bearer " + ws->token());
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  }
};

Harness* g_harness = nullptr;

Harness* Start() {
  // Refused inputs are the point: their log lines would drown libFuzzer's.
  gp::SetLogHandler(nullptr);
  gpr_set_log_verbosity(GPR_LOG_SEVERITY_ERROR);
  spdlog::set_level(spdlog::level::off);
  auto* h = new Harness;
  std::string tmpl = (std::filesystem::temp_directory_path() / "sweep-fuzz-rpc-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
  h->dir = tmpl;
  auto ws = sweep::workspace::Workspace::OpenOrCreate(h->dir + "/ws");
  if (!ws.ok()) std::abort();
  h->ws = std::move(*ws);
  sweep::controller::ControllerOptions options;
  options.workspace_dir = h->ws->dir();
  options.max_acquire_wait_ms = 0;
  options.artifact_max_bytes = 1 << 20;
  auto controller = sweep::controller::Controller::Create(h->ws->store(), options);
  if (!controller.ok()) std::abort();
  h->controller = std::move(*controller);
  h->controller->Start();
  sweep::rpc::GrpcServerOptions server_options;
  server_options.token = h->ws->token();
  server_options.read_store = h->ws->store();
  server_options.max_threads = 8;
  auto server = sweep::rpc::GrpcServer::Start(h->controller.get(), server_options);
  if (!server.ok()) std::abort();
  h->server = std::move(*server);
  h->stub = pb::SweepController::NewStub(
      grpc::CreateChannel(h->server->address(), grpc::InsecureChannelCredentials()));

  pb::SubmitSweepRequest submit;
  submit.set_spec_yaml(kSpec);
  submit.set_spec_path(h->dir + "/spec.yml");
  pb::SubmitSweepReply submitted;
  grpc::ClientContext submit_ctx;
  h->Prepare(submit_ctx);
  if (!h->stub->SubmitSweep(&submit_ctx, submit, &submitted).ok()) std::abort();
  pb::RegisterRequest reg;
  reg.set_compute("cpu-cluster");
  reg.set_hostname("fuzz");
  reg.set_pid(1);
  pb::RegisterReply registered;
  grpc::ClientContext reg_ctx;
  h->Prepare(reg_ctx);
  if (!h->stub->Register(&reg_ctx, reg, &registered).ok()) std::abort();
  h->node_id = registered.node_id();
  h->node_secret = registered.node_secret();
  std::atexit([] {
    // The server's threads must stop before the workspace goes.
    g_harness->server->Shutdown();
    g_harness->controller->Shutdown();
    std::filesystem::remove_all(g_harness->dir);
  });
  return h;
}

// The harness node's current lease (asked for now; may be none).
pb::LeaseRef CurrentLease(const Harness& h) {
  pb::AcquireTrialRequest req;
  req.set_node_id(h.node_id);
  req.set_node_secret(h.node_secret);
  pb::AcquireTrialReply reply;
  grpc::ClientContext ctx;
  h.Prepare(ctx);
  pb::LeaseRef ref;
  if (h.stub->AcquireTrial(&ctx, req, &reply).ok() && reply.has_lease()) {
    ref = reply.lease().ref();
  }
  ref.set_node_id(h.node_id);
  ref.set_node_secret(h.node_secret);
  return ref;
}

// Rewrites, in `m` and the messages it holds: node credentials (flag 1), every LeaseRef
// (flag 2), and long-poll waits.
void Patch(gp::Message& m, const Harness& h, int flags, const pb::LeaseRef* lease) {
  if (lease != nullptr && m.GetDescriptor() == pb::LeaseRef::descriptor()) {
    m.CopyFrom(*lease);
    return;
  }
  const gp::Descriptor* d = m.GetDescriptor();
  const gp::Reflection* r = m.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const gp::FieldDescriptor* f = d->field(i);
    if (f->type() == gp::FieldDescriptor::TYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int k = 0; k < r->FieldSize(m, f); ++k) {
          Patch(*r->MutableRepeatedMessage(&m, f, k), h, flags, lease);
        }
      } else if (r->HasField(m, f) ||
                 (lease != nullptr && f->message_type() == pb::LeaseRef::descriptor())) {
        Patch(*r->MutableMessage(&m, f), h, flags, lease);
      }
    } else if (!f->is_repeated() && f->name() == "wait_ms") {
      r->SetInt64(&m, f, 0);
    } else if ((flags & 1) && !f->is_repeated() && f->type() == gp::FieldDescriptor::TYPE_STRING) {
      if (f->name() == "node_id") r->SetString(&m, f, h.node_id);
      if (f->name() == "node_secret") r->SetString(&m, f, h.node_secret);
    }
  }
}

template <typename Request, typename Reply, typename Call>
void Fuzz(const Harness& h, int flags, const uint8_t* data, size_t size, Call call) {
  Request req;
  if (!req.ParseFromArray(data, static_cast<int>(size))) return;
  pb::LeaseRef lease;
  if (flags & 2) lease = CurrentLease(h);
  Patch(req, h, flags, (flags & 2) ? &lease : nullptr);
  if constexpr (std::is_same_v<Request, pb::UploadArtifactRequest>) {
    if (flags & 4) {
      req.set_chunk_sha256(sweep::core::Sha256Hex(req.data()));
      if (req.last()) req.set_file_sha256(req.chunk_sha256());
    }
  }
  Reply reply;
  grpc::ClientContext ctx;
  h.Prepare(ctx);
  (void)(h.stub.get()->*call)(&ctx, req, &reply);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (g_harness == nullptr) g_harness = Start();
  if (size < 2) return 0;
  const Harness& h = *g_harness;
  const int flags = data[1];
  const uint8_t* body = data + 2;
  const size_t n = size - 2;
  using S = pb::SweepController::Stub;
  switch (data[0] % 20) {
    case 0:
      Fuzz<pb::RegisterRequest, pb::RegisterReply>(h, flags, body, n, &S::Register);
      break;
    case 1:
      Fuzz<pb::AcquireTrialRequest, pb::AcquireTrialReply>(h, flags, body, n, &S::AcquireTrial);
      break;
    case 2:
      Fuzz<pb::HeartbeatRequest, pb::HeartbeatReply>(h, flags, body, n, &S::Heartbeat);
      break;
    case 3:
      Fuzz<pb::ReportMetricsRequest, pb::ReportMetricsReply>(h, flags, body, n, &S::ReportMetrics);
      break;
    case 4:
      Fuzz<pb::CompleteTrialRequest, pb::CompleteTrialReply>(h, flags, body, n, &S::CompleteTrial);
      break;
    case 5:
      Fuzz<pb::DeregisterRequest, pb::DeregisterReply>(h, flags, body, n, &S::Deregister);
      break;
    case 6:
      Fuzz<pb::CancelSweepRequest, pb::CancelSweepReply>(h, flags, body, n, &S::CancelSweep);
      break;
    case 7:
      Fuzz<pb::SubmitSweepRequest, pb::SubmitSweepReply>(h, flags, body, n, &S::SubmitSweep);
      break;
    case 8:
      Fuzz<pb::ReadStoreRequest, pb::ReadStoreReply>(h, flags, body, n, &S::ReadStore);
      break;
    case 9:
      Fuzz<pb::ComputeStatusRequest, pb::ComputeStatusReply>(h, flags, body, n,
                                                             &S::GetComputeStatus);
      break;
    case 10:
      Fuzz<pb::FetchSnapshotRequest, pb::FetchSnapshotReply>(h, flags, body, n, &S::FetchSnapshot);
      break;
    case 11:
      Fuzz<pb::UploadArtifactRequest, pb::UploadArtifactReply>(h, flags, body, n,
                                                               &S::UploadArtifact);
      break;
    case 12:
      Fuzz<pb::CommitArtifactsRequest, pb::CommitArtifactsReply>(h, flags, body, n,
                                                                 &S::CommitArtifacts);
      break;
    case 13:
      Fuzz<pb::PutComputeTargetRequest, pb::PutComputeTargetReply>(h, flags, body, n,
                                                                   &S::PutComputeTarget);
      break;
    case 14:
      Fuzz<pb::DeleteComputeTargetRequest, pb::DeleteComputeTargetReply>(h, flags, body, n,
                                                                         &S::DeleteComputeTarget);
      break;
    case 15:
      Fuzz<pb::CreateEnvironmentRequest, pb::CreateEnvironmentReply>(h, flags, body, n,
                                                                     &S::CreateEnvironment);
      break;
    case 16:
      Fuzz<pb::RegisterModelRequest, pb::RegisterModelReply>(h, flags, body, n, &S::RegisterModel);
      break;
    case 17:
      Fuzz<pb::EnqueueTrialRequest, pb::EnqueueTrialReply>(h, flags, body, n, &S::EnqueueTrial);
      break;
    case 18:
      Fuzz<pb::ExtendSweepRequest, pb::ExtendSweepReply>(h, flags, body, n, &S::ExtendSweep);
      break;
    case 19:
      Fuzz<pb::AttachRemoteVmRequest, pb::AttachRemoteVmReply>(h, flags, body, n,
                                                               &S::AttachRemoteVm);
      break;
  }
  return 0;
}

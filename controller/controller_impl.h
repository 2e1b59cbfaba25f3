// ControllerImpl: the Controller (controller.h) as a facade over its parts.
//
//   commit_queue.h   group commit: nothing is acknowledged before it is durable
//   state.h          the in-memory records the parts share
//   lifecycle.h      sweep / trial / attempt transitions, metric ingest
//   scheduler.h      leases, fencing and fair share between sweeps of a target
//   autoscaler.h     scaling compute targets: a pure plan, applied here
//   recovery.h       loading after a restart
//   registration.h   register_model of completed sweeps
//   enqueue.h        user-given points (extension.cc: EnqueueTrial)
//   extension.h      warm start and `sweep extend` (extension.cc: ExtendSweep)
//
// Every public call mutates State under mu_, collects the rows it changed in a Txn,
// enqueues the batch (still under mu_, so batches are ordered like the mutations),
// releases mu_ and then waits until the batch is durable before answering (Finish).
//
// Thread safety: all public methods are thread-safe. Locks: mu_ guards state_ and the
// parts (lifecycle_, scheduler_, autoscaler_), shutdown_ and the condition variables'
// predicates; the commit queue has its own mutex, taken under mu_ only to enqueue;
// ticker_mu_ guards the background thread. Nothing waits for durability, starts nodes or
// registers models while holding mu_.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "controller/admin.h"
#include "controller/autoscaler.h"
#include "controller/commit_queue.h"
#include "controller/controller.h"
#include "controller/lifecycle.h"
#include "controller/scheduler.h"
#include "controller/state.h"
#include "workspace/snapshot_store.h"

namespace sweep::controller {

class ControllerImpl final : public Controller {
 public:
  // `store` is not owned and must outlive the controller. Call Load() before use.
  ControllerImpl(store::Store* store, ControllerOptions options);
  ~ControllerImpl() override { Shutdown(); }

  // Rebuilds the state from the store (recovery.h). Store errors are passed through.
  absl::Status Load();

  void SetNodeProvider(const std::string& provider_name,
                       std::shared_ptr<NodeProvider> provider) override;
  void SetEventListener(std::function<void(const core::Event&)> listener) override;
  absl::StatusOr<std::string> SubmitSweep(const spec::SweepSpec& spec,
                                          const std::string& spec_yaml) override;
  absl::Status CancelSweep(const std::string& sweep_id) override;
  absl::StatusOr<Registered> Register(const NodeRegistration& registration) override;
  absl::StatusOr<AcquireResult> AcquireTrial(const std::string& node_id, int64_t wait_ms) override;
  absl::StatusOr<DirectiveReply> Heartbeat(const LeaseRef& lease) override;
  absl::StatusOr<DirectiveReply> ReportMetrics(
      const LeaseRef& lease, const std::vector<core::MetricPoint>& points) override;
  absl::StatusOr<core::TrialState> CompleteTrial(const LeaseRef& lease,
                                                 const Completion& completion) override;
  absl::StatusOr<CompletedAndNext> CompleteTrialAndAcquire(const LeaseRef& lease,
                                                           const Completion& completion) override;
  absl::Status Deregister(const std::string& node_id) override;
  absl::Status NodeGone(const std::string& node_id, const std::string& reason) override;
  absl::StatusOr<BlobChunk> FetchSnapshot(const std::string& digest, const std::string& blob,
                                          int64_t offset, int64_t max_bytes) override;
  absl::Status UploadArtifact(const LeaseRef& lease, const ArtifactChunk& chunk) override;
  absl::StatusOr<int64_t> CommitArtifacts(const LeaseRef& lease, int64_t file_count) override;
  void Tick() override;
  void Start() override;
  void Shutdown() override;
  absl::StatusOr<core::SweepState> WaitForSweep(const std::string& sweep_id,
                                                int64_t timeout_ms) override;
  absl::StatusOr<ComputeStatus> GetComputeStatus(const std::string& compute) override;
  // Admin: the workspace use cases, serialised with this state (controller/admin.h).
  absl::StatusOr<core::ComputeTarget> PutComputeTarget(const core::ComputeTarget& target,
                                                       workspace::PutMode mode) override {
    return admin_.PutComputeTarget(target, mode);
  }
  absl::Status DeleteComputeTarget(const std::string& name) override {
    return admin_.DeleteComputeTarget(name);
  }
  absl::StatusOr<workspace::AttachedRemoteVm> AttachRemoteVm(
      const workspace::RemoteVmRequest& request) override {
    return admin_.AttachRemoteVm(request);
  }
  absl::StatusOr<workspace::CreatedEnvironment> CreateEnvironment(
      const core::Environment& definition) override {
    return admin_.CreateEnvironment(definition);
  }
  absl::StatusOr<core::Model> RegisterModel(const workspace::ModelRequest& request) override {
    return admin_.RegisterModel(request);
  }
  // Enqueued points: controller/extension.cc.
  absl::StatusOr<int64_t> EnqueueTrial(const std::string& sweep_id,
                                       const std::vector<std::string>& params) override;
  absl::Status Health() override { return commits_.Broken(); }
  absl::StatusOr<int64_t> ExtendSweep(const std::string& sweep_id,
                                      const ExtendRequest& request) override;
  bool NodeIsClaimed(const std::string& node_id) override;

 private:
  // What ControllerAdmin needs of this controller's state.
  ControllerAdmin::Hooks AdminHooks();
  // Enqueues the changes and wakes whoever they concern, without waiting (requires mu_).
  uint64_t Flush(Txn& txn);
  // Flush, release `lock` (on mu_), wait for durability.
  absl::Status Finish(Txn& txn, std::unique_lock<std::mutex>& lock);

  // The sweep record of a new submission (no lock; InvalidArgument/NotFound for a spec
  // that cannot run here).
  absl::StatusOr<std::unique_ptr<SweepRec>> NewSweep(const spec::SweepSpec& spec,
                                                     const std::string& spec_yaml);
  // FailedPrecondition when `sweep_id` runs or still drains here (requires mu_).
  absl::Status CheckNotRunningHere(const std::string& sweep_id);
  // A sweep this controller does not hold, as stored; NotFound "no sweep 'ID'".
  absl::StatusOr<core::Sweep> StoredSweep(const std::string& sweep_id);
  // Deregister and NodeGone: the node's live attempt is interrupted (`interruption`, with
  // its event message from the attempt number), and the node is gone.
  // AcquireTrial's work under mu_ (held by `lock`), changes into `txn`; the caller commits.
  absl::StatusOr<AcquireResult> AcquireLocked(const std::string& node_id,
                                              std::chrono::steady_clock::time_point deadline,
                                              Txn& txn, std::unique_lock<std::mutex>& lock);
  // CompleteTrial's work under mu_, changes into `txn`.
  absl::StatusOr<core::TrialState> CompleteLocked(const LeaseRef& lease,
                                                  const Completion& completion, Txn& txn);
  absl::Status EndNode(const std::string& node_id, Interruption interruption,
                       const std::function<std::string(int32_t)>& event_message);
  // The live attempt `ref` names, and its artifact directory (requires mu_).
  absl::StatusOr<std::string> LiveAttemptDir(const LeaseRef& ref);

  // Tick's parts (all require mu_).
  void ExpireAndTimeOut(Txn& txn, int64_t now);
  void ForgetEndedSweeps(int64_t now);
  void MarkSilentNodesGone(Txn& txn, int64_t now);
  // Starts the planned nodes without mu_, then commits their events.
  void StartNodes(std::vector<Autoscaler::Start> starts);
  // Ends, `failed`, the sweeps the autoscaler found waiting too long for a node.
  void EndSweepsWithoutNodes(Txn& txn, const std::vector<NodeWaitTimeout>& timeouts, int64_t now);
  // Registers the models of completed sweeps with register_model (takes mu_ itself).
  void RegisterModels();
  // Stops every provider's nodes and waits for them (takes mu_ only to list providers).
  void StopProviderNodes();

  store::Store* const store_;
  const ControllerOptions options_;
  core::Clock* const clock_;
  const std::unique_ptr<workspace::SnapshotStore> snapshots_;  // null without a workspace dir
  CommitQueue commits_;

  std::mutex mu_;
  std::condition_variable work_cv_;   // long polls wait here
  std::condition_variable state_cv_;  // WaitForSweep waits here
  State state_;
  Lifecycle lifecycle_{state_};
  Scheduler scheduler_;
  Autoscaler autoscaler_;
  bool shutdown_ = false;

  std::mutex ticker_mu_;
  std::condition_variable ticker_cv_;
  bool ticker_stop_ = false;
  std::thread ticker_;
  std::atomic<bool> shut_down_once_{false};
  ControllerAdmin admin_;
};

}  // namespace sweep::controller

// The `slurm` node provider: each node of an amlcompute target is a Slurm batch job
// running `sweep worker`. It drives the real engine through its commands (sbatch
// --parsable, squeue, scancel, sinfo, sacctmgr), run as argv without a shell.
//
// A node job runs <work_dir>/slurm-node.sh (written by the provider, `exec "$@"
// --node-id slurm-$SLURM_JOB_ID`) with
//   BINARY worker --server ADDR --compute NAME --token-file T
// so node ids are "slurm-<job id>". The job is named "sweep-<compute>" and writes to
// <log_dir>/slurm-<compute>-<job id>.log. The workspace must be on storage the Slurm nodes
// see at the same path (a shared filesystem, or the same host).
//
// Target settings live in ComputeTarget::properties_json (see SlurmSettings); vm_size
// maps to the job's CPUs, memory and GPUs (VmSizes()). vm_priority `lowpriority` submits
// to lowpriority_partition (or with lowpriority_qos) instead, which the cluster may preempt.
//
// A monitor thread polls squeue every poll_interval_ms. A job that left the queue or
// reached an end state (CANCELLED, PREEMPTED, FAILED, COMPLETED, TIMEOUT, NODE_FAIL, ...)
// no longer counts in LiveNodes and is reported through on_node_gone(node id, reason),
// so the controller can turn the node's attempt into `preempted` at once
// (Controller::NodeGone). The callback is never called with the provider's lock held,
// and never after StopAll or the destructor returned.
//
// Thread safety: all methods are thread-safe. The destructor calls StopAll().
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "compute/node_provider.h"
#include "core/env.h"
#include "core/types.h"

namespace sweep::compute {

// --- vm_size -> job resources ---

struct VmShape {
  std::string name;  // canonical Azure spelling, e.g. "Standard_DS1_v2"
  int cpus = 1;
  int64_t memory_mb = 0;
  int gpus = 0;
};

// The Azure VM sizes a Slurm target understands (CPUs, memory in MiB, GPUs as Azure
// documents them).
const std::vector<VmShape>& VmSizes();

// Case-insensitive lookup. InvalidArgument "unknown vm_size 'X' (known: ...)" otherwise.
absl::StatusOr<VmShape> LookupVmSize(const std::string& vm_size);

// --- target settings (properties_json of a slurm target) ---

struct SlurmSettings {
  std::string partition;              // required
  std::string account;                // optional (--account)
  std::string qos;                    // optional (--qos)
  std::string lowpriority_partition;  // vm_priority lowpriority: this partition ...
  std::string lowpriority_qos;        // ... or this QOS
};

// Reads the settings from target.properties_json. InvalidArgument when the JSON is not
// an object or a key is not a string.
absl::StatusOr<SlurmSettings> ParseSlurmSettings(const core::ComputeTarget& target);
// Writes the settings into target.properties_json, keeping other keys; empty values are
// left out.
void StoreSlurmSettings(const SlurmSettings& settings, core::ComputeTarget& target);

// Static checks of a slurm target (no Slurm contacted): a partition is set, vm_size is
// known, lowpriority has a preemptible partition or QOS (not both). InvalidArgument
// naming the target and how to fix it.
absl::Status ValidateSlurmSettings(const core::ComputeTarget& target);

// --- running commands ---

struct CommandOutput {
  int exit_code = 0;
  std::string out;
  std::string err;
};

// Runs a command as argv (argv[0] looked up on PATH), without a shell.
class CommandRunner {
 public:
  virtual ~CommandRunner() = default;
  // The command's exit code and output. NotFound when argv[0] is not on PATH,
  // DeadlineExceeded when it ran longer than timeout_ms (it is killed), Internal when
  // it cannot be started.
  virtual absl::StatusOr<CommandOutput> Run(const std::vector<std::string>& argv,
                                            int64_t timeout_ms) = 0;
};

// The real one: env->Spawn with stdout and stderr piped. Thread-safe. `env` is not owned.
std::shared_ptr<CommandRunner> NewCommandRunner(core::Env* env);
// NewCommandRunner(core::Env::Default()), shared.
std::shared_ptr<CommandRunner> PosixCommandRunner();

// Checks a slurm target against the running cluster: the partition(s) exist (sinfo),
// some node of the partition its jobs go to holds the vm_size's CPUs, memory and GPUs
// (sinfo --Node; compute/slurm_fit.h), and the account and QOS(es), when given, are known
// to accounting (sacctmgr).
// InvalidArgument "compute 'c': unknown partition 'x' (Slurm has: debug, lowpri)" or
// "compute 'c': --vm-size X needs 16 CPUs, ... no node of partition 'debug' has that ...";
// FailedPrecondition when a Slurm command is missing or fails (the message says which
// and what it printed).
absl::Status CheckSlurmTarget(const core::ComputeTarget& target, CommandRunner& runner);

// --- the provider ---

struct SlurmNodeProviderOptions {
  std::string binary;                // the `sweep` executable the node jobs run
  std::string server_address;        // what workers dial
  std::string token_file;            // the workspace token file
  std::string log_dir;               // job output goes here; created if missing
  std::string work_dir;              // holds slurm-node.sh; created if missing
  std::string tls_ca_file;           // non-empty: workers verify a TLS controller with it
  int64_t poll_interval_ms = 1'000;  // squeue period of the monitor thread; <= 0: none
  int64_t stop_timeout_ms = 60'000;  // StopAll waits this long for jobs to leave
  int64_t command_timeout_ms = 30'000;
  // Told about every node job that ended; see the file comment.
  std::function<void(const std::string& node_id, const std::string& reason)> on_node_gone;
  std::shared_ptr<CommandRunner> runner;  // null: NewCommandRunner(env)
  core::Env* env = core::Env::Default();  // not owned; files, clocks, and the default runner
};

// The sbatch command line for one node of `target` (settings and vm_size already
// validated). `script` is the node script path.
absl::StatusOr<std::vector<std::string>> BuildSbatchArgv(const core::ComputeTarget& target,
                                                         const SlurmNodeProviderOptions& options,
                                                         const std::string& script);

class SlurmNodeProvider final : public NodeProvider {
 public:
  explicit SlurmNodeProvider(SlurmNodeProviderOptions options);
  ~SlurmNodeProvider() override;

  // Submits one node job. Returns its node id "slurm-<job id>". InvalidArgument for bad
  // target settings; FailedPrecondition when sbatch is missing or refuses the job (its
  // message is included).
  absl::StatusOr<std::string> StartNode(const core::ComputeTarget& target) override;
  // Jobs of `compute` submitted and not yet seen ending (pending ones count).
  int64_t LiveNodes(const std::string& compute) override;
  // scancel's every live job, waits up to stop_timeout_ms until squeue no longer shows
  // them active, reports them through on_node_gone and stops the monitor. Nodes can be
  // started again afterwards.
  void StopAll() override;

  // Job ids of live jobs (for tests and diagnostics).
  std::vector<std::string> LiveJobIds();

  // One monitoring round (what the monitor thread does every poll_interval_ms): asks
  // squeue about the live jobs and reports those that ended. False when squeue failed
  // (then nothing is concluded).
  bool PollOnce();

 private:
  struct Job {
    std::string compute;
    std::string name;  // Slurm job name
  };
  void MonitorLoop();
  void EnsureMonitor();  // requires mu_
  void Report(const std::vector<std::pair<std::string, std::string>>& gone);

  const SlurmNodeProviderOptions options_;
  const std::shared_ptr<CommandRunner> runner_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread monitor_;
  std::string script_;               // written on first StartNode
  std::map<std::string, Job> jobs_;  // live jobs by job id
};

}  // namespace sweep::compute

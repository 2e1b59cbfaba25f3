#include "compute/slurm_provider.h"

#include <signal.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "compute/slurm_fit.h"
#include "core/compute_target.h"
#include "core/status.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"

namespace sweep::compute {
namespace {

// Memory as Azure lists it (GiB), in MiB.
constexpr int64_t GiB(double gib) { return static_cast<int64_t>(gib * 1024); }

// States in which a job still holds (or waits for) its node; anything else ended it.
// COMPLETING is not here: the worker is being torn down, its attempt is over.
const std::set<std::string>& ActiveStates() {
  static const std::set<std::string> kStates = {
      "PENDING",  "RUNNING",      "CONFIGURING", "SUSPENDED", "REQUEUED",
      "RESIZING", "REQUEUE_HOLD", "REQUEUE_FED", "SIGNALING", "STAGE_OUT"};
  return kStates;
}

std::string MissingCommandHelp(const std::string& command) {
  return absl::StrCat("cannot run ", command,
                      ": not found on PATH; install Slurm's client commands on this host "
                      "(Debian: slurm-client) or put them on PATH");
}

// Runs a Slurm command; FailedPrecondition (with what it printed) unless it exits 0.
absl::StatusOr<std::string> RunSlurm(CommandRunner& runner, const std::vector<std::string>& argv,
                                     int64_t timeout_ms) {
  absl::StatusOr<CommandOutput> out = runner.Run(argv, timeout_ms);
  if (absl::IsNotFound(out.status())) {
    return absl::FailedPreconditionError(MissingCommandHelp(argv[0]));
  }
  if (!out.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("`", absl::StrJoin(argv, " "), "` failed: ", out.status().message()));
  }
  if (out->exit_code != 0) {
    std::string said(absl::StripAsciiWhitespace(out->err.empty() ? out->out : out->err));
    return absl::FailedPreconditionError(absl::StrCat("`", absl::StrJoin(argv, " "),
                                                      "` exited with code ", out->exit_code,
                                                      said.empty() ? "" : ": ", said));
  }
  return out->out;
}

// Non-empty lines, trimmed, duplicates dropped, in first-seen order.
std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    std::string l(absl::StripAsciiWhitespace(line));
    if (!l.empty() && std::find(lines.begin(), lines.end(), l) == lines.end()) {
      lines.push_back(l);
    }
  }
  return lines;
}

absl::Status CheckKnown(const std::string& compute, const std::string& what,
                        const std::string& value, const std::vector<std::string>& known) {
  if (std::find(known.begin(), known.end(), value) != known.end()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("compute '", compute, "': unknown ", what, " '", value,
                   "' (Slurm has: ", known.empty() ? "none" : absl::StrJoin(known, ", "), ")"));
}

// The node script: the worker becomes the job's main process, so Slurm's SIGTERM on
// cancel or preemption reaches it; its node id names the job.
constexpr char kNodeScript[] =
    "#!/bin/sh\n"
    "# Written by sweep's Slurm node provider: one node = one job running the worker.\n"
    "exec \"$@\" --node-id \"slurm-${SLURM_JOB_ID}\"\n";

class EnvRunner final : public CommandRunner {
 public:
  explicit EnvRunner(core::Env* env) : env_(env) {}

  absl::StatusOr<CommandOutput> Run(const std::vector<std::string>& argv,
                                    int64_t timeout_ms) override {
    if (argv.empty()) return absl::InvalidArgumentError("empty command");
    core::SpawnOptions options;
    options.argv = argv;
    options.stdin_to = core::Stdio::DevNull();
    options.stdout_to = core::Stdio::Pipe();
    options.stderr_to = core::Stdio::Pipe();
    options.reset_signals = false;  // as the CLI's own signal state
    absl::StatusOr<std::unique_ptr<core::Subprocess>> child = env_->Spawn(options);
    if (!child.ok()) {
      const int err = core::ErrnoOf(child.status());
      if (absl::IsFailedPrecondition(child.status()) && err == ENOENT) {
        return absl::NotFoundError(absl::StrCat(argv[0], " not found on PATH"));
      }
      return absl::InternalError(absl::StrCat("cannot start ", argv[0], ": ", std::strerror(err)));
    }
    CommandOutput result;
    const int64_t deadline = env_->MonotonicMillis() + timeout_ms;
    bool timed_out = false;
    auto sink = [&](int stream, std::string_view data) {
      (stream == 1 ? result.out : result.err).append(data);
    };
    while (true) {
      const int64_t left = deadline - env_->MonotonicMillis();
      if (left <= 0) {
        timed_out = true;
        break;
      }
      if (!(*child)->ReadOutput(static_cast<int>(std::min<int64_t>(left, 1000)), sink)) break;
    }
    (*child)->CloseOutput();
    if (timed_out) (*child)->Signal(SIGKILL);
    absl::StatusOr<core::ExitStatus> exit = (*child)->Reap();
    if (timed_out) {
      return absl::DeadlineExceededError(
          absl::StrCat(argv[0], " did not answer within ", timeout_ms / 1000, " s"));
    }
    if (!exit.ok()) return exit.status();
    result.exit_code = exit->signal == 0 ? exit->exit_code : 128 + exit->signal;
    return result;
  }

 private:
  core::Env* const env_;
};

// The settings' string fields, by property key.
std::array<std::pair<const char*, std::string*>, 5> SettingFields(SlurmSettings& s) {
  return {{{"partition", &s.partition},
           {"account", &s.account},
           {"qos", &s.qos},
           {"lowpriority_partition", &s.lowpriority_partition},
           {"lowpriority_qos", &s.lowpriority_qos}}};
}

}  // namespace

const std::vector<VmShape>& VmSizes() {
  static const std::vector<VmShape> kSizes = {
      {"Standard_A1_v2", 1, GiB(2), 0},        {"Standard_A2_v2", 2, GiB(4), 0},
      {"Standard_A4_v2", 4, GiB(8), 0},        {"Standard_D1_v2", 1, GiB(3.5), 0},
      {"Standard_D2_v2", 2, GiB(7), 0},        {"Standard_D3_v2", 4, GiB(14), 0},
      {"Standard_D4_v2", 8, GiB(28), 0},       {"Standard_DS1_v2", 1, GiB(3.5), 0},
      {"Standard_DS2_v2", 2, GiB(7), 0},       {"Standard_DS3_v2", 4, GiB(14), 0},
      {"Standard_DS4_v2", 8, GiB(28), 0},      {"Standard_D2s_v3", 2, GiB(8), 0},
      {"Standard_D4s_v3", 4, GiB(16), 0},      {"Standard_D8s_v3", 8, GiB(32), 0},
      {"Standard_D16s_v3", 16, GiB(64), 0},    {"Standard_F2s_v2", 2, GiB(4), 0},
      {"Standard_F4s_v2", 4, GiB(8), 0},       {"Standard_F8s_v2", 8, GiB(16), 0},
      {"Standard_NC6", 6, GiB(56), 1},         {"Standard_NC12", 12, GiB(112), 2},
      {"Standard_NC24", 24, GiB(224), 4},      {"Standard_NC6s_v3", 6, GiB(112), 1},
      {"Standard_NC12s_v3", 12, GiB(224), 2},  {"Standard_NC24s_v3", 24, GiB(448), 4},
      {"Standard_NC4as_T4_v3", 4, GiB(28), 1}, {"Standard_NC64as_T4_v3", 64, GiB(440), 4},
      {"Standard_ND40rs_v2", 40, GiB(672), 8},
  };
  return kSizes;
}

absl::StatusOr<VmShape> LookupVmSize(const std::string& vm_size) {
  for (const VmShape& shape : VmSizes()) {
    if (absl::EqualsIgnoreCase(shape.name, vm_size)) return shape;
  }
  std::vector<std::string> names;
  for (const VmShape& shape : VmSizes()) names.push_back(shape.name);
  return absl::InvalidArgumentError(
      absl::StrCat("unknown vm_size '", vm_size, "' (known: ", absl::StrJoin(names, ", "), ")"));
}

absl::StatusOr<SlurmSettings> ParseSlurmSettings(const core::ComputeTarget& target) {
  ASSIGN_OR_RETURN(nlohmann::json props, core::ParseTargetProperties(target));
  SlurmSettings settings;
  for (auto& [key, field] : SettingFields(settings)) {
    if (!props.contains(key)) continue;
    if (!props[key].is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat("compute '", target.name, "': property '", key, "' must be a string"));
    }
    *field = props[key].get<std::string>();
  }
  return settings;
}

void StoreSlurmSettings(const SlurmSettings& settings, core::ComputeTarget& target) {
  SlurmSettings copy = settings;
  nlohmann::json updates = nlohmann::json::object();
  for (auto& [key, value] : SettingFields(copy)) {
    updates[key] = value->empty() ? nlohmann::json(nullptr) : nlohmann::json(*value);
  }
  core::MergeTargetProperties(updates, target);
}

absl::Status ValidateSlurmSettings(const core::ComputeTarget& target) {
  const std::string& n = target.name;
  absl::StatusOr<SlurmSettings> settings = ParseSlurmSettings(target);
  if (!settings.ok()) return settings.status();
  if (settings->partition.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("compute '", n,
                     "': a slurm target needs a partition; add --partition P "
                     "(`sinfo` lists them)"));
  }
  if (target.vm_size.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("compute '", n,
                     "': a slurm target needs --vm-size (it sets the node job's CPUs, "
                     "memory and GPUs), e.g. --vm-size Standard_DS1_v2"));
  }
  if (absl::StatusOr<VmShape> shape = LookupVmSize(target.vm_size); !shape.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("compute '", n, "': ", shape.status().message()));
  }
  const bool low_partition = !settings->lowpriority_partition.empty();
  const bool low_qos = !settings->lowpriority_qos.empty();
  if (low_partition && low_qos) {
    return absl::InvalidArgumentError(absl::StrCat("compute '", n,
                                                   "': give either --lowpriority-partition or "
                                                   "--lowpriority-qos, not both"));
  }
  if (target.vm_priority == "lowpriority" && !low_partition && !low_qos) {
    return absl::InvalidArgumentError(
        absl::StrCat("compute '", n,
                     "': vm_priority lowpriority on a slurm target needs a preemptible "
                     "partition or QOS; add --lowpriority-partition P or --lowpriority-qos Q"));
  }
  return absl::OkStatus();
}

std::shared_ptr<CommandRunner> NewCommandRunner(core::Env* env) {
  return std::make_shared<EnvRunner>(env);
}

std::shared_ptr<CommandRunner> PosixCommandRunner() {
  static const std::shared_ptr<CommandRunner> kRunner = NewCommandRunner(core::Env::Default());
  return kRunner;
}

absl::Status CheckSlurmTarget(const core::ComputeTarget& target, CommandRunner& runner) {
  if (absl::Status s = ValidateSlurmSettings(target); !s.ok()) return s;
  SlurmSettings settings = *ParseSlurmSettings(target);
  constexpr int64_t kTimeoutMs = 30'000;
  auto with_name = [&](const absl::Status& s) {
    return absl::Status(s.code(), absl::StrCat("compute '", target.name, "': ", s.message()));
  };
  absl::StatusOr<std::string> partitions =
      RunSlurm(runner, {"sinfo", "--noheader", "--format=%R"}, kTimeoutMs);
  if (!partitions.ok()) return with_name(partitions.status());
  std::vector<std::string> known = Lines(*partitions);
  if (absl::Status s = CheckKnown(target.name, "partition", settings.partition, known); !s.ok()) {
    return s;
  }
  if (!settings.lowpriority_partition.empty()) {
    if (absl::Status s =
            CheckKnown(target.name, "lowpriority partition", settings.lowpriority_partition, known);
        !s.ok()) {
      return s;
    }
  }
  // The size must fit a node of the partition its jobs go to, or sbatch refuses them all.
  const std::string& partition =
      target.vm_priority == "lowpriority" && !settings.lowpriority_partition.empty()
          ? settings.lowpriority_partition
          : settings.partition;
  absl::StatusOr<std::string> nodes = RunSlurm(runner, SinfoNodesArgv(partition), kTimeoutMs);
  if (!nodes.ok()) return with_name(nodes.status());
  absl::StatusOr<std::vector<SlurmNodeShape>> shapes = ParseSinfoNodes(*nodes);
  if (!shapes.ok()) {
    return with_name(absl::FailedPreconditionError(
        absl::StrCat("cannot tell what the nodes of partition '", partition,
                     "' hold: ", shapes.status().message())));
  }
  if (absl::Status s =
          CheckVmSizeFits(target.name, *LookupVmSize(target.vm_size), partition, *shapes);
      !s.ok()) {
    return s;
  }
  std::vector<std::pair<std::string, std::string>> qos_checks;
  if (!settings.qos.empty()) qos_checks.emplace_back("QOS", settings.qos);
  if (!settings.lowpriority_qos.empty()) {
    qos_checks.emplace_back("lowpriority QOS", settings.lowpriority_qos);
  }
  if (!qos_checks.empty()) {
    absl::StatusOr<std::string> qos =
        RunSlurm(runner, {"sacctmgr", "--noheader", "--parsable2", "show", "qos", "format=name"},
                 kTimeoutMs);
    if (!qos.ok()) {
      return with_name(absl::FailedPreconditionError(
          absl::StrCat("cannot check QOS '", qos_checks[0].second,
                       "' (QOS needs Slurm accounting): ", qos.status().message())));
    }
    for (const auto& [what, value] : qos_checks) {
      if (absl::Status s = CheckKnown(target.name, what, value, Lines(*qos)); !s.ok()) return s;
    }
  }
  if (!settings.account.empty()) {
    absl::StatusOr<std::string> accounts = RunSlurm(
        runner, {"sacctmgr", "--noheader", "--parsable2", "show", "account", "format=account"},
        kTimeoutMs);
    if (!accounts.ok()) {
      return with_name(absl::FailedPreconditionError(
          absl::StrCat("cannot check account '", settings.account,
                       "' (accounts need Slurm accounting): ", accounts.status().message())));
    }
    if (absl::Status s = CheckKnown(target.name, "account", settings.account, Lines(*accounts));
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> BuildSbatchArgv(const core::ComputeTarget& target,
                                                         const SlurmNodeProviderOptions& options,
                                                         const std::string& script) {
  if (absl::Status s = ValidateSlurmSettings(target); !s.ok()) return s;
  SlurmSettings settings = *ParseSlurmSettings(target);
  VmShape shape = *LookupVmSize(target.vm_size);
  const bool low = target.vm_priority == "lowpriority";
  std::string partition = settings.partition;
  std::string qos = settings.qos;
  if (low && !settings.lowpriority_partition.empty()) partition = settings.lowpriority_partition;
  if (low && !settings.lowpriority_qos.empty()) qos = settings.lowpriority_qos;
  std::vector<std::string> argv = {
      "sbatch",
      "--parsable",
      absl::StrCat("--job-name=sweep-", target.name),
      absl::StrCat("--output=", options.log_dir, "/slurm-", target.name, "-%j.log"),
      absl::StrCat("--partition=", partition),
      "--nodes=1",
      "--ntasks=1",
      absl::StrCat("--cpus-per-task=", shape.cpus),
      absl::StrCat("--mem=", shape.memory_mb, "M"),
      // A preempted node is not requeued: the controller starts a new one when needed.
      "--no-requeue",
  };
  if (shape.gpus > 0) argv.push_back(absl::StrCat("--gres=gpu:", shape.gpus));
  if (!settings.account.empty()) argv.push_back(absl::StrCat("--account=", settings.account));
  if (!qos.empty()) argv.push_back(absl::StrCat("--qos=", qos));
  for (const std::string& a :
       {script, options.binary, std::string("worker"), std::string("--server"),
        options.server_address, std::string("--compute"), target.name, std::string("--token-file"),
        options.token_file}) {
    argv.push_back(a);
  }
  if (!options.tls_ca_file.empty()) {
    argv.push_back("--tls-ca");
    argv.push_back(options.tls_ca_file);
  }
  return argv;
}

SlurmNodeProvider::SlurmNodeProvider(SlurmNodeProviderOptions options)
    : options_(std::move(options)),
      runner_(options_.runner ? options_.runner : NewCommandRunner(options_.env)) {}

SlurmNodeProvider::~SlurmNodeProvider() { StopAll(); }

absl::StatusOr<std::string> SlurmNodeProvider::StartNode(const core::ComputeTarget& target) {
  if (options_.binary.empty() || options_.server_address.empty() || options_.token_file.empty() ||
      options_.log_dir.empty() || options_.work_dir.empty()) {
    return absl::FailedPreconditionError(
        "slurm node provider: binary, server address, token file, log and work dirs must be set");
  }
  std::string script;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (script_.empty()) {
      core::Env* env = options_.env;
      env->CreateDirs(options_.log_dir).IgnoreError();
      env->CreateDirs(options_.work_dir).IgnoreError();
      std::string path = options_.work_dir + "/slurm-node.sh";
      absl::Status written = env->WriteFileAtomically(path, kNodeScript, {.mode = 0750});
      if (written.ok()) written = env->SetPermissions(path, 0750);  // past the umask
      if (!written.ok()) return core::ErrnoStatus(written, "cannot write", path);
      script_ = path;
    }
    script = script_;
  }
  ASSIGN_OR_RETURN(std::vector<std::string> argv, BuildSbatchArgv(target, options_, script));
  ASSIGN_OR_RETURN(std::string out, RunSlurm(*runner_, argv, options_.command_timeout_ms));
  // --parsable prints "<job id>" or "<job id>;<cluster>".
  std::string job_id(absl::StripAsciiWhitespace(out.substr(0, out.find(';'))));
  if (job_id.empty() ||
      !std::all_of(job_id.begin(), job_id.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return absl::InternalError(absl::StrCat("sbatch printed no job id: '", out, "'"));
  }
  std::lock_guard<std::mutex> lock(mu_);
  jobs_[job_id] = Job{target.name, absl::StrCat("sweep-", target.name)};
  EnsureMonitor();
  spdlog::debug("slurm: submitted node job {} for compute {}", job_id, target.name);
  return absl::StrCat("slurm-", job_id);
}

int64_t SlurmNodeProvider::LiveNodes(const std::string& compute) {
  std::lock_guard<std::mutex> lock(mu_);
  return std::count_if(jobs_.begin(), jobs_.end(),
                       [&](const auto& j) { return j.second.compute == compute; });
}

std::vector<std::string> SlurmNodeProvider::LiveJobIds() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> ids;
  for (const auto& [id, job] : jobs_) ids.push_back(id);
  return ids;
}

void SlurmNodeProvider::EnsureMonitor() {
  if (monitor_.joinable() || stopping_ || options_.poll_interval_ms <= 0) return;
  monitor_ = std::thread([this] { MonitorLoop(); });
}

void SlurmNodeProvider::MonitorLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::milliseconds(options_.poll_interval_ms),
                 [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    PollOnce();
    lock.lock();
  }
}

bool SlurmNodeProvider::PollOnce() {
  std::vector<std::string> ids;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, job] : jobs_) ids.push_back(id);
  }
  if (ids.empty()) return true;
  absl::StatusOr<std::string> out =
      RunSlurm(*runner_,
               {"squeue", "--noheader", "--states=all", "--format=%i|%T",
                absl::StrCat("--jobs=", absl::StrJoin(ids, ","))},
               options_.command_timeout_ms);
  if (!out.ok()) {
    spdlog::warn("slurm: {}", std::string(out.status().message()));
    return false;
  }
  std::map<std::string, std::string> state;
  for (const std::string& line : Lines(*out)) {
    std::vector<std::string> parts = absl::StrSplit(line, '|');
    if (parts.size() == 2) state[parts[0]] = parts[1];
  }
  std::vector<std::pair<std::string, std::string>> gone;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& id : ids) {
      auto s = state.find(id);
      if (s != state.end() && ActiveStates().count(s->second) > 0) continue;
      if (jobs_.erase(id) == 0) continue;
      gone.emplace_back(id, s == state.end() ? absl::StrCat("Slurm job ", id, " left the queue")
                                             : absl::StrCat("Slurm job ", id, " ", s->second));
    }
  }
  Report(gone);
  return true;
}

void SlurmNodeProvider::Report(const std::vector<std::pair<std::string, std::string>>& gone) {
  for (const auto& [id, reason] : gone) {
    spdlog::debug("slurm: node job {} ended: {}", id, reason);
    if (options_.on_node_gone) options_.on_node_gone(absl::StrCat("slurm-", id), reason);
  }
}

void SlurmNodeProvider::StopAll() {
  std::thread monitor;
  std::vector<std::string> ids;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    monitor = std::move(monitor_);
    for (const auto& [id, job] : jobs_) ids.push_back(id);
  }
  cv_.notify_all();
  if (monitor.joinable()) monitor.join();
  if (!ids.empty()) {
    std::vector<std::string> argv = {"scancel"};
    argv.insert(argv.end(), ids.begin(), ids.end());
    if (absl::StatusOr<std::string> s = RunSlurm(*runner_, argv, options_.command_timeout_ms);
        !s.ok()) {
      spdlog::warn("slurm: {}", std::string(s.status().message()));
    }
    // Wait until the cancelled jobs are no longer active, so nothing is left running.
    const int64_t deadline = options_.env->MonotonicMillis() + options_.stop_timeout_ms;
    while (options_.env->MonotonicMillis() < deadline) {
      absl::StatusOr<std::string> out = RunSlurm(
          *runner_,
          {"squeue", "--noheader", "--format=%i", absl::StrCat("--jobs=", absl::StrJoin(ids, ","))},
          options_.command_timeout_ms);
      if (out.ok() && Lines(*out).empty()) break;
      options_.env->SleepForMillis(200);
    }
  }
  std::vector<std::pair<std::string, std::string>> gone;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, job] : jobs_) {
      gone.emplace_back(id, absl::StrCat("Slurm job ", id, " cancelled by the controller"));
    }
    jobs_.clear();
  }
  Report(gone);
  std::lock_guard<std::mutex> lock(mu_);
  stopping_ = false;
}

}  // namespace sweep::compute

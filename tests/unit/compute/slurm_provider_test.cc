// The Slurm node provider with a fake command runner: vm_size mapping, settings
// validation, sbatch argv, the cluster check's messages, and job end detection.
// (tests/integration/slurm_test.cc drives the real Slurm.)
#include "compute/slurm_provider.h"

#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>

#include "compute/slurm_fit.h"
#include "core/fault_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_dir.h"

namespace sweep::compute {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Answers commands from a script: each command name has a queue of replies (the last
// one repeats); a command without replies is "not found on PATH". Records every argv.
class FakeRunner final : public CommandRunner {
 public:
  absl::StatusOr<CommandOutput> Run(const std::vector<std::string>& argv, int64_t) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back(argv);
    // "sinfo --Node" answers the node query apart from other sinfo calls.
    auto it = argv.size() > 2 ? replies_.find(argv[0] + " " + argv[2]) : replies_.end();
    if (it == replies_.end()) it = replies_.find(argv[0]);
    if (it == replies_.end() || it->second.empty()) {
      return absl::NotFoundError(argv[0] + " not found on PATH");
    }
    CommandOutput out = it->second.front();
    if (it->second.size() > 1) it->second.pop_front();
    return out;
  }
  void Reply(const std::string& command, int exit_code, const std::string& out,
             const std::string& err = "") {
    std::lock_guard<std::mutex> lock(mu_);
    replies_[command].push_back(CommandOutput{exit_code, out, err});
  }
  std::vector<std::vector<std::string>> Calls(const std::string& command) {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::vector<std::string>> out;
    for (const auto& c : calls_) {
      if (c[0] == command) out.push_back(c);
    }
    return out;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::deque<CommandOutput>> replies_;
  std::vector<std::vector<std::string>> calls_;
};

core::ComputeTarget SlurmTarget(const std::string& props, const std::string& vm_size,
                                const std::string& priority = "dedicated") {
  core::ComputeTarget t;
  t.name = "hpc";
  t.type = "amlcompute";
  t.provider = "slurm";
  t.max_nodes = 2;
  t.vm_size = vm_size;
  t.vm_priority = priority;
  t.properties_json = props;
  return t;
}

SlurmNodeProviderOptions Options() {
  SlurmNodeProviderOptions o;
  o.binary = "/opt/sweep/bin/sweep";
  o.server_address = "head:7070";
  o.token_file = "/ws/token";
  o.log_dir = "/ws/logs";
  o.work_dir = "/ws/nodes";
  return o;
}

TEST(VmSizeTest, MapsAzureSizesCaseInsensitively) {
  absl::StatusOr<VmShape> ds1 = LookupVmSize("standard_ds1_v2");
  ASSERT_TRUE(ds1.ok()) << ds1.status();
  EXPECT_EQ(ds1->name, "Standard_DS1_v2");
  EXPECT_EQ(ds1->cpus, 1);
  EXPECT_EQ(ds1->memory_mb, 3584);
  EXPECT_EQ(ds1->gpus, 0);
  absl::StatusOr<VmShape> nc24 = LookupVmSize("STANDARD_NC24S_V3");
  ASSERT_TRUE(nc24.ok());
  EXPECT_EQ(nc24->cpus, 24);
  EXPECT_EQ(nc24->memory_mb, 448 * 1024);
  EXPECT_EQ(nc24->gpus, 4);
}

TEST(VmSizeTest, UnknownSizeListsTheKnownOnes) {
  absl::StatusOr<VmShape> bad = LookupVmSize("Standard_Huge");
  ASSERT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("unknown vm_size 'Standard_Huge' (known: "));
  for (const VmShape& s : VmSizes()) EXPECT_THAT(bad.status().message(), HasSubstr(s.name));
}

TEST(SlurmSettingsTest, ValidationSaysWhatIsMissing) {
  EXPECT_TRUE(
      ValidateSlurmSettings(SlurmTarget(R"({"partition":"debug"})", "Standard_A1_v2")).ok());
  EXPECT_EQ(ValidateSlurmSettings(SlurmTarget("{}", "Standard_A1_v2")).message(),
            "compute 'hpc': a slurm target needs a partition; add --partition P (`sinfo` lists "
            "them)");
  EXPECT_THAT(ValidateSlurmSettings(SlurmTarget(R"({"partition":"debug"})", "")).message(),
              HasSubstr("compute 'hpc': a slurm target needs --vm-size"));
  EXPECT_THAT(ValidateSlurmSettings(SlurmTarget(R"({"partition":"debug"})", "tiny")).message(),
              HasSubstr("compute 'hpc': unknown vm_size 'tiny' (known: Standard_A1_v2, "));
  EXPECT_EQ(ValidateSlurmSettings(
                SlurmTarget(R"({"partition":"debug"})", "Standard_A1_v2", "lowpriority"))
                .message(),
            "compute 'hpc': vm_priority lowpriority on a slurm target needs a preemptible "
            "partition or QOS; add --lowpriority-partition P or --lowpriority-qos Q");
  EXPECT_EQ(
      ValidateSlurmSettings(
          SlurmTarget(R"({"partition":"a","lowpriority_partition":"b","lowpriority_qos":"c"})",
                      "Standard_A1_v2"))
          .message(),
      "compute 'hpc': give either --lowpriority-partition or --lowpriority-qos, not both");
  EXPECT_EQ(ValidateSlurmSettings(SlurmTarget(R"({"partition":3})", "Standard_A1_v2")).message(),
            "compute 'hpc': property 'partition' must be a string");
}

TEST(SlurmSettingsTest, StoreKeepsOtherKeysAndDropsEmptyValues) {
  core::ComputeTarget t = SlurmTarget(R"({"other":1,"qos":"old"})", "Standard_A1_v2");
  SlurmSettings s;
  s.partition = "debug";
  s.lowpriority_partition = "lowpri";
  StoreSlurmSettings(s, t);
  EXPECT_EQ(t.properties_json,
            R"({"lowpriority_partition":"lowpri","other":1,"partition":"debug"})");
  absl::StatusOr<SlurmSettings> back = ParseSlurmSettings(t);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->partition, "debug");
  EXPECT_EQ(back->qos, "");
}

TEST(SbatchArgvTest, DedicatedNodeJob) {
  auto argv = BuildSbatchArgv(
      SlurmTarget(R"({"partition":"debug","lowpriority_partition":"lowpri"})", "Standard_DS1_v2"),
      Options(), "/ws/nodes/slurm-node.sh");
  ASSERT_TRUE(argv.ok()) << argv.status();
  EXPECT_THAT(*argv,
              ElementsAre("sbatch", "--parsable", "--job-name=sweep-hpc",
                          "--output=/ws/logs/slurm-hpc-%j.log", "--partition=debug", "--nodes=1",
                          "--ntasks=1", "--cpus-per-task=1", "--mem=3584M", "--no-requeue",
                          "/ws/nodes/slurm-node.sh", "/opt/sweep/bin/sweep", "worker", "--server",
                          "head:7070", "--compute", "hpc", "--token-file", "/ws/token"));
}

TEST(SbatchArgvTest, LowPriorityUsesThePreemptiblePartitionOrQos) {
  auto by_partition = BuildSbatchArgv(
      SlurmTarget(R"({"partition":"debug","lowpriority_partition":"lowpri","account":"ml"})",
                  "Standard_NC6", "lowpriority"),
      Options(), "s.sh");
  ASSERT_TRUE(by_partition.ok()) << by_partition.status();
  EXPECT_THAT(*by_partition, testing::Contains("--partition=lowpri"));
  EXPECT_THAT(*by_partition, testing::Contains("--gres=gpu:1"));
  EXPECT_THAT(*by_partition, testing::Contains("--account=ml"));
  EXPECT_THAT(*by_partition, testing::Contains("--cpus-per-task=6"));

  auto by_qos = BuildSbatchArgv(
      SlurmTarget(R"({"partition":"debug","qos":"normal","lowpriority_qos":"scavenger"})",
                  "Standard_D2_v2", "lowpriority"),
      Options(), "s.sh");
  ASSERT_TRUE(by_qos.ok()) << by_qos.status();
  EXPECT_THAT(*by_qos, testing::Contains("--partition=debug"));
  EXPECT_THAT(*by_qos, testing::Contains("--qos=scavenger"));
  EXPECT_THAT(*by_qos, testing::Not(testing::Contains("--qos=normal")));

  // The same target dedicated: its own partition and QOS.
  auto dedicated = BuildSbatchArgv(
      SlurmTarget(R"({"partition":"debug","qos":"normal","lowpriority_qos":"scavenger"})",
                  "Standard_D2_v2"),
      Options(), "s.sh");
  ASSERT_TRUE(dedicated.ok());
  EXPECT_THAT(*dedicated, testing::Contains("--qos=normal"));
}

// What `sinfo --Node --format=%N|%c|%m|%G` says of the CI's one-node cluster.
constexpr char kOneNode[] = "vm|2|23593|(null)\n";

TEST(CheckSlurmTargetTest, UnknownPartitionNamesWhatSlurmHas) {
  FakeRunner runner;
  runner.Reply("sinfo", 0, "debug\nlowpri\ndebug\n");
  runner.Reply("sinfo --Node", 0, kOneNode);
  absl::Status s =
      CheckSlurmTarget(SlurmTarget(R"({"partition":"gpu"})", "Standard_A1_v2"), runner);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "compute 'hpc': unknown partition 'gpu' (Slurm has: debug, lowpri)");
  s = CheckSlurmTarget(
      SlurmTarget(R"({"partition":"debug","lowpriority_partition":"scav"})", "Standard_A1_v2"),
      runner);
  EXPECT_EQ(s.message(),
            "compute 'hpc': unknown lowpriority partition 'scav' (Slurm has: debug, lowpri)");
  EXPECT_TRUE(
      CheckSlurmTarget(SlurmTarget(R"({"partition":"debug","lowpriority_partition":"lowpri"})",
                                   "Standard_A1_v2"),
                       runner)
          .ok());
}

TEST(CheckSlurmTargetTest, MissingCommandsAndAccountingAreClearErrors) {
  FakeRunner none;
  absl::Status s =
      CheckSlurmTarget(SlurmTarget(R"({"partition":"debug"})", "Standard_A1_v2"), none);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "compute 'hpc': cannot run sinfo: not found on PATH; install Slurm's client commands "
            "on this host (Debian: slurm-client) or put them on PATH");

  FakeRunner runner;
  runner.Reply("sinfo", 0, "debug\n");
  runner.Reply("sinfo --Node", 0, kOneNode);
  runner.Reply("sacctmgr", 1, "", "You are not running a supported accounting_storage plugin\n");
  s = CheckSlurmTarget(SlurmTarget(R"({"partition":"debug","qos":"high"})", "Standard_A1_v2"),
                       runner);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("compute 'hpc': cannot check QOS 'high' (QOS needs Slurm "
                                     "accounting): "));
  EXPECT_THAT(s.message(), HasSubstr("exited with code 1: You are not running a supported"));

  FakeRunner known;
  known.Reply("sinfo", 0, "debug\n");
  known.Reply("sinfo --Node", 0, kOneNode);
  known.Reply("sacctmgr", 0, "normal\nscavenger\n");
  s = CheckSlurmTarget(SlurmTarget(R"({"partition":"debug","qos":"high"})", "Standard_A1_v2"),
                       known);
  EXPECT_EQ(s.message(), "compute 'hpc': unknown QOS 'high' (Slurm has: normal, scavenger)");
}

// A size no node of the partition holds is refused with what the partition has.
TEST(CheckSlurmTargetTest, AVmSizeThatFitsNoNodeIsRefused) {
  FakeRunner runner;
  runner.Reply("sinfo", 0, "debug\nlowpri\n");
  runner.Reply("sinfo --Node", 0, kOneNode);
  absl::Status s =
      CheckSlurmTarget(SlurmTarget(R"({"partition":"debug"})", "Standard_D16s_v3"), runner);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "compute 'hpc': --vm-size Standard_D16s_v3 needs 16 CPUs, 65536 MB, but no node of "
            "partition 'debug' has that (vm: 2 CPUs, 23593 MB); the largest size that fits is "
            "Standard_D2s_v3 (2 CPUs, 8192 MB)");
  EXPECT_EQ(runner.Calls("sinfo").back(),
            (std::vector<std::string>{"sinfo", "--noheader", "--Node", "--partition=debug",
                                      "--format=%N|%c|%m|%G"}));
  // Low priority jobs go to the low priority partition: that one is asked.
  s = CheckSlurmTarget(SlurmTarget(R"({"partition":"debug","lowpriority_partition":"lowpri"})",
                                   "Standard_D2_v2", "lowpriority"),
                       runner);
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(runner.Calls("sinfo").back()[3], "--partition=lowpri");
}

TEST(CheckSlurmTargetTest, SinfoNodesAndGpus) {
  absl::StatusOr<std::vector<SlurmNodeShape>> nodes = ParseSinfoNodes(
      "gpu1|32|257000|gpu:a100:4(S:0-1),mps:400\n"
      "gpu2|32|257000|gpu:2\n"
      "cpu1|64+|512000|(null)\n"
      "cpu1|64|512000|(null)\n"
      "garbage line\n");
  ASSERT_TRUE(nodes.ok()) << nodes.status();
  ASSERT_EQ(nodes->size(), 3u);
  EXPECT_EQ((*nodes)[0].gpus, 4);
  EXPECT_EQ((*nodes)[1].gpus, 2);
  EXPECT_EQ((*nodes)[2].cpus, 64);
  EXPECT_EQ((*nodes)[2].gpus, 0);
  EXPECT_TRUE(CheckVmSizeFits("c", *LookupVmSize("Standard_NC12s_v3"), "gpu", *nodes).ok());
  absl::Status s = CheckVmSizeFits("c", *LookupVmSize("Standard_NC64as_T4_v3"), "gpu", *nodes);
  EXPECT_THAT(s.message(), HasSubstr("needs 64 CPUs, 450560 MB, 4 GPUs"));
  EXPECT_THAT(s.message(), HasSubstr("gpu1: 32 CPUs, 257000 MB, 4 GPUs; gpu2: 32 CPUs"));
  EXPECT_FALSE(ParseSinfoNodes("").ok());  // a partition without nodes

  FakeRunner empty;
  empty.Reply("sinfo", 0, "debug\n");
  empty.Reply("sinfo --Node", 0, "");
  s = CheckSlurmTarget(SlurmTarget(R"({"partition":"debug"})", "Standard_D2_v2"), empty);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("cannot tell what the nodes of partition 'debug' hold"));
}

class SlurmProviderFakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test_dir_ = std::make_unique<::sweep::testutil::TestDir>("sweep-slurm-unit");
    dir_ = test_dir_->path();
    runner_ = std::make_shared<FakeRunner>();
    SlurmNodeProviderOptions o = Options();
    o.log_dir = (dir_ / "logs").string();
    o.work_dir = (dir_ / "nodes").string();
    o.poll_interval_ms = 0;  // the test drives PollOnce
    o.stop_timeout_ms = 0;
    o.runner = runner_;
    o.on_node_gone = [this](const std::string& node, const std::string& reason) {
      gone_.emplace_back(node, reason);
    };
    provider_ = std::make_unique<SlurmNodeProvider>(o);
  }
  void TearDown() override {
    provider_.reset();
    test_dir_.reset();
  }
  std::unique_ptr<::sweep::testutil::TestDir> test_dir_;
  std::filesystem::path dir_;
  std::shared_ptr<FakeRunner> runner_;
  std::unique_ptr<SlurmNodeProvider> provider_;
  std::vector<std::pair<std::string, std::string>> gone_;
};

TEST_F(SlurmProviderFakeTest, SubmitsNodeJobsAndReportsThoseThatEnd) {
  runner_->Reply("sbatch", 0, "41\n");
  runner_->Reply("sbatch", 0, "42;cluster\n");
  core::ComputeTarget t = SlurmTarget(R"({"partition":"debug"})", "Standard_A1_v2");
  EXPECT_EQ(provider_->StartNode(t).value(), "slurm-41");
  EXPECT_EQ(provider_->StartNode(t).value(), "slurm-42");
  EXPECT_EQ(provider_->LiveNodes("hpc"), 2);
  EXPECT_EQ(provider_->LiveNodes("other"), 0);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "nodes/slurm-node.sh"));

  runner_->Reply("squeue", 0, "41|RUNNING\n42|PENDING\n");
  runner_->Reply("squeue", 0, "41|PREEMPTED\n");  // 42 left the queue
  EXPECT_TRUE(provider_->PollOnce());
  EXPECT_TRUE(gone_.empty());
  EXPECT_TRUE(provider_->PollOnce());
  EXPECT_THAT(gone_, ElementsAre(std::make_pair("slurm-41", "Slurm job 41 PREEMPTED"),
                                 std::make_pair("slurm-42", "Slurm job 42 left the queue")));
  EXPECT_EQ(provider_->LiveNodes("hpc"), 0);
  EXPECT_THAT(runner_->Calls("squeue")[0], testing::Contains("--jobs=41,42"));
}

TEST_F(SlurmProviderFakeTest, FailingSqueueConcludesNothing) {
  runner_->Reply("sbatch", 0, "7\n");
  ASSERT_TRUE(provider_->StartNode(SlurmTarget(R"({"partition":"debug"})", "Standard_A1_v2")).ok());
  runner_->Reply("squeue", 1, "", "slurm_load_jobs error: Unable to contact slurm controller");
  EXPECT_FALSE(provider_->PollOnce());
  EXPECT_TRUE(gone_.empty());
  EXPECT_EQ(provider_->LiveNodes("hpc"), 1);
}

TEST_F(SlurmProviderFakeTest, SbatchRefusalAndMissingSbatchAreErrors) {
  core::ComputeTarget t = SlurmTarget(R"({"partition":"debug"})", "Standard_NC6");
  absl::StatusOr<std::string> missing = provider_->StartNode(t);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(missing.status().message(), HasSubstr("cannot run sbatch: not found on PATH"));
  runner_->Reply("sbatch", 1, "",
                 "sbatch: error: Batch job submission failed: Requested node configuration is "
                 "not available\n");
  absl::StatusOr<std::string> refused = provider_->StartNode(t);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(),
              HasSubstr("exited with code 1: sbatch: error: Batch job submission failed: "
                        "Requested node configuration is not available"));
  EXPECT_EQ(provider_->LiveNodes("hpc"), 0);
}

TEST_F(SlurmProviderFakeTest, StopAllCancelsLiveJobsAndReportsThem) {
  runner_->Reply("sbatch", 0, "5\n");
  ASSERT_TRUE(provider_->StartNode(SlurmTarget(R"({"partition":"debug"})", "Standard_A1_v2")).ok());
  runner_->Reply("scancel", 0, "");
  runner_->Reply("squeue", 0, "");
  provider_->StopAll();
  ASSERT_EQ(runner_->Calls("scancel").size(), 1u);
  EXPECT_THAT(runner_->Calls("scancel")[0], ElementsAre("scancel", "5"));
  EXPECT_THAT(gone_,
              ElementsAre(std::make_pair("slurm-5", "Slurm job 5 cancelled by the controller")));
  EXPECT_EQ(provider_->LiveNodes("hpc"), 0);
}

TEST_F(SlurmProviderFakeTest, AReadOnlyWorkDirIsAClearErrorAndNothingIsSubmitted) {
  core::FaultEnv faults(core::Env::Default());
  faults.MakeReadOnly(dir_.string());
  SlurmNodeProviderOptions o = Options();
  o.log_dir = (dir_ / "logs").string();
  o.work_dir = (dir_ / "nodes").string();
  o.poll_interval_ms = 0;
  o.stop_timeout_ms = 0;
  o.runner = runner_;
  o.env = &faults;
  SlurmNodeProvider provider(o);
  absl::StatusOr<std::string> node =
      provider.StartNode(SlurmTarget(R"({"partition":"debug"})", "Standard_A1_v2"));
  EXPECT_EQ(core::ErrnoOf(node.status()), EROFS);
  EXPECT_EQ(node.status().message(),
            "cannot write " + (dir_ / "nodes/slurm-node.sh").string() + ": Read-only file system");
  EXPECT_TRUE(runner_->Calls("sbatch").empty());
}

// The real runner (core::Env::Spawn) on commands that are not Slurm's.
TEST(CommandRunnerTest, RunsArgvCapturesOutputAndMapsFailures) {
  std::shared_ptr<CommandRunner> runner = NewCommandRunner(core::Env::Default());
  absl::StatusOr<CommandOutput> out =
      runner->Run({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}, 10'000);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->exit_code, 3);
  EXPECT_EQ(out->out, "out\n");
  EXPECT_EQ(out->err, "err\n");
  EXPECT_EQ(runner->Run({"no-such-command-xyz"}, 10'000).status().code(),
            absl::StatusCode::kNotFound);
  absl::StatusOr<CommandOutput> slow = runner->Run({"sleep", "30"}, 200);
  EXPECT_EQ(slow.status().code(), absl::StatusCode::kDeadlineExceeded);

  core::FaultEnv faults(core::Env::Default());
  faults.FailSpawns("squeue", EAGAIN);
  absl::StatusOr<CommandOutput> refused = NewCommandRunner(&faults)->Run({"squeue"}, 10'000);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(refused.status().message(), "cannot start squeue: Resource temporarily unavailable");
}

}  // namespace
}  // namespace sweep::compute

// Slurm-backed targets through the CLI: `sweep compute create --provider slurm` and its
// bad inputs, and `sweep run` on such a target against the CI's Slurm cluster
// (.ci/start-slurm.sh). Tests that need Slurm run only against that cluster and skip,
// saying why, otherwise (tests/test_services.h), unless SWEEP_REQUIRE_SERVICES=1.
#include <unistd.h>

#include <filesystem>

#include "gtest/gtest.h"
#include "tests/e2e/e2e_util.h"
#include "tests/test_services.h"

namespace sweep::e2e {
namespace {

namespace fs = std::filesystem;

// A compute name of this test process, so concurrent runs do not see each other's jobs.
std::string ComputeName(const std::string& prefix) {
  return prefix + std::to_string(::getpid() % 100000);
}

// Node jobs of `compute` that squeue shows pending or running.
std::string QueuedJobs(const std::string& compute) {
  return RunCommand({"squeue", "--noheader", "--format=%i %T", "--name=sweep-" + compute}).out;
}

std::vector<std::string> CreateArgs(const std::string& ws, const std::string& name,
                                    std::vector<std::string> extra) {
  std::vector<std::string> args = {"compute",    "create", name,          "--type", "amlcompute",
                                   "--provider", "slurm",  "--workspace", ws};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

struct BadCreate {
  std::vector<std::string> extra;
  std::string message;
};

TEST(SlurmE2E, BadSlurmTargetsAreRefusedWithExitTwoAndWriteNothing) {
  TempDir dir;
  const std::string ws = dir.path() + "/ws";  // must not even be created
  const std::vector<BadCreate> cases = {
      {{"--partition", "debug", "--vm-size", "Standard_Huge"},
       "sweep: error: compute 'hpc': unknown vm_size 'Standard_Huge' (known: Standard_A1_v2, "},
      {{"--vm-size", "Standard_DS1_v2"},
       "sweep: error: compute 'hpc': a slurm target needs a partition; add --partition P "
       "(`sinfo` lists them)\n"},
      {{"--partition", "debug"}, "sweep: error: compute 'hpc': a slurm target needs --vm-size"},
      {{"--partition", "debug", "--vm-size", "Standard_DS1_v2", "--vm-priority", "lowpriority"},
       "sweep: error: compute 'hpc': vm_priority lowpriority on a slurm target needs a "
       "preemptible partition or QOS; add --lowpriority-partition P or --lowpriority-qos Q\n"},
      {{"--partition", "debug", "--vm-size", "Standard_DS1_v2", "--lowpriority-partition", "a",
        "--lowpriority-qos", "b"},
       "sweep: error: compute 'hpc': give either --lowpriority-partition or --lowpriority-qos, "
       "not both\n"},
  };
  for (const BadCreate& c : cases) {
    CommandResult r = RunSweep(CreateArgs(ws, "hpc", c.extra));
    EXPECT_EQ(r.exit_code, 2) << c.message << "\n" << r.err;
    EXPECT_EQ(r.err.rfind(c.message, 0), 0u) << r.err;
    EXPECT_FALSE(fs::exists(ws)) << "a refused target must write nothing";
  }
  CommandResult local =
      RunSweep({"compute", "create", "loc", "--partition", "debug", "--workspace", ws});
  EXPECT_EQ(local.exit_code, 2);
  EXPECT_EQ(local.err,
            "sweep: error: compute 'loc': --partition, --account, --qos, --lowpriority-partition "
            "and --lowpriority-qos apply only to Slurm targets (--type amlcompute --provider "
            "slurm); this one uses provider 'local'\n");
  EXPECT_FALSE(fs::exists(ws));
}

TEST(SlurmE2E, MissingSlurmCommandsAreAClearRuntimeError) {
  TempDir dir;
  const std::string ws = dir.path() + "/ws";
  std::vector<std::string> argv = {"env", "PATH=/nonexistent", SweepBinary()};
  for (const std::string& a :
       CreateArgs(ws, "hpc", {"--partition", "debug", "--vm-size", "Standard_DS1_v2"})) {
    argv.push_back(a);
  }
  CommandResult r = RunCommand(argv);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err,
            "sweep: error: compute 'hpc': cannot run sinfo: not found on PATH; install Slurm's "
            "client commands on this host (Debian: slurm-client) or put them on PATH\n");
  EXPECT_FALSE(fs::exists(ws));
}

TEST(SlurmE2E, UnknownPartitionNamesThePartitionsSlurmHas) {
  SWEEP_REQUIRE_SLURM();
  TempDir dir;
  const std::string ws = dir.path() + "/ws";
  CommandResult r =
      RunSweep(CreateArgs(ws, "hpc", {"--partition", "nope", "--vm-size", "Standard_DS1_v2"}));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err,
            "sweep: error: compute 'hpc': unknown partition 'nope' (Slurm has: debug, "
            "lowpri)\n");
  r = RunSweep(CreateArgs(
      ws, "hpc",
      {"--partition", "debug", "--lowpriority-partition", "scav", "--vm-size", "Standard_DS1_v2"}));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.err,
            "sweep: error: compute 'hpc': unknown lowpriority partition 'scav' (Slurm "
            "has: debug, lowpri)\n");
  EXPECT_FALSE(fs::exists(ws));
}

TEST(SlurmE2E, SweepRunsOnSlurmNodeJobsAndLeavesNoJobBehind) {
  SWEEP_REQUIRE_SLURM();
  TempDir dir;
  const std::string ws = dir.path() + "/ws";
  const std::string name = ComputeName("e2e");
  CommandResult create = RunSweep(
      CreateArgs(ws, name,
                 {"--partition", "debug", "--lowpriority-partition", "lowpri", "--vm-size",
                  "standard_ds1_v2", "--min-nodes", "0", "--max-nodes", "2", "--vm-priority",
                  "dedicated", "--idle-seconds-before-scaledown", "5", "--json"}));
  ASSERT_EQ(create.exit_code, 0) << create.err;
  nlohmann::json target = ParseJson(create);
  EXPECT_EQ(target["provider"], "slurm");
  EXPECT_EQ(target["properties"],
            (nlohmann::json{{"partition", "debug"}, {"lowpriority_partition", "lowpri"}}));

  std::string spec = dir.Write("spec.yml",
                               "type: sweep\n"
                               "trial:\n"
                               "  command: sh -c \"sleep 1; echo accuracy=${{search_space.x}}\"\n"
                               "compute: azureml:" +
                                   name +
                                   "\n"
                                   "sampling_algorithm: grid\n"
                                   "search_space:\n"
                                   "  x: {type: choice, values: [0.1, 0.2, 0.3]}\n"
                                   "objective: {primary_metric: accuracy, goal: maximize}\n"
                                   "limits: {max_total_trials: 3, max_concurrent_trials: 2}\n");
  BackgroundSweep run({"run", spec, "--workspace", ws, "--quiet"});
  std::string id = run.WaitFirstLine(60);
  ASSERT_EQ(id.rfind("sw-", 0), 0u) << id;
  EXPECT_TRUE(WaitFor([&] { return QueuedJobs(name).find("RUNNING") != std::string::npos; }, 120))
      << "squeue never showed a running node job";
  CommandResult done = run.Wait(300);
  ASSERT_EQ(done.exit_code, 0) << done.out << done.err;

  nlohmann::json trials = ParseJson(RunSweep({"trials", id, "--json", "--workspace", ws}));
  ASSERT_EQ(trials.size(), 3u);
  for (const auto& t : trials) EXPECT_EQ(t["state"], "completed") << t.dump();
  // Each node job wrote its output to the workspace's logs.
  int job_logs = 0;
  for (const auto& entry : fs::directory_iterator(ws + "/logs")) {
    job_logs += entry.path().filename().string().rfind("slurm-" + name + "-", 0) == 0;
  }
  EXPECT_GE(job_logs, 1);
  EXPECT_LE(job_logs, 2);  // max_nodes
  // `sweep run` cancels its node jobs when it ends.
  EXPECT_EQ(QueuedJobs(name), "");
}

}  // namespace
}  // namespace sweep::e2e

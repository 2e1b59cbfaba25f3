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

TEST(SlurmE2E, AVmSizeNoNodeHoldsIsRefusedAtCreateAndUpdate) {
  SWEEP_REQUIRE_SLURM();
  TempDir dir;
  const std::string ws = dir.path() + "/ws";
  CommandResult big =
      RunSweep(CreateArgs(ws, "big", {"--partition", "debug", "--vm-size", "Standard_D16s_v3"}));
  EXPECT_EQ(big.exit_code, 2) << big.err;
  EXPECT_EQ(big.err.rfind("sweep: error: compute 'big': --vm-size Standard_D16s_v3 needs 16 "
                          "CPUs, 65536 MB, but no node of partition 'debug' has that (",
                          0),
            0u)
      << big.err;
  EXPECT_NE(big.err.find("the largest size that fits is "), std::string::npos) << big.err;
  EXPECT_FALSE(fs::exists(ws)) << "a refused target must write nothing";

  ASSERT_EQ(
      RunSweep(CreateArgs(ws, "big", {"--partition", "debug", "--vm-size", "Standard_DS1_v2"}))
          .exit_code,
      0);
  CommandResult update =
      RunSweep({"compute", "update", "big", "--vm-size", "Standard_D16s_v3", "--workspace", ws});
  EXPECT_EQ(update.exit_code, 2) << update.err;
  EXPECT_NE(update.err.find("no node of partition 'debug' has that"), std::string::npos)
      << update.err;
  nlohmann::json shown =
      ParseJson(RunSweep({"compute", "show", "big", "--json", "--workspace", ws}));
  EXPECT_EQ(shown["vm_size"], "Standard_DS1_v2") << "a refused update changes nothing";
}

// The cluster changed after the target was made, and the sweep cannot get a node. It ends
// `failed` with the reason once --node-wait-seconds pass, instead of retrying for ever:
// when sbatch refuses every node job (the partition is gone), and when the jobs are
// accepted but can never run (this cluster queues a 16-CPU job on its 2-CPU node).
TEST(SlurmE2E, ASweepThatCannotGetANodeFailsInsteadOfWaitingForEver) {
  SWEEP_REQUIRE_SLURM();
  TempDir dir;
  const std::string ws = dir.path() + "/ws";
  const std::string name = ComputeName("starve");
  ASSERT_EQ(RunSweep(CreateArgs(ws, name, {"--partition", "debug", "--vm-size", "Standard_DS1_v2"}))
                .exit_code,
            0);
  std::string spec = dir.Write("spec.yml",
                               "type: sweep\n"
                               "trial: {command: echo accuracy=1}\n"
                               "compute: azureml:" +
                                   name +
                                   "\n"
                                   "search_space: {x: {type: choice, values: [1, 2]}}\n"
                                   "objective: {primary_metric: accuracy, goal: maximize}\n");
  auto change = [&](const std::string& set) {
    CommandResult r = RunCommand({"sqlite3", ws + "/sweep.db",
                                  "UPDATE computes SET " + set + " WHERE name = '" + name + "'"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  };
  auto run_to_failure = [&](const std::string& reason) {
    CommandResult run =
        RunSweep({"run", spec, "--node-wait-seconds", "4", "--workspace", ws, "--plain"}, 120);
    EXPECT_EQ(run.exit_code, 1) << run.out << run.err;
    EXPECT_NE(run.out.find("sweep failed: no node of compute '" + name +
                           "' registered for 4 s "
                           "(limits.node_wait_timeout): " +
                           reason),
              std::string::npos)
        << run.out;
    std::string id = run.out.substr(0, run.out.find('\n'));
    nlohmann::json shown = ParseJson(RunSweep({"show", id, "--json", "--workspace", ws}));
    EXPECT_EQ(shown["state"], "failed");
    EXPECT_EQ(QueuedJobs(name), "") << "no node job is left behind";
    return run.out;
  };

  change("properties_json = '{\"partition\":\"gone\"}'");
  std::string out = run_to_failure("the last start failed: ");
  EXPECT_NE(out.find("scale up failed"), std::string::npos) << out;
  EXPECT_NE(out.find("invalid partition specified: gone"), std::string::npos) << out;

  change("properties_json = '{\"partition\":\"debug\"}', vm_size = 'Standard_D16s_v3'");
  run_to_failure("4 node(s) started by the 'slurm' provider never registered");
}

}  // namespace
}  // namespace sweep::e2e

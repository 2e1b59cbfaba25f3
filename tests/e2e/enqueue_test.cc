// `initial_points` and `sweep enqueue` driven like a user would, through a `sweep server`:
// the given points run first, bad ones are refused naming the parameter and store nothing.
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/e2e/e2e_util.h"

namespace sweep::e2e {
namespace {

constexpr int kPatienceS = 300;

// Each trial waits (up to 600 s) for the file <gate>/open, then reports accuracy = x.
std::string WriteSpec(const TempDir& dir) {
  dir.Write("code/train.py",
            "import os, sys, time\n"
            "gate, x = sys.argv[1], float(sys.argv[2])\n"
            "start = time.time()\n"
            "while not os.path.exists(os.path.join(gate, 'open')) and time.time() < start + 600:\n"
            "    time.sleep(0.05)\n"
            "print(f'accuracy={x}', flush=True)\n");
  return dir.Write("spec.yml",
                   "type: sweep\n"
                   "trial:\n"
                   "  code: code\n"
                   "  command: python3 train.py " +
                       dir.path() +
                       " ${{search_space.x}}\n"
                       "compute: azureml:cpu-cluster\n"
                       "sampling_algorithm: grid\n"
                       "search_space:\n"
                       "  x: {type: choice, values: [1, 2, 3, 4, 5]}\n"
                       "objective: {primary_metric: accuracy, goal: maximize}\n"
                       "limits: {max_total_trials: 3, max_concurrent_trials: 1}\n"
                       "initial_points:\n"
                       "  - {x: 5}\n");
}

TEST(EnqueueE2eTest, GivenPointsRunFirstAndBadOnesAreRefused) {
  TempDir dir;
  const std::string ws = dir.path() + "/ws";
  // A new workspace has the target cpu-cluster.
  const std::string spec = WriteSpec(dir);
  ServerProcess server(ws, kPatienceS);
  ASSERT_FALSE(server.address().empty());
  auto via_server = [&](std::vector<std::string> args) { return server.Run(args, kPatienceS); };
  CommandResult submitted = via_server({"submit", spec});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.err;
  const std::string id = submitted.out.substr(0, submitted.out.find('\n'));
  auto trials = [&] { return ParseJson(via_server({"trials", id, "--json"})); };
  ASSERT_TRUE(WaitFor([&] { return trials().size() == 1; }, kPatienceS));

  CommandResult enqueued = via_server({"enqueue", id, "--param", "x=4"});
  ASSERT_EQ(enqueued.exit_code, 0) << enqueued.err;
  EXPECT_EQ(enqueued.out, "enqueued trial 2 of " + id + "\n");

  struct Bad {
    std::vector<std::string> params;
    std::string message;
  };
  const std::vector<Bad> bad = {
      {{"x=9"}, "parameter 'x': value 9 is not one of its choices (1, 2, 3, 4, 5)"},
      {{"x=1", "y=2"}, "unknown parameter 'y' (not in the search space"},
      {{"x"}, "--param 'x': expected NAME=VALUE"},
  };
  for (const Bad& b : bad) {
    std::vector<std::string> args = {"enqueue", id};
    for (const std::string& p : b.params) args.insert(args.end(), {"--param", p});
    CommandResult r = via_server(args);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(b.message), std::string::npos) << r.err;
  }
  EXPECT_EQ(trials().size(), 2u) << "a refused point stores nothing";

  std::ofstream(dir.path() + "/open") << "open\n";
  ASSERT_TRUE(WaitFor(
      [&] {
        return ParseJson(via_server({"show", id, "--json"}))["state"] == "completed";
      },
      kPatienceS));
  nlohmann::json all = trials();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0]["params"]["x"], 5);
  EXPECT_EQ(all[0]["origin"], "enqueued");
  EXPECT_EQ(all[1]["params"]["x"], 4);
  EXPECT_EQ(all[1]["origin"], "enqueued");
  EXPECT_EQ(all[2]["params"]["x"], 1) << "the grid starts where no given point is";
  EXPECT_EQ(all[2]["origin"], "sampled");

  ASSERT_EQ(server.Stop(kPatienceS).exit_code, 0);
  // Without a server the workspace is changed directly; an ended sweep takes no points.
  CommandResult ended = RunSweep({"enqueue", id, "--param", "x=2", "--workspace", ws});
  EXPECT_EQ(ended.exit_code, 1);
  EXPECT_NE(ended.err.find("already ended (completed)"), std::string::npos) << ended.err;
}

}  // namespace
}  // namespace sweep::e2e

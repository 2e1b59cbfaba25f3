// `sweep extend` and warm start driven like a user would, with the real binary: an
// extension continues the grid without repeats, its trials say where they came from and a
// better best registers a new model version; warm start uses the trials that fit the new
// space and lists the others with the reason (in `sweep validate` and the sweep's events);
// bad inputs exit 2 and store nothing.
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/e2e/e2e_util.h"

namespace sweep::e2e {
namespace {

constexpr int kPatienceS = 300;

std::string WriteSpec(const TempDir& dir, const std::string& name, const std::string& values,
                      const std::string& extra = "", const std::string& goal = "maximize") {
  dir.Write("code/train.py",
            "import os, sys\n"
            "os.makedirs('outputs', exist_ok=True)\n"
            "open('outputs/model.txt', 'w').write(sys.argv[1])\n"
            "print(f'accuracy={float(sys.argv[1])}', flush=True)\n");
  return dir.Write(name + ".yml",
                   "type: sweep\n"
                   "trial:\n"
                   "  code: code\n"
                   "  command: python3 train.py ${{search_space.x}}\n"
                   "compute: azureml:cpu-cluster\n"
                   "sampling_algorithm: grid\n"
                   "search_space:\n"
                   "  x: {type: choice, values: [" +
                       values +
                       "]}\n"
                       "objective: {primary_metric: accuracy, goal: " +
                       goal +
                       "}\n"
                       "limits: {max_total_trials: 3, max_concurrent_trials: 1}\n"
                       "register_model: {name: clf}\n" +
                       extra);
}

TEST(ExtendE2eTest, ExtendContinuesWithoutRepeatsAndWarmStartUsesWhatFits) {
  TempDir dir;
  const std::string ws = dir.path() + "/ws";
  auto sweep = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"--workspace", ws});
    return RunSweep(args, kPatienceS);
  };
  const std::string spec = WriteSpec(dir, "first", "1, 2, 3, 4, 5");
  CommandResult run = sweep({"run", spec, "-q"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string id = run.out.substr(0, run.out.find('\n'));

  CommandResult extended = sweep({"extend", id.substr(0, 8), "--max-total-trials", "5", "-q"});
  ASSERT_EQ(extended.exit_code, 0) << extended.err << extended.out;
  nlohmann::json trials = ParseJson(sweep({"trials", id, "--json"}));
  ASSERT_EQ(trials.size(), 5u);
  std::set<std::string> configs;
  for (const nlohmann::json& t : trials) configs.insert(t["params"].dump());
  EXPECT_EQ(configs.size(), 5u) << trials.dump();
  EXPECT_EQ(trials[2]["origin"], "sampled");
  EXPECT_EQ(trials[3]["origin"], 1) << "trial JSON gives an extension's number";
  EXPECT_EQ(trials[4]["origin"], 1);
  nlohmann::json models = ParseJson(sweep({"models", "list", "--json"}));
  ASSERT_EQ(models.size(), 2u) << models.dump();
  EXPECT_EQ(models[1]["version"], 2);
  EXPECT_EQ(models[1]["trial_id"], 5);

  struct Bad {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Bad> bad = {
      {{"extend", id, "--max-total-trials", "5"}, "must be above the 5 trials"},
      {{"extend", id, "--max-total-trials", "9"}, "search space is exhausted (all 5"},
      {{"extend", "sw-ffffffffffff", "--max-total-trials", "9"}, "no sweep 'sw-ffffffffffff'"},
      {{"extend", id, "--max-total-trials", "9", "--timeout", "-5"}, "--timeout must be >= 0"},
  };
  for (const Bad& b : bad) {
    CommandResult r = sweep(b.args);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_NE(r.err.find(b.message), std::string::npos) << r.err;
  }
  EXPECT_EQ(ParseJson(sweep({"trials", id, "--json"})).size(), 5u) << "nothing stored";

  // Warm start into a narrower space: x=4 and x=5 no longer fit.
  const std::string narrow = WriteSpec(dir, "narrow", "1, 2, 3, 6");
  CommandResult validated = sweep({"validate", narrow, "--warm-start", id});
  ASSERT_EQ(validated.exit_code, 0) << validated.err;
  EXPECT_NE(validated.out.find("3 of 5 finished trials of " + id + " used as history"),
            std::string::npos)
      << validated.out;
  EXPECT_NE(validated.out.find("skipped " + id + " trial 4: parameter 'x': value 4 is not one"),
            std::string::npos)
      << validated.out;
  CommandResult warm = sweep({"run", narrow, "--warm-start", id, "-q"});
  ASSERT_EQ(warm.exit_code, 0) << warm.err;
  const std::string warm_id = warm.out.substr(0, warm.out.find('\n'));
  nlohmann::json warm_trials = ParseJson(sweep({"trials", warm_id, "--json"}));
  ASSERT_EQ(warm_trials.size(), 1u) << "the grid skips the 3 points it learned: only x=6 is new";
  EXPECT_EQ(warm_trials[0]["params"]["x"], 6);
  nlohmann::json events = ParseJson(sweep({"show", warm_id, "--json"}))["recent_events"];
  std::string warm_event;
  for (const nlohmann::json& e : events) {
    if (e["kind"] == "warm_start") warm_event = e["message"];
  }
  EXPECT_NE(warm_event.find("using 3 of 5 finished trials"), std::string::npos) << events.dump();

  // A different goal is refused, and no sweep is stored.
  const size_t sweeps = ParseJson(sweep({"ls", "--json"})).size();
  const std::string other = WriteSpec(dir, "other", "1, 2", "", "minimize");
  CommandResult refused = sweep({"run", other, "--warm-start", id, "-q"});
  EXPECT_EQ(refused.exit_code, 2) << refused.err;
  EXPECT_NE(refused.err.find("optimizes accuracy (maximize) but this spec optimizes accuracy "
                             "(minimize)"),
            std::string::npos)
      << refused.err;
  EXPECT_EQ(ParseJson(sweep({"ls", "--json"})).size(), sweeps);
}

TEST(ExtendE2eTest, SubmitWarmStartsThroughAServer) {
  TempDir dir;
  const std::string ws = dir.path() + "/ws";
  CommandResult run =
      RunSweep({"run", WriteSpec(dir, "first", "1, 2, 3"), "-q", "--workspace", ws}, kPatienceS);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string id = run.out.substr(0, run.out.find('\n'));

  ServerProcess server(ws, kPatienceS);
  ASSERT_FALSE(server.address().empty());
  auto via_server = [&](std::vector<std::string> args) { return server.Run(args, kPatienceS); };
  const std::string next = WriteSpec(dir, "next", "1, 2, 3, 6");
  const size_t sweeps = ParseJson(via_server({"ls", "--json"})).size();
  CommandResult unknown = via_server({"submit", next, "--warm-start", "sw-ffffffffffff"});
  EXPECT_EQ(unknown.exit_code, 2) << unknown.err;
  EXPECT_NE(unknown.err.find("no sweep 'sw-ffffffffffff'"), std::string::npos) << unknown.err;
  EXPECT_EQ(ParseJson(via_server({"ls", "--json"})).size(), sweeps) << "nothing stored";

  CommandResult submitted = via_server({"submit", next, "--warm-start", id.substr(0, 9)});
  ASSERT_EQ(submitted.exit_code, 0) << submitted.err;
  const std::string warm_id = submitted.out.substr(0, submitted.out.find('\n'));
  auto shown = [&] { return ParseJson(via_server({"show", warm_id, "--json"})); };
  // Read at once, before node and trial events push it out of the recent ones.
  std::string warm_event;
  const nlohmann::json events = shown()["recent_events"];
  for (const nlohmann::json& e : events) {
    if (e["kind"] == "warm_start") warm_event = e["message"];
  }
  EXPECT_NE(warm_event.find("using 3 of 3 finished trials"), std::string::npos) << events.dump();
  ASSERT_TRUE(WaitFor([&] { return shown()["state"] == "completed"; }, kPatienceS));
  nlohmann::json trials = ParseJson(via_server({"trials", warm_id, "--json"}));
  ASSERT_EQ(trials.size(), 1u) << "the grid skips the 3 points it learned: " << trials.dump();
  EXPECT_EQ(trials[0]["params"]["x"], 6);
}

}  // namespace
}  // namespace sweep::e2e

// The happy paths: the quickstart and a grid sweep, queried through the CLI.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "gtest/gtest.h"
#include "tests/e2e/e2e_util.h"
#include "tests/test_services.h"

namespace sweep::e2e {
namespace {

TEST(RunE2E, QuickstartCompletesAndQueriesAgree) {
  TempDir ws;
  CommandResult run = RunSweep(
      {"run", SourceDir() + "/examples/quickstart/sweep.yml", "--workspace", ws.path()}, 300);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  std::string id = run.out.substr(0, run.out.find('\n'));
  ASSERT_EQ(id.rfind("sw-", 0), 0u) << "first line must be the sweep id: " << run.out;
  EXPECT_NE(run.out.find("best trial"), std::string::npos) << run.out;

  CommandResult trials = RunSweep({"trials", id, "--json", "--workspace", ws.path()});
  ASSERT_EQ(trials.exit_code, 0) << trials.err;
  nlohmann::json list = ParseJson(trials);
  ASSERT_EQ(list.size(), 12u);  // max_total_trials in the quickstart spec
  std::set<std::string> configs;
  double best_value = -1;
  int64_t best_id = 0;
  for (const auto& t : list) {
    EXPECT_EQ(t["state"], "completed") << t.dump();
    ASSERT_TRUE(t["final_value"].is_number()) << t.dump();
    EXPECT_TRUE(t["params"].contains("lr"));
    EXPECT_TRUE(t["params"].contains("hidden"));
    EXPECT_EQ(t["intervals"], 12);  // one accuracy report per epoch
    configs.insert(t["params"].dump());
    if (t["final_value"].get<double>() > best_value) {
      best_value = t["final_value"];
      best_id = t["trial_id"];
    }
  }
  EXPECT_EQ(configs.size(), 12u) << "no configuration may be handed out twice";

  CommandResult best = RunSweep({"best", id, "--json", "--workspace", ws.path()});
  ASSERT_EQ(best.exit_code, 0) << best.err;
  nlohmann::json b = ParseJson(best);
  EXPECT_EQ(b["trial_id"], best_id);
  EXPECT_DOUBLE_EQ(b["final_value"].get<double>(), best_value);

  CommandResult show = RunSweep({"show", id, "--json", "--workspace", ws.path()});
  ASSERT_EQ(show.exit_code, 0);
  nlohmann::json s = ParseJson(show);
  EXPECT_EQ(s["state"], "completed");
  EXPECT_EQ(s["trials"]["completed"], 12);
  EXPECT_EQ(s["best"]["trial_id"], best_id);

  CommandResult ls = RunSweep({"ls", "--json", "--workspace", ws.path()});
  ASSERT_EQ(ls.exit_code, 0);
  EXPECT_EQ(ParseJson(ls)[0]["id"], id);

  CommandResult metrics = RunSweep({"metrics", id.substr(0, 7), std::to_string(best_id), "--name",
                                    "accuracy", "--json", "--workspace", ws.path()});
  ASSERT_EQ(metrics.exit_code, 0) << metrics.err;
  nlohmann::json points = ParseJson(metrics);
  ASSERT_EQ(points.size(), 12u);
  EXPECT_EQ(points[11]["interval"], 12);
  EXPECT_DOUBLE_EQ(points[11]["value"].get<double>(), best_value);

  CommandResult csv =
      RunSweep({"trials", id, "--csv", "--sort", "accuracy", "--workspace", ws.path()});
  ASSERT_EQ(csv.exit_code, 0);
  EXPECT_EQ(csv.out.rfind("trial_id,state,accuracy,", 0), 0u) << csv.out;
  EXPECT_EQ(csv.out.substr(csv.out.find('\n') + 1).rfind(std::to_string(best_id) + ",", 0), 0u)
      << "sorted best first:\n"
      << csv.out;
}

TEST(RunE2E, GridSweepEndsWhenExhausted) {
  TempDir dir;
  dir.Write("code/score.py",
            "import sys\n"
            "a, b = int(sys.argv[1]), sys.argv[2]\n"
            "print(f'score={a * len(b)}')\n");
  std::string spec = dir.Write("grid.yml", R"YAML(type: sweep
trial:
  code: code
  command: python3 score.py ${{search_space.a}} ${{search_space.b}}
compute: azureml:cpu-cluster
sampling_algorithm: grid
search_space:
  a: {type: choice, values: [1, 2, 3]}
  b: {type: choice, values: [x, yyy]}
objective: {primary_metric: score, goal: maximize}
limits: {max_total_trials: 100, max_concurrent_trials: 2}
)YAML");
  CommandResult run = RunSweep({"run", spec, "--workspace", dir.path() + "/ws", "-q"}, 180);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  std::string id = run.out.substr(0, run.out.find('\n'));
  nlohmann::json list =
      ParseJson(RunSweep({"trials", id, "--json", "--workspace", dir.path() + "/ws"}));
  ASSERT_EQ(list.size(), 6u) << "the grid has 6 points although 100 trials were allowed";
  std::set<std::string> configs;
  for (const auto& t : list) {
    EXPECT_EQ(t["state"], "completed");
    configs.insert(t["params"].dump());
    int a = t["params"]["a"];
    std::string b = t["params"]["b"];
    EXPECT_DOUBLE_EQ(t["final_value"].get<double>(), a * static_cast<double>(b.size()));
  }
  EXPECT_EQ(configs.size(), 6u);
  nlohmann::json best =
      ParseJson(RunSweep({"best", id, "--json", "--workspace", dir.path() + "/ws"}));
  EXPECT_DOUBLE_EQ(best["final_value"].get<double>(), 9.0);
}

TEST(RunE2E, ArgvIsNotAShell) {
  TempDir dir;
  // Each trial notes what its working directory holds, where a shell would have run `touch X`.
  const std::string cwds = dir.path() + "/cwds.txt";
  dir.Write("code/echo_args.py",
            "import json, os, sys\n"
            "print('n_args=%d' % (len(sys.argv) - 1))\n"
            "open('args.json', 'w').write(json.dumps(sys.argv[1:]))\n"
            "found = [f for f in ('args.json', 'INJECTED', 'INJECTED2') if os.path.exists(f)]\n"
            "open('" +
                cwds + "', 'a').write(' '.join(found) + '\\n')\n");
  // Relative markers would land in the trial's working directory, absolute ones in dir.
  const std::string abs = dir.path() + "/ABS_INJECTED";
  const std::string values = "[\"; touch INJECTED\", \"$(touch INJECTED2)\", \"a b\", \"; touch " +
                             abs + "1\", \"`touch " + abs + "2`\", \"| touch " + abs + "3\"]";
  std::string spec = dir.Write("inject.yml",
                               "type: sweep\n"
                               "trial:\n"
                               "  code: code\n"
                               "  command: python3 echo_args.py --name ${{search_space.name}}\n"
                               "compute: cpu-cluster\n"
                               "sampling_algorithm: grid\n"
                               "search_space:\n"
                               "  name: {type: choice, values: " +
                                   values +
                                   "}\n"
                                   "objective: {primary_metric: n_args, goal: minimize}\n"
                                   "limits: {max_concurrent_trials: 1}\n");
  CommandResult run = RunSweep({"run", spec, "--workspace", dir.path() + "/ws", "-q"}, 120);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  std::string id = run.out.substr(0, run.out.find('\n'));
  nlohmann::json list =
      ParseJson(RunSweep({"trials", id, "--json", "--workspace", dir.path() + "/ws"}));
  ASSERT_EQ(list.size(), 6u);
  for (const auto& t : list) {
    EXPECT_DOUBLE_EQ(t["final_value"].get<double>(), 2.0) << "each value must be one argument";
  }
  std::ifstream in(cwds);
  int trials = 0;
  // The attempt directory is gone once the attempt is reported, so the trial itself lists
  // what its working directory held when it ended.
  for (std::string found; std::getline(in, found); ++trials) {
    EXPECT_EQ(found, "args.json") << "a shell would have created INJECTED or INJECTED2";
  }
  EXPECT_EQ(trials, 6) << "every trial notes where it ran";
  for (const char* n : {"1", "2", "3"}) EXPECT_FALSE(std::filesystem::exists(abs + n));
}

}  // namespace
}  // namespace sweep::e2e

namespace sweep::e2e {
namespace {

// The AutoML example: Bayesian sampling over a nested choice of scikit-learn estimators,
// with median stopping. Needs Debian's python3-sklearn (scripts/install-deps.sh).
TEST(RunE2E, SklearnAutomlExampleUsesOnlyTheChosenBranchesParameters) {
  SWEEP_REQUIRE_SKLEARN();
  TempDir ws;
  // The example names the workspace environment sklearn-env (README shows this step).
  CommandResult env = RunSweep({"environment", "create", "sklearn-env", "--user-managed",
                                "--python", "/usr/bin/python3", "--workspace", ws.path()});
  ASSERT_EQ(env.exit_code, 0) << env.err;
  CommandResult run = RunSweep(
      {"run", SourceDir() + "/examples/sklearn-automl/sweep.yml", "--workspace", ws.path(), "-q"},
      600);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  std::string id = run.out.substr(0, run.out.find('\n'));
  nlohmann::json trials = ParseJson(RunSweep({"trials", id, "--json", "--workspace", ws.path()}));
  ASSERT_EQ(trials.size(), 16u);
  const std::map<std::string, std::set<std::string>> branch_params = {
      {"svm", {"estimator", "model", "C", "gamma"}},
      {"random_forest", {"estimator", "model", "n_estimators", "max_depth"}},
      {"logistic_regression", {"estimator", "model", "C"}},
  };
  for (const auto& t : trials) {
    EXPECT_TRUE(t["state"] == "completed" || t["state"] == "early_terminated") << t.dump();
    std::string model = t["params"]["model"];
    ASSERT_TRUE(branch_params.count(model)) << t.dump();
    std::set<std::string> names;
    for (const auto& [name, value] : t["params"].items()) names.insert(name);
    EXPECT_EQ(names, branch_params.at(model)) << t.dump();
  }
  nlohmann::json best = ParseJson(RunSweep({"best", id, "--json", "--workspace", ws.path()}));
  EXPECT_EQ(best["state"], "completed");
  EXPECT_GT(best["final_value"].get<double>(), 0.95) << "digits is an easy data set";

  // The best trial pickled its fitted estimator to outputs/, stored as its artifact
  // (artifacts/<sweep>/<trial>/<attempt>/files/), and it loads and predicts.
  const std::string best_dir = ws.path() + "/artifacts/" + id + "/" +
                               std::to_string(best["trial_id"].get<int64_t>());
  std::string pickle;
  if (std::filesystem::is_directory(best_dir)) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(best_dir)) {
      if (entry.path().filename() == "model.pkl") pickle = entry.path().string();
    }
  }
  ASSERT_FALSE(pickle.empty()) << "no outputs/model.pkl for the best trial";
  CommandResult load =
      RunCommand({"/usr/bin/python3", "-c",
                  "import pickle, sys; from sklearn.datasets import load_digits; "
                  "x, y = load_digits(return_X_y=True); m = pickle.load(open(sys.argv[1], 'rb')); "
                  "print((m.predict(x) == y).mean())",
                  pickle});
  ASSERT_EQ(load.exit_code, 0) << load.err;
  EXPECT_GT(std::stod(load.out), 0.95);

  // register_model registered the best trial's uploaded outputs as version 1, and the
  // model downloads byte-identical to the pickle the trial wrote.
  nlohmann::json shown = ParseJson(RunSweep({"show", id, "--json", "--workspace", ws.path()}));
  EXPECT_EQ(shown["state"], "completed");
  std::string outcome;
  for (const auto& e : shown["recent_events"]) {
    if (e["kind"] == "model_registered" || e["kind"] == "model_registration_failed") {
      outcome = e["kind"].get<std::string>() + ": " + e["message"].get<std::string>();
    }
  }
  EXPECT_EQ(outcome.rfind("model_registered: model sklearn-automl version 1", 0), 0u) << outcome;
  nlohmann::json model = ParseJson(
      RunSweep({"models", "show", "sklearn-automl:1", "--json", "--workspace", ws.path()}));
  EXPECT_EQ(model["sweep_id"], id);
  EXPECT_EQ(model["trial_id"], best["trial_id"]);
  const std::string download = ws.path() + "/downloaded-model";
  CommandResult fetched = RunSweep(
      {"models", "download", "sklearn-automl:1", "--to", download, "--workspace", ws.path()});
  ASSERT_EQ(fetched.exit_code, 0) << fetched.err;
  std::ifstream written(pickle, std::ios::binary),
      downloaded(download + "/model.pkl", std::ios::binary);
  std::string written_bytes((std::istreambuf_iterator<char>(written)), {});
  std::string downloaded_bytes((std::istreambuf_iterator<char>(downloaded)), {});
  EXPECT_FALSE(written_bytes.empty());
  EXPECT_TRUE(written_bytes == downloaded_bytes) << "downloaded model.pkl differs from the trial's";
}

}  // namespace
}  // namespace sweep::e2e

namespace sweep::e2e {
namespace {

// Bad inputs to the run and query commands: each gets its own message and exit code.
TEST(RunE2E, BadQueryAndRunInputsSayWhatIsWrong) {
  TempDir dir;
  std::string ws = dir.path() + "/ws";
  std::string spec = dir.Write("tiny.yml", R"YAML(type: sweep
trial:
  command: python3 -c "print('score=1')"
compute: cpu-cluster
sampling_algorithm: grid
search_space:
  x: {type: choice, values: [1]}
objective: {primary_metric: score, goal: maximize}
)YAML");
  CommandResult lease = RunSweep({"run", spec, "--workspace", ws, "--lease-seconds", "0"});
  EXPECT_EQ(lease.exit_code, 2);
  EXPECT_NE(lease.err.find("--lease-seconds must be at least 1"), std::string::npos) << lease.err;
  CommandResult wait = RunSweep({"run", spec, "--workspace", ws, "--node-wait-seconds", "-1"});
  EXPECT_EQ(wait.exit_code, 2);
  EXPECT_NE(wait.err.find("--node-wait-seconds must not be negative (0 waits for ever)"),
            std::string::npos)
      << wait.err;

  CommandResult run = RunSweep({"run", spec, "--workspace", ws, "-q"}, 60);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::string id = run.out.substr(0, run.out.find('\n'));

  CommandResult both = RunSweep({"trials", id, "--json", "--csv", "--workspace", ws});
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("--json and --csv exclude each other"), std::string::npos) << both.err;

  CommandResult state = RunSweep({"trials", id, "--state", "done", "--workspace", ws});
  EXPECT_EQ(state.exit_code, 2);
  EXPECT_NE(state.err.find("unknown trial state 'done'"), std::string::npos) << state.err;

  CommandResult metric = RunSweep({"trials", id, "--sort", "loss", "--workspace", ws});
  EXPECT_EQ(metric.exit_code, 2);
  EXPECT_NE(metric.err.find("reported a metric named 'loss'"), std::string::npos) << metric.err;

  CommandResult unknown = RunSweep({"show", "sw-nope", "--workspace", ws});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("no sweep 'sw-nope'"), std::string::npos) << unknown.err;

  ASSERT_EQ(RunSweep({"run", spec, "--workspace", ws, "-q"}, 60).exit_code, 0);
  CommandResult ambiguous = RunSweep({"show", "sw-", "--workspace", ws});
  EXPECT_EQ(ambiguous.exit_code, 2);
  EXPECT_NE(ambiguous.err.find("is ambiguous"), std::string::npos) << ambiguous.err;

  CommandResult trial = RunSweep({"metrics", id, "9", "--workspace", ws});
  EXPECT_EQ(trial.exit_code, 1);
  EXPECT_NE(trial.err.find("has no trial 9"), std::string::npos) << trial.err;

  CommandResult ended = RunSweep({"cancel", id, "--workspace", ws});
  EXPECT_EQ(ended.exit_code, 1);
  EXPECT_NE(ended.err.find("already ended (completed)"), std::string::npos) << ended.err;
}

}  // namespace
}  // namespace sweep::e2e

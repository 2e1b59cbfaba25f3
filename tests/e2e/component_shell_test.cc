// Shell commands and command components through the real binary: the example under
// examples/component-shell runs end to end, hostile values stay one argument in a shell
// command, and bad components are refused before anything is stored.
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "gtest/gtest.h"
#include "tests/e2e/e2e_util.h"

namespace sweep::e2e {
namespace {

namespace fs = std::filesystem;

std::string Example() { return SourceDir() + "/examples/component-shell"; }

// The sweeps of a workspace, by `sweep ls --json` (none when it has no store yet).
size_t SweepCount(const std::string& ws) {
  if (!fs::exists(ws + "/sweep.db")) return 0;
  CommandResult ls = RunSweep({"ls", "--json", "--workspace", ws});
  EXPECT_EQ(ls.exit_code, 0) << ls.err;
  return ParseJson(ls).size();
}

TEST(ComponentShellE2E, ComponentSweepFillsInputsFromTheSearchSpace) {
  TempDir dir;
  const std::string ws = dir.path() + "/ws";
  CommandResult validate = RunSweep({"validate", Example() + "/sweep.yml", "--json"});
  ASSERT_EQ(validate.exit_code, 0) << validate.err;
  nlohmann::json preview = ParseJson(validate)["command"];
  EXPECT_EQ(preview["shell"], true);
  EXPECT_EQ(preview["why_shell"], "'>' at character 19");
  EXPECT_EQ(preview["argv"][0], "/bin/bash");

  CommandResult run = RunSweep({"run", Example() + "/sweep.yml", "--workspace", ws, "-q"}, 300);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  std::string id = run.out.substr(0, run.out.find('\n'));
  nlohmann::json list = ParseJson(RunSweep({"trials", id, "--json", "--workspace", ws}));
  ASSERT_EQ(list.size(), 6u);
  for (const auto& t : list) {
    EXPECT_EQ(t["state"], "completed") << t.dump();
    EXPECT_EQ(t["intervals"], 5) << "epochs keeps the component's default: " << t.dump();
    double c = t["params"]["c_value"];
    EXPECT_GE(c, 0.5);
    EXPECT_LE(c, 0.9);
  }
  // The trial's outputs/model_output directory was uploaded with its artifacts.
  CommandResult artifacts = RunSweep({"artifacts", id, "1", "--json", "--workspace", ws});
  ASSERT_EQ(artifacts.exit_code, 0) << artifacts.err;
  nlohmann::json files = ParseJson(artifacts)["files"];
  ASSERT_EQ(files.size(), 1u) << artifacts.out;
  EXPECT_EQ(files[0]["path"], "model_output/model.json");
  const std::string down = dir.path() + "/down";
  ASSERT_EQ(RunSweep({"artifacts", id, "1", "--download", down, "--workspace", ws}).exit_code, 0);
  std::ifstream in(down + "/model_output/model.json");
  nlohmann::json model = nlohmann::json::parse(in);
  // The sampled value reached the component's --C; the job's `degree: 2` overrode 3.
  EXPECT_DOUBLE_EQ(model["C"].get<double>(), list[0]["params"]["c_value"].get<double>());
  EXPECT_EQ(model["kernel"], list[0]["params"]["kernel"]);
  EXPECT_EQ(model["degree"], 2);
  EXPECT_EQ(SweepCount(ws), 1u);
}

TEST(ComponentShellE2E, InlineShellCommandRuns) {
  TempDir dir;
  const std::string ws = dir.path() + "/ws";
  CommandResult run =
      RunSweep({"run", Example() + "/sweep-inline.yml", "--workspace", ws, "-q"}, 300);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  std::string id = run.out.substr(0, run.out.find('\n'));
  nlohmann::json list = ParseJson(RunSweep({"trials", id, "--json", "--workspace", ws}));
  ASSERT_EQ(list.size(), 4u);
  for (const auto& t : list) {
    EXPECT_EQ(t["state"], "completed") << t.dump();
    // `> log.txt; cat log.txt`: the metrics came through cat.
    EXPECT_EQ(t["intervals"], 3) << t.dump();
  }
}

TEST(ComponentShellE2E, HostileValuesStayOneArgumentThroughTheShell) {
  TempDir dir;
  dir.Write("code/src/args.py",
            "import json, sys\n"
            "open('args.json', 'w').write(json.dumps(sys.argv[1:]))\n"
            "print('n_args=%d' % (len(sys.argv) - 1))\n");
  const std::string abs = dir.path() + "/INJECTED";
  std::string spec = dir.Write(
      "hostile.yml",
      "type: sweep\n"
      "trial:\n"
      "  code: code\n"
      "  command: >-\n"
      "    cd src && python3 args.py ${{search_space.v}} \"--v=${{search_space.v}}\" > out.txt;\n"
      "    cat out.txt; cp args.json \"$SWEEP_OUTPUTS_DIR/\"\n"
      "compute: cpu-cluster\n"
      "sampling_algorithm: grid\n"
      "search_space:\n"
      "  v: {type: choice, values: [\"; touch " +
          abs + "1\", \"$(touch " + abs + "2)\", \"`touch " + abs + "3`\", \"a b\", \"it's\", " +
          "\"\\ntouch " + abs + "4\", \"\", \"&& touch " + abs +
          "5 #\"]}\n"
          "objective: {primary_metric: n_args, goal: minimize}\n"
          "limits: {max_concurrent_trials: 2}\n");
  const std::string ws = dir.path() + "/ws";
  CommandResult run = RunSweep({"run", spec, "--workspace", ws, "-q"}, 180);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  std::string id = run.out.substr(0, run.out.find('\n'));
  nlohmann::json list = ParseJson(RunSweep({"trials", id, "--json", "--workspace", ws}));
  ASSERT_EQ(list.size(), 8u);
  for (const auto& t : list) {
    EXPECT_EQ(t["state"], "completed") << t.dump();
    EXPECT_DOUBLE_EQ(t["final_value"].get<double>(), 2.0) << "each value must be one argument";
    std::string trial = std::to_string(t["trial_id"].get<int>());
    const std::string down = dir.path() + "/down" + trial;
    ASSERT_EQ(RunSweep({"artifacts", id, trial, "--download", down, "--workspace", ws}).exit_code,
              0);
    std::ifstream in(down + "/args.json");
    nlohmann::json args = nlohmann::json::parse(in);
    std::string v = t["params"]["v"];
    EXPECT_EQ(args, nlohmann::json::array({v, "--v=" + v}));
  }
  for (const char* n : {"1", "2", "3", "4", "5"}) EXPECT_FALSE(fs::exists(abs + n)) << n;
}

TEST(ComponentShellE2E, BadComponentsAreRefusedAndNothingIsStored) {
  TempDir dir;
  const std::string ws = dir.path() + "/ws";
  // A good sweep first, so the workspace has a store to look into.
  ASSERT_EQ(
      RunSweep({"run", Example() + "/sweep-inline.yml", "--workspace", ws, "-q"}, 300).exit_code,
      0);
  ASSERT_EQ(SweepCount(ws), 1u);
  std::ifstream component_in(Example() + "/train.yml");
  const std::string component((std::istreambuf_iterator<char>(component_in)),
                              std::istreambuf_iterator<char>());
  std::ifstream sweep_in(Example() + "/sweep.yml");
  const std::string sweep((std::istreambuf_iterator<char>(sweep_in)),
                          std::istreambuf_iterator<char>());
  fs::create_directories(dir.path() + "/src");
  fs::create_directories(dir.path() + "/data");
  dir.Write("data/iris-sample.csv", "x\n");
  struct Case {
    std::string component_from, component_to, sweep_from, sweep_to, message;
  };
  const std::vector<Case> cases = {
      {"", "", "  coef0:\n", "  gamma:\n",
       "search_space.gamma: search_space key 'gamma' names no input of component "},
      {"", "", "  data:\n    type: uri_file\n    path: ./data/iris-sample.csv\n", "",
       "trial: input 'data' of component "},
      {"", "", "  degree: 2", "  degree: two", "inputs.degree: 'two' is not a number"},
      {"default: rbf", "default: sigmoid", "", "", "'sigmoid' is not one of its enum values"},
      {"", "", "values: [\"rbf\", \"linear\", \"poly\"]", "values: [\"rbf\", \"tanh\"]",
       "search_space.kernel: cannot fill input 'kernel'"},
      {"code: ./src",
       "code: ./src\nenvironment: azureml://registries/azureml/environments/x/"
       "labels/latest",
       "", "", "is an environment of an Azure ML registry"},
      {"", "", "\ntrial: file:./train.yml", "\ntrial: file:./missing.yml",
       "trial: component file './missing.yml' cannot be read"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.message);
    std::string comp = component;
    std::string sw = sweep;
    if (!c.component_from.empty()) {
      ASSERT_NE(comp.find(c.component_from), std::string::npos);
      comp.replace(comp.find(c.component_from), c.component_from.size(), c.component_to);
    }
    if (!c.sweep_from.empty()) {
      ASSERT_NE(sw.find(c.sweep_from), std::string::npos);
      sw.replace(sw.find(c.sweep_from), c.sweep_from.size(), c.sweep_to);
    }
    dir.Write("train.yml", comp);
    std::string spec = dir.Write("sweep.yml", sw);
    CommandResult validate = RunSweep({"validate", spec});
    EXPECT_EQ(validate.exit_code, 2);
    EXPECT_NE(validate.err.find(c.message), std::string::npos) << validate.err;
    CommandResult run = RunSweep({"run", spec, "--workspace", ws, "-q"});
    EXPECT_EQ(run.exit_code, 2) << run.out << run.err;
    EXPECT_NE(run.err.find(c.message), std::string::npos) << run.err;
    EXPECT_EQ(SweepCount(ws), 1u) << "a refused spec stores no sweep";
  }
}

}  // namespace
}  // namespace sweep::e2e

// `trial: file:./component.yml`: command components bound to the search space, in the
// shape of Azure's pipeline_with_hyperparameter_sweep example; and the other trial keys.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spec/spec.h"

namespace sweep::spec {
namespace {

namespace fs = std::filesystem;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kComponent[] = R"(
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: train_model
version: 1
inputs:
  data: {type: uri_folder}
  c_value: {type: number, default: 1.0}
  kernel: {type: string, default: rbf}
  degree: {type: integer, default: 3}
  coef0: {type: number, default: 0}
  shrinking: {type: boolean, default: false}
  tol: {type: number, default: 1e-3, min: 0}
outputs:
  model_output: {type: mlflow_model}
  test_data: {type: uri_folder}
code: ./train-src
environment: azureml:sklearn-env
command: >-
  pip install 'mlflow<2.19' -q &&
  python train.py --data ${{inputs.data}} --C ${{inputs.c_value}} --kernel ${{inputs.kernel}}
  --degree ${{inputs.degree}} --coef0 ${{inputs.coef0}} --shrinking ${{inputs.shrinking}}
  --tol ${{inputs.tol}} --model_output ${{outputs.model_output}}
)";

constexpr char kSweep[] = R"(type: sweep
trial: file:./train.yml
inputs:
  data: {type: uri_folder, path: ./data}
  degree: 4
outputs:
  model_output:
  test_data:
compute: azureml:cpu-cluster
sampling_algorithm: random
search_space:
  c_value: {type: uniform, min_value: 0.5, max_value: 0.9}
  kernel: {type: choice, values: [rbf, linear, poly]}
  coef0: {type: uniform, min_value: 0.1, max_value: 1}
objective: {goal: minimize, primary_metric: training_f1_score}
limits: {max_total_trials: 5, max_concurrent_trials: 3, timeout: 7200}
)";

class ComponentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "component-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    fs::create_directories(dir_ + "/train-src");
    fs::create_directories(dir_ + "/data");
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
  }
  // Loads the sweep after replacing `from` with `to` in the component and the sweep.
  absl::StatusOr<SweepSpec> Load(const std::string& component_from = "",
                                 const std::string& component_to = "",
                                 const std::string& sweep_from = "",
                                 const std::string& sweep_to = "") {
    std::string component = kComponent;
    std::string sweep = kSweep;
    if (!component_from.empty()) {
      EXPECT_NE(component.find(component_from), std::string::npos) << component_from;
      component = absl::StrReplaceAll(component, {{component_from, component_to}});
    }
    if (!sweep_from.empty()) {
      EXPECT_NE(sweep.find(sweep_from), std::string::npos) << sweep_from;
      sweep = absl::StrReplaceAll(sweep, {{sweep_from, sweep_to}});
    }
    Write("train.yml", component);
    Write("sweep.yml", sweep);
    return LoadSpecFile(dir_ + "/sweep.yml");
  }
  std::string Error(const std::string& component_from, const std::string& component_to,
                    const std::string& sweep_from = "", const std::string& sweep_to = "") {
    absl::StatusOr<SweepSpec> spec = Load(component_from, component_to, sweep_from, sweep_to);
    EXPECT_FALSE(spec.ok());
    EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(spec.status().message());
  }
  std::string Component() const { return dir_ + "/train.yml"; }

  std::string dir_;
};

TEST_F(ComponentTest, SearchSpaceKeysFillTheComponentsInputs) {
  absl::StatusOr<SweepSpec> spec = Load();
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->trial.component, Component());
  EXPECT_EQ(spec->trial.code, dir_ + "/train-src");  // against the component's directory
  EXPECT_EQ(spec->trial.environment, "azureml:sklearn-env");
  EXPECT_THAT(spec->trial.search_space_inputs, ElementsAre("c_value", "coef0", "kernel"));
  // Defaults < the job's inputs; search_space keys are not in inputs.
  EXPECT_EQ(spec->inputs.at("degree"), "4");
  EXPECT_EQ(spec->inputs.at("shrinking"), "false");
  EXPECT_EQ(spec->inputs.at("tol"), "0.001");  // YAML's 1e-3, as a number
  EXPECT_EQ(spec->inputs.at("data"), dir_ + "/data");
  EXPECT_EQ(spec->inputs.count("kernel"), 0u);
  EXPECT_EQ(spec->trial.outputs.at("model_output"), "mlflow_model");
  EXPECT_EQ(spec->trial.outputs.at("test_data"), "uri_folder");

  absl::StatusOr<TrialCommand> command = BuildTrialCommand(
      *spec, {{"c_value", 0.7}, {"kernel", std::string("poly")}, {"coef0", 0.25}});
  ASSERT_TRUE(command.ok()) << command.status();
  EXPECT_TRUE(command->shell);
  EXPECT_EQ(command->why_shell, "'&&' at character 30");
  EXPECT_EQ(command->argv[2],
            "mkdir -p \"$SWEEP_OUTPUTS_DIR/model_output\" || exit\n"
            "pip install 'mlflow<2.19' -q && python train.py --data '" +
                dir_ +
                "/data' --C '0.7' --kernel 'poly' --degree '4' --coef0 '0.25' "
                "--shrinking 'false' --tol '0.001' --model_output "
                "\"$SWEEP_OUTPUTS_DIR/model_output\"");
  EXPECT_THAT(DescribeSpec(*spec), HasSubstr("  kernel: (search_space.kernel)\n"));
}

TEST_F(ComponentTest, ASearchSpaceKeyNamingNoInputIsAnError) {
  std::string message = Error("", "", "  coef0: {type: uniform", "  coefO: {type: uniform");
  EXPECT_THAT(message, HasSubstr("search_space.coefO: search_space key 'coefO' names no input of "
                                 "component " +
                                 Component() +
                                 " (its inputs: c_value, coef0, data, degree, kernel, shrinking, "
                                 "tol); did you mean 'coef0'?"));
}

TEST_F(ComponentTest, ARequiredInputWithoutValueIsAnError) {
  std::string message = Error("", "", "  data: {type: uri_folder, path: ./data}\n", "");
  EXPECT_THAT(message, HasSubstr("sweep.yml:2:8: trial: input 'data' of component " + Component() +
                                 " has no value: give it a `default` in the component, a value "
                                 "under the sweep job's `inputs`, or a search_space key 'data'"));
  // An optional input may stay empty, but then the command cannot use it.
  EXPECT_THAT(Error("data: {type: uri_folder}", "data: {type: uri_folder, optional: true}",
                    "  data: {type: uri_folder, path: ./data}\n", ""),
              HasSubstr("command: ${{inputs.data}} is an optional input of component " +
                        Component() + " that has no value here"));
}

TEST_F(ComponentTest, TypesAreChecked) {
  EXPECT_THAT(Error("", "", "  coef0: {type: uniform, min_value: 0.1, max_value: 1}",
                    "  degree: {type: uniform, min_value: 1, max_value: 5}"),
              HasSubstr("search_space.degree: cannot fill input 'degree' of component " +
                        Component() + ", of type integer: uniform draws fractional numbers"));
  EXPECT_TRUE(Load("", "", "  coef0: {type: uniform, min_value: 0.1, max_value: 1}",
                   "  degree: {type: randint, upper: 5}")
                  .ok());
  // Numbers are text enough for a string input.
  EXPECT_TRUE(Load("", "", "[rbf, linear, poly]", "[1, 2]").ok());
  EXPECT_THAT(Error("", "", "kernel: {type: choice, values: [rbf, linear, poly]}",
                    "shrinking: {type: choice, values: [true, maybe]}"),
              HasSubstr("search_space.shrinking: cannot fill input 'shrinking' of component " +
                        Component() + ", of type boolean: 'maybe' is not a boolean"));
  EXPECT_THAT(Error("", "", "  degree: 4", "  degree: four"),
              HasSubstr("sweep.yml:5:11: inputs.degree: 'four' is not a number (input 'degree' "
                        "of component " +
                        Component() + " is of type integer)"));
  EXPECT_THAT(Error("", "", "  degree: 4", "  degree: 4.5"), HasSubstr("'4.5' is not an integer"));
  EXPECT_THAT(
      Error("shrinking: {type: boolean, default: false}", "shrinking: {type: boolean, default: 3}"),
      HasSubstr(Component() + ":12:39: inputs.shrinking.default: '3' is not a boolean "
                              "(true or false) (the input's type is boolean)"));
  EXPECT_THAT(Error("tol: {type: number, default: 1e-3, min: 0}",
                    "tol: {type: number, default: -1, min: 0}"),
              HasSubstr("'-1' is below its min 0"));
  EXPECT_THAT(Error("c_value: {type: number", "c_value: {type: float"),
              HasSubstr("inputs.c_value.type: unknown value 'float'"));
}

TEST_F(ComponentTest, DistributionRangesMustFitTheInputsBounds) {
  const std::string bounded = "coef0: {type: number, default: 0.1, min: 0.05, max: 0.5}";
  EXPECT_THAT(
      Error("coef0: {type: number, default: 0}", bounded, "", ""),
      HasSubstr("search_space.coef0: cannot fill input 'coef0' of component " + Component() +
                ", of type number: uniform draws values in [0.1, 1], above its max 0.5"));
  EXPECT_THAT(Error("coef0: {type: number, default: 0}", bounded,
                    "coef0: {type: uniform, min_value: 0.1, max_value: 1}",
                    "coef0: {type: normal, mu: 0.2, sigma: 0.1}"),
              HasSubstr("normal draws unbounded values, but the input has a min"));
  EXPECT_THAT(Error("coef0: {type: number, default: 0}", bounded,
                    "coef0: {type: uniform, min_value: 0.1, max_value: 1}",
                    "coef0: {type: loguniform, min_value: -4, max_value: -1}"),
              HasSubstr("loguniform draws values in [0.0183156, 0.367879], below its min 0.05"));
  EXPECT_TRUE(Load("coef0: {type: number, default: 0}", bounded,
                   "coef0: {type: uniform, min_value: 0.1, max_value: 1}",
                   "coef0: {type: loguniform, min_value: -2.9, max_value: -1}")
                  .ok());
  EXPECT_THAT(Error("degree: {type: integer, default: 3}",
                    "degree: {type: integer, default: 3, min: 1, max: 5}",
                    "  kernel: {type: choice, values: [rbf, linear, poly]}",
                    "  kernel: {type: choice, values: [rbf, linear, poly]}\n"
                    "  degree: {type: randint, upper: 7}"),
              HasSubstr("randint draws values in [0, 6], below its min 1"));
}

TEST_F(ComponentTest, JobInputsAndOutputsMustBeTheComponents) {
  EXPECT_THAT(Error("", "", "  degree: 4", "  degre: 4"),
              HasSubstr("inputs.degre: names no input of component " + Component() +
                        " (its inputs: c_value, coef0, data, degree, kernel, shrinking, tol); "
                        "did you mean 'degree'?"));
  EXPECT_THAT(Error("", "", "  test_data:\n", "  test_data:\n  extra:\n"),
              HasSubstr("outputs.extra: names no output of component " + Component()));
  EXPECT_THAT(Error("", "", "  degree: 4", "  degree: {type: uri_folder, path: ./data}"),
              HasSubstr("a data input {type, path} cannot fill an input of type integer"));
}

TEST_F(ComponentTest, EnvironmentsOutsideTheWorkspaceAreRefused) {
  EXPECT_THAT(Error("azureml:sklearn-env",
                    "azureml://registries/azureml/environments/sklearn-1.5/labels/latest"),
              HasSubstr(Component() +
                        ":18:14: environment: 'azureml://registries/azureml/environments/"
                        "sklearn-1.5/labels/latest' is an environment of an Azure ML registry, "
                        "which Sweep cannot reach; create an equivalent workspace environment, "
                        "e.g. `sweep environment create sklearn-env --setup"));
  // A curated name parses (it runs once the workspace has an environment of that name),
  // with a hint saying so.
  absl::StatusOr<SweepSpec> curated =
      Load("azureml:sklearn-env", "azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu:1");
  ASSERT_TRUE(curated.ok()) << curated.status();
  EXPECT_EQ(curated->trial.environment, "azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu:1");
  EXPECT_THAT(curated->hints,
              Contains(HasSubstr("is an Azure ML curated environment; it runs here only as a "
                                 "workspace environment of the same name (`sweep environment "
                                 "create AzureML-sklearn-1.0-ubuntu20.04-py38-cpu")));
  EXPECT_THAT(Error("environment: azureml:sklearn-env", "environment: {image: python:3.11}"),
              HasSubstr("inline environment definitions are not supported"));
}

TEST_F(ComponentTest, BadComponentFiles) {
  EXPECT_THAT(Error("", "", "trial: file:./train.yml", "trial: file:./nope.yml"),
              HasSubstr("sweep.yml:2:8: trial: component file './nope.yml' cannot be read "
                        "(looked for " +
                        dir_ + "/nope.yml; relative paths start at the spec's directory)"));
  EXPECT_THAT(Error("", "", "trial: file:./train.yml", "trial: azureml:train_model:1"),
              HasSubstr("'azureml:train_model:1' is a registered component, which Sweep cannot "
                        "fetch"));
  EXPECT_THAT(Error("type: command", "type: pipeline"),
              HasSubstr(Component() + ":3:7: type: must be 'command', got 'pipeline'"));
  EXPECT_THAT(Error("code: ./train-src", "code: ./missing"),
              HasSubstr("code: './missing' does not exist (looked for " + dir_ +
                        "/missing; relative paths start at the component file's directory)"));
  EXPECT_THAT(Error("--C ${{inputs.c_value}}", "--C ${{inputs.c_valu}}"),
              HasSubstr("command: ${{inputs.c_valu}} names no entry of inputs (did you mean "
                        "'c_value'?)"));
  EXPECT_THAT(Error("${{outputs.model_output}}", "${{outputs.model}}"),
              HasSubstr("command: ${{outputs.model}} names no entry of outputs"));
  EXPECT_THAT(Error("name: train_model", "name: train_model\nbogus: 1"),
              HasSubstr("train.yml:5:1: unknown key 'bogus'"));
  // A bare path works too, as Azure's pipeline jobs write it.
  EXPECT_TRUE(Load("", "", "trial: file:./train.yml", "trial: ./train.yml").ok());
}

TEST(TrialKeysTest, EnvironmentVariablesResourcesDistributionAndOutputs) {
  absl::StatusOr<SweepSpec> spec = ParseSpec(
      "type: sweep\n"
      "trial:\n"
      "  command: python3 t.py --out ${{outputs.model}}\n"
      "  environment_variables: {OMP_NUM_THREADS: 2, MODE: fast}\n"
      "  resources: {instance_count: 2, shm_size: 2g}\n"
      "  distribution: {type: pytorch, process_count_per_instance: 4}\n"
      "outputs:\n"
      "  model: {type: uri_folder, path: azureml://datastores/x/paths/y}\n"
      "compute: cpu-cluster\n"
      "search_space: {lr: 'uniform(0, 1)'}\n"
      "objective: {primary_metric: a, goal: maximize}\n",
      "spec.yml", "/tmp");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->trial.environment_variables.at("OMP_NUM_THREADS"), "2");
  EXPECT_EQ(spec->trial.environment_variables.at("MODE"), "fast");
  EXPECT_EQ(spec->trial.outputs.at("model"), "uri_folder");
  ASSERT_EQ(spec->hints.size(), 3u);
  EXPECT_THAT(spec->hints[0],
              HasSubstr("spec.yml:5:14: trial.resources: accepted and not applied: each trial "
                        "runs as one process tree on one node of the compute target, sized by "
                        "the target's vm size (instance_count 2 is not honoured: one node)"));
  EXPECT_THAT(spec->hints[1],
              HasSubstr("spec.yml:6:17: trial.distribution: accepted and not applied: Sweep "
                        "starts the command once per trial on one node and does not launch "
                        "pytorch workers"));
  EXPECT_THAT(spec->hints[2], HasSubstr("outputs.model.path: not used"));

  absl::StatusOr<SweepSpec> bad = ParseSpec(
      "type: sweep\n"
      "trial:\n"
      "  command: python3 t.py\n"
      "  environment_variables: {1BAD: x, OK: [1]}\n"
      "compute: cpu-cluster\n"
      "search_space: {lr: 'uniform(0, 1)'}\n"
      "objective: {primary_metric: a, goal: maximize}\n",
      "spec.yml", "/tmp");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(),
              HasSubstr("spec.yml:4:27: trial.environment_variables.1BAD: invalid variable name"));
  EXPECT_THAT(bad.status().message(),
              HasSubstr("trial.environment_variables.OK: must be a value (text or number)"));
}

}  // namespace
}  // namespace sweep::spec

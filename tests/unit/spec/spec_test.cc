// Whole-spec parsing: valid specs of every kind, defaults, paths, compute rules, error
// collection and locations, files, DescribeSpec.
#include "spec/spec.h"

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "core/fault_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/test_dir.h"

namespace sweep::spec {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

class SpecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test_dir_ = std::make_unique<::sweep::testutil::TestDir>("spec_test");
    dir_ = test_dir_->path();
    fs::create_directories(dir_ / "src");
  }
  void TearDown() override { test_dir_.reset(); }

  absl::StatusOr<SweepSpec> Parse(const std::string& text) {
    return ParseSpec(text, "spec.yml", dir_.string());
  }

  // Parses and expects failure; returns the message.
  std::string Error(const std::string& text) {
    absl::StatusOr<SweepSpec> spec = Parse(text);
    EXPECT_FALSE(spec.ok()) << "accepted:\n" << text;
    if (spec.ok()) return "";
    EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(spec.status().message());
  }

  std::unique_ptr<::sweep::testutil::TestDir> test_dir_;
  fs::path dir_;
};

// A valid spec whose sections can be replaced one at a time.
std::string Spec(
    const std::string& search_space = "  lr: {type: uniform, min_value: 0.001, max_value: 0.1}\n",
    const std::string& extra = "",
    const std::string& command = "python3 train.py --lr ${{search_space.lr}}") {
  return "type: sweep\n"
         "trial:\n"
         "  command: " +
         command +
         "\n"
         "compute: cpu-cluster\n"
         "search_space:\n" +
         search_space + "objective: {primary_metric: accuracy, goal: maximize}\n" + extra;
}

TEST_F(SpecTest, DesignDocExample) {
  absl::StatusOr<SweepSpec> spec = Parse(R"(type: sweep
trial:
  code: src                       # snapshotted and shipped to nodes
  command: >-
    python3 train.py --lr ${{search_space.lr}} --model ${{search_space.model}}
    --data ${{inputs.data}}
  environment: azureml:sklearn-env   # a workspace environment, or omitted (user-managed)
inputs:
  data: ./data.csv
compute: azureml:cpu-cluster       # a persistent target; the prefix is optional
sampling_algorithm: bayesian
search_space:
  lr: {type: loguniform, min_value: -9, max_value: -1}   # exponents: exp(U(min,max))
  model: {type: choice, values: [svm, rf]}
objective: {primary_metric: accuracy, goal: maximize}
early_termination: {type: bandit, slack_factor: 0.1, evaluation_interval: 1, delay_evaluation: 5}
limits: {max_total_trials: 40, max_concurrent_trials: 4, timeout: 3600, trial_timeout: 600}
)");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->path, "");
  EXPECT_EQ(spec->base_dir, dir_.string());
  EXPECT_EQ(spec->trial.code, (dir_ / "src").string());
  EXPECT_EQ(spec->trial.command,
            "python3 train.py --lr ${{search_space.lr}} --model ${{search_space.model}} --data "
            "${{inputs.data}}");
  EXPECT_EQ(spec->trial.environment, "azureml:sklearn-env");
  EXPECT_EQ(spec->inputs.at("data"), (dir_ / "data.csv").string());
  EXPECT_EQ(spec->compute, "cpu-cluster");
  EXPECT_EQ(spec->sampling.algorithm, SamplingAlgorithm::kBayesian);
  EXPECT_FALSE(spec->sampling.seed.has_value());
  ASSERT_EQ(spec->search_space.params.size(), 2u);
  const core::ParamSpec& lr = spec->search_space.params[0];
  EXPECT_EQ(lr.name, "lr");
  EXPECT_EQ(lr.kind, core::ParamKind::kLogUniform);
  EXPECT_EQ(lr.min_value, -9);
  EXPECT_EQ(lr.max_value, -1);
  const core::ParamSpec& model = spec->search_space.params[1];
  EXPECT_EQ(model.kind, core::ParamKind::kChoice);
  ASSERT_EQ(model.options.size(), 2u);
  EXPECT_EQ(model.options[0].value, core::ParamValue(std::string("svm")));
  EXPECT_EQ(model.options[1].value, core::ParamValue(std::string("rf")));
  EXPECT_EQ(spec->objective.primary_metric, "accuracy");
  EXPECT_EQ(spec->objective.goal, core::Goal::kMaximize);
  EXPECT_EQ(spec->objective.aggregation, core::Aggregation::kLast);
  EXPECT_EQ(spec->early_termination.type, PolicyType::kBandit);
  EXPECT_EQ(spec->early_termination.slack_factor, 0.1);
  EXPECT_FALSE(spec->early_termination.slack_amount.has_value());
  EXPECT_EQ(spec->early_termination.evaluation_interval, 1);
  EXPECT_EQ(spec->early_termination.delay_evaluation, 5);
  EXPECT_EQ(spec->limits.max_total_trials, 40);
  EXPECT_EQ(spec->limits.max_concurrent_trials, 4);
  EXPECT_EQ(spec->limits.timeout_s, 3600);
  EXPECT_EQ(spec->limits.trial_timeout_s, 600);
  EXPECT_EQ(spec->limits.max_retries, 3);
}

TEST_F(SpecTest, Defaults) {
  absl::StatusOr<SweepSpec> spec = Parse(Spec());
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->sampling.algorithm, SamplingAlgorithm::kRandom);
  EXPECT_EQ(spec->sampling.rule, RandomRule::kRandom);
  EXPECT_EQ(spec->early_termination.type, PolicyType::kNone);
  EXPECT_EQ(spec->limits.max_total_trials, 1000);
  EXPECT_EQ(spec->limits.max_concurrent_trials, 1000);
  EXPECT_EQ(spec->limits.timeout_s, 0);
  EXPECT_EQ(spec->limits.trial_timeout_s, 0);
  EXPECT_EQ(spec->limits.max_retries, 3);
  EXPECT_EQ(spec->objective.aggregation, core::Aggregation::kLast);
  EXPECT_EQ(spec->trial.code, "");
  EXPECT_EQ(spec->trial.environment, "");
  EXPECT_TRUE(spec->inputs.empty());
  EXPECT_EQ(spec->display_name, "");
}

TEST_F(SpecTest, ConcurrentTrialsAreClampedToTotal) {
  absl::StatusOr<SweepSpec> spec =
      Parse(Spec("  lr: {type: uniform, min_value: 0, max_value: 1}\n",
                 "limits: {max_total_trials: 5, max_concurrent_trials: 20}\n"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->limits.max_total_trials, 5);
  EXPECT_EQ(spec->limits.max_concurrent_trials, 5);
  spec = Parse(Spec("  lr: {type: uniform, min_value: 0, max_value: 1}\n",
                    "limits: {max_total_trials: 7}\n"));
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ(spec->limits.max_concurrent_trials, 7);
}

TEST_F(SpecTest, LimitsAcceptIntegralFloatsAndZeroRetries) {
  absl::StatusOr<SweepSpec> spec = Parse(
      Spec("  lr: {type: uniform, min_value: 0, max_value: 1}\n",
           "limits: {max_total_trials: 1e2, timeout: 60.0, trial_timeout: 5, max_retries: 0}\n"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->limits.max_total_trials, 100);
  EXPECT_EQ(spec->limits.timeout_s, 60);
  EXPECT_EQ(spec->limits.trial_timeout_s, 5);
  EXPECT_EQ(spec->limits.max_retries, 0);
}

TEST_F(SpecTest, NodeWaitTimeoutIsOptionalAndZeroWaitsForEver) {
  const std::string space = "  lr: {type: uniform, min_value: 0, max_value: 1}\n";
  absl::StatusOr<SweepSpec> spec = Parse(Spec(space));
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->limits.node_wait_timeout_s, std::nullopt) << "the controller's default";
  spec = Parse(Spec(space, "limits: {max_total_trials: 5, node_wait_timeout: 120}\n"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->limits.node_wait_timeout_s, 120);
  EXPECT_THAT(DescribeSpec(*spec), HasSubstr(", node wait 120 s"));
  spec = Parse(Spec(space, "limits: {max_total_trials: 5, node_wait_timeout: 0}\n"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->limits.node_wait_timeout_s, 0);
  EXPECT_THAT(DescribeSpec(*spec), HasSubstr(", node wait for ever"));
  EXPECT_THAT(Error(Spec(space, "limits: {max_total_trials: 5, node_wait_timeout: -1}\n")),
              HasSubstr("limits.node_wait_timeout: must not be negative, got -1 (0 waits for "
                        "ever)"));
  EXPECT_THAT(Error(Spec(space, "limits: {max_total_trials: 5, node_wait_timeout: soon}\n")),
              HasSubstr("limits.node_wait_timeout"));
}

TEST_F(SpecTest, AzureOnlyKeysAreAccepted) {
  absl::StatusOr<SweepSpec> spec =
      Parse("$schema: https://azuremlschemas.azureedge.net/latest/sweepJob.schema.json\n" +
            Spec("  lr: {type: uniform, min_value: 0, max_value: 1}\n",
                 "name: job-123\nexperiment_name: exp\ndescription: tune lr\n"
                 "tags: {team: ml, priority: 1}\n"
                 "properties: {_azureml.ComputeTargetType: amlcompute}\n"
                 "identity: {type: managed, client_id: 00000000-0000}\n"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->name, "job-123");
  EXPECT_EQ(spec->display_name, "job-123");  // falls back to `name`
  EXPECT_EQ(spec->experiment_name, "exp");
  EXPECT_EQ(spec->description, "tune lr");
  EXPECT_EQ(spec->tags.at("team"), "ml");
  EXPECT_EQ(spec->tags.at("priority"), "1");
  EXPECT_EQ(spec->properties.at("_azureml.ComputeTargetType"), "amlcompute");
}

TEST_F(SpecTest, TagAndPropertyValuesMustBeStrings) {
  const std::string space = "  lr: {type: uniform, min_value: 0, max_value: 1}\n";
  EXPECT_THAT(Error(Spec(space, "tags: {team: [a, b]}\n")),
              HasSubstr("tags.team: a tag value must be a string"));
  EXPECT_THAT(Error(Spec(space, "properties: {owner: {name: x}}\n")),
              HasSubstr("properties.owner: a property value must be a string"));
  EXPECT_THAT(Error(Spec(space, "properties: [a, b]\n")), HasSubstr("properties"));
}

TEST_F(SpecTest, AnIdentityIsCheckedButChangesNothing) {
  const std::string space = "  lr: {type: uniform, min_value: 0, max_value: 1}\n";
  for (std::string type : {"user_identity", "Managed", "managed_identity", "aml_token"}) {
    absl::StatusOr<SweepSpec> spec = Parse(Spec(space, "identity: {type: " + type + "}\n"));
    EXPECT_TRUE(spec.ok()) << type << ": " << spec.status();
  }
  EXPECT_THAT(Error(Spec(space, "identity: {type: root}\n")), HasSubstr("identity.type"));
  EXPECT_THAT(Error(Spec(space, "identity: {client_id: x}\n")), HasSubstr("identity"));
  EXPECT_THAT(Error(Spec(space, "identity: {type: managed, password: x}\n")),
              HasSubstr("unknown key 'password'"));
}

TEST_F(SpecTest, ComputePrefixIsOptional) {
  for (const char* compute : {"cpu-cluster", "azureml:cpu-cluster", "'azureml:cpu-cluster'"}) {
    std::string text = Spec();
    text.replace(text.find("compute: cpu-cluster"), 20, std::string("compute: ") + compute);
    absl::StatusOr<SweepSpec> spec = Parse(text);
    ASSERT_TRUE(spec.ok()) << spec.status();
    EXPECT_EQ(spec->compute, "cpu-cluster");
  }
}

TEST_F(SpecTest, ComputeRulesExplainHowToFix) {
  auto with_compute = [](const std::string& compute) {
    std::string text = Spec();
    text.replace(text.find("compute: cpu-cluster"), 20, compute);
    return text;
  };
  const std::string kHow =
      "create one with `sweep compute create NAME --type amlcompute --min-nodes 0 "
      "--max-nodes 4` and set `compute: azureml:NAME`";
  EXPECT_THAT(Error(with_compute("compute: azureml:serverless")),
              HasSubstr("spec.yml:4:10: compute: serverless compute is created for one job"));
  EXPECT_THAT(Error(with_compute("compute: Serverless")), HasSubstr(kHow));
  EXPECT_THAT(Error(with_compute("compute: local")),
              HasSubstr("spec.yml:4:10: compute: 'local' cannot run sweeps"));
  EXPECT_THAT(Error(with_compute("compute: {target: amlcompute}")),
              HasSubstr("spec.yml:4:10: compute: an inline compute definition asks for "
                        "run-based compute"));
  EXPECT_THAT(Error(with_compute("compute:\n  instance_type: Standard_D2")), HasSubstr(kHow));
  for (const char* type : {"adla", "hdinsight", "databricks"}) {
    EXPECT_THAT(Error(with_compute(std::string("compute: {type: ") + type + "}")),
                HasSubstr(std::string("compute type '") + type + "' cannot run sweeps"));
  }
  EXPECT_THAT(Error(with_compute("compute: x")),
              HasSubstr("spec.yml:4:10: compute: 'x' is not a valid compute target name"));
  EXPECT_THAT(Error(with_compute("compute: a-very-long-cluster-name")),
              HasSubstr("'a-very-long-cluster-name' is not a valid compute target name: 2-16"));
  EXPECT_THAT(Error(with_compute("compute: cpu_cluster")),
              HasSubstr("'cpu_cluster' is not a valid compute target name"));
}

TEST_F(SpecTest, SamplingForms) {
  struct Case {
    std::string text;
    SamplingAlgorithm algorithm;
    RandomRule rule;
    std::optional<uint64_t> seed;
  };
  const std::string space = "  n: {type: choice, values: [1, 2]}\n";
  std::vector<Case> cases = {
      {"random", SamplingAlgorithm::kRandom, RandomRule::kRandom, std::nullopt},
      {"Random", SamplingAlgorithm::kRandom, RandomRule::kRandom, std::nullopt},
      {"grid", SamplingAlgorithm::kGrid, RandomRule::kRandom, std::nullopt},
      {"BAYESIAN", SamplingAlgorithm::kBayesian, RandomRule::kRandom, std::nullopt},
      {"tpe", SamplingAlgorithm::kTpe, RandomRule::kRandom, std::nullopt},
      {"{type: random, rule: sobol, seed: 7}", SamplingAlgorithm::kRandom, RandomRule::kSobol, 7},
      {"{type: random, rule: Random, seed: 0}", SamplingAlgorithm::kRandom, RandomRule::kRandom, 0},
      {"{type: bayesian, seed: 42}", SamplingAlgorithm::kBayesian, RandomRule::kRandom, 42},
      {"{type: tpe, seed: 3}", SamplingAlgorithm::kTpe, RandomRule::kRandom, 3},
      {"{type: grid}", SamplingAlgorithm::kGrid, RandomRule::kRandom, std::nullopt},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    absl::StatusOr<SweepSpec> spec =
        Parse(Spec(space, "sampling_algorithm: " + c.text + "\n", "train ${{search_space.n}}"));
    ASSERT_TRUE(spec.ok()) << spec.status();
    EXPECT_EQ(spec->sampling.algorithm, c.algorithm);
    EXPECT_EQ(spec->sampling.rule, c.rule);
    EXPECT_EQ(spec->sampling.seed, c.seed);
  }
  EXPECT_STREQ(SamplingAlgorithmName(SamplingAlgorithm::kTpe), "tpe");
  EXPECT_STREQ(SamplingAlgorithmName(SamplingAlgorithm::kGrid), "grid");
}

TEST_F(SpecTest, SamplingErrors) {
  const std::string space = "  lr: {type: uniform, min_value: 0, max_value: 1}\n";
  EXPECT_THAT(Error(Spec(space, "sampling_algorithm: sobol\n")),
              HasSubstr("spec.yml:8:21: sampling_algorithm: sobol is a rule of random sampling: "
                        "write {type: random, rule: sobol}"));
  EXPECT_THAT(Error(Spec(space, "sampling_algorithm: {type: grid, seed: 1}\n")),
              HasSubstr("spec.yml:8:34: sampling_algorithm: 'seed' is not a setting of grid "
                        "sampling"));
  EXPECT_THAT(Error(Spec(space, "sampling_algorithm: {type: random, rule: halton}\n")),
              HasSubstr("spec.yml:8:42: sampling_algorithm.rule: unknown value 'halton'; "
                        "expected one of random, sobol"));
  EXPECT_THAT(Error(Spec(space, "sampling_algorithm: {type: random, sed: 1}\n")),
              HasSubstr("spec.yml:8:36: sampling_algorithm: unknown key 'sed' (did you mean "
                        "'seed'?)"));
  EXPECT_THAT(Error(Spec(space, "sampling_algorithm: {rule: sobol}\n")),
              HasSubstr("spec.yml:8:21: sampling_algorithm: missing required key 'type'"));
  EXPECT_THAT(Error(Spec(space, "sampling_algorithm: {type: tpe, seed: 1.5}\n")),
              HasSubstr("spec.yml:8:39: sampling_algorithm.seed: must be an integer, got 1.5"));
}

TEST_F(SpecTest, GridAcceptsFiniteSpacesAndNamesEveryInfiniteParameter) {
  absl::StatusOr<SweepSpec> spec =
      Parse(Spec("  a: {type: choice, values: [1, 2]}\n"
                 "  b: {type: randint, upper: 3}\n"
                 "  c: {type: quniform, min_value: 0, max_value: 1, q: 0.25}\n"
                 "  d: {type: qloguniform, min_value: 0, max_value: 2, q: 1}\n",
                 "sampling_algorithm: grid\n", "train"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  std::string message =
      Error(Spec("  m:\n"
                 "    type: choice\n"
                 "    values:\n"
                 "      - {x: {type: normal, mu: 0, sigma: 1}}\n"
                 "      - {y: {type: qnormal, mu: 0, sigma: 1, q: 1}}\n"
                 "  z: {type: uniform, min_value: 0, max_value: 1}\n",
                 "sampling_algorithm: {type: grid}\n", "train"));
  EXPECT_THAT(message, HasSubstr("spec.yml:9:10: search_space.m.values[0].x: grid sampling needs "
                                 "finitely many values, but normal is unbounded"));
  EXPECT_THAT(message, HasSubstr("spec.yml:10:10: search_space.m.values[1].y: grid sampling "
                                 "needs finitely many values, but qnormal is unbounded"));
  EXPECT_THAT(message, HasSubstr("spec.yml:11:3: search_space.z: grid sampling needs finitely "
                                 "many values, but uniform is continuous; use choice, randint, "
                                 "or quniform/qloguniform with a step q"));
}

TEST_F(SpecTest, EveryPolicy) {
  const std::string space = "  lr: {type: uniform, min_value: 0, max_value: 1}\n";
  absl::StatusOr<SweepSpec> spec =
      Parse(Spec(space, "early_termination: {type: bandit, slack_amount: 0.05}\n"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->early_termination.type, PolicyType::kBandit);
  EXPECT_EQ(spec->early_termination.slack_amount, 0.05);
  EXPECT_FALSE(spec->early_termination.slack_factor.has_value());
  EXPECT_EQ(spec->early_termination.evaluation_interval, 1);
  EXPECT_EQ(spec->early_termination.delay_evaluation, 0);

  spec = Parse(Spec(space,
                    "early_termination:\n  type: Median_Stopping\n"
                    "  evaluation_interval: 3\n  delay_evaluation: 6\n"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->early_termination.type, PolicyType::kMedianStopping);
  EXPECT_EQ(spec->early_termination.evaluation_interval, 3);
  EXPECT_EQ(spec->early_termination.delay_evaluation, 6);

  spec = Parse(Spec(space,
                    "early_termination: {type: truncation_selection, "
                    "truncation_percentage: 25}\n"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->early_termination.type, PolicyType::kTruncationSelection);
  EXPECT_EQ(spec->early_termination.truncation_percentage, 25);
  EXPECT_FALSE(spec->early_termination.exclude_finished_jobs);

  spec = Parse(Spec(space,
                    "early_termination: {type: truncation_selection, "
                    "truncation_percentage: 10, exclude_finished_jobs: true}\n"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_TRUE(spec->early_termination.exclude_finished_jobs);

  spec = Parse(Spec(space, "early_termination: {type: asha, max_interval: 81}\n"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->early_termination.type, PolicyType::kAsha);
  EXPECT_EQ(spec->early_termination.reduction_factor, 3);
  EXPECT_EQ(spec->early_termination.min_interval, 1);
  EXPECT_EQ(spec->early_termination.max_interval, 81);

  spec = Parse(Spec(space,
                    "early_termination: {type: asha, reduction_factor: 2.5, "
                    "min_interval: 2, max_interval: 20}\n"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->early_termination.reduction_factor, 2.5);
  EXPECT_EQ(spec->early_termination.min_interval, 2);

  for (const char* none : {"early_termination: {type: none}\n", "early_termination:\n",
                           "early_termination: None\n", "early_termination: median_stopping\n"}) {
    spec = Parse(Spec(space, none));
    ASSERT_TRUE(spec.ok()) << none << spec.status();
    EXPECT_EQ(spec->early_termination.type, std::string(none).find("median") != std::string::npos
                                                ? PolicyType::kMedianStopping
                                                : PolicyType::kNone);
  }
  EXPECT_STREQ(PolicyTypeName(PolicyType::kTruncationSelection), "truncation_selection");
  EXPECT_STREQ(PolicyTypeName(PolicyType::kNone), "none");
}

TEST_F(SpecTest, PolicyErrors) {
  const std::string space = "  lr: {type: uniform, min_value: 0, max_value: 1}\n";
  EXPECT_THAT(Error(Spec(space, "early_termination: {type: bandit, slack_factor: 0}\n")),
              HasSubstr("spec.yml:8:49: early_termination.slack_factor: must be greater than 0, "
                        "got 0"));
  EXPECT_THAT(Error(Spec(space,
                         "early_termination: {type: bandit, slack_factor: 0.1, "
                         "evaluation_interval: 0}\n")),
              HasSubstr("spec.yml:8:75: early_termination.evaluation_interval: must be a "
                        "positive integer, got 0"));
  EXPECT_THAT(Error(Spec(space, "early_termination: {type: truncation_selection}\n")),
              HasSubstr("spec.yml:8:20: early_termination: missing required key "
                        "'truncation_percentage'"));
  EXPECT_THAT(Error(Spec(space,
                         "early_termination: {type: truncation_selection, "
                         "truncation_percentage: 10, exclude_finished_jobs: maybe}\n")),
              HasSubstr("spec.yml:8:99: early_termination.exclude_finished_jobs: must be true or "
                        "false, got the string 'maybe'"));
  EXPECT_THAT(Error(Spec(space,
                         "early_termination: {type: asha, reduction_factor: 1, "
                         "max_interval: 9}\n")),
              HasSubstr("spec.yml:8:51: early_termination.reduction_factor: must be greater "
                        "than 1, got 1"));
  EXPECT_THAT(Error(Spec(space, "early_termination: {type: asha}\n")),
              HasSubstr("spec.yml:8:20: early_termination: missing required key 'max_interval'"));
  EXPECT_THAT(Error(Spec(space, "early_termination: {type: bandit, slack_factr: 0.1}\n")),
              HasSubstr("spec.yml:8:35: early_termination: unknown key 'slack_factr' (did you "
                        "mean 'slack_factor'?)"));
  EXPECT_THAT(Error(Spec(space, "early_termination: {type: none, delay_evaluation: 2}\n")),
              HasSubstr("'delay_evaluation' is not a setting of none; none has no settings"));
  EXPECT_THAT(Error(Spec(space, "early_termination: {type: hyperband}\n")),
              HasSubstr("spec.yml:8:27: early_termination.type: unknown value 'hyperband'"));
}

TEST_F(SpecTest, ObjectiveForms) {
  absl::StatusOr<SweepSpec> spec = Parse(
      "type: sweep\ntrial: {command: train}\ncompute: cpu-cluster\n"
      "search_space: {x: {type: uniform, min_value: 0, max_value: 1}}\n"
      "objective: {primary_metric: val/loss, goal: MINIMIZE, aggregation: Best}\n");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->objective.primary_metric, "val/loss");
  EXPECT_EQ(spec->objective.goal, core::Goal::kMinimize);
  EXPECT_EQ(spec->objective.aggregation, core::Aggregation::kBest);
  EXPECT_THAT(Error("type: sweep\ntrial: {command: train}\ncompute: cpu-cluster\n"
                    "search_space: {x: {type: uniform, min_value: 0, max_value: 1}}\n"
                    "objective: {primary_metric: loss, goal: min, aggregation: mean}\n"),
              AllOf(HasSubstr("spec.yml:5:41: objective.goal: unknown value 'min' (did you mean "
                              "'minimize'?); expected one "
                              "of maximize, minimize"),
                    HasSubstr("spec.yml:5:59: objective.aggregation: unknown value 'mean'; "
                              "expected one of last, best")));
  EXPECT_THAT(Error("type: sweep\ntrial: {command: train}\ncompute: cpu-cluster\n"
                    "search_space: {x: {type: uniform, min_value: 0, max_value: 1}}\n"
                    "objective: accuracy\n"),
              HasSubstr("spec.yml:5:12: objective: must be a mapping, got the string "
                        "'accuracy'"));
}

TEST_F(SpecTest, InputsResolveLocalPathsOnly) {
  absl::StatusOr<SweepSpec> spec = Parse(
      Spec("  lr: {type: uniform, min_value: 0, max_value: 1}\n",
           "inputs:\n"
           "  data: ./data/train.csv\n"
           "  parent: ../shared\n"
           "  epochs: 10\n"
           "  optimizer: adam\n"
           "  registered: azureml:iris:3\n"
           "  remote: https://example.com/data.csv\n"
           "  file: {type: uri_file, path: raw/x.csv}\n"
           "  folder: {type: uri_folder, path: azureml://datastores/ds/paths/x/, mode: download}\n"
           "  absolute: {path: /srv/data}\n"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->inputs.at("data"), (dir_ / "data/train.csv").string());
  EXPECT_EQ(spec->inputs.at("parent"), (dir_.parent_path() / "shared").string());
  EXPECT_EQ(spec->inputs.at("epochs"), "10");
  EXPECT_EQ(spec->inputs.at("optimizer"), "adam");
  EXPECT_EQ(spec->inputs.at("registered"), "azureml:iris:3");
  EXPECT_EQ(spec->inputs.at("remote"), "https://example.com/data.csv");
  EXPECT_EQ(spec->inputs.at("file"), (dir_ / "raw/x.csv").string());
  EXPECT_EQ(spec->inputs.at("folder"), "azureml://datastores/ds/paths/x/");
  EXPECT_EQ(spec->inputs.at("absolute"), "/srv/data");
}

// Real Azure ML files in older forms get a hint that says what to write instead.
TEST_F(SpecTest, OlderAzureFormsSayWhatToWrite) {
  std::string text = Spec();
  text.replace(0, 11, "type: sweep_job\n");
  EXPECT_THAT(Error(text), HasSubstr("spec.yml:1:7: type: 'sweep_job' is an older form of Azure "
                                     "ML's sweep job; write `type: sweep`"));
  text = Spec();
  text.replace(text.find("trial:\n") + 7, 0, "  code: {local_path: ./src}\n");
  EXPECT_THAT(Error(text), HasSubstr("spec.yml:3:9: trial.code: `code: {local_path: ./src}` is "
                                     "an older form; write `code: ./src`"));
  text = Spec();
  text.replace(text.find("trial:\n") + 7, 0, "  code: {path: src}\n");
  EXPECT_THAT(Error(text),
              HasSubstr("spec.yml:3:9: trial.code: must be a local directory, e.g. `code: src`"));
}

TEST_F(SpecTest, RemoteInputsAreAcceptedWithAHintToGiveALocalPath) {
  absl::StatusOr<SweepSpec> spec =
      Parse(Spec("  lr: {type: uniform, min_value: 0, max_value: 1}\n",
                 "inputs:\n"
                 "  blob: wasbs://data@acct.blob.core.windows.net/train.csv\n"
                 "  folder: {type: uri_folder, path: azureml://datastores/ds/paths/x/}\n"
                 "  web: {type: uri_file, path: https://example.com/train.csv}\n"
                 "  endpoint: https://example.com/api\n"
                 "  local: {type: uri_folder, path: ./data}\n"
                 "  registered: azureml:iris:3\n"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  ASSERT_EQ(spec->hints.size(), 3u) << "a plain URL value and local paths get none";
  EXPECT_EQ(spec->hints[0],
            "spec.yml:9:9: inputs.blob: 'wasbs://data@acct.blob.core.windows.net/train.csv' is a "
            "remote URI: Sweep reads local paths and does not download data, so the command gets "
            "this text as it is. Copy the data where the trials run and give its path, e.g. "
            "`path: ./data` (relative to the spec) or `path: /mnt/data`");
  EXPECT_THAT(spec->hints[1], HasSubstr("spec.yml:10:36: inputs.folder.path: "
                                        "'azureml://datastores/ds/paths/x/' is a remote URI"));
  EXPECT_THAT(spec->hints[2], HasSubstr("inputs.web.path: 'https://example.com/train.csv' is a "
                                        "remote URI"));
  EXPECT_TRUE(Parse(Spec()).value().hints.empty());
}

TEST_F(SpecTest, InputErrors) {
  const std::string space = "  lr: {type: uniform, min_value: 0, max_value: 1}\n";
  std::string message = Error(Spec(space,
                                   "inputs:\n"
                                   "  a: {type: uri_fle, path: x}\n"
                                   "  b: {type: uri_file}\n"
                                   "  c: [1, 2]\n"
                                   "  d:\n"
                                   "  2x: 1\n"
                                   "  e: {path: x, mode: mount}\n"));
  EXPECT_THAT(message, HasSubstr("spec.yml:9:13: inputs.a.type: unknown value 'uri_fle' (did "
                                 "you mean 'uri_file'?)"));
  EXPECT_THAT(message, HasSubstr("spec.yml:10:6: inputs.b: missing required key 'path'"));
  EXPECT_THAT(message, HasSubstr("spec.yml:11:6: inputs.c: must be a value or {type: "
                                 "uri_file|uri_folder, path: PATH}, not a list"));
  EXPECT_THAT(message, HasSubstr("spec.yml:12:3: inputs.d: needs a value"));
  EXPECT_THAT(message, HasSubstr("spec.yml:13:3: inputs.2x: invalid input name"));
  EXPECT_THAT(message, HasSubstr("spec.yml:14:22: inputs.e.mode: unknown value 'mount'"));
}

TEST_F(SpecTest, TrialErrors) {
  EXPECT_THAT(Error("type: sweep\ntrial:\n  command: train\n  code: azureml:my-code:1\n"
                    "compute: cpu-cluster\nsearch_space: {x: randint(3)}\n"
                    "objective: {primary_metric: a, goal: maximize}\n"),
              HasSubstr("spec.yml:4:9: trial.code: only a local directory can be snapshotted, "
                        "got 'azureml:my-code:1'"));
  EXPECT_THAT(Error("type: sweep\ntrial:\n  command: '   '\n"
                    "compute: cpu-cluster\nsearch_space: {x: randint(3)}\n"
                    "objective: {primary_metric: a, goal: maximize}\n"),
              HasSubstr("spec.yml:3:12: trial.command: must not be empty"));
  EXPECT_THAT(Error("type: sweep\ntrial:\n  command: [python, train.py]\n"
                    "compute: cpu-cluster\nsearch_space: {x: randint(3)}\n"
                    "objective: {primary_metric: a, goal: maximize}\n"),
              HasSubstr("spec.yml:3:12: trial.command: must be a string, got a list"));
  EXPECT_THAT(Error("type: sweep\ntrial: python train.py\n"
                    "compute: cpu-cluster\nsearch_space: {x: randint(3)}\n"
                    "objective: {primary_metric: a, goal: maximize}\n"),
              HasSubstr("spec.yml:2:8: trial: must be a mapping, got the string 'python "
                        "train.py'"));
  // trial.resources is accepted now, with a hint (component_test.cc); others are not.
  EXPECT_THAT(Error("type: sweep\ntrial:\n  command: train\n  queue_settings: {tier: x}\n"
                    "compute: cpu-cluster\nsearch_space: {x: randint(3)}\n"
                    "objective: {primary_metric: a, goal: maximize}\n"),
              HasSubstr("spec.yml:4:3: trial: unknown key 'queue_settings'"));
}

TEST_F(SpecTest, CodeMayBeAFileOrTheSpecDirectory) {
  std::ofstream(dir_ / "train.py") << "print('accuracy=1')\n";
  absl::StatusOr<SweepSpec> spec = Parse(
      "type: sweep\ntrial:\n  command: python3 train.py\n  code: .\n"
      "compute: cpu-cluster\nsearch_space: {x: randint(3)}\n"
      "objective: {primary_metric: a, goal: maximize}\n");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->trial.code, dir_.string());
  spec = Parse(
      "type: sweep\ntrial:\n  command: python3 train.py\n  code: ./train.py\n"
      "compute: cpu-cluster\nsearch_space: {x: randint(3)}\n"
      "objective: {primary_metric: a, goal: maximize}\n");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->trial.code, (dir_ / "train.py").string());
}

TEST_F(SpecTest, CollectsEveryErrorSortedOnePerLine) {
  std::string message = Error(
      "type: sweep\n"
      "trial:\n"
      "  command: python3 train.py --lr ${{search_space.lr}} --x ${{search_space.nope}}\n"
      "compute: serverless\n"
      "search_space:\n"
      "  lr: {type: uniform, min_value: 1, max_value: 0}\n"
      "objective: {primary_metric: accuracy, goal: up}\n"
      "limts: {max_total_trials: 3}\n");
  EXPECT_EQ(message,
            "spec.yml:3:12: trial.command: ${{search_space.nope}} names no parameter of "
            "search_space\n"
            "spec.yml:4:10: compute: serverless compute is created for one job and deleted "
            "after, but sweeps need a persistent compute target; create one with `sweep compute "
            "create NAME --type amlcompute --min-nodes 0 --max-nodes 4` and set `compute: "
            "azureml:NAME`\n"
            "spec.yml:6:48: search_space.lr.max_value: must be greater than min_value (0 <= 1)\n"
            "spec.yml:7:45: objective.goal: unknown value 'up'; expected one of maximize, "
            "minimize\n"
            "spec.yml:8:1: unknown key 'limts' (did you mean 'limits'?)");
}

TEST_F(SpecTest, DocumentLevelErrors) {
  EXPECT_EQ(Error(""), "spec.yml:1:1: the spec is empty; it starts with `type: sweep`");
  EXPECT_EQ(Error("# nothing\n"), "spec.yml:1:1: the spec is empty; it starts with `type: sweep`");
  EXPECT_THAT(Error("- type: sweep\n"),
              HasSubstr("spec.yml:1:1: must be a mapping of keys (type, trial, search_space, "
                        "...), got a list"));
  EXPECT_THAT(Error("type: sweep\ntrial: {command: 'x'\n"),
              HasSubstr("spec.yml:3:1: YAML syntax error: "));
  EXPECT_THAT(Error("type: sweep\n  bad indent: 1\n"), HasSubstr("spec.yml:2:"));
  EXPECT_EQ(Error("type: sweep\n---\ntype: sweep\n"),
            "spec.yml:2:1: a spec must be a single YAML document (found a second one)");
  // yaml-cpp's LoadAll never returns on these; the parser must not hang.
  EXPECT_EQ(Error(","), "spec.yml:1:1: YAML syntax error: unexpected ','");
  EXPECT_EQ(Error("type: sweep\n...\n,\n"), "spec.yml:3:1: YAML syntax error: unexpected ','");
  EXPECT_TRUE(Parse("---\n" + Spec() + "...\n").ok());
  EXPECT_THAT(Error("type: [sweep]\n"),
              HasSubstr("spec.yml:1:7: type: must be a string, got a list"));
  EXPECT_THAT(Error("? [a]\n: 1\n"), HasSubstr("keys must be plain names"));
}

TEST_F(SpecTest, ParseSpecWithoutPathNamesTheSource) {
  absl::StatusOr<SweepSpec> spec = ParseSpec("type: job\n", "", dir_.string());
  ASSERT_FALSE(spec.ok());
  EXPECT_THAT(spec.status().message(), HasSubstr("<spec>:1:7: type: must be 'sweep'"));
}

TEST_F(SpecTest, LoadSpecFile) {
  fs::path file = dir_ / "my-sweep.yml";
  std::ofstream(file) << Spec("  lr: {type: uniform, min_value: 0, max_value: 1}\n",
                              "inputs: {data: ./d.csv}\n");
  absl::StatusOr<SweepSpec> spec = LoadSpecFile(file.string());
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->path, file.string());
  EXPECT_EQ(spec->base_dir, dir_.string());
  EXPECT_EQ(spec->display_name, "my-sweep");  // the file's stem
  EXPECT_EQ(spec->inputs.at("data"), (dir_ / "d.csv").string());

  absl::StatusOr<SweepSpec> missing = LoadSpecFile((dir_ / "nope.yml").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "spec file not found: " + (dir_ / "nope.yml").string());

  absl::StatusOr<SweepSpec> directory = LoadSpecFile(dir_.string());
  ASSERT_FALSE(directory.ok());
  EXPECT_EQ(directory.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(directory.status().message(), HasSubstr("is a directory, not a spec file"));

  fs::path bad = dir_ / "bad.yml";
  std::ofstream(bad) << "type: sweep\ncompute: local\n";
  absl::StatusOr<SweepSpec> invalid = LoadSpecFile(bad.string());
  ASSERT_FALSE(invalid.ok());
  EXPECT_THAT(invalid.status().message(), HasSubstr(bad.string() + ":2:10: compute: 'local'"));
}

TEST_F(SpecTest, LoadSpecFileThatCannotBeReadSaysSo) {
  fs::path file = dir_ / "eio.yml";
  std::ofstream(file) << Spec("  lr: {type: uniform, min_value: 0, max_value: 1}\n", "");
  core::FaultEnv faults(core::Env::Default());
  faults.FailReads(file.string());
  absl::StatusOr<SweepSpec> spec = LoadSpecFile(file.string(), &faults);
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(spec.status().message(), "cannot read spec file " + file.string());
}

TEST_F(SpecTest, DescribeSpec) {
  absl::StatusOr<SweepSpec> spec =
      Parse(Spec("  lr: {type: loguniform, min_value: -9, max_value: -1}\n"
                 "  model: {type: choice, values: [svm, rf]}\n",
                 "sampling_algorithm: {type: random, rule: sobol, seed: 7}\n"
                 "early_termination: {type: bandit, slack_factor: 0.1, delay_evaluation: 5}\n"
                 "limits: {max_total_trials: 40, max_concurrent_trials: 4, timeout: 3600}\n"
                 "inputs: {epochs: 3}\n"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  std::string text = DescribeSpec(*spec);
  EXPECT_THAT(text, HasSubstr("compute:            cpu-cluster\n"));
  EXPECT_THAT(text, HasSubstr("command:            python3 train.py --lr ${{search_space.lr}}\n"));
  EXPECT_THAT(text, HasSubstr("  epochs: 3\n"));
  EXPECT_THAT(text, HasSubstr("sampling:           random (sobol), seed 7\n"));
  EXPECT_THAT(text, HasSubstr("objective:          maximize accuracy (last reported value)\n"));
  EXPECT_THAT(text, HasSubstr("limits:             40 trials, 4 concurrent, timeout 3600 s, "
                              "trial timeout none, 3 retries\n"));
  EXPECT_THAT(text, HasSubstr("early termination:  bandit (slack_factor 0.1, "
                              "evaluation_interval 1, delay_evaluation 5)\n"));
  EXPECT_THAT(text, HasSubstr("search space:       2 parameters, infinite\n"));
  EXPECT_THAT(text, HasSubstr("  lr: loguniform(min_value=-9, max_value=-1)"));
  EXPECT_THAT(text, HasSubstr("  model: choice(\"svm\", \"rf\")\n"));

  spec = Parse(Spec("  n: {type: choice, values: [1, 2, 3]}\n", "sampling_algorithm: grid\n",
                    "train ${{search_space.n}}"));
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_THAT(DescribeSpec(*spec), HasSubstr("1 parameter, 3 configurations\n"));
  EXPECT_THAT(DescribeSpec(*spec), Not(HasSubstr("seed")));
}

}  // namespace
}  // namespace sweep::spec

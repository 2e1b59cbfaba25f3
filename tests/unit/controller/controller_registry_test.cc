// The controller's side of environments and the model registry: resolving a spec's
// environment at submission, carrying it in grants, and register_model on completion.
#include <filesystem>
#include <fstream>
#include <memory>

#include "gmock/gmock.h"
#include "tests/test_dir.h"
#include "tests/unit/controller/controller_test_util.h"
#include "workspace/artifact_store.h"
#include "workspace/registry.h"

namespace sweep::controller {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::SpecYaml;

// SpecYaml with `trial.environment` set.
std::string WithEnvironment(const std::string& yaml, const std::string& reference) {
  std::string out = yaml;
  const std::string anchor = "compute: azureml:cpu-cluster\n";
  out.insert(out.find(anchor), "  environment: " + reference + "\n");
  return out;
}

class ControllerRegistryTest : public testing::ControllerTest {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<::sweep::testutil::TestDir>("controller_registry");
    ws_ = dir_->path();
    options_.workspace_dir = ws_.string();
    ControllerTest::SetUp();
  }

  core::Environment CreateEnv(const std::string& requirements) {
    core::Environment e;
    e.name = "sk";
    e.kind = "system_managed";
    e.setup_command = "pip install -r requirements.txt";
    e.files = {{"requirements.txt", requirements}};
    auto created = workspace::CreateEnvironment(store_.get(), e, 1);
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? created->environment : core::Environment();
  }

  // Runs one trial to its end with `value` (a failed one exits 1), optionally leaving
  // artifacts first.
  void RunTrial(const std::string& node, double value, bool artifacts,
                Outcome outcome = Outcome::kSucceeded) {
    std::optional<LeaseGrant> grant = Acquire(node);
    ASSERT_TRUE(grant.has_value());
    ASSERT_TRUE(Report(grant->ref, value).ok());
    if (artifacts) {
      const fs::path dir = workspace::ArtifactAttemptDir(ws_.string(), grant->ref.sweep_id,
                                                         grant->ref.trial_id, grant->ref.attempt);
      fs::create_directories(dir / "files");
      std::ofstream(dir / "files" / "model.pkl") << "model of trial " << grant->ref.trial_id;
      auto manifest = workspace::ScanFiles((dir / "files").string());
      ASSERT_TRUE(manifest.ok());
      ASSERT_TRUE(workspace::WriteManifest(dir.string(), *manifest).ok());
    }
    ASSERT_TRUE(Complete(grant->ref, outcome, outcome == Outcome::kFailed ? 1 : 0).ok());
  }

  // No model exists, in the store or on disk, and none was registered for `id`.
  void ExpectNoModel(const std::string& id) {
    EXPECT_THAT(*store_->ListModels(), IsEmpty());
    EXPECT_FALSE(fs::exists(workspace::ModelDir(ws_.string(), "clf", 1)));
    EXPECT_THAT(Messages(id, "model_registered"), IsEmpty());
  }

  // Runs the sweep's last Tick and waits for it (the registration happens in Tick).
  void FinishSweep(const std::string& id) {
    controller_->Tick();
    auto state = controller_->WaitForSweep(id, 5'000);
    ASSERT_TRUE(state.ok()) << state.status();
    EXPECT_EQ(*state, core::SweepState::kCompleted);
  }

  // The messages of the sweep's events of one kind.
  std::vector<std::string> Messages(const std::string& id, const std::string& kind) {
    std::vector<std::string> out;
    for (const core::Event& e : Events(id)) {
      if (e.kind == kind) out.push_back(e.message);
    }
    return out;
  }

  std::unique_ptr<::sweep::testutil::TestDir> dir_;
  fs::path ws_;
};

TEST_F(ControllerRegistryTest, AnUnknownEnvironmentIsRefusedAndNothingIsStored) {
  auto spec =
      spec::ParseSpec(WithEnvironment(SpecYaml("{max_total_trials: 2}"), "azureml:nope"), "", "");
  ASSERT_TRUE(spec.ok()) << spec.status();
  auto id = controller_->SubmitSweep(*spec, "");
  EXPECT_EQ(id.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(id.status().message(),
              HasSubstr("environment 'nope' not found in this workspace; create it with"));
  CreateEnv("numpy\n");
  spec =
      spec::ParseSpec(WithEnvironment(SpecYaml("{max_total_trials: 2}"), "azureml:sk@4"), "", "");
  ASSERT_TRUE(spec.ok());
  id = controller_->SubmitSweep(*spec, "");
  EXPECT_EQ(id.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(id.status().message(), HasSubstr("environment 'sk' has no version 4"));
  EXPECT_THAT(*store_->ListSweeps(), IsEmpty());
}

TEST_F(ControllerRegistryTest, GrantsCarryTheVersionResolvedAtSubmissionEvenAfterARestart) {
  const core::Environment v1 = CreateEnv("numpy==1\n");
  const std::string yaml = WithEnvironment(
      SpecYaml("{max_total_trials: 3, max_concurrent_trials: 1}"), "azureml:sk@latest");
  const std::string id = Submit(yaml);
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(GetSweep(id).environment, "sk@1");
  const core::Environment v2 = CreateEnv("numpy==2\n");  // @latest now means version 2
  ASSERT_EQ(v2.version, 2);

  std::string node = Node();
  std::optional<LeaseGrant> grant = Acquire(node);
  ASSERT_TRUE(grant.has_value() && grant->environment.has_value());
  EXPECT_EQ(grant->environment->version, 1);
  EXPECT_EQ(grant->environment->digest, v1.digest);
  EXPECT_EQ(grant->environment->files[0].content, "numpy==1\n");
  ASSERT_TRUE(Complete(grant->ref).ok());

  Restart();
  node = Node();
  grant = Acquire(node);
  ASSERT_TRUE(grant.has_value() && grant->environment.has_value());
  EXPECT_EQ(grant->environment->version, 1) << "a restart must not re-resolve @latest";
}

TEST_F(ControllerRegistryTest, ASweepWithoutEnvironmentRunsInTheNodesOwn) {
  const std::string id = Submit(SpecYaml("{max_total_trials: 1}"));
  EXPECT_EQ(GetSweep(id).environment, "");
  std::optional<LeaseGrant> grant = Acquire(Node());
  ASSERT_TRUE(grant.has_value());
  EXPECT_FALSE(grant->environment.has_value());
}

TEST_F(ControllerRegistryTest, RegisterModelRegistersTheBestTrialWhenTheSweepCompletes) {
  const std::string id = Submit(
      SpecYaml("{max_total_trials: 3, max_concurrent_trials: 1}", "register_model: {name: clf}\n"));
  const std::string node = Node();
  RunTrial(node, 0.5, true);
  RunTrial(node, 0.9, true);
  RunTrial(node, 0.7, true);
  ASSERT_EQ(GetSweep(id).state, core::SweepState::kCompleted);
  FinishSweep(id);

  auto model = store_->GetModel("clf", std::nullopt);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->version, 1);
  EXPECT_EQ(model->trial_id, 2);
  EXPECT_EQ(model->metric_value, 0.9);
  std::ifstream in(fs::path(workspace::ModelDir(ws_.string(), "clf", 1)) / "files" / "model.pkl");
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "model of trial 2");
  EXPECT_THAT(Messages(id, "model_registered"), ElementsAre("model clf version 1 from trial 2"));
  controller_->Tick();
  EXPECT_EQ(CountEvents(id, "model_registered"), 1) << "registered once";
}

TEST_F(ControllerRegistryTest, AFailedRegistrationIsAnEventAndTheSweepStaysCompleted) {
  const std::string id = Submit(
      SpecYaml("{max_total_trials: 2, max_concurrent_trials: 1}", "register_model: {name: clf}\n"));
  const std::string node = Node();
  RunTrial(node, 0.5, false);
  RunTrial(node, 0.6, false);
  FinishSweep(id);
  EXPECT_EQ(GetSweep(id).state, core::SweepState::kCompleted);
  EXPECT_THAT(Messages(id, "model_registration_failed"),
              ElementsAre("model clf: trial 2 of sweep " + id + " has no uploaded artifacts"));
  EXPECT_THAT(*store_->ListModels(), IsEmpty());
  EXPECT_FALSE(fs::exists(workspace::ModelDir(ws_.string(), "clf", 1)));
}

TEST_F(ControllerRegistryTest, ACanceledSweepRegistersNoModel) {
  const std::string id = Submit(
      SpecYaml("{max_total_trials: 3, max_concurrent_trials: 1}", "register_model: {name: clf}\n"));
  const std::string node = Node();
  RunTrial(node, 0.5, true);
  RunTrial(node, 0.9, true);  // a best trial with outputs exists
  ASSERT_TRUE(controller_->CancelSweep(id).ok());
  controller_->Tick();
  auto state = controller_->WaitForSweep(id, 5'000);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, core::SweepState::kCanceled);
  controller_->Tick();
  ExpectNoModel(id);
}

TEST_F(ControllerRegistryTest, AFailedSweepRegistersNoModel) {
  const std::string id = Submit(
      SpecYaml("{max_total_trials: 2, max_concurrent_trials: 1}", "register_model: {name: clf}\n"));
  const std::string node = Node();
  // Both trials report a value and leave outputs, then exit 1: the sweep fails.
  RunTrial(node, 0.5, true, Outcome::kFailed);
  RunTrial(node, 0.9, true, Outcome::kFailed);
  controller_->Tick();
  auto state = controller_->WaitForSweep(id, 5'000);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, core::SweepState::kFailed);
  controller_->Tick();
  ExpectNoModel(id);
}

TEST_F(ControllerRegistryTest, AnExtensionRegistersANewVersionOnlyWhenTheBestChanged) {
  const std::string id = Submit(
      SpecYaml("{max_total_trials: 2, max_concurrent_trials: 1}", "register_model: {name: clf}\n"));
  const std::string node = Node();
  RunTrial(node, 0.5, true);
  RunTrial(node, 0.7, true);
  FinishSweep(id);
  ASSERT_EQ(store_->GetModel("clf", std::nullopt)->trial_id, 2);

  // No better trial: the registered version stays the model's newest.
  ASSERT_TRUE(controller_->ExtendSweep(id, {.max_total_trials = 3}).ok());
  RunTrial(node, 0.6, true);
  FinishSweep(id);
  EXPECT_EQ(store_->ListModels()->size(), 1u);
  EXPECT_THAT(Messages(id, "model_unchanged"),
              ElementsAre("model clf version 1 already holds the best trial 2; no new version"));

  // A better trial: version 2 holds it.
  ASSERT_TRUE(controller_->ExtendSweep(id, {.max_total_trials = 4}).ok());
  RunTrial(node, 0.95, true);
  FinishSweep(id);
  auto model = store_->GetModel("clf", std::nullopt);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->version, 2);
  EXPECT_EQ(model->trial_id, 4);
  EXPECT_EQ(GetTrial(id, 4).origin, "extension 2");
}

}  // namespace
}  // namespace sweep::controller

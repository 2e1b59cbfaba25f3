#include "workspace/registry.h"

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "core/fault_env.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spec/asset_names.h"
#include "store/store.h"
#include "tests/test_dir.h"
#include "workspace/artifact_store.h"

namespace sweep::workspace {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::string Slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

core::Environment SystemEnv(const std::string& name, const std::string& requirements) {
  core::Environment e;
  e.name = name;
  e.kind = "system_managed";
  e.setup_command = "pip install -r requirements.txt";
  e.files = {{"requirements.txt", requirements}};
  return e;
}

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<::sweep::testutil::TestDir>("registry");
    ws_ = dir_->path();
    store_ = store::NewInMemoryStore();
  }

  // A sweep maximizing accuracy with trials of the given states and values.
  void AddSweep(const std::vector<std::pair<core::TrialState, std::optional<double>>>& trials) {
    store::WriteBatch batch;
    core::Sweep sweep;
    sweep.id = "sw-1";
    sweep.objective.primary_metric = "accuracy";
    sweep.objective.goal = core::Goal::kMaximize;
    batch.sweeps.push_back(sweep);
    int64_t id = 0;
    for (const auto& [state, value] : trials) {
      core::Trial t;
      t.sweep_id = "sw-1";
      t.trial_id = ++id;
      t.state = state;
      t.final_value = value;
      t.config = {{"lr", 0.1 * static_cast<double>(id)}};
      batch.trials.push_back(t);
    }
    ASSERT_TRUE(store_->Commit(batch).ok());
  }

  // Places an uploaded attempt of a trial, as the worker's upload would leave it.
  void PlaceArtifacts(int64_t trial, int32_t attempt,
                      const std::map<std::string, std::string>& files) {
    const fs::path dir = ArtifactAttemptDir(ws_.string(), "sw-1", trial, attempt);
    for (const auto& [path, content] : files) {
      fs::create_directories((dir / "files" / path).parent_path());
      std::ofstream(dir / "files" / path, std::ios::binary) << content;
    }
    auto manifest = ScanFiles((dir / "files").string());
    ASSERT_TRUE(manifest.ok()) << manifest.status();
    ASSERT_TRUE(WriteManifest(dir.string(), *manifest).ok());
  }

  absl::StatusOr<core::Model> Register(std::optional<int64_t> trial = std::nullopt) {
    return RegisterModel(
        store_.get(), ws_.string(),
        {.name = "clf", .sweep_id = "sw-1", .trial_id = trial, .tags = {{"stage", "dev"}}},
        /*now_ms=*/7000);
  }

  std::unique_ptr<::sweep::testutil::TestDir> dir_;
  fs::path ws_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(RegistryTest, SameDefinitionIsTheSameVersionAndAChangeIsANewOne) {
  auto first = CreateEnvironment(store_.get(), SystemEnv("sk", "numpy\n"), 1);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_TRUE(first->created);
  EXPECT_EQ(first->environment.version, 1);
  EXPECT_EQ(first->environment.digest.size(), 64u);

  auto again = CreateEnvironment(store_.get(), SystemEnv("sk", "numpy\n"), 2);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->environment.version, 1);
  EXPECT_EQ(again->environment.created_ms, 1);

  auto changed = CreateEnvironment(store_.get(), SystemEnv("sk", "numpy\nscipy\n"), 3);
  ASSERT_TRUE(changed.ok());
  EXPECT_TRUE(changed->created);
  EXPECT_EQ(changed->environment.version, 2);
  EXPECT_NE(changed->environment.digest, first->environment.digest);

  // Going back to the first definition is a new version too: versions only grow.
  auto back = CreateEnvironment(store_.get(), SystemEnv("sk", "numpy\n"), 4);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->environment.version, 3);
  EXPECT_EQ(back->environment.digest, first->environment.digest);
}

TEST_F(RegistryTest, DigestCoversEveryPartOfTheDefinitionButNotTheName) {
  core::Environment base = SystemEnv("a", "x");
  const std::string digest = EnvironmentDigest(base);
  core::Environment renamed = base;
  renamed.name = "b";
  renamed.version = 9;
  EXPECT_EQ(EnvironmentDigest(renamed), digest);
  core::Environment other = base;
  other.setup_command += " ";
  EXPECT_NE(EnvironmentDigest(other), digest);
  other = base;
  other.files[0].name = "req.txt";
  EXPECT_NE(EnvironmentDigest(other), digest);
  other = base;
  other.files.push_back({"b.txt", ""});
  EXPECT_NE(EnvironmentDigest(other), digest);
  // Field boundaries count: moving bytes from one field to the next changes it.
  core::Environment shifted = base;
  shifted.setup_command = "pip install -r requirements.tx";
  shifted.files[0].name = "trequirements.txt";
  EXPECT_NE(EnvironmentDigest(shifted), digest);
}

TEST_F(RegistryTest, BadDefinitionsAreRefusedAndNothingIsStored) {
  struct Case {
    core::Environment env;
    std::string message;
  };
  core::Environment user;
  user.name = "u";
  user.kind = "user_managed";
  std::vector<Case> cases;
  cases.push_back({SystemEnv("-bad", ""), "environment name '-bad' is invalid"});
  cases.push_back({SystemEnv("a b", ""), "it contains ' '"});
  core::Environment no_setup = SystemEnv("sk", "");
  no_setup.setup_command = "  ";
  cases.push_back({no_setup, "needs a setup command (--setup)"});
  core::Environment user_with_setup = user;
  user_with_setup.setup_command = "make";
  cases.push_back({user_with_setup, "takes no setup command or files"});
  core::Environment system_with_python = SystemEnv("sk", "");
  system_with_python.python = "/usr/bin/python3";
  cases.push_back({system_with_python, "--python is for user-managed environments"});
  core::Environment twice = SystemEnv("sk", "a");
  twice.files.push_back({"requirements.txt", "b"});
  cases.push_back({twice, "two files are named 'requirements.txt'"});
  core::Environment big = SystemEnv("sk", std::string(kMaxEnvironmentFilesBytes + 1, 'x'));
  cases.push_back({big, "more than the 1048576-byte limit"});
  core::Environment nested = SystemEnv("sk", "");
  nested.files[0].name = "../x";
  cases.push_back({nested, "must be a plain file name"});
  for (const Case& c : cases) {
    auto created = CreateEnvironment(store_.get(), c.env, 1);
    EXPECT_EQ(created.status().code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_THAT(created.status().message(), HasSubstr(c.message));
  }
  EXPECT_THAT(*store_->ListEnvironments(), IsEmpty());
}

TEST_F(RegistryTest, EnvironmentReferencesInEveryAcceptedForm) {
  ASSERT_TRUE(CreateEnvironment(store_.get(), SystemEnv("sk", "1"), 1).ok());
  ASSERT_TRUE(CreateEnvironment(store_.get(), SystemEnv("sk", "2"), 2).ok());
  for (const auto& [ref, version] :
       std::vector<std::pair<std::string, int64_t>>{{"azureml:sk", 2},
                                                    {"sk", 2},
                                                    {"azureml:sk@latest", 2},
                                                    {"azureml:sk@1", 1},
                                                    {"azureml:sk:1", 1},
                                                    {"sk@2", 2}}) {
    auto env = ResolveEnvironment(store_.get(), ref);
    ASSERT_TRUE(env.ok()) << ref << ": " << env.status();
    EXPECT_EQ(env->version, version) << ref;
  }
  auto unknown = ResolveEnvironment(store_.get(), "azureml:nope");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(unknown.status().message(),
              HasSubstr("environment 'nope' not found in this workspace; create it with "
                        "`sweep environment create nope --user-managed`"));
  // A curated name is refused with how to make it exist, then found once created.
  const std::string curated = "azureml:AzureML-sklearn-1.0-ubuntu20.04-py38-cpu:1";
  auto missing = ResolveEnvironment(store_.get(), curated);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(),
              HasSubstr("environment 'AzureML-sklearn-1.0-ubuntu20.04-py38-cpu' is an Azure ML "
                        "curated environment, which does not exist outside Azure; create a "
                        "workspace environment of that name so the spec runs unchanged: `sweep "
                        "environment create AzureML-sklearn-1.0-ubuntu20.04-py38-cpu --setup"));
  ASSERT_TRUE(
      CreateEnvironment(store_.get(), SystemEnv("AzureML-sklearn-1.0-ubuntu20.04-py38-cpu", "1"), 3)
          .ok());
  auto found = ResolveEnvironment(store_.get(), curated);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->version, 1);
  auto no_version = ResolveEnvironment(store_.get(), "azureml:sk@7");
  EXPECT_EQ(no_version.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(no_version.status().message(), HasSubstr("environment 'sk' has no version 7"));
  for (const char* bad : {"azureml:sk@0", "azureml:sk@new", "azureml:", "azureml:sk:1:2"}) {
    auto parsed = spec::ParseEnvironmentRef(bad);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(parsed.status().message(), HasSubstr("write azureml:NAME")) << bad;
  }
}

TEST_F(RegistryTest, RegistersTheBestCompletedTrialsFilesAsVersionOneThenTwo) {
  AddSweep({{core::TrialState::kCompleted, 0.7},
            {core::TrialState::kEarlyTerminated, 0.99},  // better, but unfinished
            {core::TrialState::kCompleted, 0.9},
            {core::TrialState::kFailed, std::nullopt}});
  PlaceArtifacts(3, 1, {{"model.pkl", "old"}});
  PlaceArtifacts(3, 2, {{"model.pkl", std::string("\0pickle\xff", 8)}, {"sub/notes.txt", "hi"}});
  auto model = Register();
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->version, 1);
  EXPECT_EQ(model->trial_id, 3);
  EXPECT_EQ(model->attempt, 2);  // the newest complete upload
  EXPECT_EQ(model->metric_value, 0.9);
  EXPECT_EQ(model->primary_metric, "accuracy");
  EXPECT_EQ(model->total_bytes, 10);
  EXPECT_THAT(model->params_json, HasSubstr("\"lr\""));
  const fs::path dir = ModelDir(ws_.string(), "clf", 1);
  EXPECT_EQ(Slurp(dir / "files" / "model.pkl"), std::string("\0pickle\xff", 8));
  EXPECT_EQ(Slurp(dir / "files" / "sub" / "notes.txt"), "hi");
  auto stored = store_->GetModel("clf", 1);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->manifest_digest, model->manifest_digest);

  PlaceArtifacts(1, 1, {{"model.pkl", "first"}});
  auto second = Register(/*trial=*/1);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->version, 2);
  EXPECT_EQ(second->trial_id, 1);

  // Download: byte-identical copies, verified against the registered manifest.
  const fs::path out = ws_ / "download";
  ASSERT_TRUE(DownloadModel(ws_.string(), *model, out.string()).ok());
  EXPECT_EQ(Slurp(out / "model.pkl"), std::string("\0pickle\xff", 8));
  EXPECT_EQ(Slurp(out / "sub" / "notes.txt"), "hi");
  EXPECT_EQ(DownloadModel(ws_.string(), *model, out.string()).code(),
            absl::StatusCode::kFailedPrecondition)
      << "a non-empty destination is refused";
}

TEST_F(RegistryTest, RefusedRegistrationsLeaveNoFilesAndNoRecord) {
  AddSweep({{core::TrialState::kCompleted, 0.5},
            {core::TrialState::kFailed, std::nullopt},
            {core::TrialState::kCompleted, 0.8}});
  // Trial 3 (the best) has no artifacts.
  auto none = Register();
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(none.status().message(),
              HasSubstr("trial 3 of sweep sw-1 has no uploaded artifacts"));
  // Not completed.
  auto failed = Register(2);
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(
      failed.status().message(),
      HasSubstr("trial 2 of sweep sw-1 is failed; only completed trials can be registered"));
  // Unknown trial and sweep.
  EXPECT_EQ(Register(9).status().code(), absl::StatusCode::kNotFound);
  auto no_sweep = RegisterModel(store_.get(), ws_.string(), {.name = "clf", .sweep_id = "sw-x"}, 1);
  EXPECT_EQ(no_sweep.status().code(), absl::StatusCode::kNotFound);
  // Bad name.
  auto bad_name = RegisterModel(store_.get(), ws_.string(), {.name = "a/b", .sweep_id = "sw-1"}, 1);
  EXPECT_EQ(bad_name.status().code(), absl::StatusCode::kInvalidArgument);
  // A stored artifact that no longer matches its manifest.
  PlaceArtifacts(3, 1, {{"model.pkl", "good"}});
  std::ofstream(fs::path(ArtifactAttemptDir(ws_.string(), "sw-1", 3, 1)) / "files" / "model.pkl",
                std::ios::binary)
      << "evil";
  auto corrupt = Register();
  EXPECT_EQ(corrupt.status().code(), absl::StatusCode::kDataLoss) << corrupt.status();

  EXPECT_THAT(*store_->ListModels(), IsEmpty());
  EXPECT_FALSE(fs::exists(ModelDir(ws_.string(), "clf", 1)));
}

TEST_F(RegistryTest, ASweepWithoutACompletedTrialHasNothingToRegister) {
  AddSweep({{core::TrialState::kFailed, std::nullopt},
            {core::TrialState::kEarlyTerminated, 0.3},
            {core::TrialState::kCanceled, std::nullopt}});
  PlaceArtifacts(2, 1, {{"model.pkl", "x"}});
  auto model = Register();
  EXPECT_EQ(model.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(model.status().message(),
              HasSubstr("sweep sw-1 has no completed trial with a value of 'accuracy'"));
  EXPECT_THAT(*store_->ListModels(), IsEmpty());
  EXPECT_FALSE(fs::exists(ModelDir(ws_.string(), "clf", 1)));
}

TEST_F(RegistryTest, ATamperedModelIsNotDownloaded) {
  AddSweep({{core::TrialState::kCompleted, 0.5}});
  PlaceArtifacts(1, 1, {{"model.pkl", "weights"}});
  auto model = Register();
  ASSERT_TRUE(model.ok()) << model.status();
  const fs::path dir = ModelDir(ws_.string(), "clf", 1);
  std::ofstream(dir / "files" / "model.pkl", std::ios::binary) << "other!!";
  absl::Status status = DownloadModel(ws_.string(), *model, (ws_ / "out").string());
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_FALSE(fs::exists(ws_ / "out"));
}

TEST_F(RegistryTest, ADiskFullDuringRegistrationLeavesNoFilesAndNoRecord) {
  AddSweep({{core::TrialState::kCompleted, 0.5}});
  PlaceArtifacts(1, 1, {{"model.pkl", std::string(4096, 'w')}});
  core::FaultEnv faults(core::Env::Default());
  faults.DiskFullAfter(1000, (ws_ / "models").string());
  auto model = RegisterModel(store_.get(), ws_.string(), {.name = "clf", .sweep_id = "sw-1"},
                             /*now_ms=*/7000, &faults);
  EXPECT_EQ(core::ErrnoOf(model.status()), ENOSPC) << model.status();
  EXPECT_THAT(model.status().message(), HasSubstr("No space left on device"));
  EXPECT_THAT(*store_->ListModels(), IsEmpty());
  EXPECT_FALSE(fs::exists(ModelDir(ws_.string(), "clf", 1)));

  faults.Clear();  // space freed: the same registration succeeds
  model = RegisterModel(store_.get(), ws_.string(), {.name = "clf", .sweep_id = "sw-1"},
                        /*now_ms=*/7000, &faults);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->version, 1);
}

}  // namespace
}  // namespace sweep::workspace

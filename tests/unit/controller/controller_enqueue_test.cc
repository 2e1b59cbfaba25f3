// Enqueued points (Controller::EnqueueTrial, spec initial_points): tried before sampled
// ones, checked against the space, kept across a restart; bad ones change nothing.
#include "controller/controller.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/controller_test_util.h"

namespace sweep::controller::testing {
namespace {

using ::testing::HasSubstr;

constexpr const char* kPoints =
    "initial_points:\n"
    "  - {lr: 0.25, model: rf}\n"
    "  - {lr: 0.5, model: svm}\n";

TEST_F(ControllerTest, InitialPointsRunFirstThenTheSampler) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 3, max_concurrent_trials: 3}", kPoints));
  std::string node = Node();
  std::vector<core::Config> configs;
  for (int i = 0; i < 3; ++i) {
    std::optional<LeaseGrant> g = Acquire(node);
    ASSERT_TRUE(g.has_value());
    configs.push_back(GetTrial(sweep, g->ref.trial_id).config);
    ASSERT_TRUE(Complete(g->ref).ok());
  }
  EXPECT_EQ(std::get<double>(configs[0].at("lr")), 0.25);
  EXPECT_EQ(std::get<std::string>(configs[0].at("model")), "rf");
  EXPECT_EQ(std::get<double>(configs[1].at("lr")), 0.5);
  EXPECT_EQ(GetTrial(sweep, 1).origin, "enqueued");
  EXPECT_EQ(GetTrial(sweep, 2).origin, "enqueued");
  EXPECT_EQ(GetTrial(sweep, 3).origin, "sampled");
  EXPECT_EQ(CountEvents(sweep, "trial_enqueued"), 2);
}

TEST_F(ControllerTest, EnqueuedPointRunsBeforeSampledOnesAndSurvivesRestart) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 4, max_concurrent_trials: 1}"));
  std::string node = Node();
  std::optional<LeaseGrant> first = Acquire(node);
  ASSERT_TRUE(first.has_value());
  absl::StatusOr<int64_t> id = controller_->EnqueueTrial(sweep, {"lr=0.125", "model=svm"});
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, 2);
  Restart();
  ASSERT_TRUE(Complete(first->ref).ok());
  std::optional<LeaseGrant> next = Acquire(node);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->ref.trial_id, 2);
  core::Trial t = GetTrial(sweep, 2);
  EXPECT_EQ(t.origin, "enqueued");
  EXPECT_EQ(std::get<double>(t.config.at("lr")), 0.125);
}

TEST_F(ControllerTest, BadEnqueuesAreRefusedAndStoreNothing) {
  std::string sweep = Submit(SpecYaml("{max_total_trials: 1}"));
  StoreSnapshot before = Snapshot(sweep);
  auto refused = [&](const std::vector<std::string>& params) {
    absl::StatusOr<int64_t> id = controller_->EnqueueTrial(sweep, params);
    EXPECT_FALSE(id.ok());
    return id.status();
  };
  EXPECT_THAT(refused({"lr=2", "model=svm"}).message(),
              HasSubstr("parameter 'lr': value 2 is outside [0, 1]"));
  EXPECT_THAT(refused({"lr=0.5"}).message(), HasSubstr("parameter 'model' is missing"));
  EXPECT_THAT(refused({"lr=0.5", "model=svm", "depth=3"}).message(),
              HasSubstr("unknown parameter 'depth'"));
  EXPECT_EQ(refused({"lr=0.5", "model=knn"}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(controller_->EnqueueTrial("sw-000000000000", {"lr=0.5", "model=svm"}).status().code(),
            absl::StatusCode::kNotFound);
  ExpectUnchanged(before, sweep);

  // No room: the only trial is already created.
  std::string node = Node();
  std::optional<LeaseGrant> g = Acquire(node);
  ASSERT_TRUE(g.has_value());
  StoreSnapshot full = Snapshot(sweep);
  absl::Status no_room = refused({"lr=0.5", "model=svm"});
  EXPECT_EQ(no_room.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(no_room.message(), HasSubstr("already created its 1 trials"));
  ExpectUnchanged(full, sweep);

  ASSERT_TRUE(Report(g->ref, 0.5).ok());
  ASSERT_TRUE(Complete(g->ref).ok());
  absl::Status ended = refused({"lr=0.5", "model=svm"});
  EXPECT_EQ(ended.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(ended.message(), HasSubstr("already ended (completed)"));
}

}  // namespace
}  // namespace sweep::controller::testing

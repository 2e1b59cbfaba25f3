// What the controller refuses at its door (core/limits.h, controller/input_checks.h), and
// stored text that is not UTF-8 (issue fault 1: it aborted every controller of the
// workspace).
#include <string>

#include "core/limits.h"
#include "gmock/gmock.h"
#include "tests/unit/controller/controller_test_util.h"

namespace sweep::controller::testing {
namespace {

using ::testing::HasSubstr;

TEST_F(ControllerTest, StoredSpecThatIsNotUtf8FailsTheSweepWithoutAborting) {
  std::string id = Submit(SpecYaml("{max_total_trials: 2}"));
  std::string node = Node();
  std::optional<LeaseGrant> g = Acquire(node);
  ASSERT_TRUE(g);
  // A workspace written by an older version: the spec and a trial's config hold "caf\xE9".
  absl::StatusOr<core::Sweep> sweep = store_->GetSweep(id);
  ASSERT_TRUE(sweep.ok());
  std::string yaml = sweep->spec_yaml;
  size_t at = yaml.find("[svm, rf]");
  ASSERT_NE(at, std::string::npos);
  sweep->spec_yaml = yaml.replace(at, 9, "[\"caf\xE9\", rf]");
  auto trials = store_->ListTrials(id);
  ASSERT_TRUE(trials.ok());
  store::WriteBatch b;
  b.sweeps.push_back(*sweep);
  core::Trial t = trials->front();
  t.config["model"] = std::string("caf\xE9");
  b.trials.push_back(t);
  ASSERT_TRUE(store_->Commit(b).ok());

  Restart();
  controller_->Tick();
  absl::StatusOr<core::Sweep> after = store_->GetSweep(id);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->state, core::SweepState::kFailed);
  EXPECT_THAT(after->status_message, HasSubstr("not valid UTF-8"));
  // A later sweep in the same workspace runs.
  std::string next = Submit(SpecYaml("{max_total_trials: 1}"));
  EXPECT_TRUE(Acquire(Node()).has_value());
}

TEST_F(ControllerTest, ReportsAndCompletionsOverTheLimitsAreRefusedAndNothingIsStored) {
  Submit(SpecYaml("{max_total_trials: 1}"));
  std::string node = Node();
  std::optional<LeaseGrant> g = Acquire(node);
  ASSERT_TRUE(g);
  auto before = store_->ListMetrics({.sweep_id = g->ref.sweep_id});
  ASSERT_TRUE(before.ok());

  std::vector<core::MetricPoint> many(core::kMaxPointsPerReport + 1);
  for (auto& p : many) p.name = "accuracy";
  auto too_many = controller_->ReportMetrics(g->ref, many);
  EXPECT_EQ(too_many.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(too_many.status().message(), HasSubstr("at most 10000"));
  auto bad_name = Report(g->ref, 0.5, "acc\xE9");
  EXPECT_EQ(bad_name.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_name.status().message(), HasSubstr("not valid UTF-8"));
  auto long_name = Report(g->ref, 0.5, std::string(core::kMaxNameBytes + 1, 'a'));
  EXPECT_EQ(long_name.status().code(), absl::StatusCode::kInvalidArgument);
  auto bad_error = Complete(g->ref, Outcome::kFailed, 3, "caf\xE9");
  EXPECT_EQ(bad_error.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_error.status().message(), HasSubstr("CompleteTrial: error is not valid UTF-8"));

  auto after = store_->ListMetrics({.sweep_id = g->ref.sweep_id});
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->size(), before->size());
  // The attempt is still live: a good completion goes through.
  auto done = Complete(g->ref, Outcome::kFailed, 3, "caf\xC3\xA9");
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(*done, core::TrialState::kFailed);
}

TEST_F(ControllerTest, RegistrationTextIsChecked) {
  NodeRegistration r;
  r.compute = "cpu-cluster";
  r.hostname = "host\xFF";
  auto reg = controller_->Register(r);
  EXPECT_EQ(reg.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(reg.status().message(), HasSubstr("register: hostname is not valid UTF-8"));
  r.hostname = std::string(300, 'h');
  EXPECT_THAT(controller_->Register(r).status().message(), HasSubstr("at most 256"));
}

}  // namespace
}  // namespace sweep::controller::testing

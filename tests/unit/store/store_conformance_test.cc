// One conformance suite for the Store contract, run against every implementation:
// SqliteStore on a temp file and InMemoryStore.
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/store.h"
#include "tests/unit/store/store_test_util.h"

namespace sweep::store {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using namespace ::sweep::store::testing;  // NOLINT: builders

struct SqliteFactory {
  static std::unique_ptr<Store> Make(const TempDir& dir) {
    absl::StatusOr<std::unique_ptr<Store>> store = OpenSqliteStore(dir.File("sweep.db"));
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }
};

struct InMemoryFactory {
  static std::unique_ptr<Store> Make(const TempDir&) { return NewInMemoryStore(); }
};

template <typename Factory>
class StoreConformanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = Factory::Make(dir_);
    ASSERT_NE(store_, nullptr);
  }

  void Commit(WriteBatch batch) { ASSERT_TRUE(store_->Commit(batch).ok()); }

  // A sweep with `trials` trials, committed.
  void CommitSweepWithTrials(const std::string& sweep_id, int trials) {
    WriteBatch batch;
    batch.sweeps.push_back(MakeSweep(sweep_id));
    for (int i = 1; i <= trials; ++i) batch.trials.push_back(MakeTrial(sweep_id, i));
    ASSERT_TRUE(store_->Commit(batch).ok());
  }

  // Everything the store holds about `sweep_id`, as text.
  std::string Snapshot(const std::string& sweep_id) {
    std::string out;
    auto sweep = store_->GetSweep(sweep_id);
    absl::StrAppend(&out, "sweep:", sweep.ok() ? Dump(*sweep) : sweep.status().ToString(), "\n");
    for (const auto& t : Must(store_->ListTrials(sweep_id))) absl::StrAppend(&out, Dump(t), "\n");
    for (const auto& a : Must(store_->ListAttempts(sweep_id, std::nullopt))) {
      absl::StrAppend(&out, Dump(a), "\n");
    }
    for (const auto& m : Must(store_->ListMetrics({.sweep_id = sweep_id}))) {
      absl::StrAppend(&out, Dump(m), "\n");
    }
    for (const auto& e : Must(store_->ListEvents(sweep_id))) absl::StrAppend(&out, Dump(e), "\n");
    for (const auto& d : Must(store_->ListDecisions(sweep_id, std::nullopt))) {
      absl::StrAppend(&out, Dump(d), "\n");
    }
    for (const auto& c : Must(store_->ListComputes())) absl::StrAppend(&out, Dump(c), "\n");
    for (const auto& n : Must(store_->ListNodes())) absl::StrAppend(&out, Dump(n), "\n");
    absl::StrAppend(&out, "token:", Must(store_->MaxFencingToken()), "\n");
    return out;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

using StoreTypes = ::testing::Types<SqliteFactory, InMemoryFactory>;

class StoreNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    return std::is_same_v<T, SqliteFactory> ? "Sqlite" : "InMemory";
  }
};

TYPED_TEST_SUITE(StoreConformanceTest, StoreTypes, StoreNames);

TYPED_TEST(StoreConformanceTest, EmptyStoreHasNothing) {
  Store& store = *this->store_;
  EXPECT_THAT(Must(store.ListComputes()), IsEmpty());
  EXPECT_THAT(Must(store.ListSweeps()), IsEmpty());
  EXPECT_THAT(Must(store.ListTrials("sw-1")), IsEmpty());
  EXPECT_THAT(Must(store.ListAttempts("sw-1", std::nullopt)), IsEmpty());
  EXPECT_THAT(Must(store.ListAttempts("sw-1", 1)), IsEmpty());
  EXPECT_THAT(Must(store.ListMetrics({.sweep_id = "sw-1"})), IsEmpty());
  EXPECT_THAT(Must(store.ListEvents("sw-1")), IsEmpty());
  EXPECT_THAT(Must(store.ListDecisions("sw-1", std::nullopt)), IsEmpty());
  EXPECT_THAT(Must(store.ListNodes()), IsEmpty());
  EXPECT_THAT(Must(store.ListEnvironments()), IsEmpty());
  EXPECT_THAT(Must(store.ListModels()), IsEmpty());
  EXPECT_EQ(Must(store.MaxFencingToken()), 0u);
  EXPECT_TRUE(store.Commit(WriteBatch()).ok());
}

TYPED_TEST(StoreConformanceTest, EnvironmentsAreVersionedAndReadBackWhole) {
  Store& store = *this->store_;
  core::Environment user = MakeEnvironment("py", 1);
  user.kind = "user_managed";
  user.python = "/usr/bin/python3";
  user.setup_command.clear();
  user.files.clear();
  this->Commit({.environments = {MakeEnvironment("sk", 2), MakeEnvironment("sk", 1), user}});
  this->Commit({.environments = {MakeEnvironment("sk", 3)}});

  EXPECT_EQ(Dump(Must(store.GetEnvironment("sk", 2))), Dump(MakeEnvironment("sk", 2)));
  EXPECT_EQ(Dump(Must(store.GetEnvironment("sk", std::nullopt))), Dump(MakeEnvironment("sk", 3)));
  EXPECT_EQ(Dump(Must(store.GetEnvironment("py", std::nullopt))), Dump(user));
  EXPECT_THAT(DumpAll(Must(store.ListEnvironments())),
              ElementsAre(Dump(user), Dump(MakeEnvironment("sk", 1)),
                          Dump(MakeEnvironment("sk", 2)), Dump(MakeEnvironment("sk", 3))));

  absl::StatusOr<core::Environment> missing = store.GetEnvironment("nope", std::nullopt);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "environment 'nope' not found");
  missing = store.GetEnvironment("sk", 9);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "environment 'sk' version 9 not found");
  // "s" sorts before "sk": the newest of "s" is not one of "sk".
  EXPECT_EQ(store.GetEnvironment("s", std::nullopt).status().code(), absl::StatusCode::kNotFound);
}

TYPED_TEST(StoreConformanceTest, AStoredEnvironmentOrModelVersionIsNeverReplaced) {
  Store& store = *this->store_;
  this->CommitSweepWithTrials("sw-1", 2);
  this->Commit(
      {.environments = {MakeEnvironment("sk", 1)}, .models = {MakeModel("clf", 1, "sw-1", 1)}});
  const std::string before =
      Dump(Must(store.GetEnvironment("sk", 1))) + Dump(Must(store.GetModel("clf", 1)));

  core::Environment other_env = MakeEnvironment("sk", 1);
  other_env.setup_command = "true";
  absl::Status status = store.Commit({.nodes = {MakeNode("n-9")}, .environments = {other_env}});
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(status.message(), "environment 'sk' version 1 already exists");

  status = store.Commit({.nodes = {MakeNode("n-9")}, .models = {MakeModel("clf", 1, "sw-1", 2)}});
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(status.message(), "model 'clf' version 1 already exists");

  status = store.Commit({.environments = {MakeEnvironment("new", 1), MakeEnvironment("new", 1)}});
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(status.message(), "environment 'new' version 1 already exists");

  // Nothing of the refused batches was written.
  EXPECT_EQ(Dump(Must(store.GetEnvironment("sk", 1))) + Dump(Must(store.GetModel("clf", 1))),
            before);
  EXPECT_THAT(Must(store.ListNodes()), IsEmpty());
  EXPECT_THAT(Must(store.ListEnvironments()), SizeIs(1));
}

TYPED_TEST(StoreConformanceTest, ModelsKeepTheirLineageMetricAndTags) {
  Store& store = *this->store_;
  this->CommitSweepWithTrials("sw-1", 3);
  core::Model no_value = MakeModel("clf", 2, "sw-1", 3);
  no_value.metric_value.reset();
  no_value.tags.clear();
  core::Model nan_value = MakeModel("other", 1, "sw-1", 1);
  nan_value.metric_value = std::numeric_limits<double>::quiet_NaN();
  nan_value.goal = core::Goal::kMaximize;
  this->Commit({.models = {MakeModel("clf", 1, "sw-1", 2), no_value, nan_value}});

  EXPECT_EQ(Dump(Must(store.GetModel("clf", 1))), Dump(MakeModel("clf", 1, "sw-1", 2)));
  EXPECT_EQ(Dump(Must(store.GetModel("clf", std::nullopt))), Dump(no_value));
  EXPECT_THAT(DumpAll(Must(store.ListModels())),
              ElementsAre(Dump(MakeModel("clf", 1, "sw-1", 2)), Dump(no_value), Dump(nan_value)));
  EXPECT_EQ(store.GetModel("clf", 3).status().message(), "model 'clf' version 3 not found");
  EXPECT_EQ(store.GetModel("x", std::nullopt).status().message(), "model 'x' not found");

  // A model needs the trial it came from.
  absl::Status status = store.Commit({.models = {MakeModel("clf", 3, "sw-1", 9)}});
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(),
            "model 'clf' version 3 refers to trial 9 of sweep 'sw-1', which does not exist");
  // ... which may come in the same batch.
  this->Commit({.sweeps = {MakeSweep("sw-2")},
                .trials = {MakeTrial("sw-2", 1)},
                .models = {MakeModel("clf", 3, "sw-2", 1)}});
  EXPECT_EQ(Must(store.GetModel("clf", std::nullopt)).sweep_id, "sw-2");
}

TYPED_TEST(StoreConformanceTest, InvalidEnvironmentsAndModelsAreRefused) {
  Store& store = *this->store_;
  this->CommitSweepWithTrials("sw-1", 1);
  core::Environment bad_kind = MakeEnvironment("sk", 1);
  bad_kind.kind = "conda";
  core::Environment no_name = MakeEnvironment("", 1);
  core::Model zero = MakeModel("clf", 0, "sw-1", 1);
  struct Case {
    WriteBatch batch;
    std::string message;
  };
  std::vector<Case> cases;
  cases.push_back({{.environments = {bad_kind}},
                   "environment 'sk': kind 'conda' is not user_managed or system_managed"});
  cases.push_back({{.environments = {no_name}}, "environment with an empty name"});
  cases.push_back({{.environments = {MakeEnvironment("sk", 0)}},
                   "environment 'sk': versions start at 1 (got 0)"});
  cases.push_back({{.models = {zero}}, "model 'clf': versions start at 1 (got 0)"});
  cases.push_back({{.models = {MakeModel("", 1, "sw-1", 1)}}, "model with an empty name"});
  for (const Case& c : cases) {
    absl::Status status = store.Commit(c.batch);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_EQ(status.message(), c.message);
  }
  EXPECT_THAT(Must(store.ListEnvironments()), IsEmpty());
  EXPECT_THAT(Must(store.ListModels()), IsEmpty());
}

TYPED_TEST(StoreConformanceTest, GetOfMissingKeysIsNotFoundNamingTheKey) {
  Store& store = *this->store_;
  absl::StatusOr<core::Sweep> sweep = store.GetSweep("sw-123");
  EXPECT_EQ(sweep.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(sweep.status().message(), "sweep 'sw-123' not found");

  absl::StatusOr<core::ComputeTarget> compute = store.GetCompute("gpu");
  EXPECT_EQ(compute.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(compute.status().message(), "compute 'gpu' not found");

  this->CommitSweepWithTrials("sw-123", 1);
  absl::StatusOr<core::Trial> trial = store.GetTrial("sw-123", 7);
  EXPECT_EQ(trial.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(trial.status().message(), "trial 7 of sweep 'sw-123' not found");
  EXPECT_EQ(store.GetTrial("sw-other", 1).status().message(),
            "trial 1 of sweep 'sw-other' not found");
}

TYPED_TEST(StoreConformanceTest, ComputesUpsertByNameListByNameAndDelete) {
  Store& store = *this->store_;
  WriteBatch batch;
  batch.computes = {MakeCompute("zeta"), MakeCompute("alpha"), MakeCompute("mid")};
  this->Commit(batch);

  core::ComputeTarget changed = MakeCompute("alpha", /*max_nodes=*/9);
  changed.provider = "slurm";
  changed.properties_json = R"({"partition":"cpu"})";
  this->Commit({.computes = {changed}});

  EXPECT_EQ(Dump(Must(store.GetCompute("alpha"))), Dump(changed));
  std::vector<core::ComputeTarget> all = Must(store.ListComputes());
  ASSERT_THAT(all, SizeIs(3));
  EXPECT_EQ(all[0].name, "alpha");
  EXPECT_EQ(all[1].name, "mid");
  EXPECT_EQ(all[2].name, "zeta");
  EXPECT_EQ(Dump(all[2]), Dump(MakeCompute("zeta")));

  // Deleting a missing name is a no-op.
  this->Commit({.deleted_computes = {"mid", "never-existed"}});
  EXPECT_EQ(store.GetCompute("mid").status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Must(store.ListComputes()), SizeIs(2));
}

TYPED_TEST(StoreConformanceTest, DeletionAppliesAfterUpsertsInOneBatch) {
  Store& store = *this->store_;
  this->Commit({.computes = {MakeCompute("c1")}, .deleted_computes = {"c1"}});
  EXPECT_EQ(store.GetCompute("c1").status().code(), absl::StatusCode::kNotFound);

  // Built by Append, a delete followed by a re-create keeps the compute.
  WriteBatch batch{.deleted_computes = {"c2"}};
  batch.Append({.computes = {MakeCompute("c2")}});
  this->Commit(std::move(batch));
  EXPECT_TRUE(store.GetCompute("c2").ok());

  WriteBatch remove{.computes = {MakeCompute("c3")}};
  remove.Append({.deleted_computes = {"c2", "c3"}});
  this->Commit(std::move(remove));
  EXPECT_THAT(Must(store.ListComputes()), IsEmpty());
}

TYPED_TEST(StoreConformanceTest, SweepsUpsertByIdAndListNewestFirst) {
  Store& store = *this->store_;
  this->Commit({.sweeps = {MakeSweep("sw-b", 200), MakeSweep("sw-a", 100)}});
  this->Commit({.sweeps = {MakeSweep("sw-c", 300)}});
  // Same creation time as sw-c, inserted later: listed before it.
  this->Commit({.sweeps = {MakeSweep("sw-0", 300)}});

  core::Sweep done = MakeSweep("sw-c", 300);
  done.state = core::SweepState::kCompleted;
  done.status_message = "max_total_trials reached";
  done.ended_ms = 999;
  this->Commit({.sweeps = {done}});  // an update keeps its place

  EXPECT_EQ(Dump(Must(store.GetSweep("sw-c"))), Dump(done));
  std::vector<std::string> ids;
  for (const core::Sweep& s : Must(store.ListSweeps())) ids.push_back(s.id);
  EXPECT_THAT(ids, ElementsAre("sw-0", "sw-c", "sw-b", "sw-a"));
}

TYPED_TEST(StoreConformanceTest, TrialsRoundTripAndUpsertByKey) {
  Store& store = *this->store_;
  core::Trial trial = MakeTrial("sw-1", 1);
  trial.config["integral_double"] = 3.0;  // must stay a double
  trial.config["tiny"] = 1e-300;
  trial.config["third"] = 1.0 / 3.0;
  trial.config["big_int"] = int64_t{1} << 62;
  trial.config["quote"] = std::string("a \"quoted\" \\ value\n");
  this->Commit({.sweeps = {MakeSweep("sw-1")}, .trials = {trial}});
  EXPECT_EQ(Dump(Must(store.GetTrial("sw-1", 1))), Dump(trial));
  EXPECT_FALSE(store.GetTrial("sw-1", 1)->final_value.has_value());

  trial.state = core::TrialState::kCompleted;
  trial.final_value = 0.93;
  trial.intervals = 12;
  trial.attempts = 2;
  trial.retries = 1;
  trial.reason = "done";
  trial.ended_ms = 9999;
  this->Commit({.trials = {trial}});
  EXPECT_EQ(Dump(Must(store.GetTrial("sw-1", 1))), Dump(trial));
  EXPECT_THAT(Must(store.ListTrials("sw-1")), SizeIs(1));

  // A later upsert of the same key in one batch wins.
  core::Trial first = trial, second = trial;
  first.reason = "first";
  second.reason = "second";
  second.final_value = std::nullopt;
  this->Commit({.trials = {first, second}});
  EXPECT_EQ(Dump(Must(store.GetTrial("sw-1", 1))), Dump(second));
}

TYPED_TEST(StoreConformanceTest, ListTrialsIsOrderedByTrialIdWithinTheSweep) {
  Store& store = *this->store_;
  WriteBatch batch{.sweeps = {MakeSweep("sw-1"), MakeSweep("sw-2")}};
  for (int64_t id : {5, 1, 10, 3, 2}) batch.trials.push_back(MakeTrial("sw-1", id));
  batch.trials.push_back(MakeTrial("sw-2", 4));
  this->Commit(batch);

  std::vector<int64_t> ids;
  for (const core::Trial& t : Must(store.ListTrials("sw-1"))) ids.push_back(t.trial_id);
  EXPECT_THAT(ids, ElementsAre(1, 2, 3, 5, 10));
  ASSERT_THAT(Must(store.ListTrials("sw-2")), SizeIs(1));
  EXPECT_EQ(Dump(store.ListTrials("sw-2")->at(0)), Dump(MakeTrial("sw-2", 4)));
  EXPECT_THAT(Must(store.ListTrials("sw-3")), IsEmpty());
}

TYPED_TEST(StoreConformanceTest, AttemptsUpsertAndListByTrialThenAttempt) {
  Store& store = *this->store_;
  this->CommitSweepWithTrials("sw-1", 3);
  this->CommitSweepWithTrials("sw-2", 1);
  this->Commit({.attempts = {MakeAttempt("sw-1", 2, 2, 5), MakeAttempt("sw-1", 3, 1, 6),
                             MakeAttempt("sw-1", 2, 1, 4), MakeAttempt("sw-1", 1, 1, 3),
                             MakeAttempt("sw-2", 1, 1, 7)}});
  core::Attempt lost = MakeAttempt("sw-1", 2, 1, 4);
  lost.state = core::AttemptState::kLost;
  lost.ended_ms = 50000;
  lost.exit_code = -9;
  lost.error = "lease expired";
  this->Commit({.attempts = {lost}});

  std::vector<std::string> keys;
  for (const core::Attempt& a : Must(store.ListAttempts("sw-1", std::nullopt))) {
    keys.push_back(absl::StrCat(a.trial_id, ".", a.attempt));
  }
  EXPECT_THAT(keys, ElementsAre("1.1", "2.1", "2.2", "3.1"));
  std::vector<core::Attempt> of_two = Must(store.ListAttempts("sw-1", 2));
  ASSERT_THAT(of_two, SizeIs(2));
  EXPECT_EQ(Dump(of_two[0]), Dump(lost));
  EXPECT_EQ(Dump(of_two[1]), Dump(MakeAttempt("sw-1", 2, 2, 5)));
  EXPECT_THAT(Must(store.ListAttempts("sw-1", 9)), IsEmpty());
  EXPECT_THAT(Must(store.ListAttempts("sw-2", std::nullopt)), SizeIs(1));
}

TYPED_TEST(StoreConformanceTest, MetricsListByTrialTimestampThenInsertion) {
  Store& store = *this->store_;
  this->CommitSweepWithTrials("sw-1", 2);
  this->CommitSweepWithTrials("sw-2", 1);
  this->Commit(
      {.metrics = {MakeMetric("sw-1", 2, "acc", 0.1, 50), MakeMetric("sw-1", 1, "acc", 0.2, 30),
                   MakeMetric("sw-1", 1, "loss", 0.3, 10),
                   MakeMetric("sw-1", 1, "acc", 0.4, 30),  // same time: after 0.2
                   MakeMetric("sw-2", 1, "acc", 0.5, 1)}});
  this->Commit(
      {.metrics = {MakeMetric("sw-1", 1, "acc", 0.6, 20), MakeMetric("sw-1", 1, "acc", 0.7, 30)}});

  auto values = [&](const MetricFilter& filter) {
    std::vector<double> out;
    for (const core::MetricPoint& m : Must(store.ListMetrics(filter))) out.push_back(m.value);
    return out;
  };
  EXPECT_THAT(values({.sweep_id = "sw-1"}), ElementsAre(0.3, 0.6, 0.2, 0.4, 0.7, 0.1));
  EXPECT_THAT(values({.sweep_id = "sw-1", .trial_id = 1}), ElementsAre(0.3, 0.6, 0.2, 0.4, 0.7));
  EXPECT_THAT(values({.sweep_id = "sw-1", .name = "acc"}), ElementsAre(0.6, 0.2, 0.4, 0.7, 0.1));
  EXPECT_THAT(values({.sweep_id = "sw-1", .trial_id = 1, .name = "loss"}), ElementsAre(0.3));
  EXPECT_THAT(values({.sweep_id = "sw-1", .trial_id = 2, .name = "loss"}), IsEmpty());
  EXPECT_THAT(values({.sweep_id = "sw-2"}), ElementsAre(0.5));

  core::MetricPoint full = MakeMetric("sw-2", 1, "acc", 0.25, 77);
  full.attempt = 3;
  full.step = 12;
  full.interval = 4;
  this->Commit({.metrics = {full}});
  EXPECT_EQ(Dump(store.ListMetrics({.sweep_id = "sw-2"})->back()), Dump(full));
}

TYPED_TEST(StoreConformanceTest, QueryTrialsFiltersOrdersByValueAndLimits) {
  Store& store = *this->store_;
  WriteBatch batch{.sweeps = {MakeSweep("sw-1"), MakeSweep("sw-2")}};
  // Trial i: state and value; NaN, infinity and no value count as no value.
  const std::vector<std::pair<core::TrialState, std::optional<double>>> rows = {
      {core::TrialState::kCompleted, 0.5},
      {core::TrialState::kCompleted, std::nan("")},
      {core::TrialState::kFailed, 0.9},
      {core::TrialState::kCompleted, 0.7},
      {core::TrialState::kCompleted, std::nullopt},
      {core::TrialState::kCompleted, 0.5},
      {core::TrialState::kCompleted, -INFINITY},
      {core::TrialState::kCompleted, 0.1},
  };
  for (size_t i = 0; i < rows.size(); ++i) {
    core::Trial t = MakeTrial("sw-1", static_cast<int64_t>(i + 1));
    t.state = rows[i].first;
    t.final_value = rows[i].second;
    batch.trials.push_back(t);
  }
  core::Trial other = MakeTrial("sw-2", 1);
  other.state = core::TrialState::kCompleted;
  other.final_value = 99;
  batch.trials.push_back(other);
  this->Commit(batch);

  auto ids = [&](const TrialQuery& query) {
    std::vector<int64_t> out;
    for (const core::Trial& t : Must(store.QueryTrials("sw-1", query))) out.push_back(t.trial_id);
    return out;
  };
  using Order = TrialQuery::Order;
  EXPECT_THAT(ids({}), ElementsAre(1, 2, 3, 4, 5, 6, 7, 8));
  EXPECT_THAT(ids({.limit = 3}), ElementsAre(1, 2, 3));
  EXPECT_THAT(ids({.state = core::TrialState::kFailed}), ElementsAre(3));
  EXPECT_THAT(ids({.order = Order::kValueDescending}), ElementsAre(3, 4, 1, 6, 8, 2, 5, 7));
  EXPECT_THAT(ids({.order = Order::kValueAscending}), ElementsAre(8, 1, 6, 4, 3, 2, 5, 7));
  EXPECT_THAT(
      ids({.state = core::TrialState::kCompleted, .order = Order::kValueDescending, .limit = 2}),
      ElementsAre(4, 1));
  std::vector<core::Trial> best = Must(store.QueryTrials(
      "sw-1",
      {.state = core::TrialState::kCompleted, .order = Order::kValueAscending, .limit = 1}));
  ASSERT_THAT(best, SizeIs(1));
  core::Trial want = batch.trials[7];
  EXPECT_EQ(Dump(best[0]), Dump(want));  // decoded in full
  EXPECT_THAT(ids({.state = core::TrialState::kCanceled}), IsEmpty());
  EXPECT_THAT(Must(store.QueryTrials("sw-9", {})), IsEmpty());
  absl::Status negative = store.QueryTrials("sw-1", {.limit = -1}).status();
  EXPECT_EQ(negative.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(negative.message(), "QueryTrials: the limit must not be negative");
}

TYPED_TEST(StoreConformanceTest, ListMetricsNeedsASweepId) {
  absl::StatusOr<std::vector<core::MetricPoint>> metrics = this->store_->ListMetrics({});
  EXPECT_EQ(metrics.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(metrics.status().message(), "ListMetrics: the filter needs a sweep_id");
}

TYPED_TEST(StoreConformanceTest, EventsGetIncreasingIdsAndListPerSweepInOrder) {
  Store& store = *this->store_;
  this->CommitSweepWithTrials("sw-1", 1);
  this->CommitSweepWithTrials("sw-2", 1);
  this->Commit({.events = {MakeEvent("sw-1", 0, "sweep_started"), MakeEvent("sw-2", 0, "x"),
                           MakeEvent("sw-1", 1, "trial_started")}});
  core::Event with_id = MakeEvent("sw-1", 1, "trial_completed");
  with_id.id = 777;  // ignored: the store assigns ids
  // Workspace-level events have no sweep.
  this->Commit({.events = {with_id, MakeEvent("", 0, "compute_scaled")}});

  std::vector<core::Event> events = Must(store.ListEvents("sw-1"));
  ASSERT_THAT(events, SizeIs(3));
  EXPECT_EQ(Dump(events[0]), "1|sw-1|0|sweep_started|about sweep_started|5000");
  EXPECT_EQ(Dump(events[1]), "3|sw-1|1|trial_started|about trial_started|5000");
  EXPECT_EQ(Dump(events[2]), "4|sw-1|1|trial_completed|about trial_completed|5000");
  ASSERT_THAT(Must(store.ListEvents("sw-2")), SizeIs(1));
  EXPECT_EQ(store.ListEvents("sw-2")->at(0).id, 2);
  ASSERT_THAT(Must(store.ListEvents("")), SizeIs(1));
  EXPECT_EQ(store.ListEvents("")->at(0).kind, "compute_scaled");
  EXPECT_EQ(store.ListEvents("")->at(0).id, 5);
}

TYPED_TEST(StoreConformanceTest, DecisionsListByTrialIntervalThenInsertion) {
  Store& store = *this->store_;
  this->CommitSweepWithTrials("sw-1", 2);
  core::Decision stop = MakeDecision("sw-1", 1, 4, /*stop=*/true);
  stop.policy = "median_stopping";
  this->Commit({.decisions = {MakeDecision("sw-1", 2, 1), stop, MakeDecision("sw-1", 1, 2)}});
  core::Decision again = MakeDecision("sw-1", 1, 2);
  again.policy = "truncation_selection";
  this->Commit({.decisions = {again}});

  std::vector<core::Decision> all = Must(store.ListDecisions("sw-1", std::nullopt));
  ASSERT_THAT(all, SizeIs(4));
  EXPECT_EQ(Dump(all[0]), Dump(MakeDecision("sw-1", 1, 2)));
  EXPECT_EQ(Dump(all[1]), Dump(again));
  EXPECT_EQ(Dump(all[2]), Dump(stop));
  EXPECT_EQ(Dump(all[3]), Dump(MakeDecision("sw-1", 2, 1)));
  EXPECT_THAT(Must(store.ListDecisions("sw-1", 2)), SizeIs(1));
  EXPECT_THAT(Must(store.ListDecisions("sw-1", 3)), IsEmpty());
  EXPECT_THAT(Must(store.ListDecisions("sw-9", std::nullopt)), IsEmpty());
}

TYPED_TEST(StoreConformanceTest, NodesUpsertByIdAndListById) {
  Store& store = *this->store_;
  this->Commit({.nodes = {MakeNode("n2"), MakeNode("n1")}});
  core::Node gone = MakeNode("n2");
  gone.state = "gone";
  gone.last_seen_ms = 12345;
  this->Commit({.nodes = {gone, MakeNode("n0")}});
  std::vector<core::Node> nodes = Must(store.ListNodes());
  ASSERT_THAT(nodes, SizeIs(3));
  EXPECT_EQ(Dump(nodes[0]), Dump(MakeNode("n0")));
  EXPECT_EQ(Dump(nodes[1]), Dump(MakeNode("n1")));
  EXPECT_EQ(Dump(nodes[2]), Dump(gone));
}

TYPED_TEST(StoreConformanceTest, MaxFencingTokenIsTheLargestEverStored) {
  Store& store = *this->store_;
  this->CommitSweepWithTrials("sw-1", 2);
  this->Commit({.attempts = {MakeAttempt("sw-1", 1, 1, 17), MakeAttempt("sw-1", 2, 1, 5)}});
  EXPECT_EQ(Must(store.MaxFencingToken()), 17u);
  // Rewriting the attempt with a smaller token does not lower it: tokens are never reused.
  this->Commit({.attempts = {MakeAttempt("sw-1", 1, 1, 3)}});
  EXPECT_EQ(Must(store.MaxFencingToken()), 17u);
  const uint64_t largest = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  this->Commit({.attempts = {MakeAttempt("sw-1", 2, 2, largest)}});
  EXPECT_EQ(Must(store.MaxFencingToken()), largest);
  EXPECT_EQ(store.ListAttempts("sw-1", 2)->back().fencing_token, largest);
}

TYPED_TEST(StoreConformanceTest, NonFiniteDoublesRoundTrip) {
  Store& store = *this->store_;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  const double values[] = {nan,
                           inf,
                           -inf,
                           -0.0,
                           0.0,
                           std::numeric_limits<double>::max(),
                           std::numeric_limits<double>::denorm_min(),
                           -1.5e-300};
  WriteBatch batch{.sweeps = {MakeSweep("sw-1")}};
  int64_t id = 0;
  for (double v : values) {
    core::Trial trial = MakeTrial("sw-1", ++id);
    trial.final_value = v;
    batch.trials.push_back(trial);
    batch.metrics.push_back(MakeMetric("sw-1", id, "loss", v, 10));
    core::Decision decision = MakeDecision("sw-1", id, 1);
    decision.value = v;
    decision.reference = -v;
    decision.threshold = v * 2;
    batch.decisions.push_back(decision);
  }
  this->Commit(batch);

  std::vector<core::Trial> trials = Must(store.ListTrials("sw-1"));
  std::vector<core::MetricPoint> metrics = Must(store.ListMetrics({.sweep_id = "sw-1"}));
  std::vector<core::Decision> decisions = Must(store.ListDecisions("sw-1", std::nullopt));
  ASSERT_THAT(trials, SizeIs(std::size(values)));
  ASSERT_THAT(metrics, SizeIs(std::size(values)));
  ASSERT_THAT(decisions, SizeIs(std::size(values)));
  for (size_t i = 0; i < std::size(values); ++i) {
    SCOPED_TRACE(Hex(values[i]));
    EXPECT_EQ(Dump(trials[i]), Dump(batch.trials[i]));
    EXPECT_EQ(Dump(metrics[i]), Dump(batch.metrics[i]));
    EXPECT_EQ(Dump(decisions[i]), Dump(batch.decisions[i]));
  }
  EXPECT_TRUE(std::isnan(*trials[0].final_value));
  EXPECT_TRUE(std::isinf(metrics[2].value) && metrics[2].value < 0);
  EXPECT_TRUE(std::signbit(metrics[3].value));
}

TYPED_TEST(StoreConformanceTest, ParentsEarlierInTheSameBatchCount) {
  Store& store = *this->store_;
  WriteBatch batch{.sweeps = {MakeSweep("sw-1")},
                   .trials = {MakeTrial("sw-1", 1)},
                   .attempts = {MakeAttempt("sw-1", 1, 1, 1)},
                   .metrics = {MakeMetric("sw-1", 1, "acc", 0.5, 1)},
                   .decisions = {MakeDecision("sw-1", 1, 1)}};
  this->Commit(batch);
  EXPECT_THAT(Must(store.ListAttempts("sw-1", 1)), SizeIs(1));
  EXPECT_THAT(Must(store.ListMetrics({.sweep_id = "sw-1"})), SizeIs(1));
  EXPECT_THAT(Must(store.ListDecisions("sw-1", 1)), SizeIs(1));
}

TYPED_TEST(StoreConformanceTest, RecordsWithoutTheirParentAreRefused) {
  Store& store = *this->store_;
  this->CommitSweepWithTrials("sw-1", 1);
  struct Case {
    WriteBatch batch;
    std::string message;
  };
  Case cases[] = {
      {{.trials = {MakeTrial("sw-9", 3)}}, "trial 3 refers to sweep 'sw-9', which does not exist"},
      {{.attempts = {MakeAttempt("sw-1", 2, 1, 1)}},
       "attempt 1 refers to trial 2 of sweep 'sw-1', which does not exist"},
      {{.metrics = {MakeMetric("sw-2", 1, "acc", 1, 1)}},
       "metric 'acc' refers to trial 1 of sweep 'sw-2', which does not exist"},
      {{.decisions = {MakeDecision("sw-1", 5, 4)}},
       "decision at interval 4 refers to trial 5 of sweep 'sw-1', which does not exist"},
  };
  for (const Case& c : cases) {
    absl::Status status = store.Commit(c.batch);
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << status;
    EXPECT_EQ(status.message(), c.message);
  }
}

TYPED_TEST(StoreConformanceTest, InvalidRecordsAreRefusedWithTheirReason) {
  Store& store = *this->store_;
  this->CommitSweepWithTrials("sw-1", 1);
  core::Trial nan_config = MakeTrial("sw-1", 1);
  nan_config.config["lr"] = std::numeric_limits<double>::quiet_NaN();
  core::Trial zero_id = MakeTrial("sw-1", 0);
  core::Attempt zero_attempt = MakeAttempt("sw-1", 1, 0, 1);
  core::Attempt huge_token =
      MakeAttempt("sw-1", 1, 1, static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + 1);
  struct Case {
    WriteBatch batch;
    std::string message;
  };
  Case cases[] = {
      {{.computes = {MakeCompute("")}}, "compute with an empty name"},
      {{.deleted_computes = {""}}, "deleted compute with an empty name"},
      {{.sweeps = {MakeSweep("")}}, "sweep with an empty id"},
      {{.trials = {MakeTrial("", 2)}}, "trial 2 has an empty sweep_id"},
      {{.trials = {zero_id}}, "trial 0 of sweep 'sw-1': trial ids start at 1"},
      {{.trials = {nan_config}},
       "trial 1 of sweep 'sw-1': config parameter 'lr' is not finite (nan)"},
      {{.attempts = {MakeAttempt("", 1, 2, 1)}}, "attempt 2 of trial 1 has an empty sweep_id"},
      {{.attempts = {zero_attempt}},
       "attempt 0 of trial 1 of sweep 'sw-1': attempt numbers start at 1"},
      {{.attempts = {huge_token}},
       "attempt 1 of trial 1 of sweep 'sw-1': fencing token 9223372036854775808 is larger than "
       "the largest storable one (9223372036854775807)"},
      {{.metrics = {MakeMetric("", 1, "acc", 1, 1)}},
       "metric 'acc' of trial 1 has an empty sweep_id"},
      {{.metrics = {MakeMetric("sw-1", 1, "", 1, 1)}},
       "metric of trial 1 of sweep 'sw-1' has an empty name"},
      {{.events = {MakeEvent("sw-1", 0, "")}},
       "event of sweep 'sw-1' has an empty kind (message: 'about ')"},
      {{.decisions = {MakeDecision("", 1, 3)}},
       "decision at interval 3 of trial 1 has an empty sweep_id"},
      {{.nodes = {MakeNode("")}}, "node with an empty node_id (hostname 'host-', pid 4242)"},
  };
  const std::string before = this->Snapshot("sw-1");
  for (Case& c : cases) {
    // A valid record ahead of the bad one must not be written either.
    c.batch.sweeps.insert(c.batch.sweeps.begin(), MakeSweep("sw-new"));
    absl::Status status = store.Commit(c.batch);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_EQ(status.message(), c.message);
  }
  EXPECT_EQ(this->Snapshot("sw-1"), before);
  EXPECT_EQ(store.GetSweep("sw-new").status().code(), absl::StatusCode::kNotFound);
}

TYPED_TEST(StoreConformanceTest, AFailedBatchLeavesNothing) {
  Store& store = *this->store_;
  this->CommitSweepWithTrials("sw-1", 2);
  this->Commit({.events = {MakeEvent("sw-1", 0, "sweep_started")}});
  const std::string before = this->Snapshot("sw-1");

  core::Trial updated = MakeTrial("sw-1", 1);
  updated.state = core::TrialState::kCompleted;
  updated.final_value = 1.0;
  WriteBatch batch{
      .computes = {MakeCompute("c1")},
      .deleted_computes = {"c1"},
      .sweeps = {MakeSweep("sw-2")},
      .trials = {updated, MakeTrial("sw-1", 3), MakeTrial("sw-2", 1)},
      .attempts = {MakeAttempt("sw-1", 3, 1, 99)},
      // Fails midway: after the rows above were written, trial 4 does not exist.
      .metrics = {MakeMetric("sw-1", 3, "acc", 0.5, 1), MakeMetric("sw-1", 4, "acc", 0.5, 2)},
      .events = {MakeEvent("sw-1", 3, "trial_started")},
      .nodes = {MakeNode("n1")},
  };
  absl::Status status = store.Commit(batch);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(status.message(),
            "metric 'acc' refers to trial 4 of sweep 'sw-1', which does not exist");

  EXPECT_EQ(this->Snapshot("sw-1"), before);
  EXPECT_EQ(store.GetSweep("sw-2").status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Must(store.ListTrials("sw-2")), IsEmpty());
  EXPECT_EQ(Must(store.MaxFencingToken()), 0u);

  // The store keeps working, and the failed batch consumed no event id.
  this->Commit({.events = {MakeEvent("sw-1", 0, "next")}});
  EXPECT_EQ(store.ListEvents("sw-1")->back().id, 2);
}

TYPED_TEST(StoreConformanceTest, LargeBatch) {
  Store& store = *this->store_;
  constexpr int kTrials = 1000;
  constexpr int kMetricsPerTrial = 20;
  WriteBatch batch{.sweeps = {MakeSweep("sw-big")}};
  for (int i = kTrials; i >= 1; --i) {
    batch.trials.push_back(MakeTrial("sw-big", i));
    batch.attempts.push_back(MakeAttempt("sw-big", i, 1, i));
    for (int k = 0; k < kMetricsPerTrial; ++k) {
      // Decreasing timestamps, so the listing must sort.
      batch.metrics.push_back(
          MakeMetric("sw-big", i, k % 2 ? "acc" : "loss", i + k * 1e-3, 1000 - k));
    }
    batch.events.push_back(MakeEvent("sw-big", i, "trial_created"));
  }
  ASSERT_TRUE(store.Commit(batch).ok());

  std::vector<core::Trial> trials = Must(store.ListTrials("sw-big"));
  ASSERT_THAT(trials, SizeIs(kTrials));
  for (int i = 0; i < kTrials; ++i) ASSERT_EQ(trials[i].trial_id, i + 1);
  EXPECT_EQ(Dump(trials[499]), Dump(MakeTrial("sw-big", 500)));
  EXPECT_THAT(Must(store.ListAttempts("sw-big", std::nullopt)), SizeIs(kTrials));
  EXPECT_EQ(Must(store.MaxFencingToken()), static_cast<uint64_t>(kTrials));

  std::vector<core::MetricPoint> metrics = Must(store.ListMetrics({.sweep_id = "sw-big"}));
  ASSERT_THAT(metrics, SizeIs(kTrials * kMetricsPerTrial));
  for (size_t i = 1; i < metrics.size(); ++i) {
    ASSERT_LE(std::tie(metrics[i - 1].trial_id, metrics[i - 1].timestamp_ms),
              std::tie(metrics[i].trial_id, metrics[i].timestamp_ms));
  }
  EXPECT_EQ(metrics.front().value, 1 + (kMetricsPerTrial - 1) * 1e-3);
  EXPECT_THAT(Must(store.ListMetrics({.sweep_id = "sw-big", .trial_id = 7, .name = "acc"})),
              SizeIs(kMetricsPerTrial / 2));
  std::vector<core::Event> events = Must(store.ListEvents("sw-big"));
  ASSERT_THAT(events, SizeIs(kTrials));
  EXPECT_EQ(events.front().trial_id, kTrials);  // insertion order
  EXPECT_EQ(events.back().id, kTrials);
}

TYPED_TEST(StoreConformanceTest, ConcurrentWritersAndReaders) {
  Store& store = *this->store_;
  constexpr int kThreads = 4;
  constexpr int kTrialsPerThread = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&store, t] {
      const std::string sweep = absl::StrCat("sw-", t);
      ASSERT_TRUE(store.Commit({.sweeps = {MakeSweep(sweep)}}).ok());
      for (int i = 1; i <= kTrialsPerThread; ++i) {
        WriteBatch batch{.trials = {MakeTrial(sweep, i)},
                         .attempts = {MakeAttempt(sweep, i, 1, t * 1000 + i)},
                         .metrics = {MakeMetric(sweep, i, "acc", i, i)}};
        ASSERT_TRUE(store.Commit(batch).ok());
        absl::StatusOr<std::vector<core::Trial>> trials = store.ListTrials(sweep);
        ASSERT_TRUE(trials.ok());
        ASSERT_THAT(*trials, SizeIs(i));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_THAT(Must(store.ListSweeps()), SizeIs(kThreads));
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_THAT(Must(store.ListMetrics({.sweep_id = absl::StrCat("sw-", t)})),
                SizeIs(kTrialsPerThread));
  }
  EXPECT_EQ(Must(store.MaxFencingToken()),
            static_cast<uint64_t>((kThreads - 1) * 1000 + kTrialsPerThread));
}

}  // namespace
}  // namespace sweep::store

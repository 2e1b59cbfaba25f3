#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "store/store.h"
#include "tests/unit/store/store_test_util.h"

namespace sweep::store {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using namespace ::sweep::store::testing;  // NOLINT: builders

std::vector<std::string> Names(const std::vector<core::ComputeTarget>& computes) {
  std::vector<std::string> out;
  for (const auto& c : computes) out.push_back(c.name);
  return out;
}

TEST(WriteBatchTest, EmptyIsTrueOnlyWithoutAnyRecord) {
  EXPECT_TRUE(WriteBatch().empty());
  EXPECT_FALSE(WriteBatch{.computes = {MakeCompute("c")}}.empty());
  EXPECT_FALSE(WriteBatch{.deleted_computes = {"c"}}.empty());
  EXPECT_FALSE(WriteBatch{.sweeps = {MakeSweep("s")}}.empty());
  EXPECT_FALSE(WriteBatch{.trials = {MakeTrial("s", 1)}}.empty());
  EXPECT_FALSE(WriteBatch{.attempts = {MakeAttempt("s", 1, 1, 1)}}.empty());
  EXPECT_FALSE(WriteBatch{.metrics = {MakeMetric("s", 1, "m", 1, 1)}}.empty());
  EXPECT_FALSE(WriteBatch{.events = {MakeEvent("s", 1, "k")}}.empty());
  EXPECT_FALSE(WriteBatch{.decisions = {MakeDecision("s", 1, 1)}}.empty());
  EXPECT_FALSE(WriteBatch{.nodes = {MakeNode("n")}}.empty());
  EXPECT_FALSE(WriteBatch{.environments = {MakeEnvironment("e", 1)}}.empty());
  EXPECT_FALSE(WriteBatch{.models = {MakeModel("m", 1, "s", 1)}}.empty());
}

TEST(WriteBatchTest, AppendConcatenatesInOrderAndEmptiesTheOther) {
  WriteBatch batch{.sweeps = {MakeSweep("s1")},
                   .trials = {MakeTrial("s1", 1)},
                   .metrics = {MakeMetric("s1", 1, "a", 1, 1)}};
  WriteBatch other{.sweeps = {MakeSweep("s2")},
                   .trials = {MakeTrial("s1", 1), MakeTrial("s2", 1)},
                   .attempts = {MakeAttempt("s1", 1, 1, 1)},
                   .metrics = {MakeMetric("s1", 1, "b", 2, 2)},
                   .events = {MakeEvent("s1", 1, "e")},
                   .decisions = {MakeDecision("s1", 1, 1)},
                   .nodes = {MakeNode("n")},
                   .environments = {MakeEnvironment("e", 1)},
                   .models = {MakeModel("m", 1, "s1", 1)}};
  batch.Append(std::move(other));
  EXPECT_TRUE(other.empty());  // NOLINT(bugprone-use-after-move): Append empties it
  ASSERT_EQ(batch.sweeps.size(), 2u);
  EXPECT_EQ(batch.sweeps[1].id, "s2");
  ASSERT_EQ(batch.trials.size(), 3u);  // later upserts of a key stay after earlier ones
  EXPECT_EQ(batch.trials[2].sweep_id, "s2");
  ASSERT_EQ(batch.metrics.size(), 2u);
  EXPECT_EQ(batch.metrics[0].name, "a");
  EXPECT_EQ(batch.metrics[1].name, "b");
  EXPECT_EQ(batch.attempts.size(), 1u);
  EXPECT_EQ(batch.events.size(), 1u);
  EXPECT_EQ(batch.decisions.size(), 1u);
  EXPECT_EQ(batch.nodes.size(), 1u);
  EXPECT_EQ(batch.environments.size(), 1u);
  EXPECT_EQ(batch.models.size(), 1u);
}

TEST(WriteBatchTest, AppendKeepsComputeUpsertsAndDeletionsInAppendOrder) {
  WriteBatch batch{.computes = {MakeCompute("a"), MakeCompute("b")}, .deleted_computes = {"c"}};
  batch.Append({.computes = {MakeCompute("c")}, .deleted_computes = {"a"}});
  // "a" was upserted then deleted; "c" deleted then re-created.
  EXPECT_THAT(Names(batch.computes), ElementsAre("b", "c"));
  EXPECT_THAT(batch.deleted_computes, ElementsAre("a"));

  batch.Append({.deleted_computes = {"b", "c"}});
  EXPECT_THAT(Names(batch.computes), IsEmpty());
  EXPECT_THAT(batch.deleted_computes, ElementsAre("a", "b", "c"));
}

}  // namespace
}  // namespace sweep::store

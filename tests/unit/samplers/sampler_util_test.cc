#include "samplers/sampler_util.h"

#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/samplers/sampler_test_util.h"

namespace sweep::samplers {
namespace {

using core::Config;
using core::ParamKind;
using core::ParamValue;
using ::testing::HasSubstr;
using namespace sweep::samplers::testing;  // NOLINT: test builders

TEST(TrialRngTest, DependsOnSeedTrialAndStreamOnly) {
  TrialRng a(1, 5), b(1, 5), c(2, 5), d(1, 6), e(1, 5, 9);
  uint64_t va = a.NextU64();
  EXPECT_EQ(va, b.NextU64());
  EXPECT_NE(va, c.NextU64());
  EXPECT_NE(va, d.NextU64());
  EXPECT_NE(va, e.NextU64());
}

TEST(TrialRngTest, UniformAndBelowStayInRange) {
  TrialRng r(3, 1);
  std::vector<int> counts(7);
  for (int i = 0; i < 7000; ++i) {
    double u = r.Uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    uint64_t k = r.Below(7);
    ASSERT_LT(k, 7u);
    ++counts[k];
  }
  for (int c : counts) EXPECT_NEAR(c, 1000, 200);
  EXPECT_EQ(r.Below(1), 0u);
}

TEST(SeenKeysTest, TracksHistoryAndDetectsRewrites) {
  SeenKeys seen;
  History h;
  h.trials.push_back(Obs(Config{{"a", int64_t{1}}}));
  EXPECT_TRUE(seen.Update(h));
  EXPECT_TRUE(seen.Contains(Config{{"a", int64_t{1}}}));
  EXPECT_FALSE(seen.Contains(Config{{"a", int64_t{2}}}));
  h.trials.push_back(Obs(Config{{"a", int64_t{2}}}, core::TrialState::kPending));
  EXPECT_TRUE(seen.Update(h));
  EXPECT_TRUE(seen.Contains(Config{{"a", int64_t{2}}}));
  EXPECT_EQ(seen.size(), 2u);
  // A different history (not an extension) is taken afresh.
  History other;
  other.trials.push_back(Obs(Config{{"a", int64_t{3}}}));
  EXPECT_FALSE(seen.Update(other));
  EXPECT_FALSE(seen.Contains(Config{{"a", int64_t{1}}}));
  EXPECT_TRUE(seen.Contains(Config{{"a", int64_t{3}}}));
}

TEST(GridIndexTest, EnumeratesInFileOrderLastFastest) {
  auto g =
      GridIndex::Build(Space({Choice("m", {std::string("x"), std::string("y")}), Randint("r", 3)}));
  ASSERT_TRUE(g.ok()) << g.status();
  ASSERT_EQ(g->size(), 6u);
  std::vector<std::pair<std::string, int64_t>> got;
  for (uint64_t k = 0; k < 6; ++k) {
    Config c = g->At(k);
    got.emplace_back(std::get<std::string>(c.at("m")), std::get<int64_t>(c.at("r")));
  }
  EXPECT_EQ(got, (std::vector<std::pair<std::string, int64_t>>{
                     {"x", 0}, {"x", 1}, {"x", 2}, {"y", 0}, {"y", 1}, {"y", 2}}));
}

TEST(GridIndexTest, QuantizedValuesMatchCore) {
  for (auto p : {Range("q", ParamKind::kQUniform, -1.3, 2.6, 0.5),
                 Range("q", ParamKind::kQLogUniform, -3, 3, 2),
                 Range("q", ParamKind::kQUniform, 1.1, 1.3, 1)}) {
    auto g = GridIndex::Build(Space({p}));
    ASSERT_TRUE(g.ok());
    std::vector<ParamValue> want = core::FiniteValues(p);
    ASSERT_EQ(g->size(), want.size());
    for (uint64_t k = 0; k < g->size(); ++k) {
      double v = std::get<double>(g->At(k).at("q"));
      EXPECT_EQ(v, std::get<double>(want[k]) + 0.0);  // + 0.0: no negative zero
      EXPECT_FALSE(std::signbit(v) && v == 0);
    }
  }
}

TEST(GridIndexTest, HugeGridIsIndexedNotMaterialised) {
  // 10^12 points: building and indexing cost nothing proportional to the size.
  auto g = GridIndex::Build(
      Space({Randint("a", 1000), Randint("b", 1000), Randint("c", 1000), Randint("d", 1000)}));
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->size(), 1000000000000u);
  Config last = g->At(g->size() - 1);
  for (const char* n : {"a", "b", "c", "d"}) EXPECT_EQ(last.at(n), ParamValue(int64_t{999}));
  Config mid = g->At(123456789012u);
  EXPECT_EQ(mid.at("a"), ParamValue(int64_t{123}));
  EXPECT_EQ(mid.at("b"), ParamValue(int64_t{456}));
  EXPECT_EQ(mid.at("c"), ParamValue(int64_t{789}));
  EXPECT_EQ(mid.at("d"), ParamValue(int64_t{12}));
}

TEST(GridIndexTest, BeyondTwoToTheSixtyTwoSaturates) {
  std::vector<core::ParamSpec> params;
  for (int i = 0; i < 10; ++i) params.push_back(Randint("p" + std::to_string(i), 1 << 20));
  auto g = GridIndex::Build(Space(params));
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->size(), GridIndex::kSaturated);
  Config c = g->At(1);
  EXPECT_EQ(c.at("p9"), ParamValue(int64_t{1}));
  EXPECT_EQ(c.at("p0"), ParamValue(int64_t{0}));
}

TEST(GridIndexTest, RejectsContinuousParameterByName) {
  auto g = GridIndex::Build(Space({Randint("r", 2), Uniform("lr", 0, 1)}));
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(g.status().message()), HasSubstr("'lr' is uniform"));
}

TEST(DrawUnseenTest, FallsBackToEnumerationForRareUnseenPoints) {
  // qloguniform(-1000, 2, q=1) takes the values 0..7, but 7 has probability ~1e-4 per
  // draw: after 0..6 are seen, only enumeration finds it.
  core::SearchSpace space = Space({Range("x", ParamKind::kQLogUniform, -1000, 2, 1)});
  auto enc = Encoding::Build(space, CategoricalEncoding::kIndex);
  auto grid = GridIndex::Build(space);
  ASSERT_TRUE(enc.ok() && grid.ok());
  ASSERT_EQ(grid->size(), 8u);
  History h;
  for (int v = 0; v < 7; ++v) h.trials.push_back(Obs(Config{{"x", static_cast<double>(v)}}));
  SeenKeys seen;
  seen.Update(h);
  TrialRng rng(1, 8);
  auto c = DrawUnseen(*enc, &*grid, seen, rng, std::nullopt);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->at("x"), ParamValue(7.0));
  h.trials.push_back(Obs(*c));
  seen.Update(h);
  EXPECT_FALSE(DrawUnseen(*enc, &*grid, seen, rng, std::nullopt).has_value());
}

TEST(DrawUnseenTest, ScansLargeFiniteSpaces) {
  // About 2.2 million values, nearly all probability on 0..1000; those are all seen.
  core::SearchSpace space = Space({Range("x", ParamKind::kQLogUniform, -1e6, 14.6, 1)});
  auto enc = Encoding::Build(space, CategoricalEncoding::kIndex);
  auto grid = GridIndex::Build(space);
  ASSERT_TRUE(enc.ok() && grid.ok());
  ASSERT_GT(grid->size(), kEnumerateLimit);
  History h;
  for (int v = 0; v <= 1000; ++v) h.trials.push_back(Obs(Config{{"x", static_cast<double>(v)}}));
  SeenKeys seen;
  seen.Update(h);
  for (uint64_t trial = 1; trial <= 5; ++trial) {
    TrialRng rng(7, trial);
    auto c = DrawUnseen(*enc, &*grid, seen, rng, std::nullopt);
    ASSERT_TRUE(c.has_value());
    EXPECT_GT(std::get<double>(c->at("x")), 1000.0);
  }
}

TEST(DrawUnseenTest, PrefersTheFirstCandidate) {
  core::SearchSpace space = Space({Randint("r", 10)});
  auto enc = Encoding::Build(space, CategoricalEncoding::kIndex);
  ASSERT_TRUE(enc.ok());
  SeenKeys seen;
  TrialRng rng(1, 1);
  Config first{{"r", int64_t{4}}};
  EXPECT_EQ(DrawUnseen(*enc, nullptr, seen, rng, first), first);
}

TEST(FiniteObservationsTest, KeepsFinishedTrialsWithFiniteValues) {
  History h;
  auto add = [&](core::TrialState s, std::optional<double> v) {
    Observation o;
    o.state = s;
    o.value = v;
    h.trials.push_back(o);
  };
  add(core::TrialState::kCompleted, 1.0);           // 0 yes
  add(core::TrialState::kCompleted, NAN);           // 1 no
  add(core::TrialState::kCompleted, INFINITY);      // 2 no
  add(core::TrialState::kCompleted, std::nullopt);  // 3 no
  add(core::TrialState::kEarlyTerminated, 0.5);     // 4 yes
  add(core::TrialState::kFailed, 2.0);              // 5 no
  add(core::TrialState::kPending, std::nullopt);    // 6 no
  add(core::TrialState::kRunning, 3.0);             // 7 no
  add(core::TrialState::kCompleted, -INFINITY);     // 8 no
  EXPECT_EQ(FiniteObservations(h), (std::vector<size_t>{0, 4}));
}

}  // namespace
}  // namespace sweep::samplers

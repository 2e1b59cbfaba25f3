#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "samplers/factories.h"
#include "tests/unit/samplers/sampler_test_util.h"

namespace sweep::samplers {
namespace {

using core::Config;
using core::ParamKind;
using core::ParamValue;
using ::testing::HasSubstr;
using namespace sweep::samplers::testing;  // NOLINT: test builders

std::unique_ptr<Sampler> MakeGrid(const core::SearchSpace& space) {
  auto s = MakeGridSampler(space, {});
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? std::move(*s) : nullptr;
}

TEST(GridSamplerTest, ProductInFileOrderLastFastest) {
  auto s = MakeGrid(Space({Choice("m", {std::string("svm"), std::string("rf")}), Randint("d", 2),
                           Range("q", ParamKind::kQUniform, 0, 1, 0.5)}));
  std::vector<Config> all = RunTrials(*s, 100);
  ASSERT_EQ(all.size(), 12u);
  EXPECT_EQ(all[0], (Config{{"m", std::string("svm")}, {"d", int64_t{0}}, {"q", 0.0}}));
  EXPECT_EQ(all[1], (Config{{"m", std::string("svm")}, {"d", int64_t{0}}, {"q", 0.5}}));
  EXPECT_EQ(all[2], (Config{{"m", std::string("svm")}, {"d", int64_t{0}}, {"q", 1.0}}));
  EXPECT_EQ(all[3], (Config{{"m", std::string("svm")}, {"d", int64_t{1}}, {"q", 0.0}}));
  EXPECT_EQ(all[6], (Config{{"m", std::string("rf")}, {"d", int64_t{0}}, {"q", 0.0}}));
  EXPECT_EQ(all[11], (Config{{"m", std::string("rf")}, {"d", int64_t{1}}, {"q", 1.0}}));
}

TEST(GridSamplerTest, NestedOptionsExpandInPlace) {
  auto s = MakeGrid(Space({
      NestedChoice("model", {{Choice("C", {int64_t{1}, int64_t{2}})}, {Randint("n", 3)}}),
      Choice("lr", {0.1, 0.2}),
  }));
  std::vector<Config> all = RunTrials(*s, 100);
  ASSERT_EQ(all.size(), 10u);
  std::vector<Config> want = {
      {{"model", int64_t{0}}, {"C", int64_t{1}}, {"lr", 0.1}},
      {{"model", int64_t{0}}, {"C", int64_t{1}}, {"lr", 0.2}},
      {{"model", int64_t{0}}, {"C", int64_t{2}}, {"lr", 0.1}},
      {{"model", int64_t{0}}, {"C", int64_t{2}}, {"lr", 0.2}},
      {{"model", int64_t{1}}, {"n", int64_t{0}}, {"lr", 0.1}},
      {{"model", int64_t{1}}, {"n", int64_t{0}}, {"lr", 0.2}},
      {{"model", int64_t{1}}, {"n", int64_t{1}}, {"lr", 0.1}},
      {{"model", int64_t{1}}, {"n", int64_t{1}}, {"lr", 0.2}},
      {{"model", int64_t{1}}, {"n", int64_t{2}}, {"lr", 0.1}},
      {{"model", int64_t{1}}, {"n", int64_t{2}}, {"lr", 0.2}},
  };
  EXPECT_EQ(all, want);
}

TEST(GridSamplerTest, TwoLevelNestingCoversCardinalityWithoutDuplicates) {
  core::SearchSpace space = Space({
      NestedChoice("a", {{NestedChoice("b", {{Randint("x", 3)}, {Choice("y", {true, false})}, {}}),
                          Randint("z", 2)},
                         {Range("w", ParamKind::kQLogUniform, 0, 3, 4)}}),
      Choice("c", {std::string("p"), std::string("q")}),
  });
  std::optional<uint64_t> n = core::Cardinality(space);
  ASSERT_TRUE(n.has_value());
  std::vector<Config> all = RunTrials(*MakeGrid(space), 1000);
  EXPECT_EQ(all.size(), *n);
  std::set<std::string> keys;
  for (const Config& c : all) keys.insert(core::ConfigKey(c));
  EXPECT_EQ(keys.size(), *n);
}

TEST(GridSamplerTest, SkipsConfigsAlreadyInHistory) {
  auto s = MakeGrid(Space({Randint("r", 4)}));
  History h;
  h.trials.push_back(Obs({{"r", int64_t{0}}}, core::TrialState::kPending));
  h.trials.push_back(Obs({{"r", int64_t{2}}}, core::TrialState::kFailed));
  h.trials.push_back(Obs({{"other", int64_t{1}}}));  // not a grid point: harmless
  std::vector<Config> rest = RunTrials(*s, 10, h);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].at("r"), ParamValue(int64_t{1}));
  EXPECT_EQ(rest[1].at("r"), ParamValue(int64_t{3}));
  auto done = s->Next(h);
  ASSERT_TRUE(done.ok());
  EXPECT_FALSE(done->has_value());
}

TEST(GridSamplerTest, FreshSamplerResumesAndRewrittenHistoryRescans) {
  core::SearchSpace space = Space({Randint("a", 3), Randint("b", 3)});
  History h;
  std::vector<Config> first = RunTrials(*MakeGrid(space), 4, h);
  auto s = MakeGrid(space);
  auto next = s->Next(h);
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ(**next, (Config{{"a", int64_t{1}}, {"b", int64_t{1}}}));
  // The same sampler, given a history that is not an extension, starts over.
  History fresh;
  auto again = s->Next(fresh);
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ(**again, first[0]);
}

TEST(GridSamplerTest, HugeGridCostsNothingUpFront) {
  // 10^12 points; asking for a few must not enumerate them.
  auto s = MakeGrid(Space({Randint("a", 1000), Randint("b", 1000), Randint("c", 1000),
                           Range("d", ParamKind::kQUniform, 0, 999, 1)}));
  std::vector<Config> few = RunTrials(*s, 3);
  ASSERT_EQ(few.size(), 3u);
  EXPECT_EQ(few[2], (Config{{"a", int64_t{0}}, {"b", int64_t{0}}, {"c", int64_t{0}}, {"d", 2.0}}));
}

TEST(GridSamplerTest, OnePointSpaces) {
  std::vector<Config> all = RunTrials(
      *MakeGrid(Space({Randint("r", 1), Range("q", ParamKind::kQUniform, 1.1, 1.3, 1)})), 5);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0], (Config{{"r", int64_t{0}}, {"q", 1.0}}));
}

TEST(GridSamplerTest, RejectsNonFiniteParametersByName) {
  for (auto [space, name] : std::vector<std::pair<core::SearchSpace, std::string>>{
           {Space({Randint("r", 2), Uniform("lr", 0, 1)}), "'lr' is uniform"},
           {Space({Normal("noise", ParamKind::kQNormal, 0, 1, 1)}), "'noise' is qnormal"},
           {Space({Range("lg", ParamKind::kLogUniform, -3, 0)}), "'lg' is loguniform"},
           {Space({NestedChoice("m", {{Randint("k", 2)}, {Uniform("deep", 0, 1)}})}),
            "'deep' is uniform"},
       }) {
    auto s = MakeGridSampler(space, {});
    ASSERT_FALSE(s.ok()) << name;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(s.status().message()), HasSubstr(name));
    EXPECT_THAT(std::string(s.status().message()), HasSubstr("grid sampling"));
  }
  auto bad = MakeGridSampler(Space({Randint("k", 0)}), {});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("'k' (randint): upper"));
}

}  // namespace
}  // namespace sweep::samplers

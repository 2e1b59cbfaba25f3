#include "samplers/sobol_sampler.h"

#include <set>

#include "boost/random/sobol.hpp"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "samplers/factories.h"
#include "tests/unit/samplers/sampler_test_util.h"

namespace sweep::samplers {
namespace {

using core::Config;
using ::testing::HasSubstr;
using namespace sweep::samplers::testing;  // NOLINT: test builders

std::unique_ptr<Sampler> MakeSobol(const core::SearchSpace& space, uint64_t seed) {
  auto s = MakeSobolSampler(space, {core::Goal::kMaximize, seed});
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? std::move(*s) : nullptr;
}

core::SearchSpace UnitCube(int d) {
  std::vector<core::ParamSpec> params;
  for (int i = 0; i < d; ++i) params.push_back(Uniform("x" + std::to_string(i), 0, 1));
  return Space(params);
}

TEST(SobolSamplerTest, PointsAreBoostsSequenceShiftedBySeed) {
  constexpr int kDims = 3;
  for (uint64_t seed : {0u, 17u}) {
    std::vector<Config> got = RunTrials(*MakeSobol(UnitCube(kDims), seed), 40);
    ASSERT_EQ(got.size(), 40u);
    std::vector<uint64_t> shift = SobolShift(seed, kDims);
    boost::random::sobol engine(kDims);  // generated independently, in order
    for (size_t k = 0; k < got.size(); ++k) {
      const Config& c = got[k];
      for (int j = 0; j < kDims; ++j) {
        uint64_t v = k == 0 ? 0 : engine();  // the first point is the origin
        double want = static_cast<double>((v ^ shift[j]) >> 11) * 0x1.0p-53;
        EXPECT_EQ(std::get<double>(c.at("x" + std::to_string(j))), want);
      }
    }
  }
}

TEST(SobolSamplerTest, ShiftDependsOnSeed) {
  EXPECT_EQ(SobolShift(3, 4), SobolShift(3, 4));
  EXPECT_NE(SobolShift(3, 4), SobolShift(4, 4));
  std::vector<Config> a = RunTrials(*MakeSobol(UnitCube(2), 1), 10);
  std::vector<Config> b = RunTrials(*MakeSobol(UnitCube(2), 1), 10);
  std::vector<Config> c = RunTrials(*MakeSobol(UnitCube(2), 2), 10);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(SobolSamplerTest, FirstPointsStratifyEachAxis) {
  // A digital shift keeps Sobol's net property: 64 points, one in each 1/64 slice.
  std::vector<Config> pts = RunTrials(*MakeSobol(UnitCube(2), 99), 64);
  for (const char* axis : {"x0", "x1"}) {
    std::set<int> bins;
    for (const Config& c : pts) bins.insert(static_cast<int>(std::get<double>(c.at(axis)) * 64));
    EXPECT_EQ(bins.size(), 64u) << axis;
  }
}

TEST(SobolSamplerTest, ResumesFromHistory) {
  core::SearchSpace space = UnitCube(2);
  History h;
  RunTrials(*MakeSobol(space, 5), 7, h);
  auto next = MakeSobol(space, 5)->Next(h);
  std::vector<Config> eight = RunTrials(*MakeSobol(space, 5), 8);
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ(**next, eight[7]);
  auto point = ShiftedSobolPoint(7, SobolShift(5, 2));
  ASSERT_TRUE(point.ok());
  EXPECT_EQ(std::get<double>(eight[7].at("x0")), (*point)[0]);
}

TEST(SobolSamplerTest, FiniteSpaceGivesEachConfigOnceThenStops) {
  core::SearchSpace space =
      Space({Choice("c", {std::string("a"), std::string("b"), std::string("c")}), Randint("r", 2)});
  std::vector<Config> all = RunTrials(*MakeSobol(space, 4), 50);
  EXPECT_EQ(all.size(), 6u);
  std::set<std::string> keys;
  for (const Config& c : all) keys.insert(core::ConfigKey(c));
  EXPECT_EQ(keys.size(), 6u);
}

TEST(SobolSamplerTest, NestedSpacesDecode) {
  std::vector<Config> all = RunTrials(
      *MakeSobol(Space({NestedChoice("m", {{Uniform("a", 0, 1)}, {Uniform("b", 0, 1)}})}), 1), 32);
  int with_a = 0;
  for (const Config& c : all) {
    EXPECT_EQ(c.size(), 2u);
    with_a += c.count("a");
  }
  EXPECT_EQ(with_a, 16);  // the choice axis is stratified too
}

TEST(SobolSamplerTest, TooManyDimensionsIsAnError) {
  constexpr int kTooMany = boost::random::default_sobol_table::max_dimension + 1;
  auto s = MakeSobolSampler(UnitCube(kTooMany), {});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()),
              HasSubstr("sobol sampling supports 1 to 3667 encoded dimensions, the search "
                        "space has 3668"));
  auto empty = MakeSobolSampler(Space({}), {});
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(std::string(empty.status().message()), HasSubstr("search space is empty"));
}

}  // namespace
}  // namespace sweep::samplers

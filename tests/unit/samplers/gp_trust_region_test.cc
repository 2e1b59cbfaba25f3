#include "samplers/gp_trust_region.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace sweep::samplers {
namespace {

core::ParamSpec Param(const std::string& name, core::ParamKind kind) {
  core::ParamSpec p;
  p.name = name;
  p.kind = kind;
  p.min_value = 0;
  p.max_value = 1;
  if (kind == core::ParamKind::kChoice) {
    for (int i = 0; i < 3; ++i) {
      p.options.push_back(core::ChoiceOption{core::ParamValue{std::to_string(i)}, false, {}});
    }
  }
  return p;
}

TEST(GpTrustRegionTest, DesignOnlyCentresOnItsBestAtTheInitialLength) {
  const TrustRegionState s = ReplayTrustRegion({3, 1, 2, 5, 4}, 5, 2);
  EXPECT_EQ(s.center, 1);
  EXPECT_DOUBLE_EQ(s.length, 0.8);
  EXPECT_EQ(s.restarts, 0);
}

TEST(GpTrustRegionTest, SuccessesDoubleAndFailuresHalve) {
  TrustRegionOptions o;
  o.success_tolerance = 2;
  o.failure_tolerance = 3;
  // Design {5, 4}; then two improvements: length 0.8 -> 1.6 (the maximum).
  TrustRegionState s = ReplayTrustRegion({5, 4, 3, 2}, 2, 2, o);
  EXPECT_DOUBLE_EQ(s.length, 1.6);
  EXPECT_EQ(s.center, 3);
  // Two more improvements stay at the maximum.
  s = ReplayTrustRegion({5, 4, 3, 2, 1, 0.5}, 2, 2, o);
  EXPECT_DOUBLE_EQ(s.length, 1.6);
  // Three failures in a row halve it; a success in between resets the count.
  s = ReplayTrustRegion({5, 4, 9, 9, 9}, 2, 2, o);
  EXPECT_DOUBLE_EQ(s.length, 0.4);
  EXPECT_EQ(s.center, 1);
  s = ReplayTrustRegion({5, 4, 9, 9, 3, 9, 9}, 2, 2, o);
  EXPECT_DOUBLE_EQ(s.length, 0.8);
  EXPECT_EQ(s.center, 4);
  // An improvement smaller than 1e-3 of the best is a failure, but moves the centre.
  s = ReplayTrustRegion({5, 4, 9, 9, 3.9999}, 2, 2, o);
  EXPECT_DOUBLE_EQ(s.length, 0.4);
  EXPECT_EQ(s.center, 4);
}

TEST(GpTrustRegionTest, CollapseRestartsAndTheNextTrialIsTheNewCentre) {
  TrustRegionOptions o;
  o.failure_tolerance = 1;
  o.min = 0.8 / 4;  // two halvings
  // Design {1, 2}; failures at 3, 3 (0.4, 0.2), a third collapses the region.
  TrustRegionState s = ReplayTrustRegion({1, 2, 3, 3, 3}, 2, 2, o);
  EXPECT_EQ(s.restarts, 1);
  EXPECT_EQ(s.center, -1);
  EXPECT_DOUBLE_EQ(s.length, 0.8);
  // The next trial starts the new region even though the old best (1) is better.
  s = ReplayTrustRegion({1, 2, 3, 3, 3, 7}, 2, 2, o);
  EXPECT_EQ(s.center, 5);
  s = ReplayTrustRegion({1, 2, 3, 3, 3, 7, 6}, 2, 2, o);
  EXPECT_EQ(s.center, 6);
}

TEST(GpTrustRegionTest, DefaultFailureToleranceGrowsWithTheDimension) {
  // max(4, dims) failures: four in 2 dims halve the length, four in 8 dims do not.
  const std::vector<double> y = {1, 2, 2, 2, 2};
  EXPECT_DOUBLE_EQ(ReplayTrustRegion(y, 1, 2).length, 0.4);
  EXPECT_DOUBLE_EQ(ReplayTrustRegion(y, 1, 8).length, 0.8);
}

TEST(GpTrustRegionTest, BoxFollowsTheLengthScalesAndLeavesDiscreteDimsFree) {
  core::SearchSpace space{{Param("a", core::ParamKind::kUniform),
                           Param("b", core::ParamKind::kUniform),
                           Param("c", core::ParamKind::kChoice)}};
  auto encoding = Encoding::Build(space, CategoricalEncoding::kOneHot);
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  const std::vector<double> neutral = encoding->Encode({});
  const EncodedSpace encoded{*encoding, neutral, encoding->dims()};
  ASSERT_EQ(encoded.dims, 5);
  Eigen::VectorXd center(5);
  center << 0.5, 0.95, 1, 0, 0;
  Eigen::VectorXd log_ls(5);
  log_ls << std::log(0.4), std::log(0.1), 0, 0, 0;  // geometric mean 0.2
  const Box box = TrustRegionBox(encoded, center, log_ls, 0.2);
  EXPECT_NEAR(box.lo[0], 0.5 - 0.2, 1e-12);  // half side 0.1 * 0.4 / 0.2
  EXPECT_NEAR(box.hi[0], 0.5 + 0.2, 1e-12);
  EXPECT_NEAR(box.lo[1], 0.95 - 0.05, 1e-12);
  EXPECT_DOUBLE_EQ(box.hi[1], 1.0);  // clamped to the cube
  for (int j = 2; j < 5; ++j) {
    EXPECT_DOUBLE_EQ(box.lo[j], 0.0);
    EXPECT_DOUBLE_EQ(box.hi[j], 1.0);
  }
}

}  // namespace
}  // namespace sweep::samplers

#include "samplers/gp_targets.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace sweep::samplers {
namespace {

TEST(GpTargetsTest, YeoJohnsonIsTheIdentityAtOneAndLogAtZero) {
  for (double x : {-3.0, -0.5, 0.0, 0.7, 4.0}) {
    EXPECT_NEAR(YeoJohnson(x, 1.0), x, 1e-12) << x;
    if (x >= 0) {
      EXPECT_NEAR(YeoJohnson(x, 0.0), std::log1p(x), 1e-12) << x;
    }
  }
  // Monotone for every lambda.
  for (double lambda : {0.0, 0.3, 1.0}) {
    for (double x = -5; x < 5; x += 0.25) {
      EXPECT_LT(YeoJohnson(x, lambda), YeoJohnson(x + 0.25, lambda)) << lambda << " " << x;
    }
  }
}

TEST(GpTargetsTest, FittedLambdaKeepsSymmetricDataAndBendsSkewedData) {
  std::vector<double> symmetric, skewed;
  for (int i = 1; i < 200; ++i) {
    const double u = i / 200.0;
    const double z = std::sqrt(2.0) * std::erf(2 * u - 1);  // symmetric around 0
    symmetric.push_back(z);
    skewed.push_back(std::exp(2.5 * z) - 1);  // a long bad (right) tail
  }
  EXPECT_NEAR(FitYeoJohnson(symmetric, 0.0, 1.0), 1.0, 0.05);
  EXPECT_LT(FitYeoJohnson(skewed, 0.0, 1.0), 0.5);
}

TEST(GpTargetsTest, PowerTransformSpreadsTheGoodEndOfSkewedTargets) {
  std::vector<double> y;
  for (int i = 0; i < 40; ++i) y.push_back(std::exp(0.25 * i));  // 1 .. 17000
  const Eigen::VectorXd plain = TransformTargets(y, nullptr, false);
  const Eigen::VectorXd power = TransformTargets(y, nullptr, true);
  for (const Eigen::VectorXd& t : {plain, power}) {
    EXPECT_NEAR(t.mean(), 0.0, 1e-9);
    EXPECT_NEAR(std::sqrt(t.array().square().mean()), 1.0, 1e-9);
    for (int i = 1; i < 40; ++i) EXPECT_LT(t[i - 1], t[i]);
  }
  // The two best values are far more distinguishable after the power transform.
  EXPECT_GT(power[1] - power[0], 2 * (plain[1] - plain[0]));
}

TEST(GpTargetsTest, SelectSubsetKeepsBestRecentAndSpread) {
  std::vector<double> y;
  for (int i = 0; i < 30; ++i) y.push_back(i % 7 == 3 ? -10.0 - i : static_cast<double>(i));
  const std::vector<int> all = SelectSubset(y, 40);
  EXPECT_EQ(all.size(), 30u);
  const std::vector<int> some = SelectSubset(y, 12);
  EXPECT_EQ(some.size(), 12u);
  for (int best : {3, 10, 17, 24}) {
    EXPECT_NE(std::find(some.begin(), some.end(), best), some.end()) << best;
  }
  EXPECT_NE(std::find(some.begin(), some.end(), 29), some.end());  // the most recent
  EXPECT_TRUE(std::is_sorted(some.begin(), some.end()));
}

TEST(GpTargetsTest, ConvergedWhenTheBestStopsImproving) {
  std::vector<double> y = {5, 4, 6, 5, 3, 2, 1.5, 1.0};
  for (int i = 0; i < 12; ++i) y.push_back(2.0);
  EXPECT_TRUE(Converged(y, 10, 5, 0.01));
  y.push_back(0.0);
  EXPECT_FALSE(Converged(y, 10, 5, 0.01));
}

}  // namespace
}  // namespace sweep::samplers

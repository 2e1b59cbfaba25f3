#include "samplers/gp_acquisition.h"

#include <gtest/gtest.h>

#include <boost/math/distributions/normal.hpp>
#include <boost/math/special_functions/erf.hpp>
#include <boost/multiprecision/cpp_bin_float.hpp>
#include <cmath>

namespace sweep::samplers {
namespace {

using Big = boost::multiprecision::cpp_bin_float_100;

// log(phi(z) + z Phi(z)) with 100 significant digits: no cancellation or underflow
// trouble for the z used here.
double ReferenceLogH(double zd) {
  const Big z = zd;
  const Big pi = boost::math::constants::pi<Big>();
  const Big phi = exp(-z * z / 2) / sqrt(2 * pi);
  const Big cdf = boost::math::erfc(-z / sqrt(Big(2))) / 2;
  return static_cast<double>(log(phi + z * cdf));
}

TEST(LogEiTest, MatchesHandComputedValues) {
  // h(0) = phi(0); h(1) = phi(1) + Phi(1); h(-1) = phi(1) - Phi(-1).
  EXPECT_NEAR(LogH(0.0), std::log(0.3989422804014327), 1e-14);
  EXPECT_NEAR(LogH(1.0), std::log(0.24197072451914337 + 0.8413447460685429), 1e-14);
  EXPECT_NEAR(LogH(-1.0), std::log(0.24197072451914337 - 0.15865525393145707), 1e-13);
  // EI for mean 1, sigma 2, best 0.5: 2 h(-0.25).
  const double z = -0.25;
  const double h = 0.38666811680284924 + z * 0.4012936743170763;
  EXPECT_NEAR(LogExpectedImprovement(1.0, 2.0, 0.5), std::log(2.0 * h), 1e-13);
}

TEST(LogEiTest, MatchesHighPrecisionReferenceEverywhere) {
  for (double z : {8.0, 3.0, 0.5, -0.5, -2.0, -5.0, -5.999, -6.0, -6.001, -7.5, -10.0, -20.0, -37.0,
                   -40.0, -100.0, -1000.0, -1e4}) {
    const double ref = ReferenceLogH(z);
    EXPECT_NEAR(LogH(z), ref, 1e-12 * std::max(1.0, std::abs(ref))) << "z=" << z;
  }
}

TEST(LogEiTest, FarTailStaysFiniteWhereNaiveEiUnderflows) {
  const boost::math::normal_distribution<double> n01;
  const double z = -40.0;
  const double naive = boost::math::pdf(n01, z) + z * boost::math::cdf(n01, z);
  EXPECT_LE(naive, 0.0);  // underflow (or cancellation) makes naive EI useless here
  const double log_ei = LogH(z);
  EXPECT_TRUE(std::isfinite(log_ei));
  EXPECT_NEAR(log_ei, ReferenceLogH(z), 1e-10 * std::abs(log_ei));
  // Still ordered: a point nearer the incumbent has larger log EI.
  EXPECT_GT(LogH(-39.0), LogH(-40.0));
  EXPECT_GT(LogExpectedImprovement(0.0, 1e-3, -0.04), LogExpectedImprovement(0.0, 1e-3, -0.05));
}

TEST(LogEiTest, DerivativesMatchFiniteDifferences) {
  for (double z : {4.0, 0.3, -3.0, -5.9, -6.1, -15.0, -300.0}) {
    double g = 0;
    LogH(z, &g);
    const double h = 1e-6 * std::max(1.0, std::abs(z));
    const double fd = (LogH(z + h) - LogH(z - h)) / (2 * h);
    EXPECT_NEAR(g, fd, 1e-5 * std::max(1.0, std::abs(fd))) << "z=" << z;
  }
  double d_mean = 0, d_sigma = 0;
  const double mean = 0.7, sigma = 0.3, best = 0.2;
  LogExpectedImprovement(mean, sigma, best, &d_mean, &d_sigma);
  const double e = 1e-7;
  EXPECT_NEAR(d_mean,
              (LogExpectedImprovement(mean + e, sigma, best) -
               LogExpectedImprovement(mean - e, sigma, best)) /
                  (2 * e),
              1e-5);
  EXPECT_NEAR(d_sigma,
              (LogExpectedImprovement(mean, sigma + e, best) -
               LogExpectedImprovement(mean, sigma - e, best)) /
                  (2 * e),
              1e-5);
}

TEST(LogEiTest, ContinuousAcrossTheBranchPoint) {
  EXPECT_NEAR(LogH(-6.0 + 1e-12), LogH(-6.0 - 1e-12), 1e-10);
}

GpModel ThreePointModel() {
  GpData data;
  data.x = (Eigen::MatrixXd(3, 2) << 0.1, 0.2, 0.5, 0.9, 0.8, 0.3).finished();
  data.y = Eigen::Vector3d(0.5, -1.0, 0.3);
  auto model = GpModel::Condition(data, GpHyperparameters::Default(2));
  EXPECT_TRUE(model.ok()) << model.status();
  return *std::move(model);
}

TEST(PendingPenalizedLogEiTest, GradientMatchesFiniteDifferences) {
  const GpModel model = ThreePointModel();
  const Eigen::MatrixXd pending = (Eigen::MatrixXd(1, 2) << 0.32, 0.41).finished();
  const PendingPenalizedLogEi acq{&model, -1.0, pending};
  const Eigen::MatrixXd xs = (Eigen::MatrixXd(1, 2) << 0.3, 0.4).finished();
  const Eigen::VectorXd x = xs.row(0).transpose();
  Eigen::VectorXd grad;
  const double score = acq.ScoreRows(xs)[0];
  EXPECT_NEAR(acq.ScoreWithGradient(x, &grad), score, 1e-9 * std::abs(score));
  const double e = 1e-6;
  for (int j = 0; j < 2; ++j) {
    Eigen::MatrixXd plus = xs, minus = xs;
    plus(0, j) += e;
    minus(0, j) -= e;
    EXPECT_NEAR(grad[j], (acq.ScoreRows(plus)[0] - acq.ScoreRows(minus)[0]) / (2 * e),
                1e-6 * std::abs(grad[j]));
  }
}

TEST(PendingPenalizedLogEiTest, WiderRadiusPenalisesPointsNearAPendingOneMore) {
  const GpModel model = ThreePointModel();
  const Eigen::MatrixXd pending = (Eigen::MatrixXd(1, 2) << 0.3, 0.4).finished();
  const Eigen::MatrixXd near = (Eigen::MatrixXd(1, 2) << 0.35, 0.4).finished();
  const PendingPenalizedLogEi free{&model, -1.0, Eigen::MatrixXd(0, 2)};
  PendingPenalizedLogEi narrow{&model, -1.0, pending};
  PendingPenalizedLogEi wide{&model, -1.0, pending};
  wide.radius = 0.1;
  const double base = free.ScoreRows(near)[0];
  const double narrow_penalty = base - narrow.ScoreRows(near)[0];
  const double wide_penalty = base - wide.ScoreRows(near)[0];
  EXPECT_GT(narrow_penalty, 0);
  EXPECT_LT(narrow_penalty, 0.1);  // 2.5 radii away: log(1 - e^-3.125) = -0.045
  EXPECT_NEAR(wide_penalty, -std::log(-std::expm1(-0.125)), 1e-9);
}

}  // namespace
}  // namespace sweep::samplers

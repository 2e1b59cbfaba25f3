#include "samplers/gp_model.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/random/mersenne_twister.hpp>
#include <boost/random/uniform_real_distribution.hpp>
#include <cmath>

#include "samplers/gp_lbfgs.h"

namespace sweep::samplers {
namespace {

using ::testing::HasSubstr;

Eigen::MatrixXd RandomPoints(int n, int d, uint64_t seed) {
  boost::random::mt19937_64 rng(seed);
  boost::random::uniform_real_distribution<double> u(0.0, 1.0);
  Eigen::MatrixXd x(n, d);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < d; ++j) x(i, j) = u(rng);
  return x;
}

// Varies fast along dim 0, not at all along dim 1.
Eigen::VectorXd Wiggle(const Eigen::MatrixXd& x) {
  Eigen::VectorXd y(x.rows());
  for (int i = 0; i < x.rows(); ++i) y[i] = std::sin(12.0 * x(i, 0));
  return y;
}

GpHyperparameters Hp(std::vector<double> ls, double signal, double noise) {
  GpHyperparameters hp;
  hp.log_lengthscales = Eigen::Map<Eigen::VectorXd>(ls.data(), ls.size()).array().log();
  hp.log_signal_variance = std::log(signal);
  hp.log_noise_variance = std::log(noise);
  return hp;
}

TEST(GpModelTest, PosteriorMeanInterpolatesAndVarianceShrinksAtData) {
  GpData data{RandomPoints(12, 2, 1), {}, {}};
  data.y = Wiggle(data.x);
  auto model = GpModel::Condition(data, Hp({0.2, 1.0}, 1.0, 1e-6));
  ASSERT_TRUE(model.ok()) << model.status();
  Eigen::VectorXd mean, var;
  model->Predict(data.x, &mean, &var);
  for (int i = 0; i < 12; ++i) {
    EXPECT_NEAR(mean[i], data.y[i], 1e-3) << i;
    EXPECT_LT(var[i], 1e-4) << i;
  }
  // Far from every point the variance returns towards the prior amplitude.
  Eigen::MatrixXd far(1, 2);
  far << 3.0, 3.0;
  model->Predict(far, &mean, &var);
  EXPECT_NEAR(var[0], 1.0, 1e-3);
  EXPECT_NEAR(mean[0], 0.0, 1e-3);
}

TEST(GpModelTest, KernelIsMatern52) {
  Eigen::MatrixXd a(1, 2), b(1, 2);
  a << 0.1, 0.2;
  b << 0.4, 0.6;
  const GpHyperparameters hp = Hp({0.5, 2.0}, 1.7, 1e-3);
  const double r = std::sqrt(std::pow(0.3 / 0.5, 2) + std::pow(0.4 / 2.0, 2));
  const double expected =
      1.7 * (1 + std::sqrt(5.0) * r + 5.0 / 3.0 * r * r) * std::exp(-std::sqrt(5.0) * r);
  EXPECT_NEAR(MaternKernel(a, b, hp)(0, 0), expected, 1e-12);
  EXPECT_NEAR(MaternKernel(a, a, hp)(0, 0), 1.7, 1e-12);
}

TEST(GpModelTest, LikelihoodGradientMatchesFiniteDifferences) {
  GpData data{RandomPoints(15, 3, 2), {}, {}};
  data.y = Wiggle(data.x);
  data.y[3] += 0.3;
  data.extra_noise = Eigen::VectorXd::Zero(15);
  data.extra_noise[5] = 0.05;
  const Eigen::VectorXd theta = Hp({0.3, 0.7, 1.5}, 0.8, 0.01).Pack();
  Eigen::VectorXd grad;
  auto lml = LogMarginalLikelihood(data, GpHyperparameters::Unpack(theta), &grad);
  ASSERT_TRUE(lml.ok()) << lml.status();
  for (int i = 0; i < theta.size(); ++i) {
    Eigen::VectorXd tp = theta, tm = theta;
    const double h = 1e-5;
    tp[i] += h;
    tm[i] -= h;
    const double fd = (*LogMarginalLikelihood(data, GpHyperparameters::Unpack(tp)) -
                       *LogMarginalLikelihood(data, GpHyperparameters::Unpack(tm))) /
                      (2 * h);
    EXPECT_NEAR(grad[i], fd, 1e-4 * std::max(1.0, std::abs(fd))) << "component " << i;
  }
}

TEST(GpModelTest, FitImprovesLikelihoodAndFindsRelevantDimension) {
  GpData data{RandomPoints(30, 2, 3), {}, {}};
  data.y = Wiggle(data.x);
  const GpHyperparameters start = GpHyperparameters::Default(2);
  const double before = *LogMarginalLikelihood(data, start);
  GpFitOptions options;
  auto fit = FitHyperparameters(data, {start}, options);
  ASSERT_TRUE(fit.ok()) << fit.status();
  EXPECT_GT(fit->log_marginal_likelihood, before + 10.0);
  EXPECT_NEAR(fit->log_marginal_likelihood, *LogMarginalLikelihood(data, fit->hp), 1e-9);
  // ARD: the varying dimension gets a much shorter length scale than the flat one.
  EXPECT_LT(fit->hp.log_lengthscales[0] + 1.0, fit->hp.log_lengthscales[1]);
  // Deterministic data: the fitted noise is small.
  EXPECT_LT(std::exp(fit->hp.log_noise_variance), 1e-2);
}

TEST(GpModelTest, WarmStartFromAGoodFitStaysAsGood) {
  GpData data{RandomPoints(25, 2, 4), {}, {}};
  data.y = Wiggle(data.x);
  GpFitOptions options;
  auto cold = FitHyperparameters(data, {GpHyperparameters::Default(2)}, options);
  ASSERT_TRUE(cold.ok());
  options.random_starts = 0;
  options.max_iterations = 5;
  auto warm = FitHyperparameters(data, {cold->hp}, options);
  ASSERT_TRUE(warm.ok());
  EXPECT_GE(warm->objective, cold->objective - 1e-6);
  EXPECT_LT(warm->evaluations, cold->evaluations);
}

TEST(GpModelTest, AddPointsMatchesConditioningOnEverything) {
  Eigen::MatrixXd x = RandomPoints(10, 2, 5);
  Eigen::VectorXd y = Wiggle(x);
  const GpHyperparameters hp = Hp({0.3, 0.6}, 1.2, 1e-4);
  GpData first{x.topRows(7), y.head(7), {}};
  auto grown = GpModel::Condition(first, hp);
  ASSERT_TRUE(grown.ok());
  Eigen::VectorXd extra = Eigen::VectorXd::Zero(3);
  extra[1] = 0.1;
  ASSERT_TRUE(grown->AddPoints(x.bottomRows(3), y.tail(3), extra).ok());
  Eigen::VectorXd all_extra = Eigen::VectorXd::Zero(10);
  all_extra[8] = 0.1;
  auto full = GpModel::Condition(GpData{x, y, all_extra}, hp);
  ASSERT_TRUE(full.ok());
  Eigen::MatrixXd probe = RandomPoints(20, 2, 6);
  Eigen::VectorXd m1, v1, m2, v2;
  grown->Predict(probe, &m1, &v1);
  full->Predict(probe, &m2, &v2);
  EXPECT_LT((m1 - m2).lpNorm<Eigen::Infinity>(), 1e-9);
  EXPECT_LT((v1 - v2).lpNorm<Eigen::Infinity>(), 1e-9);
  EXPECT_NEAR(grown->log_marginal_likelihood(), full->log_marginal_likelihood(), 1e-8);
  EXPECT_EQ(grown->size(), 10);
}

// PredictWithGradient agrees with Predict and with central finite differences at x, for
// a model conditioned on `data` with hyperparameters `hp`.
void ExpectPredictGradientsMatch(const GpData& data, const GpHyperparameters& hp,
                                 const Eigen::VectorXd& x) {
  auto model = GpModel::Condition(data, hp);
  ASSERT_TRUE(model.ok());
  double mean, var;
  Eigen::VectorXd dm, dv;
  model->PredictWithGradient(x, &mean, &var, &dm, &dv);
  Eigen::VectorXd pm, pv;
  model->Predict(x.transpose(), &pm, &pv);
  EXPECT_NEAR(mean, pm[0], 1e-12);
  EXPECT_NEAR(var, pv[0], 1e-12);
  for (int j = 0; j < x.size(); ++j) {
    Eigen::VectorXd xp = x, xm = x;
    xp[j] += 1e-6;
    xm[j] -= 1e-6;
    double mp, vp, mm, vm;
    Eigen::VectorXd g1, g2;
    model->PredictWithGradient(xp, &mp, &vp, &g1, &g2);
    model->PredictWithGradient(xm, &mm, &vm, &g1, &g2);
    EXPECT_NEAR(dm[j], (mp - mm) / 2e-6, 1e-5);
    EXPECT_NEAR(dv[j], (vp - vm) / 2e-6, 1e-5);
  }
}

// The same on 9 random points in 3 dims (Wiggle), at one point.
void ExpectPredictGradientsMatch(const GpHyperparameters& hp) {
  GpData data{RandomPoints(9, 3, 7), {}, {}};
  data.y = Wiggle(data.x);
  ExpectPredictGradientsMatch(data, hp, Eigen::Vector3d(0.31, 0.52, 0.77));
}

TEST(GpModelTest, PredictWithGradientMatchesPredictAndFiniteDifferences) {
  ExpectPredictGradientsMatch(Hp({0.3, 0.5, 0.9}, 1.0, 1e-4));
}

GpHyperparameters AdditiveHp() {
  GpHyperparameters hp = Hp({0.3, 0.7, 1.5}, 0.8, 0.01);
  hp.log_additive_lengthscales = Eigen::Vector3d(0.2, 0.4, 2.0).array().log();
  hp.log_additive_variance = std::log(0.6);
  return hp;
}

TEST(GpModelTest, AdditiveKernelAddsOneDimensionalMaternTerms) {
  Eigen::MatrixXd a(1, 3), b(1, 3);
  a << 0.1, 0.2, 0.3;
  b << 0.4, 0.6, 0.1;
  const GpHyperparameters hp = AdditiveHp();
  GpHyperparameters product_only = hp;
  product_only.log_additive_lengthscales.resize(0);
  auto m52 = [](double r) {
    return (1 + std::sqrt(5.0) * r + 5.0 / 3.0 * r * r) * std::exp(-std::sqrt(5.0) * r);
  };
  const double additive = 0.6 / 3 * (m52(0.3 / 0.2) + m52(0.4 / 0.4) + m52(0.2 / 2.0));
  EXPECT_NEAR(MaternKernel(a, b, hp)(0, 0), MaternKernel(a, b, product_only)(0, 0) + additive,
              1e-12);
  EXPECT_NEAR(MaternKernel(a, a, hp)(0, 0), 0.8 + 0.6, 1e-12);
  EXPECT_NEAR(hp.prior_variance(), 1.4, 1e-12);
  EXPECT_EQ(hp.Pack().size(), 9);
  const GpHyperparameters back = GpHyperparameters::Unpack(hp.Pack(), /*additive=*/true);
  EXPECT_EQ(back.Pack(), hp.Pack());
}

TEST(GpModelTest, AdditiveLikelihoodGradientMatchesFiniteDifferences) {
  GpData data{RandomPoints(15, 3, 2), {}, {}};
  data.y = Wiggle(data.x);
  data.y[3] += 0.3;
  const Eigen::VectorXd theta = AdditiveHp().Pack();
  Eigen::VectorXd grad;
  auto lml = LogMarginalLikelihood(data, GpHyperparameters::Unpack(theta, true), &grad);
  ASSERT_TRUE(lml.ok()) << lml.status();
  ASSERT_EQ(grad.size(), theta.size());
  for (int i = 0; i < theta.size(); ++i) {
    Eigen::VectorXd tp = theta, tm = theta;
    const double h = 1e-5;
    tp[i] += h;
    tm[i] -= h;
    const double fd = (*LogMarginalLikelihood(data, GpHyperparameters::Unpack(tp, true)) -
                       *LogMarginalLikelihood(data, GpHyperparameters::Unpack(tm, true))) /
                      (2 * h);
    EXPECT_NEAR(grad[i], fd, 1e-4 * std::max(1.0, std::abs(fd))) << "component " << i;
  }
}

TEST(GpModelTest, AdditivePredictWithGradientMatchesPredictAndFiniteDifferences) {
  ExpectPredictGradientsMatch(AdditiveHp());
}

TEST(GpModelTest, AdditiveFitPredictsASumOfOneDimensionalEffectsFarFromData) {
  // y = sin(9 x0) + cos(7 x1) on points that never have both coordinates above 0.6:
  // the product kernel alone cannot say much about that corner, the additive part can.
  boost::random::mt19937_64 rng(11);
  boost::random::uniform_real_distribution<double> u(0.0, 1.0);
  const int n = 60;
  GpData data{Eigen::MatrixXd(n, 2), Eigen::VectorXd(n), {}};
  auto f = [](double a, double b) { return std::sin(9 * a) + std::cos(7 * b); };
  for (int i = 0; i < n; ++i) {
    double a = u(rng), b = u(rng);
    if (a > 0.6 && b > 0.6) b = 0.6 * u(rng);
    data.x.row(i) << a, b;
    data.y[i] = f(a, b);
  }
  const double mean = data.y.mean();
  const double sd = std::sqrt((data.y.array() - mean).square().mean());
  data.y = (data.y.array() - mean) / sd;
  GpFitOptions options;
  auto additive = FitHyperparameters(data, {GpHyperparameters::Default(2, true)}, options);
  auto product = FitHyperparameters(data, {GpHyperparameters::Default(2, false)}, options);
  ASSERT_TRUE(additive.ok() && product.ok());
  EXPECT_TRUE(additive->hp.additive());
  EXPECT_FALSE(product->hp.additive());
  EXPECT_GT(additive->log_marginal_likelihood, product->log_marginal_likelihood);
  auto ma = GpModel::Condition(data, additive->hp);
  auto mp = GpModel::Condition(data, product->hp);
  ASSERT_TRUE(ma.ok() && mp.ok());
  Eigen::MatrixXd corner(4, 2);
  corner << 0.7, 0.7, 0.8, 0.9, 0.9, 0.75, 0.95, 0.95;
  Eigen::VectorXd pa, pp, var;
  ma->Predict(corner, &pa, &var);
  mp->Predict(corner, &pp, &var);
  double err_additive = 0, err_product = 0;
  for (int i = 0; i < 4; ++i) {
    const double truth = (f(corner(i, 0), corner(i, 1)) - mean) / sd;
    err_additive += std::abs(pa[i] - truth);
    err_product += std::abs(pp[i] - truth);
  }
  EXPECT_LT(err_additive, 0.5 * err_product);
}

TEST(GpModelTest, DuplicatePointsWithoutNoiseAreFactorisedWithJitter) {
  Eigen::MatrixXd x(3, 1);
  x << 0.5, 0.5, 0.5;
  Eigen::VectorXd y(3);
  y << 1.0, 1.0, 1.0;
  auto model = GpModel::Condition(GpData{x, y, {}}, Hp({0.2}, 1.0, 1e-300));
  ASSERT_TRUE(model.ok()) << model.status();
  Eigen::VectorXd mean, var;
  model->Predict(x.topRows(1), &mean, &var);
  EXPECT_NEAR(mean[0], 1.0, 1e-3);
}

// 1 + 2 u_0 - q_0 + 0.5 q_1 in the trend's features (gp_model.h).
double Quadratic(const Eigen::VectorXd& x) {
  const double u0 = x[0] - 0.5, u1 = x[1] - 0.5;
  return 1 + 2 * std::sqrt(12.0) * u0 - std::sqrt(180.0) * (u0 * u0 - 1.0 / 12.0) +
         0.5 * std::sqrt(180.0) * (u1 * u1 - 1.0 / 12.0);
}

TEST(GpModelTest, QuadraticTrendRecoversItsCoefficientsAndShrinksWithTheRidge) {
  GpData data{RandomPoints(30, 2, 11), {}, {}};
  data.y.resize(30);
  for (int i = 0; i < 30; ++i) data.y[i] = Quadratic(data.x.row(i).transpose());
  const QuadraticTrend exact = FitQuadraticTrend(data.x, data.y, 1e-10);
  Eigen::VectorXd expected(5);
  expected << 1, 2, 0, -1, 0.5;
  EXPECT_LT((exact.coefficients - expected).lpNorm<Eigen::Infinity>(), 1e-6);
  EXPECT_NEAR(exact.effective_parameters, 5.0, 1e-6);
  Eigen::VectorXd x(2), grad;
  x << 0.9, 0.05;
  EXPECT_NEAR(TrendValue(exact.coefficients, x, &grad), Quadratic(x), 1e-6);
  for (int j = 0; j < 2; ++j) {
    Eigen::VectorXd xp = x, xm = x;
    xp[j] += 1e-6;
    xm[j] -= 1e-6;
    EXPECT_NEAR(grad[j], (Quadratic(xp) - Quadratic(xm)) / 2e-6, 1e-5);
  }
  // A ridge shrinks the four penalised coefficients and their effective number, never
  // the intercept's one.
  const QuadraticTrend shrunk = FitQuadraticTrend(data.x, data.y, 100.0);
  EXPECT_LT(shrunk.coefficients.tail(4).norm(), 0.5 * exact.coefficients.tail(4).norm());
  EXPECT_GT(shrunk.effective_parameters, 1.0);
  EXPECT_LT(shrunk.effective_parameters, 3.0);
}

TEST(GpModelTest, TrendIsThePriorMeanTheKernelModelsTheResidual) {
  GpData data{RandomPoints(12, 2, 5), {}, {}};
  data.y.resize(12);
  for (int i = 0; i < 12; ++i) {
    data.y[i] = Quadratic(data.x.row(i).transpose()) + 0.3 * std::sin(9 * data.x(i, 1));
  }
  const GpHyperparameters hp = Hp({0.2, 0.2}, 0.5, 1e-4);
  GpData with_trend = data;
  with_trend.trend = FitQuadraticTrend(data.x, data.y, 1.0).coefficients;
  GpData residual = data;
  for (int i = 0; i < 12; ++i) {
    residual.y[i] -= TrendValue(with_trend.trend, data.x.row(i).transpose());
  }
  auto lml_trend = LogMarginalLikelihood(with_trend, hp);
  auto lml_residual = LogMarginalLikelihood(residual, hp);
  ASSERT_TRUE(lml_trend.ok() && lml_residual.ok());
  EXPECT_NEAR(*lml_trend, *lml_residual, 1e-9);
  auto model = GpModel::Condition(with_trend, hp);
  auto zero_mean = GpModel::Condition(residual, hp);
  ASSERT_TRUE(model.ok() && zero_mean.ok());
  EXPECT_NEAR(model->log_marginal_likelihood(), *lml_trend, 1e-9);
  // Far from every point the posterior mean is the trend's, not zero.
  Eigen::MatrixXd probe(3, 2);
  probe << 0.0, 0.0, 1.0, 1.0, 0.5, 0.0;
  Eigen::VectorXd m1, v1, m2, v2;
  model->Predict(probe, &m1, &v1);
  zero_mean->Predict(probe, &m2, &v2);
  for (int r = 0; r < 3; ++r) {
    EXPECT_NEAR(m1[r], m2[r] + TrendValue(with_trend.trend, probe.row(r).transpose()), 1e-9);
    EXPECT_NEAR(v1[r], v2[r], 1e-12);
  }
  // The targets seen from outside stay the data's, and fantasies keep the trend.
  EXPECT_EQ(model->data().y, data.y);
  ASSERT_TRUE(model->AddPoints(probe.topRows(1), m1.head(1), Eigen::VectorXd()).ok());
  Eigen::VectorXd m3, v3;
  model->Predict(probe.topRows(1), &m3, &v3);
  EXPECT_NEAR(m3[0], m1[0], 1e-6);
}

TEST(GpModelTest, TrendPredictWithGradientMatchesPredictAndFiniteDifferences) {
  GpData data{RandomPoints(9, 2, 3), {}, {}};
  data.y.resize(9);
  for (int i = 0; i < 9; ++i) data.y[i] = Quadratic(data.x.row(i).transpose());
  data.trend = FitQuadraticTrend(data.x, data.y, 1.0).coefficients;
  ExpectPredictGradientsMatch(data, Hp({0.3, 0.6}, 1.0, 1e-4), Eigen::Vector2d(0.83, 0.12));
}

TEST(GpModelTest, RejectsMalformedData) {
  Eigen::MatrixXd x(2, 1);
  x << 0.1, 0.2;
  Eigen::VectorXd y(2);
  y << 1.0, std::nan("");
  auto bad = GpModel::Condition(GpData{x, y, {}}, Hp({0.2}, 1.0, 1e-4));
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("NaN or infinite"));

  auto short_y = GpModel::Condition(GpData{x, Eigen::VectorXd::Zero(1), {}}, Hp({0.2}, 1.0, 1e-4));
  ASSERT_FALSE(short_y.ok());
  EXPECT_THAT(short_y.status().message(), HasSubstr("2 training points but 1 targets"));

  auto wrong_dims =
      GpModel::Condition(GpData{x, Eigen::VectorXd::Zero(2), {}}, Hp({0.2, 0.3}, 1.0, 1e-4));
  ASSERT_FALSE(wrong_dims.ok());
  EXPECT_THAT(wrong_dims.status().message(), HasSubstr("2 length scales for 1 dimensions"));

  GpData wrong_trend{x, Eigen::VectorXd::Zero(2), {}};
  wrong_trend.trend = Eigen::VectorXd::Zero(2);
  auto bad_trend = GpModel::Condition(wrong_trend, Hp({0.2}, 1.0, 1e-4));
  ASSERT_FALSE(bad_trend.ok());
  EXPECT_THAT(bad_trend.status().message(),
              HasSubstr("2 trend coefficients for 1 dimensions (expected 2d + 1)"));
  wrong_trend.trend = Eigen::Vector3d(0, std::nan(""), 0);
  auto nan_trend = LogMarginalLikelihood(wrong_trend, Hp({0.2}, 1.0, 1e-4));
  ASSERT_FALSE(nan_trend.ok());
  EXPECT_THAT(nan_trend.status().message(), HasSubstr("NaN or infinite"));

  auto empty = FitHyperparameters(GpData{Eigen::MatrixXd(0, 1), Eigen::VectorXd(0), {}}, {}, {});
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(empty.status().message(), HasSubstr("no training points"));
}

TEST(LbfgsTest, MinimisesRosenbrock) {
  auto rosen = [](const Eigen::VectorXd& x, Eigen::VectorXd* g) {
    const double a = 1 - x[0], b = x[1] - x[0] * x[0];
    (*g)[0] = -2 * a - 400 * x[0] * b;
    (*g)[1] = 200 * b;
    return a * a + 100 * b * b;
  };
  Eigen::VectorXd x0(2), lo(2), hi(2);
  x0 << -1.2, 1.0;
  lo << -5, -5;
  hi << 5, 5;
  LbfgsOptions options;
  options.max_iterations = 500;
  options.relative_tolerance = 0;
  options.gradient_tolerance = 1e-8;
  LbfgsResult r = MinimizeBoxLbfgs(rosen, x0, lo, hi, options);
  EXPECT_NEAR(r.x[0], 1.0, 1e-4);
  EXPECT_NEAR(r.x[1], 1.0, 1e-4);
  EXPECT_TRUE(r.converged);
}

TEST(LbfgsTest, RespectsBoxAndSurvivesNonFiniteValues) {
  // Minimum at (2, -3) lies outside the box; NaN beyond x0 > 1.5 must be avoided.
  auto f = [](const Eigen::VectorXd& x, Eigen::VectorXd* g) {
    (*g)[0] = 2 * (x[0] - 2);
    (*g)[1] = 2 * (x[1] + 3);
    if (x[0] > 1.5) return std::nan("");
    return std::pow(x[0] - 2, 2) + std::pow(x[1] + 3, 2);
  };
  Eigen::VectorXd x0(2), lo(2), hi(2);
  x0 << 0.0, 0.0;
  lo << -1, -1;
  hi << 1, 1;
  LbfgsResult r = MinimizeBoxLbfgs(f, x0, lo, hi);
  EXPECT_NEAR(r.x[0], 1.0, 1e-9);
  EXPECT_NEAR(r.x[1], -1.0, 1e-9);
  EXPECT_TRUE(std::isfinite(r.value));
}

}  // namespace
}  // namespace sweep::samplers

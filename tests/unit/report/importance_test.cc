#include "report/importance.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "report_fixture.h"

namespace sweep::report {
namespace {

using ::testing::HasSubstr;

ParamAxis Numeric(const std::string& name, double lo, double hi,
                  AxisKind kind = AxisKind::kLinear) {
  ParamAxis a;
  a.name = name;
  a.kind = kind;
  a.min = lo;
  a.max = hi;
  return a;
}

double Share(const ImportanceResult& r, const std::string& name) {
  for (const ParamImportance& p : r.params) {
    if (p.name == name) return p.share;
  }
  ADD_FAILURE() << "no importance for " << name;
  return -1;
}

// y = 10 x1 + 0.1 x2 (+ an unused x3): the best trials are told apart by x1 alone.
TEST(PedAnovaTest, KnownAnswerLinearFunction) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<Observation> obs;
  for (int i = 0; i < 300; ++i) {
    double x1 = u(rng), x2 = u(rng), x3 = u(rng);
    obs.push_back({{x1, x2, x3}, 10 * x1 + 0.1 * x2});
  }
  std::vector<ParamAxis> axes = {Numeric("x1", 0, 1), Numeric("x2", 0, 1), Numeric("x3", 0, 1)};
  ImportanceResult r = PedAnova(axes, obs, core::Goal::kMaximize);
  ASSERT_EQ(r.params.size(), 3u);
  EXPECT_EQ(r.params[0].name, "x1");
  EXPECT_GT(Share(r, "x1"), 0.9);
  EXPECT_LT(Share(r, "x2"), 0.05);
  EXPECT_LT(Share(r, "x3"), 0.05);
  EXPECT_NEAR(Share(r, "x1") + Share(r, "x2") + Share(r, "x3"), 1.0, 1e-9);
  EXPECT_EQ(r.trials_used, 300);
  EXPECT_EQ(r.top_trials, 30);
  EXPECT_EQ(DescribeMethod(r), "PED-ANOVA (top 30 of 300 completed trials)");

  // Minimizing -y is the same question.
  for (Observation& o : obs) o.y = -o.y;
  ImportanceResult minimized = PedAnova(axes, obs, core::Goal::kMinimize);
  EXPECT_NEAR(Share(minimized, "x1"), Share(r, "x1"), 1e-12);
}

// A log-uniform learning rate matters in log space: the best trials sit in one decade.
TEST(PedAnovaTest, LogAxesAreMeasuredInLogSpace) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(std::log(1e-5), std::log(1.0));
  std::uniform_real_distribution<double> noise(0, 1);
  std::vector<Observation> obs;
  for (int i = 0; i < 200; ++i) {
    double lr = std::exp(u(rng)), other = noise(rng);
    obs.push_back({{lr, other}, -std::abs(std::log10(lr) + 2)});  // best at lr = 0.01
  }
  ImportanceResult r = PedAnova({Numeric("lr", 1e-5, 1, AxisKind::kLog), Numeric("other", 0, 1)},
                                obs, core::Goal::kMaximize);
  EXPECT_EQ(r.params[0].name, "lr");
  EXPECT_GT(Share(r, "lr"), 0.85);
}

TEST(PedAnovaTest, CategoricalAndConditionalParameters) {
  // model rf is always better; depth (rf only) matters among rf trials; noise never.
  ParamAxis model;
  model.name = "model";
  model.kind = AxisKind::kCategorical;
  model.categories = {"svm", "rf"};
  ParamAxis depth = Numeric("depth", 0, 9);
  depth.conditional = true;
  std::vector<Observation> obs;
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u(0, 1);
  for (int i = 0; i < 200; ++i) {
    bool rf = i % 2 == 0;
    double d = std::floor(u(rng) * 10);
    double y = rf ? 1 + d / 9 : u(rng);
    obs.push_back({{rf ? 1.0 : 0.0, rf ? std::optional<double>(d) : std::nullopt, u(rng)}, y});
  }
  ImportanceResult r = PedAnova({model, depth, Numeric("noise", 0, 1)}, obs, core::Goal::kMaximize);
  // depth carries the branch (it is inactive in every svm trial) and the value within it.
  EXPECT_EQ(r.params[0].name, "depth");
  EXPECT_EQ(r.params[1].name, "model");
  EXPECT_GT(Share(r, "model"), 10 * Share(r, "noise"));
  EXPECT_LT(Share(r, "noise"), 0.05);
}

TEST(PedAnovaTest, ACategoryThatDecides) {
  ParamAxis model;
  model.name = "model";
  model.kind = AxisKind::kCategorical;
  model.categories = {"svm", "rf", "lr"};
  std::vector<Observation> obs;
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(0, 1);
  for (int i = 0; i < 150; ++i) {
    double m = i % 3, x = u(rng);
    obs.push_back({{m, x}, (m == 1 ? 1.0 : 0.0) + 0.1 * u(rng)});
  }
  ImportanceResult r = PedAnova({model, Numeric("x", 0, 1)}, obs, core::Goal::kMaximize);
  EXPECT_EQ(r.params[0].name, "model");
  EXPECT_GT(Share(r, "model"), 0.9);
}

TEST(PedAnovaTest, TooFewTrialsSaysSo) {
  std::vector<Observation> obs = {{{0.1}, 1}, {{0.2}, 2}, {{0.3}, 3}};
  ImportanceResult r = PedAnova({Numeric("x", 0, 1)}, obs, core::Goal::kMaximize);
  EXPECT_TRUE(r.params.empty());
  EXPECT_EQ(r.note, "needs at least 4 completed trials with a value, has 3");
  EXPECT_TRUE(PedAnova({}, obs, core::Goal::kMaximize).params.empty());
}

TEST(PedAnovaTest, NothingToRankWhenEveryValueIsTheSame) {
  std::vector<Observation> obs;
  for (int i = 0; i < 20; ++i) obs.push_back({{i / 20.0}, 1.0});
  ImportanceResult r = PedAnova({Numeric("x", 0, 1)}, obs, core::Goal::kMaximize);
  EXPECT_TRUE(r.params.empty());
  EXPECT_EQ(r.note, "all 20 completed trials have the same value");
}

TEST(PedAnovaTest, FromASweepUsesCompletedTrialsOnly) {
  ReportInput in = testing::FlatSweep();
  ImportanceResult r = ComputeImportance(in, BuildParamAxes(in));
  EXPECT_EQ(r.trials_used, 4);  // trials 1, 2, 5, 6
  EXPECT_EQ(r.top_trials, 2);
  EXPECT_EQ(r.params.size(), 3u);
  EXPECT_THAT(DescribeMethod(r), HasSubstr("top 2 of 4"));
}

}  // namespace
}  // namespace sweep::report

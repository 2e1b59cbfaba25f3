// The GP sampler where its acquisition is flat (the model prefers no point): TPE's point
// only when trials a few thousandths apart differ as noise would, a near-replicate probe
// when too few are that close (gp_sampler.h, step 9).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "samplers/gp_model.h"
#include "samplers/gp_sampler.h"

namespace sweep::samplers {
namespace {

using core::Config;
using core::TrialState;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kDims = 3;

core::SearchSpace UnitBox() {
  core::SearchSpace space;
  for (int j = 0; j < kDims; ++j) {
    core::ParamSpec p;
    p.name = "x" + std::to_string(j);
    p.kind = core::ParamKind::kUniform;
    p.min_value = 0;
    p.max_value = 1;
    space.params.push_back(p);
  }
  return space;
}

double Coord(const Config& c, int j) { return std::get<double>(c.at("x" + std::to_string(j))); }

// Deterministic draws in [0, 1).
struct Lcg {
  uint64_t state;
  double Next() {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) / 9007199254740992.0;
  }
};

Config Point(const double (&x)[kDims]) {
  Config c;
  for (int j = 0; j < kDims; ++j) c["x" + std::to_string(j)] = x[j];
  return c;
}

// Scattered points; with `close_pairs`, that many of them get a twin 0.002 away.
std::vector<Config> Points(int scattered, int close_pairs) {
  Lcg rng{7};
  std::vector<Config> out;
  for (int i = 0; i < scattered; ++i) {
    double x[kDims];
    for (double& v : x) v = rng.Next();
    out.push_back(Point(x));
    if (i < close_pairs) {
      for (double& v : x) v = std::min(1.0, v + 0.002 / std::sqrt(kDims));
      out.push_back(Point(x));
    }
  }
  return out;
}

History Completed(const std::vector<Config>& points,
                  const std::function<double(int, const Config&)>& f) {
  History h;
  for (size_t i = 0; i < points.size(); ++i) {
    h.trials.push_back({points[i], TrialState::kCompleted, f(static_cast<int>(i), points[i]), 1});
  }
  return h;
}

// Independent values for every trial, twins included: noise with nothing under it.
double PureNoise(int trial, const Config&) {
  Lcg rng{static_cast<uint64_t>(trial) * 7919 + 13};
  return rng.Next() + rng.Next() + rng.Next();
}

// A rugged but continuous function, no noise: ripples narrower than the points' spacing,
// which the model takes for noise, but which twins 0.002 apart see as nearly one value.
double Ripples(int, const Config& c) {
  const double x = Coord(c, 0), y = Coord(c, 1), z = Coord(c, 2);
  return std::sin(61 * x + 67 * y - 59 * z) + std::sin(53 * x - 71 * y + 47 * z);
}

// Every acquisition counts as flat (its best candidate's EI under 1e9 times the median's),
// so each test reaches the gate whatever the fit of its history.
std::unique_ptr<GpSampler> Gated() {
  GpSamplerOptions gp;
  gp.flat_acquisition = 1e9;
  gp.flat_noise_gate = 0.1;
  auto s = GpSampler::Create(UnitBox(), SamplerOptions{core::Goal::kMinimize, 3}, gp);
  EXPECT_TRUE(s.ok()) << s.status();
  return *std::move(s);
}

TEST(GpFlatGateTest, NoiseAtShortRangeTakesTpesPoint) {
  auto s = Gated();
  auto next = s->Next(Completed(Points(16, 6), PureNoise));
  ASSERT_TRUE(next.ok() && next->has_value()) << next.status();
  EXPECT_THAT(s->notes(), Contains(HasSubstr("short-range semivariance")));
  EXPECT_THAT(s->notes(), Contains("flat acquisition: TPE's point"));
}

// Rows of x and y from configs and values, as the model sees them (the unit box).
GpData Data(const std::vector<Config>& points, const std::function<double(int, const Config&)>& f) {
  GpData data;
  data.x.resize(static_cast<Eigen::Index>(points.size()), kDims);
  data.y.resize(static_cast<Eigen::Index>(points.size()));
  for (size_t i = 0; i < points.size(); ++i) {
    for (int j = 0; j < kDims; ++j) data.x(i, j) = Coord(points[i], j);
    data.y(i) = f(static_cast<int>(i), points[i]);
  }
  return data;
}

TEST(GpFlatGateTest, ShortRangeSemivarianceTellsNoiseFromRipples) {
  // Twins 0.002 apart: the same value up to the ripples' slope, or independent draws.
  const std::vector<Config> points = Points(16, 6);
  const std::optional<double> ripples = ShortRangeSemivariance(Data(points, Ripples));
  const std::optional<double> noise = ShortRangeSemivariance(Data(points, PureNoise));
  ASSERT_TRUE(ripples.has_value() && noise.has_value());
  EXPECT_LT(*ripples, 0.01);
  EXPECT_GT(*noise, 0.02);  // three uniforms: variance 0.25
  EXPECT_LT(*ripples * 10, *noise);
}

TEST(GpFlatGateTest, ShortRangeSemivarianceNeedsFourPairsWithinTheRadius) {
  EXPECT_FALSE(ShortRangeSemivariance(Data(Points(20, 0), PureNoise)).has_value());
  EXPECT_FALSE(
      ShortRangeSemivariance(Data(Points(20, kShortRangePairs - 1), PureNoise)).has_value());
  EXPECT_TRUE(ShortRangeSemivariance(Data(Points(20, kShortRangePairs), PureNoise)).has_value());
  EXPECT_FALSE(ShortRangeSemivariance(GpData{}).has_value());
}

TEST(GpFlatGateTest, WithoutClosePairsANearReplicateOfTheBestTrialIsMade) {
  auto s = Gated();
  const History h = Completed(Points(21, 0), PureNoise);  // 21 % 3 == 0: no exploration step
  auto next = s->Next(h);
  ASSERT_TRUE(next.ok() && next->has_value()) << next.status();
  EXPECT_THAT(s->notes(), Contains(HasSubstr("short-range semivariance unknown")));
  EXPECT_THAT(s->notes(), Contains("flat acquisition: a near-replicate of the best point"));
  const auto best =
      std::min_element(h.trials.begin(), h.trials.end(),
                       [](const auto& a, const auto& b) { return *a.value < *b.value; });
  for (int j = 0; j < kDims; ++j) EXPECT_NEAR(Coord(**next, j), Coord(best->config, j), 0.02);
}

TEST(GpFlatGateTest, NoiseThatIsASmallShareOfTheVariationLeavesTheModelInCharge) {
  GpSamplerOptions gp;
  gp.flat_acquisition = 1e9;
  gp.flat_noise_gate = 0.1;
  gp.flat_noise_share = 10;  // more than the standardised targets' whole variance
  auto s = *GpSampler::Create(UnitBox(), SamplerOptions{core::Goal::kMinimize, 3}, gp);
  auto next = s->Next(Completed(Points(16, 6), PureNoise));
  ASSERT_TRUE(next.ok() && next->has_value()) << next.status();
  EXPECT_THAT(s->notes(), Contains(HasSubstr("short-range semivariance")));
  EXPECT_THAT(s->notes(), Not(Contains("flat acquisition: TPE's point")));
}

// Three trials in flight within 0.003 of the best one make six close pairs once done.
TEST(GpFlatGateTest, ProbesInFlightAreNotRepeatedWhenPendingAware) {
  History h = Completed(Points(21, 0), PureNoise);
  const auto best =
      *std::min_element(h.trials.begin(), h.trials.end(),
                        [](const auto& a, const auto& b) { return *a.value < *b.value; });
  for (int k = 1; k <= 3; ++k) {
    Config near = best.config;
    for (int j = 0; j < kDims; ++j) {
      const double x = Coord(best.config, j);
      near["x" + std::to_string(j)] = x < 0.5 ? x + 0.001 * k : x - 0.001 * k;
    }
    h.trials.push_back({near, TrialState::kRunning, std::nullopt, 0});
  }
  for (bool aware : {false, true}) {
    GpSamplerOptions gp;
    gp.flat_acquisition = 1e9;
    gp.flat_noise_gate = 0.1;
    gp.flat_probe_pending_aware = aware;
    auto s = *GpSampler::Create(UnitBox(), SamplerOptions{core::Goal::kMinimize, 3}, gp);
    ASSERT_TRUE(s->Next(h).ok());
    if (aware) {
      EXPECT_THAT(s->notes(),
                  Not(Contains("flat acquisition: a near-replicate of the best point")));
    } else {
      EXPECT_THAT(s->notes(), Contains("flat acquisition: a near-replicate of the best point"));
    }
  }
}

// A smooth bowl: the model prefers the points near its floor, so the default gate, which
// looks at every acquisition, leaves every suggestion to it.
double Bowl(int, const Config& c) {
  double sum = 0;
  for (int j = 0; j < kDims; ++j) sum += (Coord(c, j) - 0.3) * (Coord(c, j) - 0.3);
  return sum;
}

TEST(GpFlatGateTest, ByDefaultASmoothObjectiveKeepsTheAcquisitionsPoint) {
  auto s = *GpSampler::Create(UnitBox(), SamplerOptions{core::Goal::kMinimize, 3});
  ASSERT_TRUE(s->Next(Completed(Points(16, 6), Bowl)).ok());
  EXPECT_THAT(s->notes(), Contains(HasSubstr("acquisition spread")));
  EXPECT_THAT(s->notes(), Not(Contains(HasSubstr("flat acquisition"))));
}

TEST(GpFlatGateTest, OffWhenFlatAcquisitionIsZero) {
  GpSamplerOptions gp;
  gp.flat_acquisition = 0;
  auto s = *GpSampler::Create(UnitBox(), SamplerOptions{core::Goal::kMinimize, 3}, gp);
  ASSERT_TRUE(s->Next(Completed(Points(16, 6), PureNoise)).ok());
  EXPECT_THAT(s->notes(), Not(Contains(HasSubstr("acquisition spread"))));
  EXPECT_THAT(s->notes(), Not(Contains(HasSubstr("short-range"))));
}

}  // namespace
}  // namespace sweep::samplers

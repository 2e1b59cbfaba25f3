#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "samplers/factories.h"
#include "tests/unit/samplers/sampler_test_util.h"

namespace sweep::samplers {
namespace {

using core::Config;
using core::Goal;
using core::ParamKind;
using core::ParamValue;
using core::TrialState;
using ::testing::HasSubstr;
using namespace sweep::samplers::testing;  // NOLINT: test builders

std::unique_ptr<Sampler> MakeTpe(const core::SearchSpace& space, uint64_t seed,
                                 Goal goal = Goal::kMinimize) {
  auto s = MakeTpeSampler(space, {goal, seed});
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? std::move(*s) : nullptr;
}

std::unique_ptr<Sampler> MakeRandom(const core::SearchSpace& space, uint64_t seed) {
  auto s = MakeRandomSampler(space, {Goal::kMinimize, seed});
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? std::move(*s) : nullptr;
}

core::SearchSpace Plane() { return Space({Uniform("x", -5, 5), Uniform("y", -5, 5)}); }

double Quadratic(const Config& c) {
  double x = std::get<double>(c.at("x")), y = std::get<double>(c.at("y"));
  return (x - 1.5) * (x - 1.5) + (y + 2) * (y + 2);
}

double BestOf(const std::vector<Config>& configs, double (*f)(const Config&)) {
  double best = INFINITY;
  for (const Config& c : configs) best = std::min(best, f(c));
  return best;
}

TEST(TpeSamplerTest, BeatsRandomOnAQuadratic) {
  // Deterministic given the seeds: the margin is about the algorithm, not luck.
  constexpr int kSeeds = 20, kTrials = 60;
  double tpe_sum = 0, random_sum = 0;
  int tpe_wins = 0;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    double tpe = BestOf(RunTrials(*MakeTpe(Plane(), seed), kTrials, Quadratic), Quadratic);
    double rnd = BestOf(RunTrials(*MakeRandom(Plane(), seed), kTrials, Quadratic), Quadratic);
    tpe_sum += tpe;
    random_sum += rnd;
    tpe_wins += tpe < rnd;
  }
  double tpe_mean = tpe_sum / kSeeds, random_mean = random_sum / kSeeds;
  EXPECT_LT(tpe_mean, 0.5 * random_mean) << "tpe " << tpe_mean << " random " << random_mean;
  EXPECT_GE(tpe_wins, 14);
}

TEST(TpeSamplerTest, SameSeedSameSuggestions) {
  std::vector<Config> a = RunTrials(*MakeTpe(Plane(), 3), 30, Quadratic);
  std::vector<Config> b = RunTrials(*MakeTpe(Plane(), 3), 30, Quadratic);
  std::vector<Config> c = RunTrials(*MakeTpe(Plane(), 4), 30, Quadratic);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  // A fresh sampler resumes the sequence from the recorded history.
  History h;
  RunTrials(*MakeTpe(Plane(), 3), 25, h, Quadratic);
  auto next = MakeTpe(Plane(), 3)->Next(h);
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ(**next, a[25]);
}

TEST(TpeSamplerTest, MaximizingTheNegationIsTheSameSearch) {
  std::vector<Config> lo = RunTrials(*MakeTpe(Plane(), 8, Goal::kMinimize), 30, Quadratic);
  std::vector<Config> hi =
      RunTrials(*MakeTpe(Plane(), 8, Goal::kMaximize), 30,
                [](const Config& c) -> std::optional<double> { return -Quadratic(c); });
  EXPECT_EQ(lo, hi);
  // And the goal matters: maximizing the quadratic itself heads elsewhere.
  std::vector<Config> wrong = RunTrials(*MakeTpe(Plane(), 8, Goal::kMaximize), 30, Quadratic);
  EXPECT_NE(lo, wrong);
  EXPECT_GT(BestOf(std::vector<Config>(wrong.begin() + 10, wrong.end()), Quadratic),
            BestOf(std::vector<Config>(lo.begin() + 10, lo.end()), Quadratic));
}

// Suggestion for the next trial after `h`.
Config NextAfter(const core::SearchSpace& space, const History& h, uint64_t seed = 5) {
  auto next = MakeTpe(space, seed)->Next(h);
  EXPECT_TRUE(next.ok() && next->has_value());
  return next.ok() && next->has_value() ? **next : Config{};
}

History Observed(int n, uint64_t seed) {
  History h;
  RunTrials(*MakeRandom(Plane(), seed), n, h, Quadratic);
  return h;
}

TEST(TpeSamplerTest, TrialsWithoutAFiniteValueAreNotObservations) {
  History h = Observed(20, 11);
  // Trial 20 turns into each kind of "no value"; the suggestion must be the same.
  std::vector<Config> got;
  for (auto [state, value] : std::vector<std::pair<TrialState, std::optional<double>>>{
           {TrialState::kFailed, std::nullopt},
           {TrialState::kFailed, 0.0},
           {TrialState::kCompleted, NAN},
           {TrialState::kCompleted, INFINITY},
           {TrialState::kCompleted, -INFINITY},
           {TrialState::kCompleted, std::nullopt},
           {TrialState::kPending, std::nullopt},
           {TrialState::kRunning, -100.0},
           {TrialState::kCanceled, std::nullopt},
       }) {
    History v = h;
    v.trials[19].state = state;
    v.trials[19].value = value;
    got.push_back(NextAfter(Plane(), v));
  }
  for (const Config& c : got) EXPECT_EQ(c, got[0]);
  // An early-terminated trial with a value is an observation: a very good value there
  // changes the model (with 19 others, it becomes the only "good" one).
  History et = h;
  et.trials[19].state = TrialState::kEarlyTerminated;
  et.trials[19].value = -1000.0;
  EXPECT_NE(NextAfter(Plane(), et), got[0]);
}

TEST(TpeSamplerTest, StartsRandomUntilTenObservations) {
  // With nine finite observations the model is not used, so the values do not matter.
  History h = Observed(9, 2);
  History flipped = h;
  for (Observation& o : flipped.trials) o.value = -*o.value;
  EXPECT_EQ(NextAfter(Plane(), h), NextAfter(Plane(), flipped));
  // With ten it is: flipping the values flips good and bad.
  History h10 = Observed(10, 2);
  History flipped10 = h10;
  for (Observation& o : flipped10.trials) o.value = -*o.value;
  EXPECT_NE(NextAfter(Plane(), h10), NextAfter(Plane(), flipped10));
}

TEST(TpeSamplerTest, NaNValuesInHistoryDoNotCrash) {
  History h = Observed(30, 4);
  for (size_t i = 0; i < h.trials.size(); i += 3) h.trials[i].value = NAN;
  for (size_t i = 1; i < h.trials.size(); i += 7) h.trials[i].value = INFINITY;
  auto s = MakeTpe(Plane(), 1);
  std::vector<Config> more = RunTrials(*s, 10, h, Quadratic);
  EXPECT_EQ(more.size(), 10u);
}

TEST(TpeSamplerTest, LearnsTheBestCategory) {
  core::SearchSpace space = Space({
      Choice("opt", {std::string("a"), std::string("b"), std::string("c"), std::string("d"),
                     std::string("e")}),
      Uniform("x", 0, 1),
  });
  auto f = [](const Config& c) -> std::optional<double> {
    double x = std::get<double>(c.at("x"));
    return (std::get<std::string>(c.at("opt")) == "c" ? 0.0 : 1.0) + 0.1 * x;
  };
  int c_late = 0;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    std::vector<Config> all = RunTrials(*MakeTpe(space, seed), 40, f);
    for (size_t i = 20; i < all.size(); ++i) {
      c_late += std::get<std::string>(all[i].at("opt")) == "c";
    }
  }
  // Random would pick "c" 1 time in 5 (20 of 100).
  EXPECT_GE(c_late, 40) << c_late;
}

TEST(TpeSamplerTest, CategoricalOnlySpaceExhaustsWithoutDuplicates) {
  core::SearchSpace space = Space({
      Choice("a", {std::string("x"), std::string("y"), std::string("z")}),
      Choice("b", {int64_t{1}, int64_t{2}, int64_t{3}, int64_t{4}}),
      Randint("r", 1),
  });
  auto f = [](const Config& c) -> std::optional<double> {
    return static_cast<double>(std::get<int64_t>(c.at("b")));
  };
  History h;
  std::vector<Config> all = RunTrials(*MakeTpe(space, 6), 100, h, f);
  EXPECT_EQ(all.size(), 12u);
  std::set<std::string> keys;
  for (const Config& c : all) keys.insert(core::ConfigKey(c));
  EXPECT_EQ(keys.size(), 12u);
  auto done = MakeTpe(space, 6)->Next(h);
  ASSERT_TRUE(done.ok());
  EXPECT_FALSE(done->has_value());
}

TEST(TpeSamplerTest, NestedSpaceFindsTheGoodBranch) {
  core::SearchSpace space = Space({
      NestedChoice("model", {{Uniform("C", 0, 10)},
                             {Randint("depth", 8), NestedChoice("k", {{Uniform("g", 0, 1)}, {}})}}),
  });
  // Branch 1 near depth 5 is best; C, g and k matter less.
  auto f = [](const Config& c) -> std::optional<double> {
    if (std::get<int64_t>(c.at("model")) == 0) return 10 + std::get<double>(c.at("C"));
    double v = std::abs(std::get<int64_t>(c.at("depth")) - 5.0);
    return v + (c.count("g") ? std::get<double>(c.at("g")) : 0.5);
  };
  int good_late = 0;
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    std::vector<Config> all = RunTrials(*MakeTpe(space, seed, Goal::kMinimize), 40, f);
    ASSERT_EQ(all.size(), 40u);
    for (const Config& c : all) {
      // Only the chosen branches' parameters are present.
      if (std::get<int64_t>(c.at("model")) == 0) {
        EXPECT_EQ(c.size(), 2u);
      } else {
        EXPECT_EQ(c.count("C"), 0u);
        EXPECT_EQ(c.count("g") > 0, std::get<int64_t>(c.at("k")) == 0);
      }
    }
    for (size_t i = 20; i < all.size(); ++i) {
      const Config& c = all[i];
      good_late += std::get<int64_t>(c.at("model")) == 1 &&
                   std::abs(std::get<int64_t>(c.at("depth")) - 5) <= 1;
    }
  }
  // Random lands there 1/2 * 3/8 of the time (19 of 100).
  EXPECT_GE(good_late, 50) << good_late;
}

TEST(TpeSamplerTest, EveryKindAndOnePointRanges) {
  core::SearchSpace space = Space({
      Randint("r", 1),
      Randint("r5", 5),
      Range("one", ParamKind::kQUniform, 1.1, 1.3, 1),
      Range("lu", ParamKind::kLogUniform, -5, 0),
      Range("qlu", ParamKind::kQLogUniform, 0, 4, 1),
      Normal("n", ParamKind::kNormal, 0, 1),
      Normal("qn", ParamKind::kQNormal, 10, 3, 0.5),
      Normal("ln", ParamKind::kLogNormal, 0, 1),
      Normal("qln", ParamKind::kQLogNormal, 1, 1, 0.1),
  });
  auto f = [](const Config& c) -> std::optional<double> {
    return std::abs(std::get<double>(c.at("n")) - 1) + std::get<double>(c.at("lu"));
  };
  std::vector<Config> all = RunTrials(*MakeTpe(space, 1), 30, f);
  ASSERT_EQ(all.size(), 30u);
  for (const Config& c : all) {
    EXPECT_EQ(c.at("r"), ParamValue(int64_t{0}));
    EXPECT_EQ(c.at("one"), ParamValue(1.0));
    int64_t r5 = std::get<int64_t>(c.at("r5"));
    EXPECT_TRUE(r5 >= 0 && r5 < 5);
    double lu = std::get<double>(c.at("lu"));
    EXPECT_TRUE(lu >= std::exp(-5.0) && lu <= 1.0);
    EXPECT_EQ(std::fmod(std::get<double>(c.at("qn")), 0.5), 0.0);
    EXPECT_GE(std::get<double>(c.at("ln")), 0.0);
  }
}

TEST(TpeSamplerTest, BadSpacesAreRejected) {
  auto s = MakeTpeSampler(Space({Normal("n", ParamKind::kNormal, 0, -1)}), {});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("'n' (normal): sigma must be"));
  auto empty = MakeTpeSampler(Space({}), {});
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(std::string(empty.status().message()), HasSubstr("search space is empty"));
}

}  // namespace
}  // namespace sweep::samplers

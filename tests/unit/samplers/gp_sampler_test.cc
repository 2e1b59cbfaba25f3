#include "samplers/gp_sampler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <set>

#include "samplers/factories.h"

namespace sweep::samplers {
namespace {

using core::Config;
using core::ParamKind;
using core::ParamSpec;
using core::SearchSpace;
using core::TrialState;
using ::testing::HasSubstr;

ParamSpec Uniform(const std::string& name, double lo, double hi) {
  ParamSpec p;
  p.name = name;
  p.kind = ParamKind::kUniform;
  p.min_value = lo;
  p.max_value = hi;
  return p;
}

ParamSpec Choice(const std::string& name, std::vector<core::ParamValue> values) {
  ParamSpec p;
  p.name = name;
  p.kind = ParamKind::kChoice;
  for (auto& v : values) p.options.push_back(core::ChoiceOption{v, false, {}});
  return p;
}

double Num(const Config& c, const std::string& name) {
  const core::ParamValue& v = c.at(name);
  if (auto* d = std::get_if<double>(&v)) return *d;
  return static_cast<double>(std::get<int64_t>(v));
}

SearchSpace Box2() { return SearchSpace{{Uniform("x", -2, 2), Uniform("y", -2, 2)}}; }

double Bowl(const Config& c) {
  return std::pow(Num(c, "x") - 0.7, 2) + std::pow(Num(c, "y") + 0.4, 2);
}

std::unique_ptr<GpSampler> Make(const SearchSpace& space, core::Goal goal, uint64_t seed) {
  auto s = GpSampler::Create(space, SamplerOptions{goal, seed});
  EXPECT_TRUE(s.ok()) << s.status();
  return *std::move(s);
}

// Runs n sequential trials of f, returning the history.
History RunTrials(GpSampler& sampler, int n, const std::function<double(const Config&)>& f) {
  History h;
  for (int i = 0; i < n; ++i) {
    auto next = sampler.Next(h);
    EXPECT_TRUE(next.ok()) << next.status();
    if (!next.ok() || !next->has_value()) break;
    h.trials.push_back({**next, TrialState::kCompleted, f(**next), 1});
  }
  return h;
}

TEST(GpSamplerTest, SameSeedSameSuggestionsDifferentSeedDifferent) {
  auto a = Make(Box2(), core::Goal::kMinimize, 42);
  auto b = Make(Box2(), core::Goal::kMinimize, 42);
  auto c = Make(Box2(), core::Goal::kMinimize, 43);
  History ha = RunTrials(*a, 14, Bowl), hb = RunTrials(*b, 14, Bowl), hc = RunTrials(*c, 14, Bowl);
  ASSERT_EQ(ha.trials.size(), 14u);
  ASSERT_EQ(hb.trials.size(), 14u);
  int differ = 0;
  for (int i = 0; i < 14; ++i) {
    EXPECT_EQ(ha.trials[i].config, hb.trials[i].config) << "trial " << i + 1;
    differ += ha.trials[i].config != hc.trials[i].config;
  }
  EXPECT_GT(differ, 10);
}

TEST(GpSamplerTest, MinimisesASmoothBowl) {
  auto s = Make(Box2(), core::Goal::kMinimize, 1);
  History h = RunTrials(*s, 25, Bowl);
  double best = 1e9;
  for (const auto& t : h.trials) best = std::min(best, *t.value);
  EXPECT_LT(best, 1e-3);
  ASSERT_TRUE(s->hyperparameters().has_value());
}

SearchSpace Box(int dims, double lo, double hi) {
  SearchSpace space;
  for (int j = 0; j < dims; ++j) space.params.push_back(Uniform("x" + std::to_string(j), lo, hi));
  return space;
}

double StyblinskiTang(const Config& c) {
  double total = 0;
  for (int j = 0; c.count("x" + std::to_string(j)); ++j) {
    const double v = Num(c, "x" + std::to_string(j));
    total += 0.5 * (v * v * v * v - 16 * v * v + 5 * v);
  }
  return total;
}

double Best(const History& h) {
  double best = 1e300;
  for (const auto& t : h.trials) best = std::min(best, *t.value);
  return best;
}

TEST(GpSamplerTest, SeparableObjectiveSelectsTheAdditiveKernelAndGainsFromIt) {
  // A sum of one-dimensional effects with two basins per dimension (minimum -156.66).
  // The prior mean stays zero in both runs, so only the kernel differs.
  GpSamplerOptions zero_mean;
  zero_mean.trend_ridge = 0;
  auto additive = *GpSampler::Create(Box(4, -5, 5), {core::Goal::kMinimize, 3}, zero_mean);
  History h = RunTrials(*additive, 45, StyblinskiTang);
  EXPECT_TRUE(additive->fit_info().additive);
  ASSERT_TRUE(additive->fit_info().additive_lml.has_value());
  EXPECT_GT(*additive->fit_info().additive_lml, additive->fit_info().product_lml);
  GpSamplerOptions product_only = zero_mean;
  product_only.additive = false;
  auto product = *GpSampler::Create(Box(4, -5, 5), {core::Goal::kMinimize, 3}, product_only);
  History hp = RunTrials(*product, 45, StyblinskiTang);
  EXPECT_FALSE(product->fit_info().additive_lml.has_value());
  EXPECT_LT(Best(h), Best(hp));
  EXPECT_LT(Best(h), -150.0);
}

TEST(GpSamplerTest, InteractingObjectiveKeepsTheProductKernel) {
  // A narrow diagonal valley: all of its structure is in the interaction of x0 and x1.
  auto s = Make(Box(2, -1, 1), core::Goal::kMinimize, 4);
  RunTrials(*s, 30, [](const Config& c) {
    const double a = Num(c, "x0"), b = Num(c, "x1");
    return 30 * (a - b) * (a - b) + (a + b - 0.5) * (a + b - 0.5);
  });
  ASSERT_TRUE(s->fit_info().additive_lml.has_value());
  EXPECT_FALSE(s->fit_info().additive);
}

// Levy's function (minimum 0 at x = 1): a quadratic bowl under steep ripples.
double Levy(const Config& c) {
  std::vector<double> w;
  for (int j = 0; c.count("x" + std::to_string(j)); ++j) {
    w.push_back(1 + (Num(c, "x" + std::to_string(j)) - 1) / 4);
  }
  const double pi = std::acos(-1.0);
  double total = std::pow(std::sin(pi * w[0]), 2);
  for (size_t j = 0; j + 1 < w.size(); ++j) {
    total += std::pow(w[j] - 1, 2) * (1 + 10 * std::pow(std::sin(pi * w[j] + 1), 2));
  }
  total += std::pow(w.back() - 1, 2) * (1 + std::pow(std::sin(2 * pi * w.back()), 2));
  return total;
}

TEST(GpSamplerTest, BowlUnderRipplesSelectsTheQuadraticTrendAndGainsFromIt) {
  double with_trend = 0, zero_mean = 0;
  for (uint64_t seed : {1, 2, 3}) {
    auto s = Make(Box(4, -10, 10), core::Goal::kMinimize, seed);
    with_trend += Best(RunTrials(*s, 30, Levy));
    EXPECT_TRUE(s->fit_info().trend) << "seed " << seed;
    ASSERT_TRUE(s->fit_info().trend_lml.has_value());
    EXPECT_GT(*s->fit_info().trend_lml - s->fit_info().trend_penalty,
              s->fit_info().zero_mean_lml);
    GpSamplerOptions no_trend;
    no_trend.trend_ridge = 0;
    auto z = *GpSampler::Create(Box(4, -10, 10), {core::Goal::kMinimize, seed}, no_trend);
    zero_mean += Best(RunTrials(*z, 30, Levy));
    EXPECT_FALSE(z->fit_info().trend);
    EXPECT_FALSE(z->fit_info().trend_lml.has_value());
  }
  EXPECT_LT(with_trend, 0.7 * zero_mean) << with_trend << " against " << zero_mean;
}

TEST(GpSamplerTest, ObjectiveWithoutABowlKeepsTheZeroMean) {
  // Equal basins on a lattice: nothing a quadratic could explain.
  auto s = Make(Box(2, 0, 1), core::Goal::kMinimize, 5);
  RunTrials(*s, 30, [](const Config& c) {
    return std::sin(13 * Num(c, "x0")) * std::sin(11 * Num(c, "x1"));
  });
  ASSERT_TRUE(s->fit_info().trend_lml.has_value());
  EXPECT_FALSE(s->fit_info().trend)
      << *s->fit_info().trend_lml << " - " << s->fit_info().trend_penalty << " against "
      << s->fit_info().zero_mean_lml;
}

// Deterministic pseudo-noise in [-1, 1] from the config's coordinates.
double PseudoNoise(const Config& c) {
  const double h = std::sin(12.9898 * Num(c, "x0") + 78.233 * Num(c, "x1")) * 43758.5453;
  return 2 * (h - std::floor(h)) - 1;
}

TEST(GpSamplerTest, NoisyObjectiveIsExploitedAroundThePosteriorMeansBest) {
  // A bowl plus observation noise: with the best observed value as the EI incumbent (a
  // lucky draw) the search keeps exploring far from the bowl's minimum; with the best
  // posterior mean it settles near it.
  auto noisy = [](const Config& c) {
    const double x = Num(c, "x0"), y = Num(c, "x1");
    return x * x + y * y + 0.5 * PseudoNoise(c);
  };
  auto late_distance = [&](bool mean_incumbent) {
    double total = 0;
    for (uint64_t seed : {5, 6, 7}) {
      GpSamplerOptions options;
      options.mean_incumbent = mean_incumbent;
      auto s = *GpSampler::Create(Box(2, -2, 2), {core::Goal::kMinimize, seed}, options);
      History h = RunTrials(*s, 40, noisy);
      for (int i = 30; i < 40; ++i) {
        total += std::hypot(Num(h.trials[i].config, "x0"), Num(h.trials[i].config, "x1"));
      }
    }
    return total / 30;
  };
  const double with_mean = late_distance(true);
  const double with_best = late_distance(false);
  EXPECT_LT(with_mean, 0.5);
  EXPECT_LT(with_mean, with_best);
}

TEST(GpSamplerTest, MaximiseFlipsTheGoal) {
  auto s = Make(Box2(), core::Goal::kMaximize, 2);
  History h = RunTrials(*s, 25, [](const Config& c) { return -Bowl(c); });
  double best = -1e9;
  for (const auto& t : h.trials) best = std::max(best, *t.value);
  EXPECT_GT(best, -1e-3);
}

TEST(GpSamplerTest, ConcurrentSuggestionsAreSpreadOut) {
  auto s = Make(Box2(), core::Goal::kMinimize, 3);
  History h = RunTrials(*s, 10, Bowl);
  // Eight requests while none of them has finished.
  std::vector<Config> batch;
  for (int i = 0; i < 8; ++i) {
    auto next = s->Next(h);
    ASSERT_TRUE(next.ok() && next->has_value());
    batch.push_back(**next);
    h.trials.push_back({**next, i % 2 ? TrialState::kRunning : TrialState::kPending, {}, 0});
  }
  for (int i = 0; i < 8; ++i) {
    for (int j = i + 1; j < 8; ++j) {
      const double dist = std::hypot(Num(batch[i], "x") - Num(batch[j], "x"),
                                     Num(batch[i], "y") - Num(batch[j], "y"));
      // The range is 4 wide. The quadratic trend knows this bowl exactly after 10
      // trials, so the batch stays close to its minimum, but never on one point.
      EXPECT_GT(dist, 0.03) << "suggestions " << i << " and " << j;
    }
  }
}

TEST(GpSamplerTest, WithoutPendingAccountingTheSamePointWouldRepeat) {
  // Control for the test above: the suggestion given pending trials differs from the
  // one given the same finished trials only.
  auto s = Make(Box2(), core::Goal::kMinimize, 3);
  History h = RunTrials(*s, 10, Bowl);
  auto first = s->Next(h);
  ASSERT_TRUE(first.ok() && first->has_value());
  auto again = s->Next(h);
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ(**first, **again);
  h.trials.push_back({**first, TrialState::kRunning, {}, 0});
  auto second = s->Next(h);
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_NE(**first, **second);
}

TEST(GpSamplerTest, OnlyCategoricalChoicesAreEnumeratedWithoutRepeats) {
  SearchSpace space{{Choice("opt", {std::string("sgd"), std::string("adam"), std::string("rms")}),
                     Choice("bn", {true, false})}};
  auto s = Make(space, core::Goal::kMaximize, 4);
  auto score = [](const Config& c) {
    return (std::get<std::string>(c.at("opt")) == "adam" ? 1.0 : 0.0) +
           (std::get<bool>(c.at("bn")) ? 0.5 : 0.0);
  };
  History h = RunTrials(*s, 10, score);
  ASSERT_EQ(h.trials.size(), 6u);  // then exhausted
  std::set<std::string> keys;
  for (const auto& t : h.trials) keys.insert(core::ConfigKey(t.config));
  EXPECT_EQ(keys.size(), 6u);
  auto done = s->Next(h);
  ASSERT_TRUE(done.ok());
  EXPECT_FALSE(done->has_value());
}

TEST(GpSamplerTest, OnePointSpacesAndRanges) {
  ParamSpec fixed_int;
  fixed_int.name = "k";
  fixed_int.kind = ParamKind::kRandint;
  fixed_int.upper = 1;
  SearchSpace constant{{Choice("c", {int64_t{7}}), fixed_int}};
  auto s = Make(constant, core::Goal::kMinimize, 5);
  History h = RunTrials(*s, 3, [](const Config&) { return 1.0; });
  ASSERT_EQ(h.trials.size(), 1u);
  EXPECT_EQ(std::get<int64_t>(h.trials[0].config.at("c")), 7);
  EXPECT_EQ(std::get<int64_t>(h.trials[0].config.at("k")), 0);

  SearchSpace point{{Uniform("lr", 0.1, 0.1)}};
  auto bad = GpSampler::Create(point, SamplerOptions{});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("'lr'"));
  EXPECT_THAT(bad.status().message(), HasSubstr("must be greater than min_value"));
  auto via_factory = MakeSampler(Algorithm::kBayesian, point, SamplerOptions{});
  EXPECT_FALSE(via_factory.ok());
}

TEST(GpSamplerTest, NonFiniteAndMissingValuesAreImputedWithReasons) {
  auto s = Make(Box2(), core::Goal::kMinimize, 6);
  History h = RunTrials(*s, 8, Bowl);
  h.trials[1].value = std::nan("");
  h.trials[2].value = std::numeric_limits<double>::infinity();
  h.trials[3].value = -std::numeric_limits<double>::infinity();
  h.trials[4].value.reset();
  h.trials[5].state = TrialState::kFailed;
  h.trials[5].value.reset();
  auto next = s->Next(h);
  ASSERT_TRUE(next.ok()) << next.status();
  ASSERT_TRUE(next->has_value());
  const auto& notes = s->notes();
  auto has = [&](const std::string& text) {
    for (const auto& n : notes)
      if (n.find(text) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(has("trial 2: completed but has objective value NaN; used as the worst value seen"));
  EXPECT_TRUE(has("trial 3: completed but has objective value +inf"));
  EXPECT_TRUE(has("trial 4: completed but has objective value -inf"));
  EXPECT_TRUE(has("trial 5: completed but has no objective value"));
  EXPECT_TRUE(has("trial 6: failed; not used by the model"));
  const double x = Num(**next, "x"), y = Num(**next, "y");
  EXPECT_TRUE(std::isfinite(x) && std::isfinite(y));
}

TEST(GpSamplerTest, AllValuesNonFiniteFallsBackToTheDesign) {
  auto s = Make(Box2(), core::Goal::kMinimize, 7);
  History h;
  for (int i = 0; i < 8; ++i) {
    auto next = s->Next(h);
    ASSERT_TRUE(next.ok() && next->has_value());
    h.trials.push_back({**next, TrialState::kCompleted, std::nan(""), 1});
  }
  std::set<std::string> keys;
  for (const auto& t : h.trials) keys.insert(core::ConfigKey(t.config));
  EXPECT_EQ(keys.size(), 8u);
}

TEST(GpSamplerTest, HugeOutliersDoNotBreakTheModel) {
  auto s = Make(Box2(), core::Goal::kMinimize, 8);
  History h = RunTrials(*s, 12, Bowl);
  h.trials[3].value = 1e300;
  h.trials[6].value = 1e30;
  auto next = s->Next(h);
  ASSERT_TRUE(next.ok()) << next.status();
  ASSERT_TRUE(s->hyperparameters().has_value());
  EXPECT_TRUE(s->hyperparameters()->Pack().allFinite());
  // The rest of the data still drives the search towards the bowl's minimum.
  History more = h;
  for (int i = 0; i < 12; ++i) {
    auto n = s->Next(more);
    ASSERT_TRUE(n.ok() && n->has_value());
    more.trials.push_back({**n, TrialState::kCompleted, Bowl(**n), 1});
  }
  double best = 1e9;
  for (size_t i = 12; i < more.trials.size(); ++i) best = std::min(best, *more.trials[i].value);
  EXPECT_LT(best, 1e-2);
}

TEST(GpSamplerTest, EarlyTerminatedTrialsInformTheModel) {
  auto s = Make(Box2(), core::Goal::kMinimize, 9);
  History h = RunTrials(*s, 10, Bowl);
  History as_early = h, as_failed = h;
  // The best trial so far, stopped early with a poor value, steers the search away;
  // were it ignored (failed) the suggestion would differ.
  size_t best = 0;
  for (size_t i = 0; i < h.trials.size(); ++i)
    if (*h.trials[i].value < *h.trials[best].value) best = i;
  as_early.trials[best].state = TrialState::kEarlyTerminated;
  as_early.trials[best].value = 5.0;
  as_failed.trials[best].state = TrialState::kFailed;
  as_failed.trials[best].value.reset();
  auto a = Make(Box2(), core::Goal::kMinimize, 9);
  auto b = Make(Box2(), core::Goal::kMinimize, 9);
  auto ea = a->Next(as_early);
  auto fb = b->Next(as_failed);
  ASSERT_TRUE(ea.ok() && ea->has_value() && fb.ok() && fb->has_value());
  EXPECT_NE(**ea, **fb);
  for (const auto& n : a->notes()) EXPECT_THAT(n, ::testing::Not(HasSubstr("not used")));
}

TEST(GpSamplerTest, NestedChoicesIntegersAndLogScalesDecodeValidConfigs) {
  ParamSpec c = Uniform("C", -5, 5);
  c.kind = ParamKind::kLogUniform;
  ParamSpec trees;
  trees.name = "trees";
  trees.kind = ParamKind::kRandint;
  trees.upper = 50;
  ParamSpec model;
  model.name = "model";
  model.kind = ParamKind::kChoice;
  model.options.push_back(core::ChoiceOption{int64_t{0}, true, {c}});
  model.options.push_back(core::ChoiceOption{int64_t{1}, true, {trees}});
  SearchSpace space{{model, Uniform("lr", 0, 1)}};
  auto f = [](const Config& cfg) {
    const double lr = Num(cfg, "lr");
    if (std::get<int64_t>(cfg.at("model")) == 0) {
      return std::pow(std::log(Num(cfg, "C")) - 1.0, 2) + lr;
    }
    return 0.5 + std::abs(Num(cfg, "trees") - 30) / 10.0 + lr;
  };
  auto s = Make(space, core::Goal::kMinimize, 10);
  History h = RunTrials(*s, 25, f);
  ASSERT_EQ(h.trials.size(), 25u);
  int svm = 0, rf = 0;
  for (const auto& t : h.trials) {
    const int64_t m = std::get<int64_t>(t.config.at("model"));
    if (m == 0) {
      ++svm;
      EXPECT_TRUE(t.config.count("C") && !t.config.count("trees"));
      EXPECT_GT(Num(t.config, "C"), std::exp(-5.0) * 0.999);
      EXPECT_LT(Num(t.config, "C"), std::exp(5.0) * 1.001);
    } else {
      ++rf;
      EXPECT_TRUE(t.config.count("trees") && !t.config.count("C"));
      EXPECT_TRUE(std::holds_alternative<int64_t>(t.config.at("trees")));
    }
  }
  EXPECT_GT(svm, 0);
  EXPECT_GT(rf, 0);
  double best = 1e9;
  for (const auto& t : h.trials) best = std::min(best, *t.value);
  EXPECT_LT(best, 0.1);
}

TEST(GpSamplerTest, ManyTrialsUseTheCappedModel) {
  SearchSpace space{{Uniform("a", 0, 1), Uniform("b", 0, 1), Uniform("c", 0, 1)}};
  GpSamplerOptions gp;
  gp.max_model_points = 120;
  gp.max_fit_points = 80;
  gp.refit_all_below = 40;
  auto created = GpSampler::Create(space, SamplerOptions{core::Goal::kMinimize, 11}, gp);
  ASSERT_TRUE(created.ok());
  GpSampler& s = **created;
  History h;
  // A long history of quasi-random points, then a few model suggestions.
  auto f = [](const Config& c) {
    return std::pow(Num(c, "a") - 0.3, 2) + std::pow(Num(c, "b") - 0.6, 2) + Num(c, "c");
  };
  for (int i = 0; i < 200; ++i) {
    Config cfg{{"a", (i * 0.618034) - std::floor(i * 0.618034)},
               {"b", (i * 0.414214) - std::floor(i * 0.414214)},
               {"c", (i * 0.732051) - std::floor(i * 0.732051)}};
    h.trials.push_back({cfg, TrialState::kCompleted, f(cfg), 1});
  }
  for (int i = 0; i < 5; ++i) {
    auto next = s.Next(h);
    ASSERT_TRUE(next.ok() && next->has_value()) << next.status();
    h.trials.push_back({**next, TrialState::kCompleted, f(**next), 1});
  }
  EXPECT_LT(*h.trials.back().value, 0.2);
}

}  // namespace
}  // namespace sweep::samplers

namespace sweep::samplers {
namespace {

// Two basins; the history has converged on the shallower one at (0.2, 0.2) and holds
// one point on the slope of the deeper one at (0.8, 0.7).
double TwoBasins(double x, double y) {
  return -std::exp(-(std::pow(x - 0.2, 2) + std::pow(y - 0.2, 2)) / 0.01) -
         1.2 * std::exp(-(std::pow(x - 0.8, 2) + std::pow(y - 0.7, 2)) / 0.01);
}

History ConvergedHistory(int trials) {
  History h;
  auto add = [&](double x, double y) {
    h.trials.push_back({Config{{"x", x}, {"y", y}}, TrialState::kCompleted, TwoBasins(x, y), 1});
  };
  const double design[6][2] = {{0.5, 0.5}, {0.1, 0.9}, {0.9, 0.1},
                               {0.3, 0.6}, {0.6, 0.3}, {0.75, 0.6}};
  for (const auto& p : design) add(p[0], p[1]);
  // The climb into the first basin.
  const double climb[6][2] = {{0.3, 0.3},  {0.12, 0.2}, {0.2, 0.1},
                              {0.2, 0.28}, {0.25, 0.2}, {0.22, 0.21}};
  for (const auto& p : climb) add(p[0], p[1]);
  for (int i = 0; static_cast<int>(h.trials.size()) < trials; ++i) {
    add(0.2 + 0.004 * std::sin(i), 0.2 + 0.004 * std::cos(1.7 * i));
  }
  return h;
}

TEST(GpSamplerTest, ConvergedSearchExploresASecondBasin) {
  SearchSpace space{{Uniform("x", 0, 1), Uniform("y", 0, 1)}};
  auto s = Make(space, core::Goal::kMinimize, 12);
  History h = ConvergedHistory(31);  // 31 % 3 != 0: an exploration step
  auto next = s->Next(h);
  ASSERT_TRUE(next.ok() && next->has_value()) << next.status();
  bool noted = false;
  for (const auto& n : s->notes()) {
    noted = noted || (n.find("converged near trial") != std::string::npos &&
                      n.find("exploring around trial 6") != std::string::npos);
  }
  EXPECT_TRUE(noted);
  EXPECT_LE(std::abs(Num(**next, "x") - 0.75), 0.15 + 1e-9);
  EXPECT_LE(std::abs(Num(**next, "y") - 0.6), 0.15 + 1e-9);

  // Every third step keeps refining the incumbent's basin.
  auto t = Make(space, core::Goal::kMinimize, 12);
  History refine = ConvergedHistory(30);
  auto r = t->Next(refine);
  ASSERT_TRUE(r.ok() && r->has_value());
  for (const auto& n : t->notes()) EXPECT_THAT(n, ::testing::Not(HasSubstr("exploring")));
}

}  // namespace
}  // namespace sweep::samplers

namespace sweep::samplers {
namespace {

TEST(GpSamplerTest, TrustRegionStepsStayInTheBoxAroundTheBestTrial) {
  // One dimension: the box's weight is 1, so its side is the region's length.
  const SearchSpace line{{Uniform("x", 0, 1)}};
  auto f = [](const Config& c) {
    return std::abs(Num(c, "x") - 0.3) + 0.1 * std::sin(40 * Num(c, "x"));
  };
  GpSamplerOptions gp;
  gp.trust_region = GpSamplerOptions::TrustRegionUse::kAlways;
  gp.global_every = 3;
  for (uint64_t seed : {1, 2, 3}) {
    auto made = GpSampler::Create(line, SamplerOptions{core::Goal::kMinimize, seed}, gp);
    ASSERT_TRUE(made.ok()) << made.status();
    GpSampler& s = **made;
    History h = RunTrials(s, 13, f);
    ASSERT_EQ(h.trials.size(), 13u);
    size_t best = 0;
    for (size_t i = 1; i < h.trials.size(); ++i) {
      if (*h.trials[i].value < *h.trials[best].value) best = i;
    }
    auto next = s.Next(h);  // trial 14: a trust-region step (14 % 3 != 0)
    ASSERT_TRUE(next.ok() && next->has_value());
    std::string note;
    for (const std::string& n : s.notes()) {
      if (n.rfind("trust region around trial ", 0) == 0) note = n;
    }
    ASSERT_THAT(note, HasSubstr("trust region around trial " + std::to_string(best + 1) + ","));
    const double side = std::stod(note.substr(note.find("side ") + 5));
    EXPECT_LE(std::abs(Num(**next, "x") - Num(h.trials[best].config, "x")), side / 2 + 1e-9)
        << note;
    // A fresh sampler with the same seed suggests the same from the same history.
    auto fresh = GpSampler::Create(line, SamplerOptions{core::Goal::kMinimize, seed}, gp);
    ASSERT_TRUE(fresh.ok());
    auto again = (*fresh)->Next(h);
    ASSERT_TRUE(again.ok() && again->has_value());
    EXPECT_EQ(**again, **next);
    // Every third suggestion (15 trials in the history) is global: no region.
    h.trials.push_back({**next, TrialState::kCompleted, f(**next), 1});
    auto more = s.Next(h);
    ASSERT_TRUE(more.ok() && more->has_value());
    h.trials.push_back({**more, TrialState::kCompleted, f(**more), 1});
    ASSERT_TRUE(s.Next(h).ok());
    for (const std::string& n : s.notes())
      EXPECT_THAT(n, ::testing::Not(HasSubstr("trust region")));
  }
}

}  // namespace
}  // namespace sweep::samplers

namespace sweep::samplers {
namespace {

TEST(GpSamplerTest, ByDefaultTheTrustRegionIsUsedSequentiallyAndInFlight) {
  auto has_region = [](const GpSampler& s) {
    for (const std::string& n : s.notes()) {
      if (n.rfind("trust region around trial ", 0) == 0) return true;
    }
    return false;
  };
  auto s = Make(Box2(), core::Goal::kMinimize, 4);
  History h = RunTrials(*s, 13, Bowl);
  ASSERT_TRUE(s->Next(h).ok());  // 13 trials, none in flight: a region step
  EXPECT_TRUE(has_region(*s));
  // kWhilePending: sequential steps are global, a step with a trial in flight is not.
  GpSamplerOptions pending_only;
  pending_only.trust_region = GpSamplerOptions::TrustRegionUse::kWhilePending;
  auto pending = GpSampler::Create(Box2(), SamplerOptions{core::Goal::kMinimize, 4}, pending_only);
  ASSERT_TRUE(pending.ok());
  ASSERT_TRUE((*pending)->Next(h).ok());
  EXPECT_FALSE(has_region(**pending));
  auto next = s->Next(h);
  ASSERT_TRUE(next.ok() && next->has_value());
  h.trials.push_back({**next, TrialState::kRunning, {}, 0});
  ASSERT_TRUE((*pending)->Next(h).ok());  // 14 trials, one in flight
  EXPECT_TRUE(has_region(**pending));
  // Never: no region even with trials in flight.
  GpSamplerOptions gp;
  gp.trust_region = GpSamplerOptions::TrustRegionUse::kNever;
  auto never = GpSampler::Create(Box2(), SamplerOptions{core::Goal::kMinimize, 4}, gp);
  ASSERT_TRUE(never.ok());
  ASSERT_TRUE((*never)->Next(h).ok());
  for (const std::string& n : (*never)->notes()) EXPECT_THAT(n, ::testing::Not(HasSubstr("trust")));
}

}  // namespace
}  // namespace sweep::samplers

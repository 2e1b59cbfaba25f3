#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
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

std::unique_ptr<Sampler> MakeRandom(const core::SearchSpace& space, uint64_t seed = 1) {
  auto s = MakeRandomSampler(space, {core::Goal::kMaximize, seed});
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? std::move(*s) : nullptr;
}

// Draws for trials 1..n. The history holds placeholder trials (empty configs), which
// fixes the trial number without making any real config "seen", so the draws are the
// sampler's plain distribution even in a finite space.
std::vector<Config> Draws(Sampler& s, int n) {
  History h;
  std::vector<Config> out;
  for (int i = 0; i < n; ++i) {
    auto c = s.Next(h);
    EXPECT_TRUE(c.ok() && c->has_value());
    if (!c.ok() || !c->has_value()) break;
    out.push_back(**c);
    h.trials.push_back(Obs(Config{}));
  }
  return out;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

TEST(RandomSamplerTest, RandintBucketsAreUniform) {
  auto s = MakeRandom(Space({Randint("r", 4)}));
  std::vector<int> counts(4);
  for (const Config& c : Draws(*s, 4000)) ++counts[std::get<int64_t>(c.at("r"))];
  for (int c : counts) EXPECT_NEAR(c, 1000, 200);
}

TEST(RandomSamplerTest, DistributionsOfEveryKind) {
  auto s = MakeRandom(Space({
      Choice("c", {std::string("a"), std::string("b"), std::string("c")}),
      Uniform("u", -1, 3),
      Range("lu", ParamKind::kLogUniform, -4, 2),
      Normal("n", ParamKind::kNormal, 3, 2),
      Normal("ln", ParamKind::kLogNormal, 0, 0.5),
      Range("qu", ParamKind::kQUniform, 0, 10, 2.5),
      Normal("qn", ParamKind::kQNormal, 0, 4, 2),
  }));
  std::vector<Config> draws = Draws(*s, 4000);
  ASSERT_EQ(draws.size(), 4000u);
  std::map<std::string, int> cats;
  std::vector<double> u, lu, n, ln;
  std::set<double> qu;
  for (const Config& c : draws) {
    ++cats[std::get<std::string>(c.at("c"))];
    u.push_back(std::get<double>(c.at("u")));
    lu.push_back(std::get<double>(c.at("lu")));
    n.push_back(std::get<double>(c.at("n")));
    ln.push_back(std::get<double>(c.at("ln")));
    qu.insert(std::get<double>(c.at("qu")));
    double qn = std::get<double>(c.at("qn"));
    EXPECT_EQ(std::fmod(qn, 2.0), 0.0) << qn;
  }
  for (const char* k : {"a", "b", "c"}) EXPECT_NEAR(cats[k], 4000 / 3.0, 4000 / 3.0 * 0.2);
  double mean_u = std::accumulate(u.begin(), u.end(), 0.0) / u.size();
  EXPECT_NEAR(mean_u, 1.0, 0.1);
  EXPECT_GE(*std::min_element(u.begin(), u.end()), -1.0);
  EXPECT_LE(*std::max_element(u.begin(), u.end()), 3.0);
  // Log-uniform: the median sits at exp of the middle exponent.
  EXPECT_NEAR(std::log(Median(lu)), -1.0, 0.25);
  EXPECT_GE(*std::min_element(lu.begin(), lu.end()), std::exp(-4.0));
  EXPECT_LE(*std::max_element(lu.begin(), lu.end()), std::exp(2.0));
  // Normal: mean mu, standard deviation sigma (the inverse CDF, not a uniform).
  double mean_n = std::accumulate(n.begin(), n.end(), 0.0) / n.size();
  double var_n = 0;
  for (double v : n) var_n += (v - mean_n) * (v - mean_n) / n.size();
  EXPECT_NEAR(mean_n, 3.0, 0.15);
  EXPECT_NEAR(std::sqrt(var_n), 2.0, 0.15);
  int within_one_sigma =
      std::count_if(n.begin(), n.end(), [](double v) { return std::abs(v - 3.0) < 2.0; });
  EXPECT_NEAR(within_one_sigma / 4000.0, 0.6827, 0.03);
  EXPECT_NEAR(Median(ln), 1.0, 0.05);
  EXPECT_EQ(qu, (std::set<double>{0, 2.5, 5, 7.5, 10}));
}

TEST(RandomSamplerTest, NestedBranchesUniformAndOnlyActiveParams) {
  auto s = MakeRandom(Space({NestedChoice(
      "model", {{Uniform("C", 0, 1), NestedChoice("kernel", {{Uniform("gamma", 0, 1)}, {}})},
                {Randint("n", 10)}})}));
  int svm = 0, rbf = 0;
  for (const Config& c : Draws(*s, 2000)) {
    int64_t m = std::get<int64_t>(c.at("model"));
    if (m == 0) {
      ++svm;
      EXPECT_TRUE(c.count("C") && c.count("kernel"));
      EXPECT_FALSE(c.count("n"));
      bool has_gamma = c.count("gamma") > 0;
      EXPECT_EQ(has_gamma, std::get<int64_t>(c.at("kernel")) == 0);
      rbf += has_gamma;
      EXPECT_EQ(c.size(), has_gamma ? 4u : 3u);
    } else {
      EXPECT_EQ(c.size(), 2u);
      EXPECT_TRUE(c.count("n"));
    }
  }
  EXPECT_NEAR(svm, 1000, 200);
  EXPECT_NEAR(rbf, svm / 2.0, svm * 0.1);
}

TEST(RandomSamplerTest, SameSeedSameSequenceDifferentSeedDifferent) {
  core::SearchSpace space = Space({Uniform("x", 0, 1), Randint("r", 100)});
  std::vector<Config> a = RunTrials(*MakeRandom(space, 5), 30);
  std::vector<Config> b = RunTrials(*MakeRandom(space, 5), 30);
  std::vector<Config> c = RunTrials(*MakeRandom(space, 6), 30);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(RandomSamplerTest, TrialNumberDecidesTheConfig) {
  // A restarted controller hands the sampler the recorded history: it resumes exactly,
  // and what the earlier trials were or how they ended does not matter.
  core::SearchSpace space = Space({Uniform("x", 0, 1), Choice("c", {int64_t{1}, int64_t{2}})});
  History h;
  std::vector<Config> first = RunTrials(*MakeRandom(space, 9), 20, h);
  auto resumed = MakeRandom(space, 9)->Next(h);
  History h2;
  std::vector<Config> longer = RunTrials(*MakeRandom(space, 9), 21, h2);
  ASSERT_TRUE(resumed.ok() && resumed->has_value());
  EXPECT_EQ(**resumed, longer[20]);

  History other = h;
  for (Observation& o : other.trials) {
    o.state = core::TrialState::kFailed;
    o.value = NAN;
  }
  auto same = MakeRandom(space, 9)->Next(other);
  ASSERT_TRUE(same.ok() && same->has_value());
  EXPECT_EQ(**same, **resumed);
}

TEST(RandomSamplerTest, FiniteSpaceNoDuplicatesUntilExhausted) {
  core::SearchSpace space =
      Space({Choice("c", {std::string("a"), std::string("b"), std::string("c")}), Randint("r", 2),
             Range("q", ParamKind::kQUniform, 0, 1, 0.5)});
  auto s = MakeRandom(space, 3);
  History h;
  std::vector<Config> all = RunTrials(*s, 100, h);
  EXPECT_EQ(all.size(), 18u);
  std::set<std::string> keys;
  for (const Config& c : all) keys.insert(core::ConfigKey(c));
  EXPECT_EQ(keys.size(), 18u);
  auto again = s->Next(h);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->has_value());
}

TEST(RandomSamplerTest, PendingTrialsCountAsSeen) {
  core::SearchSpace space = Space({Randint("r", 3)});
  auto s = MakeRandom(space, 1);
  History h;
  for (int64_t v : {0, 1}) {
    Observation o;
    o.config = {{"r", v}};
    o.state = v == 0 ? core::TrialState::kPending : core::TrialState::kFailed;
    h.trials.push_back(o);
  }
  auto c = s->Next(h);
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_EQ((**c).at("r"), ParamValue(int64_t{2}));
}

TEST(RandomSamplerTest, NestedFiniteSpaceExhausts) {
  core::SearchSpace space = Space({NestedChoice(
      "m", {{Choice("a", {int64_t{1}, int64_t{2}, int64_t{3}})}, {Randint("b", 2)}, {}})});
  ASSERT_EQ(core::Cardinality(space), 6u);
  std::vector<Config> all = RunTrials(*MakeRandom(space, 2), 50);
  EXPECT_EQ(all.size(), 6u);
  std::set<std::string> keys;
  for (const Config& c : all) keys.insert(core::ConfigKey(c));
  EXPECT_EQ(keys.size(), 6u);
}

TEST(RandomSamplerTest, OnePointSpaces) {
  // randint(1), a one-value choice and a range that quantizes to one value: one config.
  core::SearchSpace space = Space({Randint("r", 1), Choice("c", {std::string("only")}),
                                   Range("q", ParamKind::kQUniform, 1.1, 1.3, 1)});
  std::vector<Config> all = RunTrials(*MakeRandom(space), 5);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0], (Config{{"r", int64_t{0}}, {"c", std::string("only")}, {"q", 1.0}}));
}

TEST(RandomSamplerTest, InfiniteSpaceNeverRunsOut) {
  auto s = MakeRandom(Space({Choice("c", {int64_t{1}, int64_t{2}}), Uniform("x", 0, 1)}));
  EXPECT_EQ(RunTrials(*s, 200).size(), 200u);
}

TEST(RandomSamplerTest, BadSpacesAreRejected) {
  auto empty = MakeRandomSampler(Space({}), {});
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(std::string(empty.status().message()), HasSubstr("search space is empty"));
  auto bad = MakeRandomSampler(Space({Randint("k", 0)}), {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("'k' (randint): upper"));
  auto flat = MakeRandomSampler(Space({Uniform("x", 2, 2)}), {});
  ASSERT_FALSE(flat.ok());
  EXPECT_THAT(std::string(flat.status().message()),
              HasSubstr("'x' (uniform): max_value (2) must be greater than min_value (2)"));
}

}  // namespace
}  // namespace sweep::samplers

// Hand-computed cases for every early-termination policy and both goals.
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <vector>

#include "gtest/gtest.h"
#include "policies/early_termination.h"

namespace sweep::policies {
namespace {

using core::Decision;
using core::EarlyTermination;
using core::Goal;
using core::PolicyType;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

std::unique_ptr<EarlyTerminationPolicy> Make(const EarlyTermination& s, Goal goal) {
  auto policy = MakeEarlyTerminationPolicy(s, goal);
  EXPECT_TRUE(policy.ok()) << policy.status();
  return policy.ok() ? std::move(*policy) : nullptr;
}

EarlyTermination Bandit(std::optional<double> factor, std::optional<double> amount,
                        int64_t interval = 1, int64_t delay = 0) {
  EarlyTermination s;
  s.type = PolicyType::kBandit;
  s.slack_factor = factor;
  s.slack_amount = amount;
  s.evaluation_interval = interval;
  s.delay_evaluation = delay;
  return s;
}

EarlyTermination Median(int64_t interval = 1, int64_t delay = 0) {
  EarlyTermination s;
  s.type = PolicyType::kMedianStopping;
  s.evaluation_interval = interval;
  s.delay_evaluation = delay;
  return s;
}

EarlyTermination Truncation(int64_t percent, bool exclude_finished = false, int64_t delay = 0) {
  EarlyTermination s;
  s.type = PolicyType::kTruncationSelection;
  s.truncation_percentage = percent;
  s.exclude_finished_jobs = exclude_finished;
  s.delay_evaluation = delay;
  return s;
}

EarlyTermination Asha(double rf, int64_t min_interval, int64_t max_interval, int64_t delay = 0) {
  EarlyTermination s;
  s.type = PolicyType::kAsha;
  s.reduction_factor = rf;
  s.min_interval = min_interval;
  s.max_interval = max_interval;
  s.delay_evaluation = delay;
  return s;
}

// Feeds a whole curve; returns the decision of its last report.
std::optional<Decision> Feed(EarlyTerminationPolicy& p, int64_t trial,
                             const std::vector<double>& curve) {
  std::optional<Decision> last;
  for (size_t i = 0; i < curve.size(); ++i) last = p.OnReport(trial, i + 1, curve[i]);
  return last;
}

// ---------------------------------------------------------------- bandit

TEST(BanditPolicyTest, AzureSlackFactorExampleCutoffIsBestOverOnePlusSlack) {
  auto p = Make(Bandit(0.2, std::nullopt), Goal::kMaximize);
  auto best = p->OnReport(1, 1, 0.8);
  ASSERT_TRUE(best.has_value());
  EXPECT_FALSE(best->stop);
  EXPECT_DOUBLE_EQ(best->threshold, 0.8 / 1.2);

  auto low = p->OnReport(2, 1, 0.61);
  ASSERT_TRUE(low.has_value());
  EXPECT_TRUE(low->stop);
  EXPECT_EQ(low->trial_id, 2);
  EXPECT_EQ(low->interval, 1);
  EXPECT_EQ(low->policy, "bandit");
  EXPECT_DOUBLE_EQ(low->value, 0.61);
  EXPECT_DOUBLE_EQ(low->reference, 0.8);
  EXPECT_DOUBLE_EQ(low->threshold, 0.8 / 1.2);
  EXPECT_EQ(low->explanation,
            "stopped at interval 1: best so far 0.61 < 0.6667 = 0.8/(1+0.2), where 0.8 is the "
            "best of 2 trials at interval 1");

  auto ok = p->OnReport(3, 1, 0.75);
  ASSERT_TRUE(ok.has_value());
  EXPECT_FALSE(ok->stop);
  EXPECT_EQ(ok->explanation,
            "continues at interval 1: best so far 0.75 >= 0.6667 = 0.8/(1+0.2), where 0.8 is "
            "the best of 3 trials at interval 1");
  EXPECT_EQ(DecisionReason(*ok),
            "best so far 0.75 >= 0.6667 = 0.8/(1+0.2), where 0.8 is the best of 3 trials at "
            "interval 1");
}

TEST(BanditPolicyTest, AzureSlackAmountExampleCutoffIsBestMinusAmount) {
  auto p = Make(Bandit(std::nullopt, 0.2), Goal::kMaximize);
  p->OnReport(1, 1, 0.8);
  auto above = p->OnReport(2, 1, 0.61);
  ASSERT_TRUE(above.has_value());
  EXPECT_FALSE(above->stop);
  EXPECT_NEAR(above->threshold, 0.6, 1e-12);
  EXPECT_EQ(above->explanation,
            "continues at interval 1: best so far 0.61 >= 0.6 = 0.8-0.2, where 0.8 is the best "
            "of 2 trials at interval 1");
  auto below = p->OnReport(3, 1, 0.59);
  ASSERT_TRUE(below.has_value());
  EXPECT_TRUE(below->stop);
}

TEST(BanditPolicyTest, MinimizeMultipliesAndAddsSlack) {
  auto factor = Make(Bandit(0.2, std::nullopt), Goal::kMinimize);
  factor->OnReport(1, 1, 0.5);
  auto worse = factor->OnReport(2, 1, 0.61);
  ASSERT_TRUE(worse.has_value());
  EXPECT_TRUE(worse->stop);
  EXPECT_DOUBLE_EQ(worse->threshold, 0.6);
  EXPECT_EQ(worse->explanation,
            "stopped at interval 1: best so far 0.61 > 0.6 = 0.5*(1+0.2), where 0.5 is the best "
            "of 2 trials at interval 1");
  EXPECT_FALSE(factor->OnReport(3, 1, 0.59)->stop);

  auto amount = Make(Bandit(std::nullopt, 0.25), Goal::kMinimize);
  amount->OnReport(1, 1, 0.5);
  EXPECT_TRUE(amount->OnReport(2, 1, 0.76)->stop);
  auto at = amount->OnReport(3, 1, 0.75);  // exactly the threshold: continues
  EXPECT_FALSE(at->stop);
  EXPECT_EQ(at->explanation,
            "continues at interval 1: best so far 0.75 <= 0.75 = 0.5+0.25, where 0.5 is the best "
            "of 3 trials at interval 1");
}

TEST(BanditPolicyTest, NegativeBestKeepsTheSlackOnTheLosingSide) {
  // maximize, B = -0.8: -0.8/(1+0.25) = -0.64 would be better than B itself, so the
  // threshold is -0.8*(1+0.25) = -1.
  auto max = Make(Bandit(0.25, std::nullopt), Goal::kMaximize);
  auto best = max->OnReport(1, 1, -0.8);
  EXPECT_FALSE(best->stop);
  EXPECT_DOUBLE_EQ(best->threshold, -1.0);
  EXPECT_FALSE(max->OnReport(2, 1, -0.9)->stop);
  auto low = max->OnReport(3, 1, -1.1);
  EXPECT_TRUE(low->stop);
  EXPECT_EQ(low->explanation,
            "stopped at interval 1: best so far -1.1 < -1 = -0.8*(1+0.25), where -0.8 is the best "
            "of 3 trials at interval 1");

  // minimize, B = -1: threshold -1/(1+0.25) = -0.8.
  auto min = Make(Bandit(0.25, std::nullopt), Goal::kMinimize);
  min->OnReport(1, 1, -1.0);
  auto high = min->OnReport(2, 1, -0.7);
  EXPECT_TRUE(high->stop);
  EXPECT_DOUBLE_EQ(high->threshold, -0.8);
  EXPECT_FALSE(min->OnReport(3, 1, -0.9)->stop);

  // B = 0: threshold 0 either way.
  auto zero = Make(Bandit(0.5, std::nullopt), Goal::kMaximize);
  zero->OnReport(1, 1, 0.0);
  EXPECT_DOUBLE_EQ(zero->OnReport(2, 1, -0.1)->threshold, 0.0);
}

TEST(BanditPolicyTest, ComparesBestSoFarAgainstBestAtThisInterval) {
  auto p = Make(Bandit(std::nullopt, 0.1), Goal::kMaximize);
  Feed(*p, 1, {0.2, 0.4, 0.6});
  // Trial 2 peaked early; its best so far 0.55 is within 0.1 of the interval-3 best 0.6.
  Feed(*p, 2, {0.55, 0.3});
  auto d = p->OnReport(2, 3, 0.2);
  ASSERT_TRUE(d.has_value());
  EXPECT_FALSE(d->stop);
  EXPECT_DOUBLE_EQ(d->value, 0.55);
  EXPECT_DOUBLE_EQ(d->reference, 0.6);
  // At interval 1 the best was trial 2's own 0.55 and trial 1's 0.2 would have lost.
  auto p2 = Make(Bandit(std::nullopt, 0.1), Goal::kMaximize);
  p2->OnReport(2, 1, 0.55);
  EXPECT_TRUE(p2->OnReport(1, 1, 0.2)->stop);
}

TEST(BanditPolicyTest, BestIsTakenOverTrialsThatReachedTheInterval) {
  // Trial 1 ended after two intervals; at interval 3 trial 2 is alone.
  auto p = Make(Bandit(std::nullopt, 0.1), Goal::kMaximize);
  Feed(*p, 1, {0.9, 0.9});
  p->OnTrialEnded(1, core::TrialState::kCompleted);
  EXPECT_TRUE(p->OnReport(2, 1, 0.5)->stop);  // 0.5 < 0.9-0.1
  auto p2 = Make(Bandit(std::nullopt, 0.1, /*interval=*/1, /*delay=*/3), Goal::kMaximize);
  Feed(*p2, 1, {0.9, 0.9});
  p2->OnTrialEnded(1, core::TrialState::kCompleted);
  EXPECT_EQ(p2->OnReport(2, 1, 0.5), std::nullopt);
  EXPECT_EQ(p2->OnReport(2, 2, 0.5), std::nullopt);
  auto d = p2->OnReport(2, 3, 0.5);
  ASSERT_TRUE(d.has_value());
  EXPECT_FALSE(d->stop);
  EXPECT_DOUBLE_EQ(d->reference, 0.5);
  EXPECT_NE(d->explanation.find("best of 1 trial at interval 3"), std::string::npos)
      << d->explanation;
}

TEST(BanditPolicyTest, EvaluatesOnlyAtMultiplesOfTheIntervalFromTheDelayOn) {
  auto p = Make(Bandit(0.1, std::nullopt, /*interval=*/2, /*delay=*/5), Goal::kMaximize);
  std::vector<int64_t> evaluated;
  for (int64_t n = 1; n <= 11; ++n) {
    if (p->OnReport(1, n, 0.5).has_value()) evaluated.push_back(n);
  }
  EXPECT_EQ(evaluated, (std::vector<int64_t>{6, 8, 10}));
}

TEST(BanditPolicyTest, NonFiniteValuesAreNeverReferences) {
  auto p = Make(Bandit(0.2, std::nullopt), Goal::kMaximize);
  auto nan = p->OnReport(1, 1, kNaN);
  ASSERT_TRUE(nan.has_value());  // an evaluation point: recorded, but not judged
  EXPECT_FALSE(nan->stop);
  EXPECT_TRUE(std::isnan(nan->value));
  EXPECT_EQ(nan->explanation, "continues at interval 1: not judged, no finite value so far");
  auto inf = p->OnReport(2, 1, kInf);
  EXPECT_FALSE(inf->stop);
  EXPECT_TRUE(std::isnan(inf->value));
  // The reference is 0.5, not inf: 0.45 >= 0.5/1.2.
  auto d = p->OnReport(3, 1, 0.5);
  EXPECT_DOUBLE_EQ(d->reference, 0.5);
  EXPECT_FALSE(p->OnReport(4, 1, 0.45)->stop);
  // A NaN after a finite value is judged by the best finite value so far.
  p->OnReport(5, 1, 0.3);  // stopped at 1 in a live sweep, but keep feeding
  auto later = p->OnReport(3, 2, kNaN);
  EXPECT_DOUBLE_EQ(later->value, 0.5);
  EXPECT_FALSE(later->stop);
}

// ---------------------------------------------------------------- median stopping

TEST(MedianStoppingPolicyTest, StopsBelowTheMedianOfRunningAverages) {
  auto p = Make(Median(1, 3), Goal::kMaximize);
  Feed(*p, 1, {0.5, 0.625, 0.75});  // average at 3: 0.625
  // Trial 2's average 0.375; median of {0.625, 0.375} = 0.5 = its best: continues.
  auto b = Feed(*p, 2, {0.25, 0.375, 0.5});
  ASSERT_TRUE(b.has_value());
  EXPECT_FALSE(b->stop);
  EXPECT_DOUBLE_EQ(b->reference, 0.5);
  EXPECT_EQ(b->explanation,
            "continues at interval 3: best so far 0.5 >= 0.5 = median of the running averages "
            "of 2 trials at interval 3");
  // Trial 3's average 0.2083; median of {0.625, 0.375, 0.2083} = 0.375 > its best 0.25.
  auto c = Feed(*p, 3, {0.125, 0.25, 0.25});
  ASSERT_TRUE(c.has_value());
  EXPECT_TRUE(c->stop);
  EXPECT_DOUBLE_EQ(c->value, 0.25);
  EXPECT_DOUBLE_EQ(c->threshold, 0.375);
  EXPECT_EQ(c->explanation,
            "stopped at interval 3: best so far 0.25 < 0.375 = median of the running averages "
            "of 3 trials at interval 3");
}

TEST(MedianStoppingPolicyTest, MinimizeStopsAboveTheMedian) {
  auto p = Make(Median(1, 3), Goal::kMinimize);
  Feed(*p, 1, {0.5, 0.375, 0.25});           // average 0.375
  auto b = Feed(*p, 2, {0.75, 0.625, 0.5});  // average 0.625; median 0.5 = best
  EXPECT_FALSE(b->stop);
  EXPECT_DOUBLE_EQ(b->reference, 0.5);
  auto c = Feed(*p, 3, {1.0, 1.0, 0.75});  // median of {0.375, 0.625, 0.9167} = 0.625
  EXPECT_TRUE(c->stop);
  EXPECT_DOUBLE_EQ(c->reference, 0.625);
  EXPECT_EQ(c->explanation,
            "stopped at interval 3: best so far 0.75 > 0.625 = median of the running averages "
            "of 3 trials at interval 3");
}

TEST(MedianStoppingPolicyTest, LoneTrialAndShorterCurvesAndNaN) {
  auto p = Make(Median(1, /*delay=*/2), Goal::kMaximize);
  EXPECT_FALSE(Feed(*p, 1, {0.1, 0.2, 0.3, 0.4})->stop);  // alone: never below itself
  // Trial 2 ends after 1 interval; it does not count at interval 2.
  p->OnReport(2, 1, 0.9);
  p->OnTrialEnded(2, core::TrialState::kFailed);
  // Trial 3 at 2: averages {trial 1: 0.15, trial 3: (0.05+NaN ignored)=0.05} -> 0.1.
  EXPECT_EQ(p->OnReport(3, 1, 0.05), std::nullopt);  // before delay_evaluation
  auto d = p->OnReport(3, 2, kNaN);
  ASSERT_TRUE(d.has_value());
  EXPECT_DOUBLE_EQ(d->value, 0.05);
  EXPECT_DOUBLE_EQ(d->reference, 0.1);
  EXPECT_TRUE(d->stop);
}

// ---------------------------------------------------------------- truncation selection

TEST(TruncationSelectionPolicyTest, StopsTheLowestPercentOnceEnoughTrialsReachTheInterval) {
  auto p = Make(Truncation(20), Goal::kMaximize);
  // Trials report worse and worse values at interval 1.
  for (int t = 1; t <= 3; ++t) p->OnReport(t, 1, 1.0 - 0.1 * (t - 1));
  auto four = p->OnReport(4, 1, 0.7);
  ASSERT_TRUE(four.has_value());
  EXPECT_FALSE(four->stop);
  EXPECT_EQ(four->explanation,
            "continues at interval 1: value 0.7; only 4 trials reached interval 1, and stopping "
            "the lowest 20% needs at least 5");
  // k = 5: floor(5*20/100) = 1 truncated; the cutoff is the 4th best, 0.7.
  auto five = p->OnReport(5, 1, 0.6);
  EXPECT_TRUE(five->stop);
  EXPECT_DOUBLE_EQ(five->threshold, 0.7);
  EXPECT_EQ(five->explanation,
            "stopped at interval 1: value 0.6 < cutoff 0.7: it ranks 5th of 5 trials at "
            "interval 1; the lowest 20% (1 trial) are stopped");
  // k = 6: still 1 truncated; the stopped trial 5 still counts, so the cutoff is the
  // 5th best of {1, 0.9, 0.8, 0.7, 0.65, 0.6}: 0.65 itself, which survives.
  auto six = p->OnReport(6, 1, 0.65);
  EXPECT_FALSE(six->stop);
  EXPECT_DOUBLE_EQ(six->threshold, 0.65);
  EXPECT_EQ(six->explanation,
            "continues at interval 1: value 0.65 >= cutoff 0.65: it ranks 5th of 6 trials at "
            "interval 1; the lowest 20% (1 trial) are stopped");
  // k = 7: 1 truncated; 0.62 ranks 6th of 7 and survives above 0.6.
  auto seven = p->OnReport(7, 1, 0.62);
  EXPECT_FALSE(seven->stop);
  EXPECT_DOUBLE_EQ(seven->threshold, 0.62);
  // k = 10: 2 truncated, keep 8; 0.58 ranks 9th of 10 (ahead of 0.55 only); the cutoff
  // is the 8th best, 0.6.
  p->OnReport(8, 1, 0.55);
  p->OnReport(9, 1, 0.95);
  auto ten = p->OnReport(10, 1, 0.58);
  EXPECT_TRUE(ten->stop);
  EXPECT_NEAR(ten->threshold, 0.6, 1e-12);
  EXPECT_NE(ten->explanation.find("it ranks 9th of 10 trials at interval 1; the lowest 20% "
                                  "(2 trials) are stopped"),
            std::string::npos)
      << ten->explanation;
}

TEST(TruncationSelectionPolicyTest, TiesFavourTheTrial) {
  auto p = Make(Truncation(20), Goal::kMaximize);
  p->OnReport(1, 1, 0.9);
  for (int t = 2; t <= 4; ++t) p->OnReport(t, 1, 0.5);
  auto d = p->OnReport(5, 1, 0.5);  // ranks 2nd among equals; 1 of 5 truncated
  EXPECT_FALSE(d->stop);
  EXPECT_DOUBLE_EQ(d->threshold, 0.5);
  EXPECT_NE(d->explanation.find("it ranks 2nd of 5 trials"), std::string::npos) << d->explanation;
}

TEST(TruncationSelectionPolicyTest, ComparesValuesAtTheIntervalNotBestSoFar) {
  auto p = Make(Truncation(50, false, /*delay=*/2), Goal::kMaximize);
  Feed(*p, 1, {0.2, 0.4});
  auto d = Feed(*p, 2, {0.9, 0.3});  // best so far 0.9, but 0.3 < 0.4 at interval 2
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->stop);
  EXPECT_DOUBLE_EQ(d->value, 0.3);
  EXPECT_DOUBLE_EQ(d->threshold, 0.4);
}

TEST(TruncationSelectionPolicyTest, MinimizeTruncatesTheHighest) {
  auto p = Make(Truncation(25), Goal::kMinimize);
  for (int t = 1; t <= 6; ++t) p->OnReport(t, 1, 0.1 * t);  // k = 7 next: 1 truncated
  auto worst = p->OnReport(7, 1, 0.65);
  EXPECT_TRUE(worst->stop);
  EXPECT_NEAR(worst->threshold, 0.6, 1e-12);
  EXPECT_NE(worst->explanation.find("value 0.65 > cutoff 0.6"), std::string::npos)
      << worst->explanation;
  auto good = p->OnReport(8, 1, 0.05);  // k = 8: 2 truncated; 0.05 ranks 1st
  EXPECT_FALSE(good->stop);
  EXPECT_NEAR(good->threshold, 0.5, 1e-12);  // 6th best of {0.05, 0.1..0.6, 0.65}
}

TEST(TruncationSelectionPolicyTest, ExcludeFinishedJobsShrinksTheField) {
  for (bool exclude : {false, true}) {
    auto p = Make(Truncation(20, exclude), Goal::kMaximize);
    for (int t = 1; t <= 4; ++t) {
      p->OnReport(t, 1, 0.9);
      p->OnTrialEnded(t, core::TrialState::kCompleted);
    }
    auto d = p->OnReport(5, 1, 0.1);
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(d->stop, !exclude) << d->explanation;
    if (exclude) {
      EXPECT_EQ(d->explanation,
                "continues at interval 1: value 0.1; only 1 trial reached interval 1 (running "
                "trials only), and stopping the lowest 20% needs at least 5");
    }
  }
}

TEST(TruncationSelectionPolicyTest, NonFiniteValueIsJudgedByBestSoFar) {
  auto p = Make(Truncation(50, false, /*delay=*/2), Goal::kMaximize);
  Feed(*p, 1, {0.5, 0.6});
  auto d = Feed(*p, 2, {0.4, kNaN});  // field {0.6} + its best so far 0.4
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->stop);
  EXPECT_DOUBLE_EQ(d->value, 0.4);
  EXPECT_EQ(d->explanation,
            "stopped at interval 2: value at interval 2 is nan, best so far 0.4 < cutoff 0.6: it "
            "ranks 2nd of 2 trials at interval 2; the lowest 50% (1 trial) are stopped");
  auto none = Feed(*p, 3, {kNaN, kNaN});
  EXPECT_FALSE(none->stop);
  EXPECT_EQ(none->explanation, "continues at interval 2: not judged, no finite value so far");
}

// ---------------------------------------------------------------- asha

TEST(AshaPolicyTest, RungsAreMinIntervalTimesPowersOfTheFactorBelowMaxInterval) {
  EXPECT_EQ(AshaRungs(Asha(3, 1, 50)), (std::vector<int64_t>{1, 3, 9, 27}));
  EXPECT_EQ(AshaRungs(Asha(2, 2, 20)), (std::vector<int64_t>{2, 4, 8, 16}));
  EXPECT_EQ(AshaRungs(Asha(2.5, 1, 20)), (std::vector<int64_t>{1, 3, 6, 16}));
  EXPECT_EQ(AshaRungs(Asha(1.2, 1, 4)), (std::vector<int64_t>{1, 2, 3}));  // duplicates merged
  EXPECT_EQ(AshaRungs(Asha(3, 1, 27)), (std::vector<int64_t>{1, 3, 9}));
  EXPECT_EQ(FirstEvaluationInterval(Asha(2.5, 1, 20, /*delay=*/4)), 6);
  EXPECT_EQ(FirstEvaluationInterval(Asha(2, 1, 8, /*delay=*/7)), std::nullopt);
  EXPECT_TRUE(IsEvaluationInterval(Asha(3, 1, 50), 9));
  EXPECT_FALSE(IsEvaluationInterval(Asha(3, 1, 50), 10));
  EXPECT_FALSE(IsEvaluationInterval(Asha(3, 1, 50, /*delay=*/2), 1));
}

TEST(AshaPolicyTest, KeepsTheTopOneOverFactorOfTrialsThatReachedTheRung) {
  auto p = Make(Asha(2, 1, 8), Goal::kMaximize);  // rungs 1, 2, 4
  auto first = p->OnReport(1, 1, 0.5);
  ASSERT_TRUE(first.has_value());
  EXPECT_FALSE(first->stop);  // alone at the rung
  EXPECT_EQ(first->explanation,
            "continues at interval 1: best so far 0.5 >= cutoff 0.5 (rung 1 of 3): it ranks 1st "
            "of 1 trial that reached interval 1; the top 1/2 (1 trial) continue");
  auto second = p->OnReport(2, 1, 0.4);  // k = 2, keep ceil(2/2) = 1
  EXPECT_TRUE(second->stop);
  EXPECT_DOUBLE_EQ(second->threshold, 0.5);
  auto third = p->OnReport(3, 1, 0.6);  // k = 3, keep 2: ranks 1st
  EXPECT_FALSE(third->stop);
  auto fourth = p->OnReport(4, 1, 0.45);  // k = 4, keep 2: ranks 3rd
  EXPECT_TRUE(fourth->stop);
  EXPECT_EQ(fourth->explanation,
            "stopped at interval 1: best so far 0.45 < cutoff 0.5 (rung 1 of 3): it ranks 3rd of "
            "4 trials that reached interval 1; the top 1/2 (2 trials) continue");
  // Only rungs are evaluation points; nobody is judged at or beyond max_interval.
  EXPECT_EQ(p->OnReport(1, 2, 0.55)->stop, false);
  EXPECT_EQ(p->OnReport(1, 3, 0.55), std::nullopt);
  EXPECT_TRUE(p->OnReport(1, 4, 0.55).has_value());
  for (int64_t n = 5; n <= 10; ++n) EXPECT_EQ(p->OnReport(1, n, 0.1), std::nullopt);
}

TEST(AshaPolicyTest, MinimizeAndRungValueIsBestSoFar) {
  auto p = Make(Asha(3, 1, 20), Goal::kMinimize);  // rungs 1, 3, 9
  Feed(*p, 1, {0.5, 0.4, 0.3});
  Feed(*p, 2, {0.6, 0.5, 0.45});  // k = 2 at rung 3, keep 1: 0.45 > 0.3
  auto d = p->OnReport(3, 1, 0.9);
  EXPECT_TRUE(d->stop);  // k = 3 at rung 1, keep 1: 0.9 > 0.5
  auto two = Make(Asha(3, 1, 20), Goal::kMinimize);
  Feed(*two, 1, {0.5, 0.4, 0.3});
  auto late = Feed(*two, 2, {0.2, 0.5, 0.6});  // best so far 0.2 at rung 3 beats 0.3
  ASSERT_TRUE(late.has_value());
  EXPECT_FALSE(late->stop);
  EXPECT_DOUBLE_EQ(late->value, 0.2);
}

// ---------------------------------------------------------------- curve bookkeeping

TEST(PolicyBookkeepingTest, ForgetCurveDropsTheTrialsContributions) {
  auto p = Make(Bandit(std::nullopt, 0.1), Goal::kMaximize);
  p->OnReport(1, 1, 0.9);
  EXPECT_TRUE(p->OnReport(2, 1, 0.5)->stop);
  p->ForgetCurve(1);  // trial 1's attempt was lost
  auto d = p->OnReport(3, 1, 0.5);
  EXPECT_FALSE(d->stop);
  EXPECT_DOUBLE_EQ(d->reference, 0.5);
  // The next attempt reports from interval 1 again.
  EXPECT_DOUBLE_EQ(p->OnReport(1, 1, 0.45)->reference, 0.5);
}

TEST(PolicyBookkeepingTest, RepeatedIntervalRestartsTheCurveAndGapsCountAsMissing) {
  auto p = Make(Median(), Goal::kMaximize);
  Feed(*p, 1, {0.9, 0.9, 0.9});
  p->OnReport(1, 2, 0.1);  // restart from interval 2: curve is now {0.9, 0.1}
  auto d = p->OnReport(2, 2, 0.3);
  // averages at 2: trial 1 (0.9+0.1)/2 = 0.5, trial 2 0.3 -> median 0.4
  EXPECT_DOUBLE_EQ(d->reference, 0.4);
  // Trial 3 jumps to interval 3: intervals 1-2 count as missing, its average is 0.2.
  auto gap = p->OnReport(3, 3, 0.2);
  ASSERT_TRUE(gap.has_value());
  EXPECT_DOUBLE_EQ(gap->value, 0.2);
  EXPECT_DOUBLE_EQ(gap->reference, 0.2);  // only trial 3 reached 3 now (trial 1 restarted)
  EXPECT_EQ(p->OnReport(4, 0, 0.5), std::nullopt);
}

TEST(PolicyBookkeepingTest, OneStopVerdictPerCurveButLaterReportsStillCount) {
  auto p = Make(Bandit(std::nullopt, 0.1), Goal::kMaximize);
  p->OnReport(1, 1, 0.9);
  EXPECT_TRUE(p->OnReport(2, 1, 0.5)->stop);
  // Trial 2 keeps reporting until it exits: no second verdict, but its 0.99 at interval
  // 2 is the best there.
  EXPECT_EQ(p->OnReport(2, 2, 0.99), std::nullopt);
  auto d = p->OnReport(1, 2, 0.9);
  EXPECT_DOUBLE_EQ(d->reference, 0.99);
  EXPECT_FALSE(d->stop);  // 0.9 >= 0.99-0.1
  p->ForgetCurve(2);      // a new attempt is judged afresh
  EXPECT_TRUE(p->OnReport(2, 1, 0.5).has_value());
}

TEST(PolicyBookkeepingTest, ReportsAfterTheTrialEndedAreIgnored) {
  auto p = Make(Bandit(0.1, std::nullopt), Goal::kMaximize);
  p->OnReport(1, 1, 0.5);
  p->OnTrialEnded(1, core::TrialState::kEarlyTerminated);
  EXPECT_EQ(p->OnReport(1, 2, 0.5), std::nullopt);
  p->ForgetCurve(1);  // a new attempt after ForgetCurve is heard again
  EXPECT_TRUE(p->OnReport(1, 1, 0.5).has_value());
}

}  // namespace
}  // namespace sweep::policies

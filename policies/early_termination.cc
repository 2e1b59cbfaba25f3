#include "policies/early_termination.h"

#include <absl/strings/str_cat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace sweep::policies {
namespace {

using core::Goal;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool Finite(double v) { return std::isfinite(v); }

// Shortest "%.Ng" rendering (N >= 4) that tells `a` and `b` apart when they differ, so
// an explanation never reads "0.6667 < 0.6667".
int DistinctPrecision(double a, double b) {
  if (!Finite(a) || !Finite(b) || a == b) return 4;
  char sa[64], sb[64];
  for (int p = 4; p < 17; ++p) {
    std::snprintf(sa, sizeof sa, "%.*g", p, a);
    std::snprintf(sb, sizeof sb, "%.*g", p, b);
    if (std::string_view(sa) != std::string_view(sb)) return p;
  }
  return 17;
}

std::string Num(double v, int precision = 4) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", precision, v);
  return buf;
}

// "<" / ">=" etc. for "value OP threshold" given the verdict and goal.
const char* Relation(Goal goal, bool stop) {
  if (goal == Goal::kMaximize) return stop ? "<" : ">=";
  return stop ? ">" : "<=";
}

std::string Ordinal(int64_t n) {
  const char* suffix = "th";
  if (n % 100 < 11 || n % 100 > 13) {
    switch (n % 10) {
      case 1:
        suffix = "st";
        break;
      case 2:
        suffix = "nd";
        break;
      case 3:
        suffix = "rd";
        break;
      default:
        break;
    }
  }
  return absl::StrCat(n, suffix);
}

std::string Trials(int64_t n) { return absl::StrCat(n, n == 1 ? " trial" : " trials"); }

// Finite values reported at one interval, sorted ascending: best, median and rank
// queries are binary searches and an insert is one memmove, so a decision with 1,000
// trials in the sweep costs microseconds instead of a rescan of every curve.
class SortedValues {
 public:
  void Insert(double v) { values_.insert(std::upper_bound(values_.begin(), values_.end(), v), v); }
  void Erase(double v) {
    auto it = std::lower_bound(values_.begin(), values_.end(), v);
    if (it != values_.end() && *it == v) values_.erase(it);
  }
  int64_t size() const { return static_cast<int64_t>(values_.size()); }
  // Number of values strictly better than `v`.
  int64_t CountBetter(Goal goal, double v) const {
    if (goal == Goal::kMaximize) {
      return values_.end() - std::upper_bound(values_.begin(), values_.end(), v);
    }
    return std::lower_bound(values_.begin(), values_.end(), v) - values_.begin();
  }
  // The j-th best value, 0-based; requires j < size().
  double NthBest(Goal goal, int64_t j) const {
    return goal == Goal::kMaximize ? values_[values_.size() - 1 - j] : values_[j];
  }
  // Requires size() > 0.
  double Median() const {
    size_t n = values_.size();
    if (n % 2 == 1) return values_[n / 2];
    return (values_[n / 2 - 1] + values_[n / 2]) / 2;
  }

 private:
  std::vector<double> values_;
};

// One trial's current curve and the statistics derived from it, per interval.
struct Curve {
  std::vector<double> values;  // as reported, possibly non-finite
  std::vector<double> best;    // best finite value over 1..n, NaN if none
  std::vector<double> sum;     // sum of finite values over 1..n
  std::vector<int64_t> count;  // number of finite values over 1..n
  std::vector<double> key;     // what the curve put into the per-interval index, NaN if nothing
  bool ended = false;
  bool told_to_stop = false;  // a Decision with stop=true was returned for this curve

  int64_t size() const { return static_cast<int64_t>(values.size()); }
  double Mean(int64_t i) const { return count[i] > 0 ? sum[i] / count[i] : kNaN; }
};

// Shared bookkeeping of the four policies: the curves, and for each evaluation interval
// the sorted values of the trials that reported it (what each policy compares against).
class IndexedPolicy : public EarlyTerminationPolicy {
 public:
  IndexedPolicy(const core::EarlyTermination& settings, Goal goal)
      : settings_(settings), goal_(goal) {}

  std::optional<core::Decision> OnReport(int64_t trial_id, int64_t interval,
                                         double value) override {
    if (interval < 1) return std::nullopt;
    Curve& curve = curves_[trial_id];
    if (curve.ended) return std::nullopt;
    if (interval <= curve.size()) Truncate(curve, interval - 1);
    while (curve.size() < interval - 1) Append(curve, kNaN);
    Append(curve, value);
    // A trial already told to stop may report a few more intervals before it exits; they
    // count as data, but one "stopped" verdict per curve is enough.
    if (curve.told_to_stop || !Evaluates(interval)) return std::nullopt;
    core::Decision decision = Evaluate(curve, interval);
    curve.told_to_stop = decision.stop;
    decision.trial_id = trial_id;
    decision.interval = interval;
    decision.policy = core::PolicyTypeName(settings_.type);
    decision.explanation = absl::StrCat(decision.stop ? "stopped" : "continues", " at interval ",
                                        interval, ": ", decision.explanation);
    return decision;
  }

  void OnTrialEnded(int64_t trial_id, core::TrialState state) override {
    auto it = curves_.find(trial_id);
    if (it == curves_.end()) return;
    it->second.ended = true;
    if (DropEndedTrials()) Truncate(it->second, 0, /*keep_values=*/true);
  }

  void ForgetCurve(int64_t trial_id) override {
    auto it = curves_.find(trial_id);
    if (it == curves_.end()) return;
    Truncate(it->second, 0);
    curves_.erase(it);
  }

 protected:
  // Whether `interval` is an evaluation point (and so indexed).
  virtual bool Evaluates(int64_t interval) const {
    return interval % settings_.evaluation_interval == 0 && interval >= settings_.delay_evaluation;
  }
  // The value this policy ranks the curve by at index i (interval i+1); NaN for none.
  virtual double Key(const Curve& curve, int64_t i) const = 0;
  // Judges the curve at `interval`; sets value, reference, threshold, stop and the
  // reason (explanation without the verdict prefix).
  virtual core::Decision Evaluate(const Curve& curve, int64_t interval) const = 0;
  // truncation_selection with exclude_finished_jobs.
  virtual bool DropEndedTrials() const { return false; }

  // The indexed values at an evaluation interval (empty if nobody has a finite one).
  const SortedValues& Field(int64_t interval) const {
    static const SortedValues kEmpty;
    return interval <= static_cast<int64_t>(index_.size()) ? index_[interval - 1] : kEmpty;
  }

  // A judged decision; the caller adds the reason.
  static core::Decision Judged(double value, double reference, double threshold, bool stop) {
    core::Decision d;
    d.value = value;
    d.reference = reference;
    d.threshold = threshold;
    d.stop = stop;
    return d;
  }

  static core::Decision NotJudged(const std::string& why) {
    core::Decision d;
    d.value = d.reference = d.threshold = kNaN;
    d.stop = false;
    d.explanation = why;
    return d;
  }

  const core::EarlyTermination settings_;
  const Goal goal_;

 private:
  void Append(Curve& c, double value) {
    const int64_t i = c.size();
    double best = i > 0 ? c.best[i - 1] : kNaN;
    double sum = i > 0 ? c.sum[i - 1] : 0;
    int64_t count = i > 0 ? c.count[i - 1] : 0;
    if (Finite(value)) {
      if (!Finite(best) || core::Better(goal_, value, best)) best = value;
      sum += value;
      ++count;
    }
    c.values.push_back(value);
    c.best.push_back(best);
    c.sum.push_back(sum);
    c.count.push_back(count);
    double key = kNaN;
    if (Evaluates(i + 1)) {
      key = Key(c, i);
      if (Finite(key)) {
        if (static_cast<int64_t>(index_.size()) <= i) index_.resize(i + 1);
        index_[i].Insert(key);
      }
    }
    c.key.push_back(key);
  }

  // Removes the curve's index entries from interval `from`+1 on; drops those
  // intervals from the curve too unless `keep_values`.
  void Truncate(Curve& c, int64_t from, bool keep_values = false) {
    for (int64_t i = from; i < c.size(); ++i) {
      if (Finite(c.key[i])) index_[i].Erase(c.key[i]);
      c.key[i] = kNaN;
    }
    if (keep_values) return;
    c.values.resize(from);
    c.best.resize(from);
    c.sum.resize(from);
    c.count.resize(from);
    c.key.resize(from);
  }

  std::unordered_map<int64_t, Curve> curves_;
  std::vector<SortedValues> index_;  // index_[n-1]: keys at interval n
};

class BanditPolicy final : public IndexedPolicy {
 public:
  using IndexedPolicy::IndexedPolicy;

 protected:
  double Key(const Curve& c, int64_t i) const override { return c.best[i]; }

  core::Decision Evaluate(const Curve& c, int64_t interval) const override {
    const double own = c.best[interval - 1];
    if (!Finite(own)) return NotJudged("not judged, no finite value so far");
    const SortedValues& field = Field(interval);  // holds `own`, so never empty
    const double b = field.NthBest(goal_, 0);
    const bool maximize = goal_ == Goal::kMaximize;
    double threshold;
    std::string formula;
    if (settings_.slack_amount.has_value()) {
      const double a = *settings_.slack_amount;
      threshold = maximize ? b - a : b + a;
      formula = absl::StrCat(Num(b), maximize ? "-" : "+", Num(a, 15));
    } else {
      const double s = *settings_.slack_factor;
      // Divide toward the losing side: for maximize with B > 0 that is B/(1+s) (Azure
      // ML); for B < 0 it is B*(1+s). Mirrored for minimize.
      const bool divide = maximize == (b > 0);
      threshold = divide ? b / (1 + s) : b * (1 + s);
      formula = absl::StrCat(Num(b), divide ? "/" : "*", "(1+", Num(s, 15), ")");
    }
    core::Decision d = Judged(own, b, threshold, core::Better(goal_, threshold, own));
    const int p = DistinctPrecision(own, threshold);
    d.explanation =
        absl::StrCat("best so far ", Num(own, p), " ", Relation(goal_, d.stop), " ",
                     Num(threshold, p), " = ", formula, ", where ", Num(b), " is the best of ",
                     Trials(field.size()), " at interval ", interval);
    return d;
  }
};

class MedianStoppingPolicy final : public IndexedPolicy {
 public:
  using IndexedPolicy::IndexedPolicy;

 protected:
  double Key(const Curve& c, int64_t i) const override { return c.Mean(i); }

  core::Decision Evaluate(const Curve& c, int64_t interval) const override {
    const double own = c.best[interval - 1];
    if (!Finite(own)) return NotJudged("not judged, no finite value so far");
    const SortedValues& field = Field(interval);  // holds this trial's mean
    const double median = field.Median();
    core::Decision d = Judged(own, median, median, core::Better(goal_, median, own));
    const int p = DistinctPrecision(own, median);
    d.explanation = absl::StrCat("best so far ", Num(own, p), " ", Relation(goal_, d.stop), " ",
                                 Num(median, p), " = median of the running averages of ",
                                 Trials(field.size()), " at interval ", interval);
    return d;
  }
};

// Where `own` stands in `field` (plus `own` itself when `own_in_field` is false). A
// trial survives a cut that keeps `keep` trials when fewer than `keep` are strictly
// better, i.e. when it is not worse than the keep-th best value (ties favour it).
struct Rank {
  int64_t field_size = 0;  // k, this trial included
  int64_t better = 0;      // trials strictly better than this one
  double cutoff = kNaN;    // the keep-th best value
};

Rank RankIn(const SortedValues& field, Goal goal, double own, bool own_in_field, int64_t keep) {
  Rank r;
  r.field_size = field.size() + (own_in_field ? 0 : 1);
  r.better = field.CountBetter(goal, own);
  if (keep < 1 || keep > r.field_size) return r;
  const int64_t j = keep - 1;  // 0-based position of the cutoff in the field
  if (own_in_field || j < r.better) {
    r.cutoff = field.NthBest(goal, j);
  } else {
    r.cutoff = j == r.better ? own : field.NthBest(goal, j - 1);
  }
  return r;
}

class TruncationSelectionPolicy final : public IndexedPolicy {
 public:
  using IndexedPolicy::IndexedPolicy;

 protected:
  double Key(const Curve& c, int64_t i) const override { return c.values[i]; }
  bool DropEndedTrials() const override { return settings_.exclude_finished_jobs; }

  core::Decision Evaluate(const Curve& c, int64_t interval) const override {
    const int64_t i = interval - 1;
    const bool own_finite = Finite(c.values[i]);
    const double own = own_finite ? c.values[i] : c.best[i];
    if (!Finite(own)) return NotJudged("not judged, no finite value so far");
    const std::string which = own_finite ? absl::StrCat("value ")
                                         : absl::StrCat("value at interval ", interval, " is ",
                                                        Num(c.values[i]), ", best so far ");
    const SortedValues& field = Field(interval);
    const int64_t p = settings_.truncation_percentage;
    const int64_t k = field.size() + (own_finite ? 0 : 1);
    const int64_t truncated = k * p / 100;
    const std::string pool =
        settings_.exclude_finished_jobs ? " (running trials only)" : std::string();
    if (truncated == 0) {
      core::Decision d = NotJudged(
          absl::StrCat(which, Num(own), "; only ", Trials(k), " reached interval ", interval, pool,
                       ", and stopping the lowest ", p, "% needs at least ", (100 + p - 1) / p));
      d.value = own;
      return d;
    }
    const Rank rank = RankIn(field, goal_, own, own_finite, k - truncated);
    core::Decision d = Judged(own, rank.cutoff, rank.cutoff, rank.better >= k - truncated);
    const int prec = DistinctPrecision(own, rank.cutoff);
    d.explanation = absl::StrCat(which, Num(own, prec), " ", Relation(goal_, d.stop), " cutoff ",
                                 Num(rank.cutoff, prec), ": it ranks ", Ordinal(rank.better + 1),
                                 " of ", Trials(k), " at interval ", interval, pool,
                                 "; the lowest ", p, "% (", Trials(truncated), ") are stopped");
    return d;
  }
};

class AshaPolicy final : public IndexedPolicy {
 public:
  AshaPolicy(const core::EarlyTermination& settings, Goal goal)
      : IndexedPolicy(settings, goal), rungs_(AshaRungs(settings)) {}

 protected:
  bool Evaluates(int64_t interval) const override {
    return interval >= settings_.delay_evaluation &&
           std::binary_search(rungs_.begin(), rungs_.end(), interval);
  }
  double Key(const Curve& c, int64_t i) const override { return c.best[i]; }

  core::Decision Evaluate(const Curve& c, int64_t interval) const override {
    const double own = c.best[interval - 1];
    if (!Finite(own)) return NotJudged("not judged, no finite value so far");
    const SortedValues& field = Field(interval);  // holds `own`
    const int64_t k = field.size();
    // ceil(k / rf); the epsilon keeps 6/3 at 2 despite rounding in the division.
    const int64_t keep = std::max<int64_t>(
        1, static_cast<int64_t>(
               std::ceil(static_cast<double>(k) / settings_.reduction_factor - 1e-9)));
    const Rank rank = RankIn(field, goal_, own, /*own_in_field=*/true, keep);
    const int64_t rung =
        std::lower_bound(rungs_.begin(), rungs_.end(), interval) - rungs_.begin() + 1;
    core::Decision d = Judged(own, rank.cutoff, rank.cutoff, rank.better >= keep);
    const int p = DistinctPrecision(own, rank.cutoff);
    d.explanation = absl::StrCat("best so far ", Num(own, p), " ", Relation(goal_, d.stop),
                                 " cutoff ", Num(rank.cutoff, p), " (rung ", rung, " of ",
                                 rungs_.size(), "): it ranks ", Ordinal(rank.better + 1), " of ",
                                 Trials(k), " that reached interval ", interval, "; the top 1/",
                                 Num(settings_.reduction_factor), " (", Trials(keep), ") continue");
    return d;
  }

 private:
  const std::vector<int64_t> rungs_;
};

// The preconditions the policies' arithmetic relies on: no modulo or division by zero, a
// slack to read, a rung ladder. A subset of spec/early_termination.h's rules, checked only
// so that settings nobody validated fail instead of misbehaving.
bool Runnable(const core::EarlyTermination& s) {
  using core::PolicyType;
  if (s.type == PolicyType::kNone) return true;
  if (s.evaluation_interval < 1) return false;
  switch (s.type) {
    case PolicyType::kBandit:
      return s.slack_factor.has_value() != s.slack_amount.has_value();
    case PolicyType::kTruncationSelection:
      return s.truncation_percentage >= 1;
    case PolicyType::kAsha:
      return core::AshaRungLadder(s).has_value();
    default:
      return true;
  }
}

}  // namespace

std::string DescribeEarlyTermination(const core::EarlyTermination& s) {
  using core::PolicyType;
  if (s.type == PolicyType::kNone) return "no early-termination policy";
  std::string out = absl::StrCat(core::PolicyTypeName(s.type), " (");
  switch (s.type) {
    case PolicyType::kBandit:
      if (s.slack_factor) absl::StrAppend(&out, "slack_factor ", Num(*s.slack_factor, 15), ", ");
      if (s.slack_amount) absl::StrAppend(&out, "slack_amount ", Num(*s.slack_amount, 15), ", ");
      break;
    case PolicyType::kTruncationSelection:
      absl::StrAppend(&out, "truncation_percentage ", s.truncation_percentage,
                      ", exclude_finished_jobs ", s.exclude_finished_jobs ? "true" : "false", ", ");
      break;
    case PolicyType::kAsha:
      absl::StrAppend(&out, "reduction_factor ", Num(s.reduction_factor, 15), ", min_interval ",
                      s.min_interval, ", max_interval ", s.max_interval, ", delay_evaluation ",
                      s.delay_evaluation, ")");
      return out;
    default:
      break;
  }
  absl::StrAppend(&out, "evaluation_interval ", s.evaluation_interval, ", delay_evaluation ",
                  s.delay_evaluation, ")");
  return out;
}

std::vector<int64_t> AshaRungs(const core::EarlyTermination& settings) {
  if (settings.type != core::PolicyType::kAsha) return {};
  return core::AshaRungLadder(settings).value_or(std::vector<int64_t>{});
}

bool IsEvaluationInterval(const core::EarlyTermination& s, int64_t interval) {
  if (s.type == core::PolicyType::kNone || interval < 1) return false;
  if (s.type == core::PolicyType::kAsha) {
    const std::vector<int64_t> rungs = AshaRungs(s);
    return interval >= s.delay_evaluation &&
           std::binary_search(rungs.begin(), rungs.end(), interval);
  }
  return s.evaluation_interval >= 1 && interval % s.evaluation_interval == 0 &&
         interval >= s.delay_evaluation;
}

std::optional<int64_t> FirstEvaluationInterval(const core::EarlyTermination& s) {
  if (s.type == core::PolicyType::kNone) return std::nullopt;
  if (s.type == core::PolicyType::kAsha) {
    for (int64_t r : AshaRungs(s)) {
      if (r >= s.delay_evaluation) return r;
    }
    return std::nullopt;
  }
  if (s.evaluation_interval < 1) return std::nullopt;
  const int64_t start = std::max<int64_t>(1, s.delay_evaluation);
  return (start + s.evaluation_interval - 1) / s.evaluation_interval * s.evaluation_interval;
}

std::string DecisionReason(const core::Decision& decision) {
  const std::string& e = decision.explanation;
  for (const char* verdict : {"stopped", "continues"}) {
    const std::string prefix = absl::StrCat(verdict, " at interval ", decision.interval, ": ");
    if (e.compare(0, prefix.size(), prefix) == 0) return e.substr(prefix.size());
  }
  return e;
}

absl::StatusOr<std::unique_ptr<EarlyTerminationPolicy>> MakeEarlyTerminationPolicy(
    const core::EarlyTermination& settings, core::Goal goal) {
  if (!Runnable(settings)) {
    return absl::InvalidArgumentError(
        absl::StrCat("early_termination: these ", core::PolicyTypeName(settings.type),
                     " settings were not validated (spec::ValidateEarlyTermination rejects them)"));
  }
  switch (settings.type) {
    case core::PolicyType::kNone:
      return nullptr;
    case core::PolicyType::kBandit:
      return std::make_unique<BanditPolicy>(settings, goal);
    case core::PolicyType::kMedianStopping:
      return std::make_unique<MedianStoppingPolicy>(settings, goal);
    case core::PolicyType::kTruncationSelection:
      return std::make_unique<TruncationSelectionPolicy>(settings, goal);
    case core::PolicyType::kAsha:
      return std::make_unique<AshaPolicy>(settings, goal);
  }
  return absl::InvalidArgumentError("early_termination: unknown policy type");
}

}  // namespace sweep::policies

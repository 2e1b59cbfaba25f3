// policy_bench: what early-termination policies save on learning curves, and what one
// decision costs.
//
// Curve sets:
//   scripted  saturating curves with noise, generated here (seeded);
//   sgd       real curves: scikit-learn SGDClassifier trained epoch by epoch on digits,
//             produced by bench/sgd_curves.py with /usr/bin/python3 and cached as JSON
//             under the build directory (--curves PATH to use another file).
// Each policy is run as the controller would run it: sequentially (concurrency 1, trial
// after trial, through policies::ReplayEvents in recorded order) and with 8 trials in
// lockstep (each running trial reports one interval per tick; a stopped or finished trial
// frees its slot for the next one; no trial overtakes an earlier one, so this must agree
// with the sequential run), and with 8 workers running trials of different speeds
// ("async-8": reports interleave and later trials overtake earlier ones). Printed per policy:
// fraction of intervals saved against no policy, and the final best (best last value of a trial the
// policy let finish) against the no-policy best. Cost: mean and p99 of one OnReport call with 1,000
// trials x 50 intervals (verdicts are ignored so every trial reaches every interval: the largest
// per-interval fields).
//
// Targets (exit status 1 if one is missed):
//   median_stopping, delay_evaluation 5: >= 25% of intervals saved, same best trial;
//   asha: <= 1/3 of the no-policy intervals, final best within 0.5% of the no-policy best;
//   one decision <= 100 us (mean and p99) with 1,000 trials in the sweep.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "core/types.h"
#include "nlohmann/json.hpp"
#include "policies/early_termination.h"
#include "policies/replay.h"
#include "spec/spec.h"

#ifndef SWEEP_SOURCE_DIR
#define SWEEP_SOURCE_DIR "."
#endif
#ifndef SWEEP_BENCH_CACHE_DIR
#define SWEEP_BENCH_CACHE_DIR "."
#endif

namespace {

using sweep::core::EarlyTermination;
using sweep::core::Goal;
using sweep::core::PolicyType;
using sweep::policies::EarlyTerminationPolicy;
using sweep::policies::MakeEarlyTerminationPolicy;

struct CurveSet {
  std::string name;
  std::string description;
  Goal goal = Goal::kMaximize;
  std::vector<std::vector<double>> curves;  // trial i+1
};

struct NamedPolicy {
  std::string label;
  EarlyTermination settings;
};

struct Outcome {
  int64_t intervals = 0;
  std::optional<size_t> best_trial;  // 0-based
  double best_value = std::nan("");
};

// Saturating learning curves: start s, asymptote a, time constant tau, plus Gaussian
// noise; some trials learn slowly but end high, so early leaders are not always last.
CurveSet ScriptedCurves(int trials, int intervals, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> start(0.05, 0.3), tau(1.5, 12.0), unit(0, 1);
  std::normal_distribution<double> noise(0, 0.006);
  CurveSet set;
  set.name = "scripted";
  char buf[160];
  std::snprintf(buf, sizeof buf,
                "%d trials x %d intervals, a-(a-s)*exp(-n/tau)+N(0,0.006), "
                "seed %llu",
                trials, intervals, static_cast<unsigned long long>(seed));
  set.description = buf;
  for (int t = 0; t < trials; ++t) {
    // Skew towards mediocre trials, as random search tends to produce.
    const double a = 0.55 + 0.4 * std::pow(unit(rng), 2.0);
    const double s = start(rng), k = tau(rng);
    std::vector<double> curve;
    for (int n = 1; n <= intervals; ++n) {
      double v = a - (a - s) * std::exp(-n / k) + noise(rng);
      curve.push_back(std::clamp(v, 0.0, 1.0));
    }
    set.curves.push_back(std::move(curve));
  }
  return set;
}

std::optional<CurveSet> SgdCurves(const std::string& path, const std::string& python,
                                  const std::string& script) {
  if (!std::filesystem::exists(path)) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    const std::string command = python + " " + script + " --out " + path + ".tmp";
    std::fprintf(stderr, "generating SGD curves: %s\n", command.c_str());
    if (std::system(command.c_str()) != 0) {
      std::fprintf(stderr, "could not generate %s (needs %s with scikit-learn)\n", path.c_str(),
                   python.c_str());
      return std::nullopt;
    }
    std::filesystem::rename(path + ".tmp", path);
  }
  std::ifstream in(path);
  nlohmann::json j;
  try {
    in >> j;
  } catch (const nlohmann::json::exception& e) {
    std::fprintf(stderr, "%s: %s\n", path.c_str(), e.what());
    return std::nullopt;
  }
  CurveSet set;
  set.name = "sgd";
  set.goal = j.value("goal", "maximize") == "minimize" ? Goal::kMinimize : Goal::kMaximize;
  for (const auto& t : j.at("trials"))
    set.curves.push_back(t.at("curve").get<std::vector<double>>());
  set.description = std::to_string(set.curves.size()) + " trials x " +
                    std::to_string(set.curves.empty() ? 0 : set.curves[0].size()) + " epochs, " +
                    j.value("model", std::string()) + ", " + j.value("data_set", std::string());
  return set;
}

// The no-policy outcome, and a trial's final value: its last reported value.
Outcome NoPolicy(const CurveSet& set) {
  Outcome o;
  for (size_t t = 0; t < set.curves.size(); ++t) {
    o.intervals += static_cast<int64_t>(set.curves[t].size());
    const double v = set.curves[t].back();
    if (!o.best_trial || sweep::core::Better(set.goal, v, o.best_value)) {
      o.best_trial = t;
      o.best_value = v;
    }
  }
  return o;
}

// Concurrency 1, in trial order, through the same replay code as `sweep replay`.
Outcome Sequential(const CurveSet& set, const EarlyTermination& settings) {
  using sweep::policies::ReplayEvent;
  std::vector<ReplayEvent> events;
  for (size_t t = 0; t < set.curves.size(); ++t) {
    for (double v : set.curves[t]) {
      ReplayEvent e;
      e.trial_id = static_cast<int64_t>(t) + 1;
      e.value = v;
      events.push_back(e);
    }
    ReplayEvent end;
    end.kind = ReplayEvent::Kind::kEnd;
    end.trial_id = static_cast<int64_t>(t) + 1;
    events.push_back(end);
  }
  sweep::core::Objective objective;
  objective.primary_metric = "metric";
  objective.goal = set.goal;
  auto report = sweep::policies::ReplayEvents(events, settings, objective);
  if (!report.ok()) {
    std::fprintf(stderr, "replay failed: %s\n", std::string(report.status().message()).c_str());
    std::exit(2);
  }
  Outcome o;
  o.intervals = report->intervals_with_policy;
  if (report->best_trial_with_policy) {
    o.best_trial = static_cast<size_t>(*report->best_trial_with_policy - 1);
    o.best_value = *report->best_value_with_policy;
  }
  return o;
}

// `concurrency` slots in lockstep: every tick each occupied slot reports its trial's next
// interval; a trial that finishes or is stopped frees its slot for the next trial, which
// starts reporting on the next tick.
Outcome Lockstep(const CurveSet& set, const EarlyTermination& settings, int concurrency) {
  auto policy = MakeEarlyTerminationPolicy(settings, set.goal);
  if (!policy.ok()) std::exit(2);
  struct Slot {
    size_t trial;
    size_t next = 0;
  };
  std::vector<Slot> running;
  size_t next_trial = 0;
  std::vector<bool> stopped(set.curves.size(), false);
  Outcome o;
  while (next_trial < set.curves.size() || !running.empty()) {
    while (static_cast<int>(running.size()) < concurrency && next_trial < set.curves.size()) {
      running.push_back({next_trial++});
    }
    std::vector<Slot> still;
    for (Slot& s : running) {
      const std::vector<double>& curve = set.curves[s.trial];
      const int64_t id = static_cast<int64_t>(s.trial) + 1;
      ++o.intervals;
      bool stop = false;
      if (*policy) {
        auto d = (*policy)->OnReport(id, static_cast<int64_t>(s.next) + 1, curve[s.next]);
        stop = d && d->stop;
      }
      ++s.next;
      if (stop) {
        stopped[s.trial] = true;
        (*policy)->OnTrialEnded(id, sweep::core::TrialState::kEarlyTerminated);
      } else if (s.next == curve.size()) {
        if (*policy) (*policy)->OnTrialEnded(id, sweep::core::TrialState::kCompleted);
      } else {
        still.push_back(s);
      }
    }
    running = std::move(still);
  }
  for (size_t t = 0; t < set.curves.size(); ++t) {
    if (stopped[t]) continue;
    const double v = set.curves[t].back();
    if (!o.best_trial || sweep::core::Better(set.goal, v, o.best_value)) {
      o.best_trial = t;
      o.best_value = v;
    }
  }
  return o;
}

// `concurrency` workers, trials of different speeds: trial t spends d_t per interval
// (log-uniform in [0.5, 2], seeded), so later trials overtake earlier ones and reports
// arrive interleaved, as in a real sweep. Reports are processed in time order.
Outcome Async(const CurveSet& set, const EarlyTermination& settings, int concurrency,
              uint64_t seed) {
  auto policy = MakeEarlyTerminationPolicy(settings, set.goal);
  if (!policy.ok()) std::exit(2);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> log_speed(std::log(0.5), std::log(2.0));
  std::vector<double> duration(set.curves.size());
  for (double& d : duration) d = std::exp(log_speed(rng));
  struct Next {
    double time;
    uint64_t seq;
    size_t trial;
    size_t interval;  // 0-based index of the report due
    bool operator>(const Next& o) const { return std::tie(time, seq) > std::tie(o.time, o.seq); }
  };
  std::priority_queue<Next, std::vector<Next>, std::greater<Next>> queue;
  uint64_t seq = 0;
  size_t next_trial = 0;
  auto start = [&](double now) {
    if (next_trial >= set.curves.size()) return;
    const size_t t = next_trial++;
    queue.push({now + duration[t], seq++, t, 0});
  };
  for (int i = 0; i < concurrency; ++i) start(0);
  std::vector<bool> stopped(set.curves.size(), false);
  Outcome o;
  while (!queue.empty()) {
    const Next n = queue.top();
    queue.pop();
    const std::vector<double>& curve = set.curves[n.trial];
    const int64_t id = static_cast<int64_t>(n.trial) + 1;
    ++o.intervals;
    bool stop = false;
    if (*policy) {
      auto d = (*policy)->OnReport(id, static_cast<int64_t>(n.interval) + 1, curve[n.interval]);
      stop = d && d->stop;
    }
    if (stop || n.interval + 1 == curve.size()) {
      stopped[n.trial] = stop;
      if (*policy) {
        (*policy)->OnTrialEnded(id, stop ? sweep::core::TrialState::kEarlyTerminated
                                         : sweep::core::TrialState::kCompleted);
      }
      start(n.time);
    } else {
      queue.push({n.time + duration[n.trial], seq++, n.trial, n.interval + 1});
    }
  }
  for (size_t t = 0; t < set.curves.size(); ++t) {
    if (stopped[t]) continue;
    const double v = set.curves[t].back();
    if (!o.best_trial || sweep::core::Better(set.goal, v, o.best_value)) {
      o.best_trial = t;
      o.best_value = v;
    }
  }
  return o;
}

std::vector<NamedPolicy> Policies(int64_t max_interval) {
  std::vector<NamedPolicy> out;
  auto add = [&](const std::string& label, auto configure) {
    EarlyTermination s;
    configure(s);
    out.push_back({label, s});
  };
  add("bandit slack_factor 0.1 delay 5", [](EarlyTermination& s) {
    s.type = PolicyType::kBandit;
    s.slack_factor = 0.1;
    s.delay_evaluation = 5;
  });
  add("bandit slack_amount 0.05 delay 5", [](EarlyTermination& s) {
    s.type = PolicyType::kBandit;
    s.slack_amount = 0.05;
    s.delay_evaluation = 5;
  });
  add("median_stopping delay 5", [](EarlyTermination& s) {
    s.type = PolicyType::kMedianStopping;
    s.delay_evaluation = 5;
  });
  add("truncation_selection 20% delay 5", [](EarlyTermination& s) {
    s.type = PolicyType::kTruncationSelection;
    s.truncation_percentage = 20;
    s.delay_evaluation = 5;
  });
  add("asha rf 3 min 1 max " + std::to_string(max_interval), [&](EarlyTermination& s) {
    s.type = PolicyType::kAsha;
    s.reduction_factor = 3;
    s.min_interval = 1;
    s.max_interval = max_interval;
  });
  add("asha rf 3 min 3 max " + std::to_string(max_interval), [&](EarlyTermination& s) {
    s.type = PolicyType::kAsha;
    s.reduction_factor = 3;
    s.min_interval = 3;
    s.max_interval = max_interval;
  });
  return out;
}

struct Row {
  std::string set, order, policy;
  PolicyType type;
  double saved = 0;       // fraction of intervals saved
  double spent = 0;       // fraction of intervals spent
  double best_ratio = 0;  // best under policy / no-policy best
  bool same_best = false;
};

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(std::ceil(p * v.size())) - 1;
  return v[std::min(i, v.size() - 1)];
}

struct Cost {
  std::string policy;
  double mean_us = 0, p99_us = 0, max_us = 0;
};

// 1,000 trials x 50 intervals, interval by interval (all trials running at once), every
// call timed; verdicts ignored so all 1,000 trials reach every interval.
Cost MeasureCost(const NamedPolicy& p, const CurveSet& set) {
  auto policy = MakeEarlyTerminationPolicy(p.settings, set.goal);
  std::vector<double> us;
  us.reserve(set.curves.size() * set.curves[0].size());
  const size_t intervals = set.curves[0].size();
  for (size_t n = 0; n < intervals; ++n) {
    for (size_t t = 0; t < set.curves.size(); ++t) {
      const auto start = std::chrono::steady_clock::now();
      auto d = (*policy)->OnReport(static_cast<int64_t>(t) + 1, static_cast<int64_t>(n) + 1,
                                   set.curves[t][n]);
      const auto end = std::chrono::steady_clock::now();
      if (d && d->explanation.empty()) std::abort();  // keep the decision observable
      us.push_back(std::chrono::duration<double, std::micro>(end - start).count());
    }
  }
  Cost c;
  c.policy = p.label;
  double sum = 0;
  for (double v : us) sum += v;
  c.mean_us = sum / us.size();
  c.p99_us = Percentile(us, 0.99);
  c.max_us = *std::max_element(us.begin(), us.end());
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  std::string curves_path = std::string(SWEEP_BENCH_CACHE_DIR) + "/policy_sgd_curves.json";
  std::string python = "/usr/bin/python3";
  std::string script = std::string(SWEEP_SOURCE_DIR) + "/bench/sgd_curves.py";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--curves" && i + 1 < argc) {
      curves_path = argv[++i];
    } else if (arg == "--python" && i + 1 < argc) {
      python = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--curves PATH] [--python PATH]\n", argv[0]);
      return 2;
    }
  }

  std::vector<CurveSet> sets = {ScriptedCurves(200, 50, 42)};
  if (auto sgd = SgdCurves(curves_path, python, script)) sets.push_back(std::move(*sgd));
  const bool have_sgd = sets.size() == 2;

  std::vector<Row> rows;
  for (const CurveSet& set : sets) {
    std::printf("\n== %s: %s\n", set.name.c_str(), set.description.c_str());
    const Outcome none = NoPolicy(set);
    std::printf("no policy: %lld intervals, best trial %zu, best %.4f\n",
                static_cast<long long>(none.intervals), *none.best_trial + 1, none.best_value);
    std::printf("%-11s %-34s %8s %8s %13s %10s\n", "order", "policy", "saved", "spent",
                "best/no-pol.", "same best");
    const int64_t length = static_cast<int64_t>(set.curves[0].size());
    for (const std::string order : {"sequential", "lockstep-8", "async-8"}) {
      for (const NamedPolicy& p : Policies(length)) {
        const Outcome o = order == "sequential"   ? Sequential(set, p.settings)
                          : order == "lockstep-8" ? Lockstep(set, p.settings, 8)
                                                  : Async(set, p.settings, 8, 99);
        Row r{set.name, order, p.label, p.settings.type};
        r.spent = static_cast<double>(o.intervals) / none.intervals;
        r.saved = 1 - r.spent;
        r.best_ratio = o.best_trial ? o.best_value / none.best_value : 0;
        r.same_best = o.best_trial == none.best_trial;
        std::printf("%-11s %-34s %7.1f%% %7.1f%% %13.4f %10s\n", order.c_str(), p.label.c_str(),
                    100 * r.saved, 100 * r.spent, r.best_ratio, r.same_best ? "yes" : "no");
        rows.push_back(r);
      }
    }
  }

  std::printf("\n== cost of one OnReport call, 1,000 trials x 50 intervals in the sweep\n");
  const CurveSet big = ScriptedCurves(1000, 50, 7);
  std::vector<Cost> costs;
  for (const NamedPolicy& p : Policies(50)) {
    Cost c = MeasureCost(p, big);
    std::printf("%-34s mean %6.2f us   p99 %6.2f us   max %8.2f us\n", c.policy.c_str(), c.mean_us,
                c.p99_us, c.max_us);
    costs.push_back(c);
  }

  // Targets.
  bool ok = true;
  std::printf("\n== targets\n");
  for (const Row& r : rows) {
    if (r.type == PolicyType::kMedianStopping) {
      const bool pass = r.saved >= 0.25 && r.same_best;
      ok &= pass;
      std::printf(
          "%s median_stopping delay 5 on %s/%s: saved %.1f%% (>= 25%%), same best "
          "trial: %s\n",
          pass ? "PASS" : "FAIL", r.set.c_str(), r.order.c_str(), 100 * r.saved,
          r.same_best ? "yes" : "no");
    }
    if (r.type == PolicyType::kAsha && r.policy.find("min 3") != std::string::npos) {
      const bool pass = r.spent <= 1.0 / 3 && r.best_ratio >= 0.995;
      ok &= pass;
      std::printf(
          "%s %s on %s/%s: spent %.1f%% (<= 33.3%%), best %.2f%% of no-policy best "
          "(>= 99.5%%)\n",
          pass ? "PASS" : "FAIL", r.policy.c_str(), r.set.c_str(), r.order.c_str(), 100 * r.spent,
          100 * r.best_ratio);
    }
  }
  for (const Cost& c : costs) {
    const bool pass = c.mean_us <= 100 && c.p99_us <= 100;
    ok &= pass;
    std::printf("%s %s: mean %.2f us, p99 %.2f us (<= 100 us)\n", pass ? "PASS" : "FAIL",
                c.policy.c_str(), c.mean_us, c.p99_us);
  }
  if (!have_sgd) {
    std::printf("FAIL sgd curves unavailable (%s)\n", curves_path.c_str());
    ok = false;
  }
  return ok ? 0 : 1;
}

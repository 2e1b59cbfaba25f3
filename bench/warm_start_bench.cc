// The payoff of warm start and `sweep extend` (issue 15), measured through the real
// Controller (in-memory store, in-process "workers" that evaluate a benchmark function):
//
//   warm  : a 30-trial GP sweep warm-started from an earlier 30-trial sweep (other seed)
//   cold  : a 30-trial GP sweep                                  (the anchor for warm)
//   ext   : a 30-trial GP sweep extended to 60 with ExtendSweep
//   sixty : a 60-trial GP sweep                                  (the anchor for ext)
//
// Regret = best value found by the sweep's own trials - the function's minimum; the
// median over seeds is printed with the ratio to its anchor, and every extended sweep is
// checked for repeated configurations. Run under `nice -n 19`:
//   nice -n 19 build/bench/warm_start_bench --seeds 5 --trials 30
#include <algorithm>
#include <cstdio>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "bench/bench_functions.h"
#include "controller/controller.h"
#include "spec/spec.h"
#include "store/store.h"

namespace sweep::bench {
namespace {

std::string SpecYaml(const Function& fn, uint64_t seed, int trials, const std::string& warm) {
  std::string space;
  for (size_t i = 0; i < fn.bounds.size(); ++i) {
    absl::StrAppend(&space, "  x", i + 1, ": {type: uniform, min_value: ", fn.bounds[i].first,
                    ", max_value: ", fn.bounds[i].second, "}\n");
  }
  return absl::StrCat("type: sweep\ntrial:\n  command: f ${{search_space.x1}}\n",
                      "compute: azureml:bench\nsampling_algorithm: {type: bayesian, seed: ", seed,
                      "}\nsearch_space:\n", space,
                      "objective: {primary_metric: y, goal: minimize}\nlimits: {max_total_trials: ",
                      trials, ", max_concurrent_trials: 1}\n",
                      warm.empty() ? "" : absl::StrCat("warm_start: {sweeps: [", warm, "]}\n"));
}

class Bench {
 public:
  Bench() : store_(store::NewInMemoryStore()) {
    core::ComputeTarget t;
    t.name = "bench";
    t.type = "amlcompute";
    t.provider = "local";
    t.max_nodes = 1;
    store::WriteBatch b;
    b.computes.push_back(t);
    Check(store_->Commit(b));
    controller::ControllerOptions options;
    options.max_acquire_wait_ms = 0;
    auto c = controller::Controller::Create(store_.get(), options);
    Check(c.status());
    ctrl_ = std::move(*c);
    controller::NodeRegistration r;
    r.compute = "bench";
    auto reg = ctrl_->Register(r);
    Check(reg.status());
    node_ = reg->node_id;
  }
  ~Bench() { ctrl_->Shutdown(); }

  std::string Submit(const Function& fn, uint64_t seed, int trials, const std::string& warm = "") {
    const std::string yaml = SpecYaml(fn, seed, trials, warm);
    auto spec = spec::ParseSpec(yaml, "", "");
    Check(spec.status());
    auto id = ctrl_->SubmitSweep(*spec, yaml);
    Check(id.status());
    return *id;
  }

  // Runs every trial the sweep offers, evaluating `fn`.
  void RunAll(const std::string& sweep, const Function& fn) {
    while (true) {
      auto got = ctrl_->AcquireTrial(node_, 0);
      Check(got.status());
      if (!got->lease) return;
      const core::LeaseRef& ref = got->lease->ref;
      auto trial = store_->GetTrial(ref.sweep_id, ref.trial_id);
      Check(trial.status());
      core::MetricPoint p;
      p.name = "y";
      p.value = fn.f(PointOf(trial->config, fn.bounds.size()));
      Check(ctrl_->ReportMetrics(ref, {p}).status());
      Check(ctrl_->CompleteTrial(ref, core::Completion{}).status());
    }
  }

  void Extend(const std::string& sweep, int total) {
    Check(ctrl_->ExtendSweep(sweep, {.max_total_trials = total}).status());
  }

  // Regret of the sweep's own best; *repeats counts configurations seen twice.
  double Regret(const std::string& sweep, const Function& fn, int* repeats) {
    auto trials = store_->ListTrials(sweep);
    Check(trials.status());
    double best = std::numeric_limits<double>::infinity();
    std::set<std::string> keys;
    for (const core::Trial& t : *trials) {
      if (t.final_value) best = std::min(best, *t.final_value);
      if (!keys.insert(core::ConfigKey(t.config)).second && repeats) ++*repeats;
    }
    return best - fn.minimum;
  }

 private:
  static void Check(const absl::Status& s) {
    if (!s.ok()) {
      std::fprintf(stderr, "warm_start_bench: %s\n", std::string(s.message()).c_str());
      std::exit(1);
    }
  }
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<controller::Controller> ctrl_;
  std::string node_;
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int Main(int argc, char** argv) {
  CLI::App app{"Warm start and sweep extend: GP regret through the controller"};
  int seeds = 5, trials = 30;
  std::vector<std::string> names = {"hartmann6", "ackley5", "levy5"};
  app.add_option("--seeds", seeds, "Seeds per function")->capture_default_str();
  app.add_option("--trials", trials, "Trials of one sweep (the extension doubles it)")
      ->capture_default_str();
  app.add_option("--functions", names, "Benchmark functions")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  std::printf("%-10s %5s %12s %12s %7s %12s %12s %7s %8s\n", "function", "seeds", "warm", "cold",
              "ratio", "ext", "sixty", "ratio", "repeats");
  int failures = 0;
  for (const Function& fn : AllFunctions()) {
    if (std::find(names.begin(), names.end(), fn.name) == names.end()) continue;
    std::vector<double> warm, cold, ext, sixty;
    int repeats = 0;
    for (int k = 0; k < seeds; ++k) {
      const uint64_t seed = 1000 + k;
      Bench b;
      const std::string earlier = b.Submit(fn, seed + 500, trials);
      b.RunAll(earlier, fn);
      const std::string w = b.Submit(fn, seed, trials, earlier);
      b.RunAll(w, fn);
      warm.push_back(b.Regret(w, fn, nullptr));
      const std::string c = b.Submit(fn, seed, trials);
      b.RunAll(c, fn);
      cold.push_back(b.Regret(c, fn, nullptr));
      const std::string e = b.Submit(fn, seed, trials);
      b.RunAll(e, fn);
      b.Extend(e, 2 * trials);
      b.RunAll(e, fn);
      ext.push_back(b.Regret(e, fn, &repeats));
      const std::string s = b.Submit(fn, seed, 2 * trials);
      b.RunAll(s, fn);
      sixty.push_back(b.Regret(s, fn, nullptr));
    }
    const double mw = Median(warm), mc = Median(cold), me = Median(ext), ms = Median(sixty);
    std::printf("%-10s %5d %12.4g %12.4g %7.3f %12.4g %12.4g %7.3f %8d\n", fn.name.c_str(), seeds,
                mw, mc, mc > 0 ? mw / mc : 0.0, me, ms, ms > 0 ? me / ms : 0.0, repeats);
    std::fflush(stdout);
    failures += repeats > 0 ? 1 : 0;
  }
  std::printf(
      "regret: median over seeds of (best value - minimum); ratio = warm/cold and "
      "ext/sixty (below 1: better than the anchor)\n");
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace sweep::bench

int main(int argc, char** argv) { return sweep::bench::Main(argc, argv); }

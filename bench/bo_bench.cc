// bo_bench: optimisation quality and speed of Sweep's samplers against Optuna.
//
// Mode `regret`: each function is minimised by each sampler for --trials trials over
// --seeds seeds (sequentially, one trial at a time); simple regret (best value found
// minus the known minimum) is reported after 50 trials and after --trials trials, as
// median and mean over seeds, with the median and p99 time per suggestion. The same
// run calls bench/optuna_runner.py through /usr/bin/python3 (the Debian python3 with
// python3-optuna) for Optuna's TPESampler(multivariate=True) and RandomSampler, and
// prints our figures as ratios against Optuna's TPE.
//
// Mode `scale`: suggestion time of the GP sampler with 500 completed trials in 6
// dimensions (Hartmann-6 at random points); each suggestion is evaluated and appended,
// so the history grows from 500, and occasional hyperparameter refits are included.
//
//   bo_bench [--mode regret|scale|all] [--seeds 10] [--trials 100]
//            [--functions branin,hartmann6,rosenbrock4,ackley5] [--samplers ...]
//            [--no-optuna] [--python /usr/bin/python3] [--json FILE]
//
// Not a test: it takes minutes. Targets are printed with PASS/MISS at the end.
#include <sys/wait.h>
#include <time.h>

#include <algorithm>
#include <boost/random/mersenne_twister.hpp>
#include <boost/random/uniform_real_distribution.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <numbers>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "bench/bench_functions.h"
#include "bench/gp_options.h"
#include "nlohmann/json.hpp"
#include "samplers/gp_sampler.h"
#include "samplers/sampler.h"

namespace sweep::bench {
namespace {

using samplers::Algorithm;
using samplers::History;
using samplers::Observation;

// ---- runs ----

struct Run {
  std::vector<double> values;
  std::vector<double> seconds;      // wall time per suggestion
  std::vector<double> cpu_seconds;  // CPU time of the calling thread per suggestion
};

struct SamplerKind {
  std::string label;
  std::optional<Algorithm> ours;  // nullopt: Optuna
  std::string optuna;             // tpe | random
};

double Seconds(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// The machine is shared, so wall time includes waiting for a core; thread CPU time is
// what the suggestion costs on one dedicated core. Both are reported.
double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

absl::StatusOr<Run> RunOurs(Algorithm algorithm, const Function& fn, uint64_t seed, int trials) {
  auto sampler = samplers::MakeSampler(algorithm, SpaceOf(fn), {core::Goal::kMinimize, seed});
  if (!sampler.ok()) return sampler.status();
  Run run;
  History history;
  for (int t = 0; t < trials; ++t) {
    const double cpu_start = ThreadCpuSeconds();
    const auto start = std::chrono::steady_clock::now();
    auto next = (*sampler)->Next(history);
    const auto end = std::chrono::steady_clock::now();
    const double cpu_end = ThreadCpuSeconds();
    if (!next.ok()) return next.status();
    if (!next->has_value()) return absl::InternalError("sampler ran out of configurations");
    const double value = fn.f(PointOf(**next, fn.bounds.size()));
    run.values.push_back(value);
    run.seconds.push_back(Seconds(start, end));
    run.cpu_seconds.push_back(cpu_end - cpu_start);
    history.trials.push_back(Observation{**next, core::TrialState::kCompleted, value, 1});
  }
  return run;
}

// Runs optuna_runner.py; nullopt with *why set when Optuna cannot be used.
std::optional<std::vector<Run>> RunOptuna(const std::string& python, const std::string& runner,
                                          const std::string& sampler, const Function& fn, int seeds,
                                          int trials, std::string* why) {
  std::string seed_list;
  for (int s = 0; s < seeds; ++s) seed_list += (s ? "," : "") + std::to_string(s);
  const std::string command = python + " " + runner + " " + fn.name + " " + sampler + " " +
                              seed_list + " " + std::to_string(trials) + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    *why = "cannot start " + python;
    return std::nullopt;
  }
  std::string output;
  char buf[4096];
  size_t got;
  while ((got = fread(buf, 1, sizeof buf, pipe)) > 0) output.append(buf, got);
  const int status = pclose(pipe);
  if (status != 0) {
    *why = "`" + command + "` failed (exit " + std::to_string(WEXITSTATUS(status)) + "): " + output;
    return std::nullopt;
  }
  // The JSON document is the last line (warnings, if any, come before it).
  const size_t last = output.find_last_of('{', output.rfind("\"function\""));
  nlohmann::json doc =
      nlohmann::json::parse(output.substr(last == std::string::npos ? 0 : last), nullptr, false);
  if (doc.is_discarded() || !doc.contains("runs")) {
    *why = "unreadable output from optuna_runner.py: " + output.substr(0, 500);
    return std::nullopt;
  }
  std::vector<Run> runs;
  for (const auto& r : doc["runs"]) {
    runs.push_back({r["values"].get<std::vector<double>>(),
                    r["suggest_seconds"].get<std::vector<double>>(),
                    r["suggest_cpu_seconds"].get<std::vector<double>>()});
  }
  return runs;
}

// ---- statistics ----

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double Mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / v.size();
}

// Nearest-rank percentile.
double Percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const size_t rank = static_cast<size_t>(std::ceil(q * v.size()));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

struct Stats {
  double median_regret = 0, mean_regret = 0;
  double median_ms = 0, p99_ms = 0;          // wall
  double median_cpu_ms = 0, p99_cpu_ms = 0;  // thread CPU
};

Stats Summarise(const std::vector<Run>& runs, int budget, double minimum) {
  std::vector<double> regrets, times, cpu;
  for (const Run& r : runs) {
    const int n = std::min<int>(budget, r.values.size());
    regrets.push_back(*std::min_element(r.values.begin(), r.values.begin() + n) - minimum);
    times.insert(times.end(), r.seconds.begin(), r.seconds.begin() + n);
    cpu.insert(cpu.end(), r.cpu_seconds.begin(), r.cpu_seconds.begin() + n);
  }
  return {Median(regrets),     Mean(regrets),
          1e3 * Median(times), 1e3 * Percentile(times, 0.99),
          1e3 * Median(cpu),   1e3 * Percentile(cpu, 0.99)};
}

std::string Fmt(double v, const char* f = "%.4g") {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string Ratio(double ours, double theirs) {
  if (!(theirs > 0)) return ours > 0 ? "inf" : "-";
  return "x" + Fmt(ours / theirs, "%.3g");
}

std::vector<std::string> Split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

struct Target {
  std::string what;
  bool met;
  std::string detail;
};

int RunRegret(const std::vector<Function>& functions, const std::vector<SamplerKind>& kinds,
              int seeds, int trials, bool optuna, const std::string& python,
              const std::string& runner, nlohmann::json& report, std::vector<Target>& targets) {
  std::string optuna_skip;
  const std::vector<int> budgets =
      trials > 50 ? std::vector<int>{50, trials} : std::vector<int>{trials};
  for (const Function& fn : functions) {
    std::map<std::string, std::vector<Run>> runs;
    for (const SamplerKind& kind : kinds) {
      if (kind.ours) {
        std::cerr << "[bo_bench] " << fn.name << ": " << kind.label << " x" << seeds << " seeds"
                  << std::endl;
        for (int s = 0; s < seeds; ++s) {
          auto run = RunOurs(*kind.ours, fn, static_cast<uint64_t>(s), trials);
          if (!run.ok()) {
            std::cerr << "bo_bench: " << kind.label << " on " << fn.name << ": " << run.status()
                      << "\n";
            return 1;
          }
          runs[kind.label].push_back(*std::move(run));
        }
      } else if (optuna && optuna_skip.empty()) {
        std::cerr << "[bo_bench] " << fn.name << ": " << kind.label << " x" << seeds << " seeds"
                  << std::endl;
        auto r = RunOptuna(python, runner, kind.optuna, fn, seeds, trials, &optuna_skip);
        if (r) runs[kind.label] = *std::move(r);
      }
    }
    if (!optuna_skip.empty() && optuna) {
      std::cout << "Optuna skipped: " << optuna_skip << "\n";
      optuna = false;
    }
    for (int budget : budgets) {
      std::cout << "\n"
                << fn.name << " (d=" << fn.bounds.size() << ", min " << fn.minimum << "), "
                << budget << " trials, " << seeds << " seeds\n";
      std::printf("  %-16s %13s %13s %9s %9s %9s %9s %13s %11s\n", "sampler", "median_regret",
                  "mean_regret", "cpu_med", "cpu_p99", "wall_med", "wall_p99", "regret/optuna",
                  "cpu/optuna");
      std::optional<Stats> anchor;
      if (runs.count("optuna-tpe-mv"))
        anchor = Summarise(runs["optuna-tpe-mv"], budget, fn.minimum);
      for (const SamplerKind& kind : kinds) {
        if (!runs.count(kind.label)) continue;
        const Stats s = Summarise(runs[kind.label], budget, fn.minimum);
        std::printf("  %-16s %13s %13s %9s %9s %9s %9s %13s %11s\n", kind.label.c_str(),
                    Fmt(s.median_regret).c_str(), Fmt(s.mean_regret).c_str(),
                    Fmt(s.median_cpu_ms, "%.3f").c_str(), Fmt(s.p99_cpu_ms, "%.3f").c_str(),
                    Fmt(s.median_ms, "%.3f").c_str(), Fmt(s.p99_ms, "%.3f").c_str(),
                    anchor ? Ratio(s.median_regret, anchor->median_regret).c_str() : "-",
                    anchor ? Ratio(s.median_cpu_ms, anchor->median_cpu_ms).c_str() : "-");
        std::vector<double> per_seed;
        for (const Run& r : runs[kind.label]) {
          const int n = std::min<int>(budget, r.values.size());
          per_seed.push_back(*std::min_element(r.values.begin(), r.values.begin() + n) -
                             fn.minimum);
        }
        report["regret"][fn.name][std::to_string(budget)][kind.label] = {
            {"regrets", per_seed},          {"median_regret", s.median_regret},
            {"mean_regret", s.mean_regret}, {"median_cpu_ms", s.median_cpu_ms},
            {"p99_cpu_ms", s.p99_cpu_ms},   {"median_wall_ms", s.median_ms},
            {"p99_wall_ms", s.p99_ms}};
      }
      if (runs.count("bayesian(gp)")) {
        const Stats gp = Summarise(runs["bayesian(gp)"], budget, fn.minimum);
        if (budget == 50 && anchor && (fn.name == "branin" || fn.name == "hartmann6")) {
          targets.push_back({fn.name + ": GP median regret @50 <= 1/3 of Optuna TPE(mv)",
                             gp.median_regret <= anchor->median_regret / 3,
                             Fmt(gp.median_regret) + " vs " + Fmt(anchor->median_regret) + " (" +
                                 Ratio(gp.median_regret, anchor->median_regret) + ")"});
        }
        if (budget == 100 && fn.name == "hartmann6") {
          targets.push_back({"hartmann6: GP mean regret @100 <= 0.05", gp.mean_regret <= 0.05,
                             Fmt(gp.mean_regret)});
        }
      }
    }
  }
  return 0;
}

int RunScale(nlohmann::json& report, std::vector<Target>& targets, int suggestions,
             const samplers::GpSamplerOptions& gp_options) {
  const Function fn = AllFunctions()[1];  // hartmann6
  auto sampler = samplers::GpSampler::Create(SpaceOf(fn), {core::Goal::kMinimize, 1}, gp_options);
  if (!sampler.ok()) {
    std::cerr << "bo_bench: " << sampler.status() << "\n";
    return 1;
  }
  History history;
  boost::random::mt19937_64 rng(12345);
  boost::random::uniform_real_distribution<double> u(0.0, 1.0);
  for (int i = 0; i < 500; ++i) {
    core::Config c;
    std::vector<double> x(6);
    for (int j = 0; j < 6; ++j) c["x" + std::to_string(j + 1)] = x[j] = u(rng);
    history.trials.push_back(Observation{c, core::TrialState::kCompleted, fn.f(x), 1});
  }
  std::cerr << "[bo_bench] scale: " << suggestions << " GP suggestions after 500 trials"
            << std::endl;
  std::vector<double> times, cpu;
  double best = 0;
  for (int i = 0; i < suggestions; ++i) {
    const double cpu_start = ThreadCpuSeconds();
    const auto start = std::chrono::steady_clock::now();
    auto next = (*sampler)->Next(history);
    const auto end = std::chrono::steady_clock::now();
    const double cpu_end = ThreadCpuSeconds();
    if (!next.ok() || !next->has_value()) {
      std::cerr << "bo_bench: scale run failed: " << next.status() << "\n";
      return 1;
    }
    times.push_back(Seconds(start, end));
    cpu.push_back(cpu_end - cpu_start);
    const double v = fn.f(PointOf(**next, 6));
    best = std::min(best, v);
    history.trials.push_back(Observation{**next, core::TrialState::kCompleted, v, 1});
  }
  const double median_ms = 1e3 * Median(cpu), p99_ms = 1e3 * Percentile(cpu, 0.99);
  const double wall_median_ms = 1e3 * Median(times), wall_p99_ms = 1e3 * Percentile(times, 0.99);
  std::cout << "\nscale: GP suggestion time with 500 completed trials in 6 dims (" << suggestions
            << " suggestions, history growing to " << 500 + suggestions << ")\n"
            << "  cpu:  median " << Fmt(median_ms, "%.2f") << " ms, p99 " << Fmt(p99_ms, "%.2f")
            << " ms, max " << Fmt(1e3 * *std::max_element(cpu.begin(), cpu.end()), "%.2f")
            << " ms, first call (cold fit) " << Fmt(1e3 * cpu[0], "%.2f") << " ms\n"
            << "  wall: median " << Fmt(wall_median_ms, "%.2f") << " ms, p99 "
            << Fmt(wall_p99_ms, "%.2f") << " ms (load average included)\n";
  report["scale"] = {{"median_cpu_ms", median_ms},
                     {"p99_cpu_ms", p99_ms},
                     {"median_wall_ms", wall_median_ms},
                     {"p99_wall_ms", wall_p99_ms},
                     {"suggestions", suggestions}};
  targets.push_back({"scale: median CPU time per suggestion <= 50 ms", median_ms <= 50,
                     Fmt(median_ms, "%.2f") + " ms (wall " + Fmt(wall_median_ms, "%.2f") + ")"});
  targets.push_back({"scale: p99 CPU time per suggestion <= 1000 ms", p99_ms <= 1000,
                     Fmt(p99_ms, "%.2f") + " ms (wall " + Fmt(wall_p99_ms, "%.2f") + ")"});
  return 0;
}

int Main(int argc, char** argv) {
  CLI::App app{"bo_bench: Sweep samplers vs Optuna on functions with known minima"};
  std::string mode = "all";
  int seeds = 10, trials = 100, scale_suggestions = 200;
  std::string functions = "branin,hartmann6,rosenbrock4,ackley5";
  std::string sampler_list = "bayesian,tpe,random,sobol,optuna-tpe,optuna-random";
  bool no_optuna = false;
  std::string python = "/usr/bin/python3";
  std::string runner = std::string(SWEEP_SOURCE_DIR) + "/bench/optuna_runner.py";
  std::string json_path;
  std::string gp_options_json = "{}";
  app.add_option("--mode", mode, "regret | scale | all")->capture_default_str();
  app.add_option("--seeds", seeds, "Seeds per function and sampler (0..N-1)")
      ->capture_default_str();
  app.add_option("--trials", trials, "Trials per run (regret is also shown at 50)")
      ->capture_default_str();
  app.add_option("--functions", functions,
                 "Comma-separated: branin, hartmann6, rosenbrock4, "
                 "ackley5, levy5")
      ->capture_default_str();
  app.add_option("--samplers", sampler_list,
                 "Comma-separated: bayesian, tpe, random, sobol, "
                 "optuna-tpe, optuna-random")
      ->capture_default_str();
  app.add_option("--scale-suggestions", scale_suggestions, "Suggestions timed in scale mode")
      ->capture_default_str();
  app.add_flag("--no-optuna", no_optuna, "Do not run Optuna");
  app.add_option("--python", python, "Python with optuna")->capture_default_str();
  app.add_option("--optuna-runner", runner, "Path of optuna_runner.py")->capture_default_str();
  app.add_option("--json", json_path, "Also write the figures as JSON to this file");
  app.add_option("--gp-options", gp_options_json,
                 "Scale mode: GpSamplerOptions fields as JSON, e.g. {\"additive\": false}");
  CLI11_PARSE(app, argc, argv);
  if (mode != "regret" && mode != "scale" && mode != "all") {
    std::cerr << "bo_bench: --mode must be regret, scale or all, got '" << mode << "'\n";
    return 2;
  }
  if (seeds < 1 || trials < 1) {
    std::cerr << "bo_bench: --seeds and --trials must be positive\n";
    return 2;
  }
  std::vector<Function> chosen;
  for (const std::string& name : Split(functions)) {
    bool found = false;
    for (const Function& f : AllFunctions()) {
      if (f.name == name) {
        chosen.push_back(f);
        found = true;
      }
    }
    if (!found) {
      std::cerr << "bo_bench: unknown function '" << name << "'\n";
      return 2;
    }
  }
  const std::map<std::string, SamplerKind> known = {
      {"bayesian", {"bayesian(gp)", Algorithm::kBayesian, ""}},
      {"tpe", {"tpe", Algorithm::kTpe, ""}},
      {"random", {"random", Algorithm::kRandom, ""}},
      {"sobol", {"sobol", Algorithm::kSobol, ""}},
      {"optuna-tpe", {"optuna-tpe-mv", std::nullopt, "tpe"}},
      {"optuna-random", {"optuna-random", std::nullopt, "random"}},
  };
  std::vector<SamplerKind> kinds;
  for (const std::string& name : Split(sampler_list)) {
    auto it = known.find(name);
    if (it == known.end()) {
      std::cerr << "bo_bench: unknown sampler '" << name << "'\n";
      return 2;
    }
    kinds.push_back(it->second);
  }
  nlohmann::json report;
  std::vector<Target> targets;
  if (mode == "regret" || mode == "all") {
    if (int rc =
            RunRegret(chosen, kinds, seeds, trials, !no_optuna, python, runner, report, targets)) {
      return rc;
    }
  }
  if (mode == "scale" || mode == "all") {
    auto gp_options = GpOptionsFromJson(nlohmann::json::parse(gp_options_json, nullptr, false));
    if (!gp_options.ok()) {
      std::cerr << "bo_bench: --gp-options: " << gp_options.status().message() << "\n";
      return 2;
    }
    if (int rc = RunScale(report, targets, scale_suggestions, *gp_options)) return rc;
  }
  if (!targets.empty()) {
    std::cout << "\ntargets\n";
    for (const Target& t : targets) {
      std::cout << "  " << (t.met ? "PASS " : "MISS ") << t.what << ": " << t.detail << "\n";
    }
  }
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << report.dump(2) << "\n";
  }
  return 0;
}

}  // namespace
}  // namespace sweep::bench

int main(int argc, char** argv) { return sweep::bench::Main(argc, argv); }

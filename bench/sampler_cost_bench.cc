// Suggestion cost of each sampler against the size of the history (issue 12), calling the
// samplers directly as the controller does: one long-lived sampler, the history growing by
// the trial it suggested. For each history size N the history is first filled with N
// completed trials (random configurations of a 4-parameter space, a smooth objective),
// then the first suggestion is timed (it builds the sampler's caches for N trials), then
// the median of the next suggestions, each appended to the history before the next call.
// Times are the thread's CPU time.
//
//   build/bench/sampler_cost_bench [--quick]
//
// Prints a table, and one `RESULT sampler history median_us` line per figure for
// bench/ingest_bench.py. Random, grid and TPE go up to 100,000 trials, the GP to 2,000.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "core/search_space.h"
#include "samplers/sampler.h"

namespace {

using sweep::core::ChoiceOption;
using sweep::core::Config;
using sweep::core::ParamKind;
using sweep::core::ParamSpec;
using sweep::core::SearchSpace;
using sweep::samplers::Algorithm;
using sweep::samplers::History;
using sweep::samplers::Observation;

// Finite (a grid of 40 x 40 x 20 x 4 = 128,000 points) so every sampler can serve it.
SearchSpace Space() {
  SearchSpace space;
  auto make = [](const char* name, ParamKind kind, double max_value) {
    ParamSpec p;
    p.name = name;
    p.kind = kind;
    p.max_value = max_value;
    p.q = 1;
    p.upper = static_cast<int64_t>(max_value) + 1;
    return p;
  };
  ParamSpec a = make("a", ParamKind::kQUniform, 39);
  ParamSpec b = make("b", ParamKind::kRandint, 39);
  ParamSpec c = make("c", ParamKind::kQUniform, 19);
  ParamSpec d = make("d", ParamKind::kChoice, 0);
  for (const char* v : {"sgd", "adam", "rmsprop", "adagrad"}) {
    ChoiceOption option;
    option.value = std::string(v);
    d.options.push_back(option);
  }
  space.params = {a, b, c, d};
  return space;
}

double AsDouble(const sweep::core::ParamValue& v) {
  if (const double* x = std::get_if<double>(&v)) return *x;
  if (const int64_t* x = std::get_if<int64_t>(&v)) return static_cast<double>(*x);
  if (const std::string* s = std::get_if<std::string>(&v)) return static_cast<double>(s->size());
  return 0;
}

double Objective(const Config& c) {
  double sum = 0;
  for (const auto& [name, value] : c) {
    double x = AsDouble(value);
    sum += std::sin(0.3 * x) + 0.01 * x;
  }
  return sum;
}

// CPU time of this thread: what a loaded, shared machine cannot inflate.
double ThreadCpuUs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

struct Figure {
  double first_us = 0;
  double median_us = 0;
  bool ok = true;
};

Figure Measure(Algorithm algorithm, size_t n, int repeats) {
  SearchSpace space = Space();
  History history;
  {
    // The history: n distinct random configurations (the random sampler's own draws).
    auto filler = sweep::samplers::MakeSampler(Algorithm::kRandom, space, {.seed = 7});
    history.trials.reserve(n + repeats + 1);
    while (history.trials.size() < n) {
      auto next = (*filler)->Next(history);
      if (!next.ok() || !next->has_value()) return {.ok = false};
      double value = Objective(**next);
      history.trials.push_back(
          Observation{std::move(**next), sweep::core::TrialState::kCompleted, value, 1});
    }
  }
  auto sampler = sweep::samplers::MakeSampler(algorithm, space, {.seed = 3});
  if (!sampler.ok()) {
    std::fprintf(stderr, "%s\n", sampler.status().ToString().c_str());
    return {.ok = false};
  }
  Figure figure;
  std::vector<double> times;
  for (int i = 0; i <= repeats; ++i) {
    const double start = ThreadCpuUs();
    auto next = (*sampler)->Next(history);
    const double us = ThreadCpuUs() - start;
    if (!next.ok() || !next->has_value()) return {.ok = false};
    if (i == 0) {
      figure.first_us = us;
    } else {
      times.push_back(us);
    }
    double value = Objective(**next);
    history.trials.push_back(
        Observation{std::move(**next), sweep::core::TrialState::kCompleted, value, 1});
  }
  std::sort(times.begin(), times.end());
  figure.median_us = times[times.size() / 2];
  return figure;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  struct Row {
    const char* name;
    Algorithm algorithm;
    std::vector<size_t> sizes;
    int repeats;
  };
  std::vector<size_t> big = {100, 1'000, 10'000, 100'000};
  if (quick) big.pop_back();
  std::vector<Row> rows = {
      {"random", Algorithm::kRandom, big, 21},
      {"grid", Algorithm::kGrid, big, 21},
      {"tpe", Algorithm::kTpe, big, quick ? 5 : 9},
      {"gp", Algorithm::kBayesian,
       quick ? std::vector<size_t>{100, 500} : std::vector<size_t>{100, 500, 1'000, 2'000}, 3},
  };
  std::printf("%-8s %10s %16s %18s\n", "sampler", "history", "first call us CPU",
              "median next us CPU");
  for (const Row& row : rows) {
    for (size_t n : row.sizes) {
      Figure f = Measure(row.algorithm, n, row.repeats);
      if (!f.ok) {
        std::printf("%-8s %10zu  failed\n", row.name, n);
        return 1;
      }
      std::printf("%-8s %10zu %16.0f %18.0f\n", row.name, n, f.first_us, f.median_us);
      std::printf("RESULT %s %zu %.1f\n", row.name, n, f.median_us);
      std::fflush(stdout);
    }
  }
  return 0;
}

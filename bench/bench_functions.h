// Benchmark functions (twins of bench/product_bo/bo_functions.py) as search spaces over
// x1..xd, shared by the benchmarks here.
#pragma once

#include <cmath>
#include <functional>
#include <numbers>
#include <string>
#include <utility>
#include <vector>

#include "core/search_space.h"

namespace sweep::bench {

struct Function {
  std::string name;
  std::vector<std::pair<double, double>> bounds;
  std::function<double(const std::vector<double>&)> f;
  double minimum;
};

inline double Branin(const std::vector<double>& x) {
  const double pi = std::numbers::pi;
  const double b = 5.1 / (4 * pi * pi), c = 5 / pi, t = 1 / (8 * pi);
  return std::pow(x[1] - b * x[0] * x[0] + c * x[0] - 6, 2) + 10 * (1 - t) * std::cos(x[0]) + 10;
}

inline double Hartmann6(const std::vector<double>& x) {
  static const double a[4][6] = {{10, 3, 17, 3.5, 1.7, 8},
                                 {0.05, 10, 17, 0.1, 8, 14},
                                 {3, 3.5, 1.7, 10, 17, 8},
                                 {17, 8, 0.05, 10, 0.1, 14}};
  static const double p[4][6] = {{1312, 1696, 5569, 124, 8283, 5886},
                                 {2329, 4135, 8307, 3736, 1004, 9991},
                                 {2348, 1451, 3522, 2883, 3047, 6650},
                                 {4047, 8828, 8732, 5743, 1091, 381}};
  static const double alpha[4] = {1.0, 1.2, 3.0, 3.2};
  double total = 0;
  for (int i = 0; i < 4; ++i) {
    double inner = 0;
    for (int j = 0; j < 6; ++j) inner += a[i][j] * std::pow(x[j] - p[i][j] * 1e-4, 2);
    total -= alpha[i] * std::exp(-inner);
  }
  return total;
}

inline double Rosenbrock(const std::vector<double>& x) {
  double total = 0;
  for (size_t i = 0; i + 1 < x.size(); ++i) {
    total += 100 * std::pow(x[i + 1] - x[i] * x[i], 2) + std::pow(1 - x[i], 2);
  }
  return total;
}

inline double Ackley(const std::vector<double>& x) {
  const double d = static_cast<double>(x.size());
  double s1 = 0, s2 = 0;
  for (double v : x) {
    s1 += v * v;
    s2 += std::cos(2 * std::numbers::pi * v);
  }
  return -20 * std::exp(-0.2 * std::sqrt(s1 / d)) - std::exp(s2 / d) + 20 + std::numbers::e;
}

inline double Levy(const std::vector<double>& x) {
  const double pi = std::numbers::pi;
  std::vector<double> w;
  for (double v : x) w.push_back(1 + (v - 1) / 4);
  double total = std::pow(std::sin(pi * w[0]), 2);
  for (size_t i = 0; i + 1 < w.size(); ++i) {
    total += std::pow(w[i] - 1, 2) * (1 + 10 * std::pow(std::sin(pi * w[i] + 1), 2));
  }
  total += std::pow(w.back() - 1, 2) * (1 + std::pow(std::sin(2 * pi * w.back()), 2));
  return total;
}

inline std::vector<Function> AllFunctions() {
  return {
      {"branin", {{-5, 10}, {0, 15}}, Branin, 0.397887357729739},
      {"hartmann6", std::vector<std::pair<double, double>>(6, {0, 1}), Hartmann6,
       -3.32236801141551},
      {"rosenbrock4", std::vector<std::pair<double, double>>(4, {-5, 10}), Rosenbrock, 0.0},
      {"ackley5", std::vector<std::pair<double, double>>(5, {-32.768, 32.768}), Ackley, 0.0},
      {"levy5", std::vector<std::pair<double, double>>(5, {-10, 10}), Levy, 0.0},
  };
}

inline core::SearchSpace SpaceOf(const Function& fn) {
  core::SearchSpace space;
  for (size_t i = 0; i < fn.bounds.size(); ++i) {
    core::ParamSpec p;
    p.name = "x" + std::to_string(i + 1);
    p.kind = core::ParamKind::kUniform;
    p.min_value = fn.bounds[i].first;
    p.max_value = fn.bounds[i].second;
    space.params.push_back(p);
  }
  return space;
}

inline std::vector<double> PointOf(const core::Config& config, size_t dims) {
  std::vector<double> x(dims);
  for (size_t i = 0; i < dims; ++i) x[i] = std::get<double>(config.at("x" + std::to_string(i + 1)));
  return x;
}

}  // namespace sweep::bench

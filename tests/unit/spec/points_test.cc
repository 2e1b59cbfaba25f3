// User-given points (spec/points.h) and the spec's `initial_points`.
#include "spec/points.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spec/spec.h"

namespace sweep::spec {
namespace {

using ::testing::HasSubstr;

constexpr const char* kHead =
    "type: sweep\n"
    "trial: {command: python3 train.py}\n"
    "compute: azureml:cpu\n"
    "search_space:\n"
    "  lr: {type: loguniform, min_value: -7, max_value: -1}\n"
    "  hidden: {type: randint, upper: 64}\n"
    "  batch: {type: quniform, min_value: 16, max_value: 128, q: 16}\n"
    "  model:\n"
    "    type: choice\n"
    "    values:\n"
    "      - {name: svm, C: {type: uniform, min_value: 0.1, max_value: 10}}\n"
    "      - {name: rf, depth: {type: choice, values: [4, 8]}}\n"
    "objective: {primary_metric: acc, goal: maximize}\n"
    "limits: {max_total_trials: 3}\n";

SweepSpec Space() {
  absl::StatusOr<SweepSpec> spec = ParseSpec(kHead, "spec.yml", "/tmp");
  EXPECT_TRUE(spec.ok()) << spec.status();
  return spec.ok() ? *spec : SweepSpec();
}

TEST(PointsTest, AssignmentsAreReadByKindAndCanonical) {
  absl::StatusOr<core::Config> p = PointFromAssignments(
      Space().search_space, {"lr=0.01", "hidden=8", "batch=32", "model=1", "name=rf", "depth=8"});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(std::get<double>(p->at("lr")), 0.01);
  EXPECT_EQ(std::get<int64_t>(p->at("hidden")), 8);
  EXPECT_EQ(std::get<double>(p->at("batch")), 32.0);  // quantized values are doubles
  EXPECT_EQ(std::get<int64_t>(p->at("model")), 1);    // a nested choice: the option index
  EXPECT_EQ(std::get<std::string>(p->at("name")), "rf");
  EXPECT_EQ(std::get<int64_t>(p->at("depth")), 8);
}

TEST(PointsTest, EveryProblemIsRefusedNamingTheParameter) {
  const core::SearchSpace space = Space().search_space;
  auto message = [&](std::vector<std::string> words) {
    absl::StatusOr<core::Config> p = PointFromAssignments(space, words);
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(p.status().message());
  };
  const std::vector<std::string> ok = {"lr=0.01", "hidden=8", "batch=32",
                                       "model=0", "name=svm", "C=1"};
  auto with = [&](const std::string& replace, const std::string& by) {
    std::vector<std::string> w;
    for (const std::string& s : ok) {
      if (s.rfind(replace + "=", 0) != 0) w.push_back(s);
    }
    if (!by.empty()) w.push_back(by);
    return w;
  };
  EXPECT_THAT(message(with("lr", "lr=0.5")),
              HasSubstr("parameter 'lr': value 0.5 is outside [0.0009118819655545162, "
                        "0.36787944117144233] (loguniform)"));
  EXPECT_THAT(message(with("hidden", "hidden=64")),
              HasSubstr("parameter 'hidden': value 64 is not an integer in [0, 64)"));
  EXPECT_THAT(message(with("hidden", "hidden=2.5")), HasSubstr("parameter 'hidden'"));
  EXPECT_THAT(message(with("batch", "batch=40")),
              HasSubstr("parameter 'batch': value 40 is not a multiple of q=16"));
  EXPECT_THAT(message(with("C", "C=11")),
              HasSubstr("parameter 'C': value 11 is outside [0.1, 10]"));
  EXPECT_THAT(message(with("hidden", "")), HasSubstr("parameter 'hidden' is missing"));
  EXPECT_THAT(message(with("C", "")),
              HasSubstr("parameter 'C' is missing (active because 'model' is 0)"));
  std::vector<std::string> inactive = ok;
  inactive.push_back("depth=4");
  EXPECT_THAT(message(inactive), HasSubstr("parameter 'depth' is inactive here"));
  EXPECT_THAT(
      message(with("hidden", "hiden=8")),
      HasSubstr("unknown parameter 'hiden' (not in the search space; did you mean 'hidden'?)"));
  EXPECT_THAT(message(with("lr", "lr=fast")),
              HasSubstr("--param 'lr=fast': 'fast' is not a number"));
  EXPECT_THAT(message(with("lr", "lr")), HasSubstr("--param 'lr': expected NAME=VALUE"));
  std::vector<std::string> twice = ok;
  twice.push_back("lr=0.02");
  EXPECT_THAT(message(twice), HasSubstr("'lr' is given twice"));
  EXPECT_THAT(message(with("name", "name=knn")),
              HasSubstr("parameter 'name': value knn is not one of its choices (svm)"));
}

TEST(PointsTest, SpecInitialPointsAreCheckedWithTheirPosition) {
  absl::StatusOr<SweepSpec> spec =
      ParseSpec(std::string(kHead) +
                    "initial_points:\n"
                    "  - {lr: 0.01, hidden: 8, batch: 32, model: 0, name: svm, C: 1}\n"
                    "  - {lr: 0.01, hidden: 8, batch: 32, model: 1, name: rf, depth: 4}\n",
                "spec.yml", "/tmp");
  ASSERT_TRUE(spec.ok()) << spec.status();
  ASSERT_EQ(spec->initial_points.size(), 2u);
  EXPECT_EQ(std::get<double>(spec->initial_points[0].at("C")), 1.0);  // canonical: a double

  absl::StatusOr<SweepSpec> bad =
      ParseSpec(std::string(kHead) +
                    "initial_points:\n"
                    "  - {lr: 0.01, hidden: 8, batch: 32, model: 0, name: svm, C: 1}\n"
                    "  - {lr: 3, hidden: 8, batch: 32, model: 0, name: svm, C: 1, depth: 4}\n"
                    "  - {lr: null}\n"
                    "  - 5\n",
                "spec.yml", "/tmp");
  ASSERT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string m(bad.status().message());
  EXPECT_THAT(m, HasSubstr("spec.yml:17:5: initial_points[1]: parameter 'lr': value 3 is outside"));
  EXPECT_THAT(m, HasSubstr("parameter 'depth' is inactive here"));
  EXPECT_THAT(m, HasSubstr("initial_points[2].lr: must be a number, a string or a boolean"));
  EXPECT_THAT(m, HasSubstr("initial_points[3]: must be a point"));
  EXPECT_THAT(m, HasSubstr("initial_points: has 4 points but limits.max_total_trials is 3"));

  absl::StatusOr<SweepSpec> not_list =
      ParseSpec(std::string(kHead) + "initial_points: {lr: 0.01}\n", "spec.yml", "/tmp");
  EXPECT_THAT(not_list.status().message(), HasSubstr("initial_points: must be a list of points"));
}

TEST(PointsTest, SpecWarmStartListsSweepsOnce) {
  absl::StatusOr<SweepSpec> spec = ParseSpec(
      std::string(kHead) + "warm_start: {sweeps: [sw-3fa, sw-9c1]}\n", "spec.yml", "/tmp");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->warm_start_sweeps, (std::vector<std::string>{"sw-3fa", "sw-9c1"}));
  for (const auto& [yaml, error] : std::vector<std::pair<std::string, std::string>>{
           {"warm_start: {sweeps: [sw-3fa, sw-3fa]}", "sweep 'sw-3fa' is listed twice"},
           {"warm_start: {sweeps: []}", "warm_start.sweeps: must be a non-empty list"},
           {"warm_start: {ids: [sw-3fa]}", "warm_start"},
           {"warm_start: sw-3fa", "warm_start"}}) {
    absl::StatusOr<SweepSpec> bad = ParseSpec(std::string(kHead) + yaml + "\n", "spec.yml", "/tmp");
    ASSERT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument) << yaml;
    EXPECT_THAT(bad.status().message(), HasSubstr(error)) << yaml;
  }
}

}  // namespace
}  // namespace sweep::spec

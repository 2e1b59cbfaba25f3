#include "core/search_space.h"

#include <cmath>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace sweep::core {
namespace {

ParamSpec Choice(std::string name, std::vector<ParamValue> values) {
  ParamSpec p;
  p.name = std::move(name);
  p.kind = ParamKind::kChoice;
  for (auto& v : values) p.options.push_back({v, false, {}});
  return p;
}

TEST(SearchSpaceTest, KindNamesRoundTrip) {
  for (const char* name : {"choice", "randint", "uniform", "quniform", "loguniform",
                           "qloguniform", "normal", "qnormal", "lognormal", "qlognormal"}) {
    auto kind = ParseParamKind(name);
    ASSERT_TRUE(kind.has_value()) << name;
    EXPECT_STREQ(ParamKindName(*kind), name);
  }
  EXPECT_FALSE(ParseParamKind("gaussian").has_value());
}

TEST(SearchSpaceTest, CardinalityOfFiniteSpace) {
  SearchSpace space;
  space.params.push_back(Choice("model", {std::string("svm"), std::string("rf")}));
  ParamSpec r;
  r.name = "depth";
  r.kind = ParamKind::kRandint;
  r.upper = 5;
  space.params.push_back(r);
  ParamSpec q;
  q.name = "lr";
  q.kind = ParamKind::kQUniform;
  q.min_value = 0;
  q.max_value = 1;
  q.q = 0.25;
  space.params.push_back(q);
  EXPECT_TRUE(IsFinite(space));
  EXPECT_EQ(Cardinality(space), 2u * 5u * 5u);
  EXPECT_EQ(FiniteValues(q).size(), 5u);
}

TEST(SearchSpaceTest, ContinuousSpaceIsInfinite) {
  SearchSpace space;
  ParamSpec u;
  u.name = "x";
  u.kind = ParamKind::kUniform;
  u.max_value = 1;
  space.params.push_back(u);
  EXPECT_FALSE(IsFinite(space));
  EXPECT_EQ(Cardinality(space), std::nullopt);
}

TEST(SearchSpaceTest, NestedChoiceCardinalityAddsBranches) {
  ParamSpec svm_c = Choice("C", {0.1, 1.0, 10.0});
  ParamSpec rf_n = Choice("n", {int64_t{10}, int64_t{100}});
  ParamSpec model;
  model.name = "model";
  model.kind = ParamKind::kChoice;
  model.options.push_back({int64_t{0}, true, {svm_c}});
  model.options.push_back({int64_t{1}, true, {rf_n}});
  SearchSpace space;
  space.params.push_back(model);
  EXPECT_EQ(Cardinality(space), 5u);
}

TEST(SearchSpaceTest, QuantizeRounds) {
  EXPECT_DOUBLE_EQ(Quantize(ParamKind::kQUniform, 0.5, 1.3), 1.5);
  EXPECT_DOUBLE_EQ(Quantize(ParamKind::kUniform, 0.5, 1.3), 1.3);
}

TEST(SearchSpaceTest, ConfigJsonRoundTripKeepsTypes) {
  Config c{{"a", int64_t{3}}, {"b", 0.5}, {"c", std::string("svm")}, {"d", true}};
  auto json = ConfigToJson(c);
  EXPECT_TRUE(json["a"].is_number_integer());
  auto back = ConfigFromJson(json);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, c);
  EXPECT_EQ(ConfigKey(c), ConfigKey(*back));
  EXPECT_FALSE(ConfigFromJson(nlohmann::json::parse(R"({"a": [1]})")).has_value());
}

TEST(SearchSpaceTest, ValueToString) {
  EXPECT_EQ(ParamValueToString(int64_t{3}), "3");
  EXPECT_EQ(ParamValueToString(0.001), "0.001");
  EXPECT_EQ(ParamValueToString(0.1), "0.1");
  EXPECT_EQ(ParamValueToString(std::string("; rm -rf ~")), "; rm -rf ~");
  EXPECT_EQ(ParamValueToString(false), "false");
}

}  // namespace
}  // namespace sweep::core

#include "samplers/encoding.h"

#include <cmath>
#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/samplers/sampler_test_util.h"

namespace sweep::samplers {
namespace {

using core::Config;
using core::ParamKind;
using core::ParamValue;
using ::testing::HasSubstr;
using namespace sweep::samplers::testing;  // NOLINT: test builders

core::SearchSpace EveryKind() {
  return Space({
      Choice("model", {std::string("svm"), std::string("rf"), int64_t{3}}),
      Randint("depth", 5),
      Uniform("u", -1, 3),
      Range("qu", ParamKind::kQUniform, 0, 10, 0.5),
      Range("lu", ParamKind::kLogUniform, -9, -1),
      Range("qlu", ParamKind::kQLogUniform, 0, 5, 2),
      Normal("n", ParamKind::kNormal, 1, 2),
      Normal("qn", ParamKind::kQNormal, 0, 3, 1),
      Normal("ln", ParamKind::kLogNormal, 0, 1),
      Normal("qln", ParamKind::kQLogNormal, 1, 0.5, 0.1),
  });
}

core::SearchSpace TwoLevelNested() {
  // model: svm {C uniform, kernel: {rbf {gamma loguniform}, linear {}}} | rf {n randint}
  core::ParamSpec kernel =
      NestedChoice("kernel", {{Range("gamma", ParamKind::kLogUniform, -5, 0)}, {}});
  return Space({
      NestedChoice("model", {{Uniform("C", 0, 10), kernel}, {Randint("n", 100)}}),
      Uniform("lr", 0, 1),
  });
}

TEST(EncodingTest, DimsOfEveryKind) {
  auto e = Encoding::Build(EveryKind(), CategoricalEncoding::kIndex);
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_EQ(e->dims(), 10);
  EXPECT_EQ(e->dim_info()[0].type, EncodedDim::Type::kCategoricalIndex);
  EXPECT_EQ(e->dim_info()[0].levels, 3);
  EXPECT_EQ(e->dim_info()[1].type, EncodedDim::Type::kInteger);
  EXPECT_EQ(e->dim_info()[1].levels, 5);
  EXPECT_EQ(e->dim_info()[2].type, EncodedDim::Type::kContinuous);
  for (const EncodedDim& d : e->dim_info()) EXPECT_EQ(d.parent_param_dim, -1);

  auto h = Encoding::Build(EveryKind(), CategoricalEncoding::kOneHot);
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->dims(), 12);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(h->dim_info()[i].type, EncodedDim::Type::kOneHot);
    EXPECT_EQ(h->dim_info()[i].one_hot_group, 0);
    EXPECT_EQ(h->dim_info()[i].one_hot_option, i);
    EXPECT_EQ(h->dim_info()[i].param, "model");
  }
}

TEST(EncodingTest, DecodeMapsEachKind) {
  auto e = Encoding::Build(EveryKind(), CategoricalEncoding::kIndex);
  ASSERT_TRUE(e.ok());
  Config c = e->Decode({0.5, 0.99, 0.25, 0.33, 0.5, 1.0, 0.5, 0.5, 0.5, 0.5});
  EXPECT_EQ(c.at("model"), ParamValue(std::string("rf")));
  EXPECT_EQ(c.at("depth"), ParamValue(int64_t{4}));
  EXPECT_DOUBLE_EQ(std::get<double>(c.at("u")), 0.0);
  EXPECT_DOUBLE_EQ(std::get<double>(c.at("qu")), 3.5);  // 3.3 rounded to a multiple of 0.5
  EXPECT_NEAR(std::get<double>(c.at("lu")), std::exp(-5.0), 1e-12);
  EXPECT_DOUBLE_EQ(std::get<double>(c.at("qlu")), 148.0);  // round(e^5 / 2) * 2
  EXPECT_NEAR(std::get<double>(c.at("n")), 1.0, 1e-12);    // the median is mu
  EXPECT_NEAR(std::get<double>(c.at("ln")), 1.0, 1e-12);   // exp(mu)
  EXPECT_NEAR(std::get<double>(c.at("qln")), 2.7, 1e-12);  // round(e^1, 0.1)

  // The normal quantile: Phi^-1(0.975) = 1.95996...
  Config tail = e->Decode({0, 0, 0, 0, 0, 0, 0.975, 0.975, 0, 0});
  EXPECT_NEAR(std::get<double>(tail.at("n")), 1 + 2 * 1.959964, 1e-5);
  EXPECT_DOUBLE_EQ(std::get<double>(tail.at("qn")), 6.0);  // round(3 * 1.96)
  // Extremes are clamped, so the normal stays finite.
  Config edge = e->Decode({0, 0, 0, 0, 0, 0, 0, 1, 0, 0});
  EXPECT_TRUE(std::isfinite(std::get<double>(edge.at("n"))));
  EXPECT_TRUE(std::isfinite(std::get<double>(edge.at("qn"))));
  EXPECT_EQ(edge.at("model"), ParamValue(std::string("svm")));
  EXPECT_EQ(edge.at("depth"), ParamValue(int64_t{0}));
}

TEST(EncodingTest, OutOfRangeInputIsClamped) {
  auto e =
      Encoding::Build(Space({Uniform("u", 2, 4), Randint("r", 3)}), CategoricalEncoding::kIndex);
  ASSERT_TRUE(e.ok());
  Config c = e->Decode({-3, 7});
  EXPECT_DOUBLE_EQ(std::get<double>(c.at("u")), 2.0);
  EXPECT_EQ(c.at("r"), ParamValue(int64_t{2}));
  Config n = e->Decode({NAN, NAN});
  EXPECT_DOUBLE_EQ(std::get<double>(n.at("u")), 3.0);
}

TEST(EncodingTest, IntegersAndChoicesEncodeAtBinCentres) {
  auto e = Encoding::Build(EveryKind(), CategoricalEncoding::kIndex);
  ASSERT_TRUE(e.ok());
  Config c = e->Decode({0.9, 0.1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5});
  std::vector<double> x = e->Encode(c);
  EXPECT_DOUBLE_EQ(x[0], 2.5 / 3);
  EXPECT_DOUBLE_EQ(x[1], 0.5 / 5);
}

// Decode(Encode(Decode(x))) equals Decode(x) for random points: exactly for discrete
// and quantized values, to rounding for continuous ones.
void ExpectStableRoundTrip(const core::SearchSpace& space, CategoricalEncoding cat) {
  auto e = Encoding::Build(space, cat);
  ASSERT_TRUE(e.ok()) << e.status();
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  for (int t = 0; t < 500; ++t) {
    std::vector<double> x(e->dims());
    for (double& v : x) v = u(rng);
    Config c = e->Decode(x);
    std::vector<double> y = e->Encode(c);
    Config c2 = e->Decode(y);
    ASSERT_EQ(c.size(), c2.size());
    for (const auto& [name, value] : c) {
      ASSERT_TRUE(c2.count(name)) << name;
      if (std::holds_alternative<double>(value)) {
        double a = std::get<double>(value), b = std::get<double>(c2.at(name));
        EXPECT_NEAR(a, b, 1e-9 * std::max(1.0, std::abs(a))) << name;
      } else {
        EXPECT_EQ(value, c2.at(name)) << name;
      }
    }
    // Encoding is idempotent after one round.
    std::vector<double> y2 = e->Encode(c2);
    for (int i = 0; i < e->dims(); ++i) EXPECT_NEAR(y[i], y2[i], 1e-9) << i;
    for (double v : y) {
      EXPECT_GE(v, 0.0);
      EXPECT_LE(v, 1.0);
    }
  }
}

TEST(EncodingTest, RoundTripEveryKindIndex) {
  ExpectStableRoundTrip(EveryKind(), CategoricalEncoding::kIndex);
}
TEST(EncodingTest, RoundTripEveryKindOneHot) {
  ExpectStableRoundTrip(EveryKind(), CategoricalEncoding::kOneHot);
}
TEST(EncodingTest, RoundTripNestedIndex) {
  ExpectStableRoundTrip(TwoLevelNested(), CategoricalEncoding::kIndex);
}
TEST(EncodingTest, RoundTripNestedOneHot) {
  ExpectStableRoundTrip(TwoLevelNested(), CategoricalEncoding::kOneHot);
}

TEST(EncodingTest, QuantizedValueOutsideBoundsRoundTrips) {
  // quniform(0.1, 0.9, 1) yields 0 or 1, both outside [min, max].
  auto e = Encoding::Build(Space({Range("q", ParamKind::kQUniform, 0.1, 0.9, 1)}),
                           CategoricalEncoding::kIndex);
  ASSERT_TRUE(e.ok());
  for (double v : {0.0, 1.0}) {
    Config c{{"q", v}};
    EXPECT_EQ(e->Decode(e->Encode(c)), c);
  }
}

TEST(EncodingTest, NestedDimsAndActivity) {
  auto e = Encoding::Build(TwoLevelNested(), CategoricalEncoding::kIndex);
  ASSERT_TRUE(e.ok());
  // model, C, kernel, gamma, n, lr
  ASSERT_EQ(e->dims(), 6);
  const auto& d = e->dim_info();
  EXPECT_EQ(d[0].param, "model");
  EXPECT_EQ(d[1].param, "C");
  EXPECT_EQ(d[1].parent_param_dim, 0);
  EXPECT_EQ(d[1].parent_option, 0);
  EXPECT_EQ(d[2].param, "kernel");
  EXPECT_EQ(d[3].param, "gamma");
  EXPECT_EQ(d[3].parent_param_dim, 2);
  EXPECT_EQ(d[3].parent_option, 0);
  EXPECT_EQ(d[4].param, "n");
  EXPECT_EQ(d[4].parent_param_dim, 0);
  EXPECT_EQ(d[4].parent_option, 1);
  EXPECT_EQ(d[5].parent_param_dim, -1);

  // svm with the rbf kernel: model, C, kernel, gamma, lr present; n absent.
  Config svm = e->Decode({0.1, 0.5, 0.2, 0.5, 0.9, 0.3});
  EXPECT_EQ(svm.at("model"), ParamValue(int64_t{0}));
  EXPECT_EQ(svm.at("kernel"), ParamValue(int64_t{0}));
  EXPECT_TRUE(svm.count("C") && svm.count("gamma") && svm.count("lr"));
  EXPECT_FALSE(svm.count("n"));
  EXPECT_EQ(e->ActiveMask(svm), (std::vector<bool>{true, true, true, true, false, true}));
  std::vector<double> x = e->Encode(svm);
  EXPECT_DOUBLE_EQ(x[4], 0.5);  // inactive: neutral

  // svm with the linear kernel: no gamma.
  Config linear = e->Decode({0.1, 0.5, 0.9, 0.5, 0.9, 0.3});
  EXPECT_FALSE(linear.count("gamma"));
  EXPECT_EQ(e->ActiveMask(linear), (std::vector<bool>{true, true, true, false, false, true}));

  // rf: only n below model.
  Config rf = e->Decode({0.9, 0.5, 0.2, 0.5, 0.9, 0.3});
  EXPECT_EQ(rf.size(), 3u);
  EXPECT_EQ(rf.at("n"), ParamValue(int64_t{90}));
  EXPECT_EQ(e->ActiveMask(rf), (std::vector<bool>{true, false, false, false, true, true}));
  std::vector<double> y = e->Encode(rf);
  EXPECT_DOUBLE_EQ(y[1], 0.5);
  EXPECT_DOUBLE_EQ(y[2], 0.5);
  EXPECT_DOUBLE_EQ(y[3], 0.5);
}

TEST(EncodingTest, OneHotInactiveGroupIsCentred) {
  auto e = Encoding::Build(TwoLevelNested(), CategoricalEncoding::kOneHot);
  ASSERT_TRUE(e.ok());
  // model(2), C, kernel(2), gamma, n, lr
  ASSERT_EQ(e->dims(), 8);
  EXPECT_EQ(e->dim_info()[3].one_hot_group, 1);
  EXPECT_EQ(e->dim_info()[5].parent_param_dim, 3);  // gamma hangs off kernel's group
  Config rf{{"model", int64_t{1}}, {"n", int64_t{4}}, {"lr", 0.5}};
  std::vector<double> x = e->Encode(rf);
  EXPECT_DOUBLE_EQ(x[0], 0.0);
  EXPECT_DOUBLE_EQ(x[1], 1.0);
  EXPECT_DOUBLE_EQ(x[3], 0.5);  // kernel inactive: 1/2 each
  EXPECT_DOUBLE_EQ(x[4], 0.5);
  EXPECT_EQ(e->Decode(x), rf);
}

TEST(EncodingTest, EncodeIgnoresUnknownAndToleratesBadValues) {
  auto e = Encoding::Build(
      Space({Uniform("u", 0, 1), Randint("r", 4), Choice("c", {int64_t{1}, int64_t{2}})}),
      CategoricalEncoding::kIndex);
  ASSERT_TRUE(e.ok());
  std::vector<double> x =
      e->Encode({{"u", std::string("oops")}, {"r", 9.0}, {"c", 2.0}, {"zzz", 1.0}});
  EXPECT_DOUBLE_EQ(x[0], 0.5);
  EXPECT_DOUBLE_EQ(x[1], 3.5 / 4);  // clamped to the last bin
  EXPECT_DOUBLE_EQ(x[2], 0.75);     // 2.0 matches the integer option 2
  std::vector<double> missing = e->Encode({});
  EXPECT_EQ(missing, (std::vector<double>{0.5, 0.5, 0.5}));
  std::vector<double> nan = e->Encode({{"u", NAN}});
  EXPECT_DOUBLE_EQ(nan[0], 0.5);
}

TEST(EncodingTest, LogNormalOfNonPositiveEncodesAtTheLowEnd) {
  auto e = Encoding::Build(Space({Normal("ln", ParamKind::kQLogNormal, 0, 1, 1)}),
                           CategoricalEncoding::kIndex);
  ASSERT_TRUE(e.ok());
  std::vector<double> x = e->Encode({{"ln", 0.0}});
  EXPECT_LT(x[0], 1e-6);
  EXPECT_EQ(e->Decode(x).at("ln"), ParamValue(0.0));
}

TEST(EncodingTest, RandintOfOneAndSingleChoice) {
  auto e = Encoding::Build(Space({Randint("r", 1), Choice("c", {std::string("only")})}),
                           CategoricalEncoding::kIndex);
  ASSERT_TRUE(e.ok()) << e.status();
  for (double v : {0.0, 0.5, 1.0}) {
    Config c = e->Decode({v, v});
    EXPECT_EQ(c.at("r"), ParamValue(int64_t{0}));
    EXPECT_EQ(c.at("c"), ParamValue(std::string("only")));
  }
}

struct BadCase {
  core::SearchSpace space;
  std::string message;
};

TEST(EncodingTest, BadSpacesAreRejectedWithTheirName) {
  std::vector<BadCase> cases = {
      {Space({}), "search space is empty"},
      {Space({Uniform("x", 1, 1)}),
       "'x' (uniform): max_value (1) must be greater than min_value (1)"},
      {Space({Range("x", ParamKind::kLogUniform, 2, -1)}), "'x' (loguniform): max_value (-1)"},
      {Space({Uniform("x", 0, INFINITY)}), "'x' (uniform): min_value and max_value must be finite"},
      {Space({Range("x", ParamKind::kLogUniform, 0, 1000)}), "exp(max_value) overflows"},
      {Space({Randint("k", 0)}), "'k' (randint): upper must be at least 1, got 0"},
      {Space({Randint("k", int64_t{1} << 40)}), "'k' (randint): upper must be at most 2^30"},
      {Space({Normal("n", ParamKind::kNormal, 0, 0)}), "'n' (normal): sigma must be positive"},
      {Space({Normal("n", ParamKind::kNormal, NAN, 1)}),
       "'n' (normal): mu and sigma must be finite"},
      {Space({Range("q", ParamKind::kQUniform, 0, 1, 0)}), "'q' (quniform): q must be a positive"},
      {Space({Normal("q", ParamKind::kQNormal, 0, 1, -1)}), "'q' (qnormal): q must be a positive"},
      {Space({Choice("c", {})}), "'c' (choice): choice needs at least one value"},
      {Space({Uniform("a", 0, 1), Uniform("a", 0, 2)}), "'a' is defined twice"},
      {Space({Uniform("C", 0, 1), NestedChoice("m", {{Uniform("C", 0, 1)}})}),
       "'C' is defined twice"},
      {Space({NestedChoice("m", {{Uniform("m", 0, 1)}})}), "choice's own name"},
      {Space({NestedChoice("m", {{Uniform("", 0, 1)}})}), "parameter without a name"},
      {Space({NestedChoice("m", {{Randint("deep", -2)}})}), "'deep' (randint): upper"},
  };
  for (const BadCase& c : cases) {
    for (auto cat : {CategoricalEncoding::kIndex, CategoricalEncoding::kOneHot}) {
      auto e = Encoding::Build(c.space, cat);
      ASSERT_FALSE(e.ok()) << c.message;
      EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(std::string(e.status().message()), HasSubstr(c.message));
    }
  }
}

TEST(EncodingTest, SiblingBranchesMayReuseNames) {
  auto e =
      Encoding::Build(Space({NestedChoice("m", {{Uniform("lr", 0, 1)}, {Uniform("lr", 0.5, 2)}})}),
                      CategoricalEncoding::kIndex);
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_EQ(e->dims(), 3);
  Config second{{"m", int64_t{1}}, {"lr", 2.0}};
  std::vector<double> x = e->Encode(second);
  EXPECT_DOUBLE_EQ(x[1], 0.5);  // the first branch's lr is inactive
  EXPECT_DOUBLE_EQ(x[2], 1.0);
  EXPECT_EQ(e->Decode(x), second);
}

}  // namespace
}  // namespace sweep::samplers

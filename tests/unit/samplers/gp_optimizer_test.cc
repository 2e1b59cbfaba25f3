#include "samplers/gp_optimizer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

namespace sweep::samplers {
namespace {

using core::ParamKind;
using core::ParamSpec;

ParamSpec Uniform(const std::string& name) {
  ParamSpec p;
  p.name = name;
  p.kind = ParamKind::kUniform;
  p.min_value = 0;
  p.max_value = 1;
  return p;
}

ParamSpec Choice(const std::string& name, int options) {
  ParamSpec p;
  p.name = name;
  p.kind = ParamKind::kChoice;
  for (int i = 0; i < options; ++i) {
    p.options.push_back(core::ChoiceOption{core::ParamValue{std::to_string(i)}, false, {}});
  }
  return p;
}

TEST(GpOptimizerTest, RecombinationsTakeEachParameterFromOneOfTheBestPoints) {
  // Dims: u0, u1, a 3-option one-hot group, u2.
  core::SearchSpace space{{Uniform("u0"), Uniform("u1"), Choice("c", 3), Uniform("u2")}};
  auto encoding = Encoding::Build(space, CategoricalEncoding::kOneHot);
  ASSERT_TRUE(encoding.ok()) << encoding.status();
  const std::vector<double> neutral = encoding->Encode({});
  const EncodedSpace encoded{*encoding, neutral, encoding->dims()};
  ASSERT_EQ(encoded.dims, 6);
  // Twelve points; the best kRecombinationParents (by `order`) have x values of the
  // form 0.1 * rank + 0.01 * dim and option rank % 3; the others sit at 0.95.
  const int n = 12;
  GpData data;
  data.x.resize(n, 6);
  data.y.resize(n);
  std::vector<int> order;
  for (int r = 0; r < n; ++r) {
    const int rank = (r * 5) % n;  // best-first order differs from row order
    data.y[r] = rank;
    order.push_back(r);
    for (int j = 0; j < 6; ++j) data.x(r, j) = rank < kRecombinationParents ? 0.1 * rank : 0.95;
    for (int o = 0; o < 3; ++o) data.x(r, 2 + o) = o == rank % 3 ? 1.0 : 0.0;
  }
  std::sort(order.begin(), order.end(), [&](int a, int b) { return data.y[a] < data.y[b]; });
  Rng rng(7);
  const Eigen::MatrixXd children = Recombinations(encoded, data, order, 200, &rng);
  ASSERT_EQ(children.rows(), 200);
  int mixed = 0;
  for (Eigen::Index i = 0; i < children.rows(); ++i) {
    std::set<int> ranks;
    for (int j : {0, 1, 5}) {
      const double v = children(i, j);
      ASSERT_GE(v, 0.0);
      ASSERT_LE(v, 1.0);
      const int rank = static_cast<int>(std::lround(v / 0.1));
      EXPECT_LT(rank, kRecombinationParents) << "child " << i << " dim " << j << ": " << v;
      EXPECT_NEAR(v, 0.1 * rank, 0.06) << "child " << i << " dim " << j;
      ranks.insert(rank);
    }
    // The one-hot group is copied whole: exactly one option set, as in some parent.
    double total = 0;
    for (int o = 0; o < 3; ++o) {
      const double v = children(i, 2 + o);
      EXPECT_TRUE(v == 0.0 || v == 1.0) << "child " << i << " option " << o << ": " << v;
      total += v;
    }
    EXPECT_EQ(total, 1.0) << "child " << i;
    mixed += ranks.size() > 1;
  }
  // Children combine coordinates of different parents.
  EXPECT_GT(mixed, 150);
}

TEST(GpOptimizerTest, RecombinationsWithFewerPointsThanParentsUseThemAll) {
  core::SearchSpace space{{Uniform("u0"), Uniform("u1")}};
  auto encoding = Encoding::Build(space, CategoricalEncoding::kOneHot);
  ASSERT_TRUE(encoding.ok());
  const std::vector<double> neutral = encoding->Encode({});
  const EncodedSpace encoded{*encoding, neutral, 2};
  GpData data;
  data.x = (Eigen::MatrixXd(2, 2) << 0.2, 0.3, 0.7, 0.8).finished();
  data.y = Eigen::Vector2d(1.0, 0.0);
  Rng rng(3);
  const Eigen::MatrixXd children = Recombinations(encoded, data, {1, 0}, 100, &rng);
  std::set<std::pair<bool, bool>> seen;  // (u0 from row 1, u1 from row 1)
  for (Eigen::Index i = 0; i < children.rows(); ++i) {
    const bool a = std::abs(children(i, 0) - 0.7) < 0.06;
    const bool b = std::abs(children(i, 1) - 0.8) < 0.06;
    EXPECT_TRUE(a || std::abs(children(i, 0) - 0.2) < 0.06) << children(i, 0);
    EXPECT_TRUE(b || std::abs(children(i, 1) - 0.3) < 0.06) << children(i, 1);
    seen.insert({a, b});
  }
  EXPECT_EQ(seen.size(), 4u);
}

}  // namespace
}  // namespace sweep::samplers

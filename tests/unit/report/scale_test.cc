#include "report/scale.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sweep::report {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> Labels(const Scale& s) {
  std::vector<std::string> out;
  for (const Tick& t : s.ticks()) out.push_back(t.label);
  return out;
}

TEST(ScaleTest, LinearTicksAreRoundAndCoverTheRange) {
  Scale s = Scale::Linear(0.53, 0.94);
  EXPECT_THAT(Labels(s), ElementsAre("0.5", "0.6", "0.7", "0.8", "0.9", "1.0"));
  EXPECT_DOUBLE_EQ(s.Position(0.5), 0);
  EXPECT_DOUBLE_EQ(s.Position(1.0), 1);
  EXPECT_NEAR(s.Position(0.75), 0.5, 1e-12);
}

TEST(ScaleTest, IntegerTicksForTrialNumbers) {
  EXPECT_THAT(Labels(Scale::Linear(1, 3, 8, /*integer=*/true)), ElementsAre("1", "2", "3"));
  EXPECT_THAT(Labels(Scale::Linear(1, 40, 8, true)), ElementsAre("0", "10", "20", "30", "40"));
}

TEST(ScaleTest, ASingleValueGetsRoom) {
  Scale s = Scale::Linear(2, 2);
  EXPECT_LT(s.lo(), 2);
  EXPECT_GT(s.hi(), 2);
  EXPECT_NEAR(s.Position(2), 0.5, 1e-12);
}

TEST(ScaleTest, LogTicksAreDecades) {
  Scale s = Scale::Log(0.0067, 0.9);
  EXPECT_TRUE(s.is_log());
  EXPECT_THAT(Labels(s), ElementsAre("0.001", "0.01", "0.1", "1"));
  EXPECT_NEAR(s.Position(0.001), 0, 1e-12);
  EXPECT_NEAR(s.Position(std::sqrt(0.1)), 5.0 / 6.0, 1e-12);
  EXPECT_THAT(Labels(Scale::Log(3e-7, 2e-5)), ElementsAre("1e-7", "1e-6", "1e-5", "1e-4"));
}

TEST(ScaleTest, OneDecadeGetsTwoAndFive) {
  EXPECT_THAT(Labels(Scale::Log(1.5, 8)), ElementsAre("1", "2", "5", "10"));
}

TEST(ScaleTest, CategoriesSitInTheMiddleOfTheirBands) {
  Scale s = Scale::Categorical({"svm", "rf"});
  EXPECT_THAT(Labels(s), ElementsAre("svm", "rf"));
  EXPECT_DOUBLE_EQ(s.Position(0), 0.25);
  EXPECT_DOUBLE_EQ(s.Position(1), 0.75);
}

TEST(ScaleTest, TickValuesAreShort) {
  EXPECT_EQ(FormatTickValue(0.30000000000000004, 0.1), "0.3");
  EXPECT_EQ(FormatTickValue(2500, 500), "2500");
  EXPECT_EQ(FormatTickValue(2e7, 1e7), "2e+07");
  EXPECT_EQ(FormatShort(0.943333), "0.9433");
  EXPECT_EQ(FormatShort(NAN), "nan");
}

}  // namespace
}  // namespace sweep::report

#include "report/report_data.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "report_fixture.h"

namespace sweep::report {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> Names(const std::vector<ParamAxis>& axes) {
  std::vector<std::string> out;
  for (const ParamAxis& a : axes) out.push_back(a.name);
  return out;
}

TEST(ParamAxesTest, FlatSpaceInFileOrder) {
  ReportInput in = testing::FlatSweep();
  std::vector<ParamAxis> axes = BuildParamAxes(in);
  ASSERT_THAT(Names(axes), ElementsAre("lr", "l2", "hidden"));
  EXPECT_EQ(axes[0].kind, AxisKind::kLog);
  EXPECT_NEAR(axes[0].min, std::exp(-5), 1e-12);
  EXPECT_NEAR(axes[0].max, 1, 1e-12);
  EXPECT_EQ(axes[0].spec_kind, "loguniform");
  EXPECT_EQ(axes[1].kind, AxisKind::kCategorical);
  EXPECT_THAT(axes[1].categories, ElementsAre("0", "0.0001", "0.001"));
  EXPECT_THAT(axes[2].categories, ElementsAre("4", "8"));
  for (const ParamAxis& a : axes) EXPECT_FALSE(a.conditional) << a.name;
  EXPECT_EQ(AxisValue(axes[1], in.trials[1].config), 2.0);  // l2 = 0.001
  EXPECT_EQ(AxisValue(axes[0], in.trials[1].config), 0.3);
}

TEST(ParamAxesTest, NestedChoicesAreConditional) {
  ReportInput in = testing::NestedSweep();
  std::vector<ParamAxis> axes = BuildParamAxes(in);
  // `model` is the nested options' constant: it labels the options, no axis of its own.
  ASSERT_THAT(Names(axes), ElementsAre("estimator", "C", "depth"));
  EXPECT_THAT(axes[0].categories, ElementsAre("svm", "rf"));
  EXPECT_FALSE(axes[0].conditional);
  EXPECT_TRUE(axes[1].conditional);
  EXPECT_EQ(axes[1].kind, AxisKind::kLog);
  EXPECT_TRUE(axes[2].conditional);
  EXPECT_EQ(axes[2].kind, AxisKind::kLinear);
  EXPECT_EQ(axes[2].max, 9);
  EXPECT_EQ(AxisValue(axes[1], in.trials[1].config), std::nullopt);  // an rf trial has no C
  EXPECT_EQ(AxisValue(axes[0], in.trials[1].config), 1.0);
}

TEST(ParamAxesTest, WithoutASpaceTheValuesDecide) {
  ReportInput in = testing::FlatSweep();
  in.space.reset();
  in.trials[0].config["optimizer"] = std::string("adam");
  std::vector<ParamAxis> axes = BuildParamAxes(in);
  ASSERT_THAT(Names(axes), ElementsAre("hidden", "l2", "lr", "optimizer"));
  EXPECT_EQ(axes[2].kind, AxisKind::kLinear);  // not known to be log-scaled
  EXPECT_EQ(axes[2].min, 0.0069);
  EXPECT_EQ(axes[2].max, 0.9);
  EXPECT_EQ(axes[3].kind, AxisKind::kCategorical);
  EXPECT_TRUE(axes[3].conditional);
}

TEST(ParamAxesTest, ValuesOutsideTheSpaceWidenIt) {
  ReportInput in = testing::FlatSweep();
  in.trials[0].config["lr"] = 5.0;  // the spec said at most exp(0) = 1
  in.trials[1].config["hidden"] = int64_t{32};
  std::vector<ParamAxis> axes = BuildParamAxes(in);
  EXPECT_EQ(axes[0].max, 5.0);
  EXPECT_THAT(axes[2].categories, ElementsAre("4", "8", "32"));
}

}  // namespace
}  // namespace sweep::report

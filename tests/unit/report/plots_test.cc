// The plots' structure: well-formed SVG, axes, exactly one mark per trial, and golden
// outlines (tests/data/golden/*.txt; SWEEP_UPDATE_GOLDEN=1 rewrites them).
#include "report/plots.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "report_fixture.h"
#include "svg_outline.h"

namespace sweep::report {
namespace {

using testing::Element;
using ::testing::HasSubstr;
using ::testing::Not;

std::vector<Element> Parse(const std::string& svg) {
  std::string error;
  std::vector<Element> elements = testing::ParseElements(svg, &error);
  EXPECT_EQ(error, "") << svg;
  return elements;
}

std::vector<const Element*> WithClass(const std::vector<Element>& elements,
                                      const std::string& word) {
  std::vector<const Element*> out;
  for (const Element& e : elements) {
    auto c = e.attrs.find("class");
    if (c == e.attrs.end()) continue;
    std::istringstream words(c->second);
    std::string w;
    while (words >> w) {
      if (w == word) {
        out.push_back(&e);
        break;
      }
    }
  }
  return out;
}

// The trial ids of the marks; fails on a trial marked twice.
std::set<int64_t> MarkedTrials(const std::vector<Element>& elements) {
  std::set<int64_t> ids;
  for (const Element* e : WithClass(elements, "mark")) {
    int64_t id = std::stoll(e->attrs.at("data-trial"));
    EXPECT_TRUE(ids.insert(id).second) << "trial " << id << " has two marks";
  }
  return ids;
}

void ExpectGolden(const std::string& name, const std::string& svg) {
  std::string outline = testing::Outline(Parse(svg));
  std::string path = std::string(SWEEP_SOURCE_DIR) + "/tests/data/golden/" + name + ".txt";
  const char* update = std::getenv("SWEEP_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(path) << outline;
    return;
  }
  std::ifstream in(path);
  ASSERT_TRUE(in) << "no golden file " << path << " (SWEEP_UPDATE_GOLDEN=1 writes it)";
  std::stringstream golden;
  golden << in.rdbuf();
  EXPECT_EQ(outline, golden.str()) << "the structure of " << name << " changed; if on purpose, "
                                   << "rerun with SWEEP_UPDATE_GOLDEN=1 and review the diff";
}

TEST(PlotsTest, ConvergenceHasAxesAndOneMarkPerTrial) {
  ReportInput in = testing::FlatSweep();
  std::string svg = ConvergencePlot(in);
  std::vector<Element> e = Parse(svg);
  EXPECT_EQ(WithClass(e, "axis").size(), 2u);
  EXPECT_EQ(MarkedTrials(e), (std::set<int64_t>{1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(WithClass(e, "no-value").size(), 2u);  // trials 4 and 8
  ASSERT_EQ(WithClass(e, "best").size(), 1u);
  EXPECT_EQ(WithClass(e, "best")[0]->attrs.at("data-trial"), "5");
  // Best so far over completed trials 1 (0.80), 2 (0.91), 5 (0.94): two steps up.
  ASSERT_EQ(WithClass(e, "best-line").size(), 1u);
  const std::string& d = WithClass(e, "best-line")[0]->attrs.at("d");
  EXPECT_EQ(std::count(d.begin(), d.end(), 'V'), 2) << d;
  EXPECT_THAT(svg, HasSubstr("trial number"));
  EXPECT_THAT(svg, HasSubstr("accuracy (maximize)"));
  ExpectGolden("convergence", svg);
}

TEST(PlotsTest, ParallelHasAnAxisPerParameterAndTheMetric) {
  ReportInput in = testing::FlatSweep();
  std::string svg = ParallelPlot(in, BuildParamAxes(in));
  std::vector<Element> e = Parse(svg);
  EXPECT_EQ(WithClass(e, "param").size(), 3u);
  EXPECT_EQ(WithClass(e, "metric").size(), 1u);
  EXPECT_EQ(MarkedTrials(e).size(), in.trials.size());
  EXPECT_THAT(svg, HasSubstr("lr (log)"));
  EXPECT_THAT(svg, HasSubstr(">no value<"));
  EXPECT_THAT(svg, Not(HasSubstr(">inactive<")));  // nothing is conditional here
  ExpectGolden("parallel", svg);
}

TEST(PlotsTest, ParallelShowsInactiveParameters) {
  ReportInput in = testing::NestedSweep();
  std::string svg = ParallelPlot(in, BuildParamAxes(in));
  std::vector<Element> e = Parse(svg);
  EXPECT_EQ(WithClass(e, "param").size(), 3u);         // estimator, C, depth
  EXPECT_EQ(WithClass(e, "missing-slot").size(), 3u);  // C, depth inactive; loss no value
  EXPECT_EQ(MarkedTrials(e).size(), in.trials.size());
  EXPECT_THAT(svg, HasSubstr(">inactive<"));
  EXPECT_THAT(svg, HasSubstr(">svm<"));
  ExpectGolden("parallel_nested", svg);
}

TEST(PlotsTest, ScatterPerParameter) {
  ReportInput in = testing::FlatSweep();
  std::vector<ParamAxis> axes = BuildParamAxes(in);
  std::string lr = ScatterPlot(in, axes[0]);
  std::vector<Element> e = Parse(lr);
  EXPECT_EQ(WithClass(e, "axis").size(), 2u);
  // Trials with a value: 1, 2, 3, 5, 6, 7.
  EXPECT_EQ(MarkedTrials(e), (std::set<int64_t>{1, 2, 3, 5, 6, 7}));
  EXPECT_THAT(lr, HasSubstr("lr (log scale)"));
  EXPECT_THAT(lr, HasSubstr(">0.001<"));  // decade ticks
  ExpectGolden("scatter_lr", lr);

  ReportInput nested = testing::NestedSweep();
  std::vector<ParamAxis> nested_axes = BuildParamAxes(nested);
  std::string c = ScatterPlot(nested, nested_axes[1]);
  std::vector<Element> ce = Parse(c);
  EXPECT_EQ(WithClass(ce, "inactive").size(), 2u);  // the rf trials
  EXPECT_EQ(MarkedTrials(ce).size(), 4u);
  EXPECT_THAT(c, HasSubstr("loguniform, conditional"));
}

TEST(PlotsTest, CurvesMarkWhereTrialsWereStopped) {
  ReportInput in = testing::FlatSweep();
  std::string svg = CurvesPlot(in);
  std::vector<Element> e = Parse(svg);
  EXPECT_EQ(WithClass(e, "axis").size(), 2u);
  EXPECT_EQ(MarkedTrials(e), (std::set<int64_t>{1, 2, 3, 5, 6, 7}));
  std::vector<const Element*> stops = WithClass(e, "stop-mark");
  ASSERT_EQ(stops.size(), 1u);
  EXPECT_EQ(stops[0]->attrs.at("data-trial"), "3");
  // The cross sits at the end of trial 3's curve (interval 3 of at most 6).
  for (const Element* m : WithClass(e, "mark")) {
    if (m->attrs.at("data-trial") != "3") continue;
    const std::string& d = m->attrs.at("d");
    std::string last = d.substr(d.rfind('L') + 1);
    std::string cross = stops[0]->attrs.at("d");
    double x = std::stod(last), cx = std::stod(cross.substr(1)) + 4;
    EXPECT_NEAR(x, cx, 0.02);
  }
  ExpectGolden("curves", svg);
}

TEST(PlotsTest, ImportanceBarsNameTheMethod) {
  ReportInput in = testing::FlatSweep();
  std::string svg = ImportancePlot(ComputeImportance(in, BuildParamAxes(in)));
  std::vector<Element> e = Parse(svg);
  EXPECT_EQ(WithClass(e, "bar").size(), 3u);
  EXPECT_THAT(svg, HasSubstr("PED-ANOVA (top 2 of 4 completed trials)"));
  ExpectGolden("importance", svg);

  ReportInput few = testing::FlatSweep();
  few.trials.resize(2);
  std::string empty = ImportancePlot(ComputeImportance(few, BuildParamAxes(few)));
  EXPECT_THAT(empty, HasSubstr("needs at least 4 completed trials with a value, has 2"));
  Parse(empty);
}

TEST(PlotsTest, EmptySweepsStillDrawAxes) {
  ReportInput in = testing::FlatSweep();
  in.trials.clear();
  in.curves.clear();
  for (PlotKind kind :
       {PlotKind::kConvergence, PlotKind::kParallel, PlotKind::kCurves, PlotKind::kImportance}) {
    std::string svg = StandalonePlot(in, kind);
    EXPECT_THAT(svg, HasSubstr("<?xml version=\"1.0\""));
    std::vector<Element> e = Parse(svg);
    EXPECT_TRUE(WithClass(e, "mark").empty()) << PlotKindName(kind);
    EXPECT_FALSE(WithClass(e, "axis").empty()) << PlotKindName(kind);
  }
}

TEST(PlotsTest, TextIsEscaped) {
  ReportInput in = testing::FlatSweep();
  in.sweep.objective.primary_metric = "f1<&>\"";
  std::string svg = ConvergencePlot(in);
  Parse(svg);
  EXPECT_THAT(svg, HasSubstr("f1&lt;&amp;&gt;&quot;"));
}

TEST(PlotsTest, KindNames) {
  for (const char* name : {"convergence", "parallel", "curves", "importance"}) {
    ASSERT_TRUE(ParsePlotKind(name).has_value()) << name;
    EXPECT_STREQ(PlotKindName(*ParsePlotKind(name)), name);
  }
  EXPECT_FALSE(ParsePlotKind("scatter").has_value());
}

}  // namespace
}  // namespace sweep::report

#include "worker/metric_parser.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sweep::worker {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

MATCHER_P3(Point, name, value, step, "") {
  return arg.name == name && arg.value == value && arg.step == step;
}
MATCHER_P(NamedNaN, name, "") { return arg.name == name && std::isnan(arg.value); }

TEST(ParseMetricValueTest, Numbers) {
  EXPECT_EQ(ParseMetricValue("0.91"), 0.91);
  EXPECT_EQ(ParseMetricValue("-3"), -3.0);
  EXPECT_EQ(ParseMetricValue("+1e-3"), 1e-3);
  EXPECT_EQ(ParseMetricValue(".5"), 0.5);
  EXPECT_EQ(ParseMetricValue("1E5"), 1e5);
}

TEST(ParseMetricValueTest, NonFinite) {
  EXPECT_TRUE(std::isnan(*ParseMetricValue("nan")));
  EXPECT_TRUE(std::isnan(*ParseMetricValue("NaN")));
  EXPECT_TRUE(std::isnan(*ParseMetricValue("-nan")));
  EXPECT_EQ(*ParseMetricValue("inf"), INFINITY);
  EXPECT_EQ(*ParseMetricValue("-Infinity"), -INFINITY);
  EXPECT_EQ(*ParseMetricValue("1e999"), INFINITY);
}

TEST(ParseMetricValueTest, RejectsNonNumbers) {
  for (const char* text :
       {"", "abc", "0.5%", "1,5", "--1", "+-1", "+", "1.2.3", "0x10", " 1", "1 ", "svm", "true"}) {
    EXPECT_FALSE(ParseMetricValue(text).has_value()) << text;
  }
}

TEST(ParseMetricLineTest, KatibFormatWithEpochAsStep) {
  EXPECT_THAT(ParseMetricLine("epoch=3 accuracy=0.91 loss=0.2"),
              ElementsAre(Point("accuracy", 0.91, 3), Point("loss", 0.2, 3)));
}

TEST(ParseMetricLineTest, StepWinsOverEpochAndCanComeLast) {
  EXPECT_THAT(ParseMetricLine("accuracy=0.5 epoch=2 step=40"),
              ElementsAre(Point("accuracy", 0.5, 40)));
}

TEST(ParseMetricLineTest, NoStepMeansMinusOne) {
  EXPECT_THAT(ParseMetricLine("accuracy=0.5"), ElementsAre(Point("accuracy", 0.5, -1)));
}

TEST(ParseMetricLineTest, CommasSemicolonsAndSpacesAroundEquals) {
  EXPECT_THAT(ParseMetricLine("accuracy=0.91, loss = 0.2;lr =0.01,\tval/acc= 7"),
              ElementsAre(Point("accuracy", 0.91, -1), Point("loss", 0.2, -1),
                          Point("lr", 0.01, -1), Point("val/acc", 7, -1)));
}

TEST(ParseMetricLineTest, NanAndInfAccepted) {
  std::vector<ParsedMetric> points = ParseMetricLine("loss=nan grad=inf low=-inf");
  ASSERT_EQ(points.size(), 3u);
  EXPECT_THAT(points[0], NamedNaN("loss"));
  EXPECT_THAT(points[1], Point("grad", INFINITY, -1));
  EXPECT_THAT(points[2], Point("low", -INFINITY, -1));
}

TEST(ParseMetricLineTest, NonNumericValuesIgnoredOthersKept) {
  EXPECT_THAT(ParseMetricLine("model=svm accuracy=0.8 rate=5% note="),
              ElementsAre(Point("accuracy", 0.8, -1)));
}

TEST(ParseMetricLineTest, LinesWithoutPairsIgnored) {
  EXPECT_THAT(ParseMetricLine(""), IsEmpty());
  EXPECT_THAT(ParseMetricLine("Training started"), IsEmpty());
  EXPECT_THAT(ParseMetricLine("= = ="), IsEmpty());
  EXPECT_THAT(ParseMetricLine("a==3 b=1=2"), IsEmpty());
}

TEST(ParseMetricLineTest, ColonFormIsNotAMetric) {
  EXPECT_THAT(ParseMetricLine("INFO: accuracy: 0.9 time 12:30"), IsEmpty());
}

TEST(ParseMetricLineTest, CommandLinesAndReprsAreNotMetrics) {
  EXPECT_THAT(ParseMetricLine("python train.py --lr=0.1 -x=3"), IsEmpty());
  EXPECT_THAT(ParseMetricLine("Namespace(lr=0.1, epochs=5)"), IsEmpty());
  EXPECT_THAT(ParseMetricLine("1abc=3 x.y=2"), ElementsAre(Point("x.y", 2, -1)));
}

TEST(ParseMetricLineTest, NonIntegralStepIsIgnoredNotReported) {
  EXPECT_THAT(ParseMetricLine("step=1.5 acc=1"), ElementsAre(Point("acc", 1, -1)));
  EXPECT_THAT(ParseMetricLine("epoch=-1 acc=1"), ElementsAre(Point("acc", 1, -1)));
  EXPECT_THAT(ParseMetricLine("epoch=4.0 acc=1"), ElementsAre(Point("acc", 1, 4)));
  EXPECT_THAT(ParseMetricLine("epoch=3"), IsEmpty());
}

TEST(ParseMetricLineTest, TrailingCarriageReturnAndOverlongName) {
  EXPECT_THAT(ParseMetricLine("acc=0.5\r"), ElementsAre(Point("acc", 0.5, -1)));
  std::string long_name(kMaxMetricNameLength + 1, 'a');
  EXPECT_THAT(ParseMetricLine(long_name + "=1 b=2"), ElementsAre(Point("b", 2, -1)));
}

TEST(ParseMetricJsonLineTest, NameValueForm) {
  auto points = ParseMetricJsonLine(R"({"name": "accuracy", "value": 0.91, "step": 3})");
  ASSERT_TRUE(points.ok()) << points.status();
  EXPECT_THAT(*points, ElementsAre(Point("accuracy", 0.91, 3)));
}

TEST(ParseMetricJsonLineTest, DictForm) {
  auto points = ParseMetricJsonLine(R"({"accuracy": 0.91, "loss": 2, "epoch": 5})");
  ASSERT_TRUE(points.ok()) << points.status();
  EXPECT_THAT(*points, ElementsAre(Point("accuracy", 0.91, 5), Point("loss", 2, 5)));
}

TEST(ParseMetricJsonLineTest, DictFormIgnoresNonNumbers) {
  auto points = ParseMetricJsonLine(
      R"({"model": "svm", "ok": true, "nested": {"a": 1}, "list": [1], "n": null, "acc": 1})");
  ASSERT_TRUE(points.ok()) << points.status();
  EXPECT_THAT(*points, ElementsAre(Point("acc", 1, -1)));
}

TEST(ParseMetricJsonLineTest, PythonNaNAndInfinityLiterals) {
  auto points = ParseMetricJsonLine(R"({"loss": NaN, "a": Infinity, "b": -Infinity})");
  ASSERT_TRUE(points.ok()) << points.status();
  ASSERT_EQ(points->size(), 3u);
  EXPECT_THAT((*points)[0], Point("a", INFINITY, -1));
  EXPECT_THAT((*points)[1], Point("b", -INFINITY, -1));
  EXPECT_THAT((*points)[2], NamedNaN("loss"));
}

TEST(ParseMetricJsonLineTest, NonFiniteStringsAndLiteralInsideString) {
  auto points = ParseMetricJsonLine(R"({"name": "loss", "value": "nan", "note": "NaN"})");
  ASSERT_TRUE(points.ok()) << points.status();
  ASSERT_EQ(points->size(), 1u);
  EXPECT_THAT((*points)[0], NamedNaN("loss"));
  // A string that merely contains NaN is left alone, and numeric strings are not values.
  auto dict = ParseMetricJsonLine(R"({"say \"NaN\"": 1, "s": "0.5"})");
  ASSERT_TRUE(dict.ok()) << dict.status();
  EXPECT_THAT(*dict, IsEmpty());  // "say \"NaN\"" is not a valid metric name
}

TEST(ParseMetricJsonLineTest, NameFormWithBadValueYieldsNothing) {
  auto points = ParseMetricJsonLine(R"({"name": "acc", "value": "high"})");
  ASSERT_TRUE(points.ok());
  EXPECT_THAT(*points, IsEmpty());
}

TEST(ParseMetricJsonLineTest, BlankLineIsNoPoints) {
  auto points = ParseMetricJsonLine("   \r");
  ASSERT_TRUE(points.ok());
  EXPECT_THAT(*points, IsEmpty());
}

TEST(ParseMetricJsonLineTest, MalformedJsonIsAnError) {
  auto points = ParseMetricJsonLine(R"({"name": "acc", "value": )");
  ASSERT_FALSE(points.ok());
  EXPECT_EQ(points.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(points.status().message()), HasSubstr("not valid JSON"));
}

TEST(ParseMetricJsonLineTest, NonObjectIsAnError) {
  auto points = ParseMetricJsonLine("[1, 2]");
  ASSERT_FALSE(points.ok());
  EXPECT_THAT(std::string(points.status().message()), HasSubstr("not a JSON object"));
}

TEST(LineSplitterTest, PartialLinesWaitForNewline) {
  LineSplitter splitter;
  EXPECT_THAT(splitter.Append("acc=1\nlo"), ElementsAre("acc=1"));
  EXPECT_THAT(splitter.Append("ss=2"), IsEmpty());
  EXPECT_THAT(splitter.Append("\r\n\nx"), ElementsAre("loss=2", ""));
  EXPECT_EQ(splitter.Finish(), "x");
  EXPECT_EQ(splitter.Finish(), std::nullopt);
}

TEST(LineSplitterTest, OverlongLinesAreCut) {
  LineSplitter splitter(4);
  EXPECT_THAT(splitter.Append("abcdefghij"), ElementsAre("abcd", "efgh"));
  EXPECT_THAT(splitter.Append("kl\n"), ElementsAre("ijkl"));
  // A newline right after a cut piece does not add an empty line.
  EXPECT_THAT(splitter.Append("mnop"), ElementsAre("mnop"));
  EXPECT_THAT(splitter.Append("\nq\n"), ElementsAre("q"));
}

class MetricsFileTailerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("tailer-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "metrics.jsonl").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void Append(const std::string& text) {
    std::ofstream out(path_, std::ios::app);
    out << text;
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(MetricsFileTailerTest, MissingFileYieldsNothing) {
  MetricsFileTailer tailer(path_);
  EXPECT_THAT(tailer.Poll(), IsEmpty());
  EXPECT_THAT(tailer.Finish(), IsEmpty());
}

TEST_F(MetricsFileTailerTest, FollowsAppendsAndHoldsPartialLine) {
  MetricsFileTailer tailer(path_);
  Append("{\"name\": \"acc\", \"value\": 0.1, \"step\": 1}\n{\"acc\": 0.");
  EXPECT_THAT(tailer.Poll(), ElementsAre(Point("acc", 0.1, 1)));
  EXPECT_THAT(tailer.Poll(), IsEmpty());
  Append("2, \"step\": 2}\n");
  EXPECT_THAT(tailer.Poll(), ElementsAre(Point("acc", 0.2, 2)));
}

TEST_F(MetricsFileTailerTest, FinishParsesUnterminatedLastLine) {
  MetricsFileTailer tailer(path_);
  Append("{\"acc\": 0.3}");
  EXPECT_THAT(tailer.Poll(), IsEmpty());
  EXPECT_THAT(tailer.Finish(), ElementsAre(Point("acc", 0.3, -1)));
}

TEST_F(MetricsFileTailerTest, MalformedLinesCountedAndSkipped) {
  MetricsFileTailer tailer(path_);
  Append("not json\n{\"acc\": 1}\n[1]\n");
  EXPECT_THAT(tailer.Poll(), ElementsAre(Point("acc", 1, -1)));
  EXPECT_EQ(tailer.malformed_lines(), 2);
}

TEST_F(MetricsFileTailerTest, TruncatedFileIsReadAgain) {
  MetricsFileTailer tailer(path_);
  Append("{\"acc\": 1}\n{\"acc\": 2}\n");
  EXPECT_EQ(tailer.Poll().size(), 2u);
  std::ofstream(path_, std::ios::trunc) << "{\"b\": 3}\n";
  EXPECT_THAT(tailer.Poll(), ElementsAre(Point("b", 3, -1)));
}

}  // namespace
}  // namespace sweep::worker

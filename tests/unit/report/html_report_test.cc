#include "report/html_report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>

#include "report_fixture.h"

namespace sweep::report {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(HtmlReportTest, EverySectionIsThere) {
  std::string html = HtmlReport(testing::FlatSweep());
  EXPECT_THAT(html, HasSubstr("<!DOCTYPE html>"));
  for (const char* id : {"convergence", "parallel", "importance", "scatter", "curves", "trials"}) {
    EXPECT_THAT(html, HasSubstr(std::string("<section id=\"") + id + "\">")) << id;
  }
  EXPECT_THAT(html, HasSubstr("Best trial: 5"));
  EXPECT_THAT(html, HasSubstr("PED-ANOVA (top 2 of 4 completed trials)"));
  EXPECT_EQ(Count(html, "<svg "), 4u + 3u);  // four plots and a scatter per parameter
  EXPECT_THAT(html, HasSubstr("@media print"));
  EXPECT_THAT(html, HasSubstr("2023-11-14 22:15:00 UTC"));  // generated_ms
}

TEST(HtmlReportTest, SelfContained) {
  std::string html = HtmlReport(testing::FlatSweep());
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("<link")));
  EXPECT_THAT(html, Not(HasSubstr("<img")));
  EXPECT_THAT(html, Not(HasSubstr("url(")));
  EXPECT_THAT(html, Not(HasSubstr("@import")));
  // The only URL is the SVG namespace name, which is never fetched.
  std::string without_ns =
      std::regex_replace(html, std::regex("xmlns=\"http://www.w3.org/2000/svg\""), "");
  EXPECT_THAT(without_ns, Not(HasSubstr("http")));
}

TEST(HtmlReportTest, TrialsTableHasARowPerTrialAndEscapes) {
  ReportInput in = testing::NestedSweep();
  in.trials[4].reason = "exited with code 1: <boom> & \"quotes\"";
  std::string html = HtmlReport(in);
  size_t table = html.find("<section id=\"trials\">");
  ASSERT_NE(table, std::string::npos);
  std::string rows = html.substr(table);
  EXPECT_EQ(Count(rows, "<tr"), 1u + in.trials.size());
  EXPECT_EQ(Count(rows, "<td class=\"inactive\">inactive</td>"), 5u);  // C or depth each
  EXPECT_THAT(rows, HasSubstr("&lt;boom&gt; &amp; &quot;quotes&quot;"));
  EXPECT_THAT(rows, HasSubstr("<tr class=\"best-row\"><td class=\"num\">4</td>"));
  // A nested choice shows its option's label, in the table and the best trial's card.
  EXPECT_THAT(rows, HasSubstr("<td>svm</td>"));
  EXPECT_THAT(html, HasSubstr("<dt>estimator</dt><dd>rf</dd>"));
}

TEST(HtmlReportTest, ASweepWithoutResultsSaysSo) {
  ReportInput in = testing::FlatSweep();
  in.trials.clear();
  in.curves.clear();
  std::string html = HtmlReport(in);
  EXPECT_THAT(html, HasSubstr("no trial completed with a value of accuracy yet"));
  EXPECT_THAT(html, HasSubstr("importance not computed"));
}

TEST(HtmlReportTest, TimeFormats) {
  EXPECT_EQ(FormatUtc(0), "");
  EXPECT_EQ(FormatUtc(1'700'000'000'000), "2023-11-14 22:13:20 UTC");
  EXPECT_EQ(FormatElapsed(65'000), "1m05s");
  EXPECT_EQ(FormatElapsed(3'200), "3.2s");
  EXPECT_EQ(FormatElapsed(-1), "-");
}

}  // namespace
}  // namespace sweep::report

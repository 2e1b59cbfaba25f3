// The spec's input limits: UTF-8 text, sizes and counts (spec.h, "Input limits").
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "spec/spec.h"

namespace sweep::spec {
namespace {

using ::testing::HasSubstr;

std::string Spec(const std::string& search_space, const std::string& metric = "acc") {
  return "type: sweep\ntrial:\n  command: echo ${{search_space.m}}\ncompute: cpu-cluster\n"
         "search_space:\n" +
         search_space + "objective: {primary_metric: " + metric + ", goal: maximize}\n";
}

std::string Error(const std::string& text) {
  absl::StatusOr<SweepSpec> spec = ParseSpec(text, "spec.yml", "/tmp");
  EXPECT_FALSE(spec.ok()) << text;
  if (spec.ok()) return "";
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(spec.status().message());
}

// Issue fault 1: a byte that is not UTF-8 was accepted and later crashed the controller.
TEST(SpecInputLimits, ValueThatIsNotUtf8IsRefusedNamingTheKey) {
  std::string msg = Error(Spec("  m: {type: choice, values: [\"caf\xE9\"]}\n"));
  EXPECT_THAT(msg, HasSubstr("spec.yml:6:30:"));
  EXPECT_THAT(msg, HasSubstr("search_space.m.values[0]"));
  EXPECT_THAT(msg, HasSubstr("not valid UTF-8 (byte 0xE9 at offset 3)"));
}

TEST(SpecInputLimits, KeyThatIsNotUtf8IsRefused) {
  std::string msg = Error(Spec("  m\xFF: {type: choice, values: [1]}\n"));
  EXPECT_THAT(msg, HasSubstr("a key is not valid UTF-8"));
  EXPECT_THAT(msg, HasSubstr("search_space"));
}

// The check walks each anchored node once (an alias bomb cost minutes), yet still sees a
// bad byte behind an alias, and one in every distinct mapping.
TEST(SpecInputLimits, BadBytesBehindAliasesAndInSiblingsAreReported) {
  std::string msg = Error(Spec("  m: &a {type: choice, values: [\"caf\xE9\"]}\n"
                               "  n: *a\n"
                               "  o: {type: choice, values: [\"th\xE9\"]}\n"));
  EXPECT_THAT(msg, HasSubstr("search_space.m.values[0]: the value is not valid UTF-8"));
  EXPECT_THAT(msg, HasSubstr("search_space.o.values[0]: the value is not valid UTF-8"));
}

TEST(SpecInputLimits, ValidUtf8IsKept) {
  absl::StatusOr<SweepSpec> spec =
      ParseSpec(Spec("  m: {type: choice, values: [\"caf\xC3\xA9\"]}\n"), "spec.yml", "/tmp");
  ASSERT_TRUE(spec.ok()) << spec.status();
}

TEST(SpecInputLimits, SizesAndCounts) {
  EXPECT_THAT(Error(std::string(kMaxSpecBytes + 1, '#')), HasSubstr("at most 1048576"));
  std::string long_name(129, 'p');
  EXPECT_THAT(Error(Spec("  " + long_name + ": {type: choice, values: [1]}\n")),
              HasSubstr("parameter name is 129 characters long; at most 128"));
  std::string values = "[0";
  for (int i = 1; i <= 10000; ++i) values += "," + std::to_string(i);
  EXPECT_THAT(Error(Spec("  m: {type: choice, values: " + values + "]}\n")),
              HasSubstr("lists 10001 values; a choice may list at most 10000"));
  EXPECT_THAT(Error(Spec("  m: {type: choice, values: [1]}\n", std::string(257, 'a'))),
              HasSubstr("at most 256 characters"));
}

// A timeout the controller turns into milliseconds from now: one that would overflow int64
// there is refused here (issue 11, input limits).
TEST(SpecInputLimits, TimeoutsThatWouldOverflowAreRefused) {
  const std::string space = "  m: {type: choice, values: [1]}\n";
  for (const char* key : {"timeout", "trial_timeout", "node_wait_timeout"}) {
    std::string msg = Error(Spec(space) + "limits: {" + key + ": 9223372036854775807}\n");
    EXPECT_THAT(msg, HasSubstr(std::string("limits.") + key)) << msg;
    EXPECT_THAT(msg, HasSubstr("must be at most 3153600000 seconds")) << msg;
  }
  absl::StatusOr<SweepSpec> spec =
      ParseSpec(Spec(space) + "limits: {timeout: 3153600000}\n", "spec.yml", "/tmp");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->limits.timeout_s, 3153600000);
}

}  // namespace
}  // namespace sweep::spec

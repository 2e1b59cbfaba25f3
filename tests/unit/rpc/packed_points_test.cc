#include "rpc/packed_points.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sweep::rpc {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

core::MetricPoint Point(std::string name, double value, int64_t step, int64_t seq) {
  core::MetricPoint p;
  p.name = std::move(name);
  p.value = value;
  p.step = step;
  p.timestamp_ms = 1000 + seq;
  p.seq = seq;
  return p;
}

TEST(PackedPointsTest, RoundTripsEveryFieldGivingEachNameOnce) {
  std::vector<core::MetricPoint> points = {
      Point("loss", 0.5, 1, 1), Point("acc", std::numeric_limits<double>::quiet_NaN(), -1, 2),
      Point("loss", -std::numeric_limits<double>::infinity(), 2, 3), Point("acc", 0.9, 3, 4)};
  proto::PackedMetricPoints packed;
  PackPoints(points, &packed);
  EXPECT_THAT(packed.names(), ElementsAre("loss", "acc"));
  EXPECT_THAT(packed.name(), ElementsAre(0, 1, 0, 1));
  // A second report appended to the same message reuses the names.
  PackPoints({Point("lr", 0.1, 4, 5), Point("loss", 0.25, 4, 6)}, &packed);
  EXPECT_THAT(packed.names(), ElementsAre("loss", "acc", "lr"));

  std::vector<core::MetricPoint> out;
  ASSERT_TRUE(UnpackPoints(packed, &out).ok());
  ASSERT_EQ(out.size(), 6u);
  std::vector<std::string> seen;
  for (const core::MetricPoint& p : out) {
    seen.push_back(
        absl::StrCat(p.name, "=", p.value, " s", p.step, " t", p.timestamp_ms, " #", p.seq));
  }
  EXPECT_THAT(seen,
              ElementsAre("loss=0.5 s1 t1001 #1", "acc=nan s-1 t1002 #2", "loss=-inf s2 t1003 #3",
                          "acc=0.9 s3 t1004 #4", "lr=0.1 s4 t1005 #5", "loss=0.25 s4 t1006 #6"));
}

TEST(PackedPointsTest, InvalidNamesAreMadeValidUtf8) {
  proto::PackedMetricPoints packed;
  PackPoints({Point("bad\xff", 1, 0, 1)}, &packed);
  std::vector<core::MetricPoint> out;
  ASSERT_TRUE(UnpackPoints(packed, &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NE(out[0].name, "bad\xff");
  EXPECT_THAT(out[0].name, HasSubstr("bad"));
}

TEST(PackedPointsTest, RefusesRaggedColumnsAndUnknownNameIndexesAppendingNothing) {
  proto::PackedMetricPoints packed;
  PackPoints({Point("loss", 1, 0, 1), Point("loss", 2, 1, 2)}, &packed);
  std::vector<core::MetricPoint> out = {Point("kept", 0, 0, 0)};

  proto::PackedMetricPoints ragged = packed;
  ragged.mutable_seq()->RemoveLast();
  absl::Status status = UnpackPoints(ragged, &out);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("columns of different lengths (2 names, 2 values, "
                                          "2 steps, 2 timestamps, 1 seqs)"));

  proto::PackedMetricPoints unknown = packed;
  unknown.set_name(1, 7);
  status = UnpackPoints(unknown, &out);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("packed metric point 2 names index 7 of 1 names"));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].name, "kept");
}

}  // namespace
}  // namespace sweep::rpc

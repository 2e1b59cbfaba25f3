#include "core/time_format.h"

#include <cstdlib>
#include <ctime>

#include "gtest/gtest.h"

namespace sweep::core {
namespace {

TEST(TimeFormatTest, UtcAndLocalWithTheCallersFormat) {
  // 2026-12-05 17:54:32.999 UTC: the milliseconds are dropped, not rounded.
  const int64_t ms = 1796493272999;
  EXPECT_EQ(FormatEpochMs(ms, "%Y-%m-%dT%H:%M:%SZ", TimeZone::kUtc), "2026-12-05T17:54:32Z");
  EXPECT_EQ(FormatEpochMs(ms, "%Y-%m-%d %H:%M:%S UTC", TimeZone::kUtc), "2026-12-05 17:54:32 UTC");
  ::setenv("TZ", "IST-5:30", 1);  // a POSIX TZ: UTC+5:30, no tzdata needed
  ::tzset();
  EXPECT_EQ(FormatEpochMs(ms, "%H:%M:%S", TimeZone::kLocal), "23:24:32");
  ::unsetenv("TZ");
  ::tzset();
}

TEST(TimeFormatTest, ATimeNotRecordedIsEmpty) {
  EXPECT_EQ(FormatEpochMs(0, "%H:%M:%S", TimeZone::kUtc), "");
}

}  // namespace
}  // namespace sweep::core

#include "core/time_format.h"

#include <ctime>

namespace sweep::core {

std::string FormatEpochMs(int64_t ms, const char* format, TimeZone zone) {
  if (ms == 0) return "";
  const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  if (zone == TimeZone::kUtc) {
    gmtime_r(&seconds, &tm);
  } else {
    localtime_r(&seconds, &tm);
  }
  char buf[64];
  const size_t n = std::strftime(buf, sizeof buf, format, &tm);
  return std::string(buf, n);
}

}  // namespace sweep::core

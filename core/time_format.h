// Writing a time in ms since the epoch for people: one strftime wrapper for the CLI's
// tables, the server's log and the report.
//
// Thread safety: pure functions (gmtime_r / localtime_r).
#pragma once

#include <cstdint>
#include <string>

namespace sweep::core {

enum class TimeZone { kUtc, kLocal };

// `ms` formatted with strftime's `format` in `zone`; "" for 0 (a time not recorded).
std::string FormatEpochMs(int64_t ms, const char* format, TimeZone zone);

}  // namespace sweep::core

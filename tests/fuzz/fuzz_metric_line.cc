// libFuzzer target: the metric parsers of the worker (worker/metric_parser.h), fed by the
// trial's stdout and metrics file: any line gives points or nothing, never a crash.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/utf8.h"
#include "worker/metric_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  for (const auto& m : sweep::worker::ParseMetricLine(line)) {
    if (!sweep::core::IsValidUtf8(m.name)) __builtin_trap();  // names reach proto3 strings
  }
  (void)sweep::worker::ParseMetricJsonLine(line);
  (void)sweep::worker::ParseMetricValue(line);
  return 0;
}

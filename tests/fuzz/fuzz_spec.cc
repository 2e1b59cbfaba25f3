// libFuzzer target: the spec parser (spec/spec.h) must return a status for any text, never
// crash, hang or throw.
#include <cstddef>
#include <cstdint>
#include <string>

#include "spec/spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<sweep::spec::SweepSpec> spec = sweep::spec::ParseSpec(text, "fuzz.yml", "/tmp");
  if (spec.ok()) (void)sweep::spec::DescribeSpec(*spec);
  return 0;
}

// libFuzzer target: the trial command splitter (spec/command.h) and its references.
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "spec/command.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  (void)sweep::spec::SplitCommand(text);
  (void)sweep::spec::ParseCommandReference(text);
  return 0;
}

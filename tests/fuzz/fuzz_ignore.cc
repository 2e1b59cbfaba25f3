// libFuzzer target: .amlignore / .gitignore rules (workspace/ignore_rules.h). The first
// line of the input is the path asked about, the rest the rules.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "workspace/ignore_rules.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t nl = text.find('\n');
  std::string path(text.substr(0, nl == std::string_view::npos ? text.size() : nl));
  std::string_view rules = nl == std::string_view::npos ? "" : text.substr(nl + 1);
  sweep::workspace::IgnoreRules parsed = sweep::workspace::IgnoreRules::Parse(rules);
  (void)parsed.Ignored(path, false);
  (void)parsed.Ignored(path, true);
  return 0;
}

// For e2e tests that need a program outside Sweep (chromium, tmux): they skip, saying why,
// when it is not installed, unless SWEEP_REQUIRE_SERVICES=1 makes that a failure.
#pragma once

#include <cstdlib>
#include <string>

namespace sweep::e2e {

inline bool ToolInstalled(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

inline bool ToolsRequired() {
  const char* v = std::getenv("SWEEP_REQUIRE_SERVICES");
  return v != nullptr && std::string(v) == "1";
}

}  // namespace sweep::e2e

#define SWEEP_REQUIRE_TOOL(name, package)                                        \
  do {                                                                           \
    if (!::sweep::e2e::ToolInstalled(name)) {                                    \
      if (::sweep::e2e::ToolsRequired()) {                                       \
        FAIL() << name                                                           \
               << " is not installed but SWEEP_REQUIRE_SERVICES=1; install the " \
                  "Debian package " package " (scripts/install-deps.sh does)";   \
      }                                                                          \
      GTEST_SKIP() << name                                                       \
                   << " is not installed (Debian package " package               \
                      ", installed by scripts/install-deps.sh)";                 \
    }                                                                            \
  } while (0)

// CLI11's App, forward-declared for headers that only name it in declarations: a file that
// includes such a header for its argument structs then skips CLI11, whose header-only code
// costs each file that includes it seconds of compile time. Files that build commands
// include "CLI/CLI.hpp" themselves.
#pragma once

namespace CLI {
class App;
}  // namespace CLI

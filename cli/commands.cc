#include "cli/commands.h"

namespace sweep::cli {

int Main(int argc, char** argv) { return 0; }

}  // namespace sweep::cli

// `sweep validate SPEC`: parse and check a spec without running anything.
#pragma once

#include <string>

#include "cli/context.h"

namespace sweep::cli {

// Prints the resolved spec and exits 0, or every error (file:line:col) and exits 2.
int CmdValidate(const GlobalOptions& options, const std::string& spec_path);

}  // namespace sweep::cli

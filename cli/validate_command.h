// `sweep validate SPEC`: parse and check a spec without running anything.
#pragma once

#include <string>
#include <vector>

#include "cli/context.h"

namespace sweep::cli {

// Prints the resolved spec and exits 0, or every error (file:line:col) and exits 2.
// Checks the spec; with warm start (the spec's warm_start.sweeps and `warm_start`), also
// which trials of those sweeps the workspace (or --server) would feed the sampler and
// why the others are skipped; without a workspace it says so and checks the rest.
int CmdValidate(const GlobalOptions& options, const std::string& spec_path,
                const std::vector<std::string>& warm_start = {});

}  // namespace sweep::cli

// `sweep environment create|list|show`: named, versioned environments trials run in.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/context.h"

namespace sweep::cli {

struct EnvironmentArgs {
  std::string name;
  bool user_managed = false;
  std::string python;                // --python (user-managed)
  std::optional<std::string> setup;  // --setup (system-managed)
  std::vector<std::string> files;    // --file (system-managed)
};

// Creates a new version when the definition differs from the latest, else reports the
// latest. Exit 2 for bad input (nothing written), 1 for workspace failures.
int CmdEnvironmentCreate(const GlobalOptions& options, const EnvironmentArgs& args);
int CmdEnvironmentList(const GlobalOptions& options);
// `reference`: NAME, NAME@VERSION, NAME@latest (or NAME:VERSION).
int CmdEnvironmentShow(const GlobalOptions& options, const std::string& reference);

}  // namespace sweep::cli

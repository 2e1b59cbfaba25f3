// `sweep artifacts SWEEP TRIAL [--download DIR]`: a trial's stored outputs/ files
// (controller/artifact_store.h), listed or copied out digest-verified.
#pragma once

#include <cstdint>
#include <string>

#include "cli/context.h"

namespace sweep::cli {

struct ArtifactsArgs {
  std::string sweep_id;
  int64_t trial_id = 0;
  std::string download_dir;  // empty: list
};

// Exit 0; 1 for an unknown sweep or trial, a trial without uploaded artifacts, or a
// stored file that fails verification; 2 when DIR exists and is not an empty directory.
int CmdArtifacts(const GlobalOptions& options, const ArtifactsArgs& args);

}  // namespace sweep::cli

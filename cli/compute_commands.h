// `sweep compute create|list|show|update|delete`: persistent compute targets.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "cli/context.h"
#include "cli/slurm_commands.h"

namespace sweep::cli {

struct ComputeArgs {
  std::string name;
  std::string type = "amlcompute";
  std::string provider;  // "" = by type: local for amlcompute, ssh for remotevm
  std::optional<int64_t> min_nodes;
  std::optional<int64_t> max_nodes;
  std::optional<std::string> vm_size;
  std::optional<std::string> vm_priority;
  std::optional<int64_t> idle_seconds_before_scaledown;
  SlurmArgs slurm;  // --partition ... for --provider slurm
};

int CmdComputeCreate(const GlobalOptions& options, const ComputeArgs& args);
int CmdComputeUpdate(const GlobalOptions& options, const ComputeArgs& args);
int CmdComputeList(const GlobalOptions& options);
int CmdComputeShow(const GlobalOptions& options, const std::string& name);
int CmdComputeDelete(const GlobalOptions& options, const std::string& name);

}  // namespace sweep::cli

// `sweep models register|list|show|download`: the model registry.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/context.h"

namespace sweep::cli {

struct ModelRegisterArgs {
  std::string sweep_id;             // id or unique prefix
  std::optional<int64_t> trial_id;  // default: the best completed trial
  std::string name;
  std::vector<std::string> tags;  // "key=value"
};

// Exit 2 for bad input (name, tag, trial that is not completed, sweep without a completed
// trial), 1 for what is missing or broken in the workspace. Nothing is written on failure.
int CmdModelRegister(const GlobalOptions& options, const ModelRegisterArgs& args);
int CmdModelList(const GlobalOptions& options);
// `reference`: NAME (the newest version) or NAME:VERSION.
int CmdModelShow(const GlobalOptions& options, const std::string& reference);
int CmdModelDownload(const GlobalOptions& options, const std::string& reference,
                     const std::string& to);

}  // namespace sweep::cli

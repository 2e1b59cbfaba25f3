// Help that teaches: an example under every command's --help, and shell completion
// (`sweep completion bash|zsh`) generated from the same command tree, so neither drifts
// from the commands.
#pragma once

#include <functional>
#include <string>

#include "CLI/CLI.hpp"

namespace sweep::cli {

// Sets each subcommand's footer (recursively) to its examples. A command without one gets
// "Example: (none yet)", which the help test refuses, so a new command must add its own.
void AddExamples(CLI::App& app);

// Adds `sweep completion bash|zsh`, which prints a completion script for `app`'s commands
// and options (those added before and after it). `action` is set when the command is
// chosen; `app`, `shell` and `action` must outlive parsing and the action.
void AddCompletionCommand(CLI::App& app, std::string& shell, std::function<int()>& action);

// The bash completion script for `app` (commands, their subcommands and options). The zsh
// one loads it through zsh's bashcompinit.
std::string BashCompletion(const CLI::App& app);
std::string ZshCompletion(const CLI::App& app);

}  // namespace sweep::cli

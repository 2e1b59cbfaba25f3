#include "cli/validate_command.h"

#include <iostream>
#include <sstream>

#include "absl/strings/str_join.h"
#include "core/shell_quote.h"
#include "nlohmann/json.hpp"
#include "samplers/sampler.h"
#include "spec/spec.h"

namespace sweep::cli {
namespace {

// One configuration to show the command with: the first initial point, else a random
// draw (seeded by the spec's seed, else 0).
absl::StatusOr<core::Config> SampleConfig(const spec::SweepSpec& spec) {
  if (!spec.initial_points.empty()) return spec.initial_points.front();
  samplers::SamplerOptions options;
  options.goal = spec.objective.goal;
  options.seed = spec.sampling.seed.value_or(0);
  absl::StatusOr<std::unique_ptr<samplers::Sampler>> sampler =
      samplers::MakeSampler(samplers::Algorithm::kRandom, spec.search_space, options);
  if (!sampler.ok()) return sampler.status();
  absl::StatusOr<std::optional<core::Config>> next = (*sampler)->Next(samplers::History());
  if (!next.ok()) return next.status();
  if (!*next) return absl::NotFoundError("the search space has no configuration");
  return **next;
}

// An argv as a line a user can paste: words quoted only where needed.
std::string ArgvLine(const std::vector<std::string>& argv) {
  std::vector<std::string> words;
  for (const std::string& a : argv) {
    bool plain = !a.empty() && a.find_first_not_of(
                                   "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP"
                                   "QRSTUVWXYZ0123456789_-+=.,/:@%") == std::string::npos;
    words.push_back(plain ? a : core::ShellQuote(a));
  }
  return absl::StrJoin(words, " ");
}

// How the command runs, with one sample configuration, for `sweep validate`.
nlohmann::json CommandPreview(const spec::SweepSpec& spec) {
  nlohmann::json out;
  absl::StatusOr<core::Config> config = SampleConfig(spec);
  if (!config.ok()) {
    out["error"] = std::string(config.status().message());
    return out;
  }
  out["sample_params"] = core::ConfigToJson(*config);
  absl::StatusOr<spec::TrialCommand> command = spec::BuildTrialCommand(spec, *config);
  if (!command.ok()) {
    out["error"] = std::string(command.status().message());
    return out;
  }
  out["shell"] = command->shell;
  out["why_shell"] = command->why_shell;
  out["argv"] = command->argv;
  return out;
}

void PrintPreview(const nlohmann::json& preview) {
  if (preview.contains("error")) {
    std::cout << "sample command:     cannot be built: " << preview["error"].get<std::string>()
              << "\n";
    return;
  }
  const auto argv = preview["argv"].get<std::vector<std::string>>();
  if (preview["shell"].get<bool>()) {
    std::cout << "runs:               through " << spec::kTrialShell
              << " -c (sh where bash is absent), in the attempt's directory; shell syntax: "
              << preview["why_shell"].get<std::string>()
              << "; substituted values are pasted shell-quoted\n";
  } else {
    std::cout << "runs:               directly (no shell), in the attempt's directory\n";
  }
  std::cout << "sample params:      " << preview["sample_params"].dump() << "\n";
  if (preview["shell"].get<bool>()) {
    std::cout << "sample command:     " << argv[0] << " -c SCRIPT, the SCRIPT being:\n";
    std::istringstream lines(argv[2]);
    for (std::string line; std::getline(lines, line);) std::cout << "    " << line << "\n";
  } else {
    std::cout << "sample command:     " << ArgvLine(argv) << "\n";
  }
}

}  // namespace

int CmdValidate(const GlobalOptions& options, const std::string& spec_path) {
  auto spec = spec::LoadSpecFile(spec_path);
  if (!spec.ok()) {
    if (options.json) {
      std::cout << nlohmann::json{{"valid", false},
                                  {"errors", std::string(spec.status().message())}}
                       .dump(2)
                << "\n";
    }
    std::cerr << spec.status().message() << "\n";
    return kExitUsage;  // a missing or invalid spec is a usage error
  }
  nlohmann::json preview = CommandPreview(*spec);
  if (options.json) {
    std::cout << nlohmann::json{{"valid", true},
                                {"hints", spec->hints},
                                {"compute", spec->compute},
                                {"sampling_algorithm",
                                 spec::SamplingAlgorithmName(spec->sampling.algorithm)},
                                {"primary_metric", spec->objective.primary_metric},
                                {"goal", core::GoalName(spec->objective.goal)},
                                {"max_total_trials", spec->limits.max_total_trials},
                                {"max_concurrent_trials", spec->limits.max_concurrent_trials},
                                {"early_termination",
                                 core::PolicyTypeName(spec->early_termination.type)},
                                {"search_space", core::SpaceToJson(spec->search_space)},
                                {"command", preview}}
                     .dump(2)
              << "\n";
    return kExitOk;
  }
  for (const std::string& hint : spec->hints) std::cerr << "hint: " << hint << "\n";
  std::cout << spec_path << " is valid\n\n" << spec::DescribeSpec(*spec);
  PrintPreview(preview);
  return kExitOk;
}

}  // namespace sweep::cli

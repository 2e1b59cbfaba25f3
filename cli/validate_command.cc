#include "cli/validate_command.h"

#include <algorithm>
#include <iostream>
#include <optional>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/shell_quote.h"
#include "core/status.h"
#include "nlohmann/json.hpp"
#include "samplers/sampler.h"
#include "spec/spec.h"
#include "workspace/warm_start.h"

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

// What warm starting would use, as JSON ({"checked": false, "reason"} without a
// workspace); an error status for a warm start `sweep run` would refuse.
absl::StatusOr<nlohmann::json> CheckWarmStart(const GlobalOptions& options,
                                              const spec::SweepSpec& spec) {
  const std::vector<std::string>& ids = spec.warm_start_sweeps;
  nlohmann::json out = {{"sweeps", ids}};
  auto source = OpenForQuery(options, /*create=*/false);
  if (!source.ok()) {
    out["checked"] = false;
    out["reason"] =
        absl::StrCat("no workspace to look the sweeps up in (", source.status().message(),
                     "); run in the workspace, or pass --workspace or --server");
    return out;
  }
  ASSIGN_OR_RETURN(workspace::WarmStart warm,
                   workspace::CollectWarmStart((*source)->store(), spec, ids, std::nullopt));
  nlohmann::json skipped = nlohmann::json::array();
  for (const workspace::WarmSkip& k : warm.skipped) {
    skipped.push_back({{"sweep_id", k.sweep_id}, {"trial_id", k.trial_id}, {"reason", k.reason}});
  }
  out = {{"checked", true},
         {"sweeps", warm.sweep_ids},
         {"used", warm.used.size()},
         {"skipped", skipped}};
  return out;
}

void PrintWarmStart(const nlohmann::json& warm) {
  if (!warm["checked"].get<bool>()) {
    std::cout << "\nwarm start:         not checked: " << warm["reason"].get<std::string>() << "\n";
    return;
  }
  const size_t skipped = warm["skipped"].size();
  std::cout << "\nwarm start:         " << warm["used"].get<size_t>() << " of "
            << warm["used"].get<size_t>() + skipped << " finished trials of "
            << absl::StrJoin(warm["sweeps"].get<std::vector<std::string>>(), ", ")
            << " used as history\n";
  for (const nlohmann::json& k : warm["skipped"]) {
    std::cout << "  skipped " << k["sweep_id"].get<std::string>() << " trial "
              << k["trial_id"].get<int64_t>() << ": " << k["reason"].get<std::string>() << "\n";
  }
}

// Exit 2 for an invalid spec: the error on stderr, and `{valid: false, errors}` with --json.
int Invalid(const GlobalOptions& options, const absl::Status& status, const std::string& prefix) {
  if (options.json) {
    std::cout << nlohmann::json{{"valid", false}, {"errors", std::string(status.message())}}.dump(2)
              << "\n";
  }
  std::cerr << prefix << status.message() << "\n";
  return kExitUsage;  // a missing or invalid spec is a usage error
}

}  // namespace

int CmdValidate(const GlobalOptions& options, const std::string& spec_path,
                const std::vector<std::string>& warm_start) {
  auto spec = spec::LoadSpecFile(spec_path);
  if (!spec.ok()) return Invalid(options, spec.status(), "");
  spec::AddWarmStartSweeps(*spec, warm_start);
  std::optional<nlohmann::json> warm;
  if (!spec->warm_start_sweeps.empty()) {
    absl::StatusOr<nlohmann::json> checked = CheckWarmStart(options, *spec);
    if (!checked.ok()) return Invalid(options, checked.status(), "sweep: error: ");
    warm = std::move(*checked);
  }
  nlohmann::json preview = CommandPreview(*spec);
  if (options.json) {
    nlohmann::json out = {
        {"valid", true},
        {"hints", spec->hints},
        {"compute", spec->compute},
        {"sampling_algorithm", spec::SamplingAlgorithmName(spec->sampling.algorithm)},
        {"primary_metric", spec->objective.primary_metric},
        {"goal", core::GoalName(spec->objective.goal)},
        {"max_total_trials", spec->limits.max_total_trials},
        {"max_concurrent_trials", spec->limits.max_concurrent_trials},
        {"early_termination", core::PolicyTypeName(spec->early_termination.type)},
        {"search_space", core::SpaceToJson(spec->search_space)},
        {"command", preview}};
    if (warm) out["warm_start"] = *warm;
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  for (const std::string& hint : spec->hints) std::cerr << "hint: " << hint << "\n";
  std::cout << spec_path << " is valid\n\n" << spec::DescribeSpec(*spec);
  PrintPreview(preview);
  if (warm) PrintWarmStart(*warm);
  return kExitOk;
}

}  // namespace sweep::cli

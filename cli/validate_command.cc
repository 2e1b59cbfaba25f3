#include "cli/validate_command.h"

#include <iostream>

#include "nlohmann/json.hpp"
#include "spec/spec.h"

namespace sweep::cli {

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
                                {"search_space", core::SpaceToJson(spec->search_space)}}
                     .dump(2)
              << "\n";
    return kExitOk;
  }
  for (const std::string& hint : spec->hints) std::cerr << "hint: " << hint << "\n";
  std::cout << spec_path << " is valid\n\n" << spec::DescribeSpec(*spec);
  return kExitOk;
}

}  // namespace sweep::cli

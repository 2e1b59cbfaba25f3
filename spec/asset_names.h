// Names of workspace assets a spec refers to (environments, models) and the syntax of an
// environment reference. Shared by spec validation, the registry and the CLI.
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sweep::spec {

// Environment and model names: 1-64 characters [A-Za-z0-9._-], starting with a letter
// or digit. InvalidArgument naming the name and the rule.
absl::Status ValidateEnvironmentName(const std::string& name);
absl::Status ValidateModelName(const std::string& name);

// A spec's `trial.environment`: "azureml:NAME", "azureml:NAME@latest",
// "azureml:NAME@VERSION" or Azure's "azureml:NAME:VERSION" (the prefix is optional).
struct EnvironmentRef {
  std::string name;
  std::optional<int64_t> version;  // nullopt: the latest
};
// InvalidArgument naming the reference and the accepted forms.
absl::StatusOr<EnvironmentRef> ParseEnvironmentRef(const std::string& reference);

// True for the name of an Azure ML curated environment ("AzureML-sklearn-1.0-...", any case):
// it exists outside Azure only as a workspace environment created under that name.
bool IsCuratedEnvironmentName(const std::string& name);

}  // namespace sweep::spec

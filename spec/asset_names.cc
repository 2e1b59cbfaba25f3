#include "spec/asset_names.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace sweep::spec {
namespace {

absl::Status ValidateName(const char* what, const std::string& name) {
  auto bad = [&](const std::string& why) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, " name '", name, "' is invalid: ", why,
        " (use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit)"));
  };
  if (name.empty()) return bad("it is empty");
  if (name.size() > 64) return bad("it is longer than 64 characters");
  if (!absl::ascii_isalnum(static_cast<unsigned char>(name[0]))) {
    return bad("it does not start with a letter or digit");
  }
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return bad(absl::StrCat("it contains '", std::string(1, c), "'"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateEnvironmentName(const std::string& name) {
  return ValidateName("environment", name);
}

absl::Status ValidateModelName(const std::string& name) { return ValidateName("model", name); }

absl::StatusOr<EnvironmentRef> ParseEnvironmentRef(const std::string& reference) {
  auto bad = [&](const std::string& why) {
    return absl::InvalidArgumentError(
        absl::StrCat("environment reference '", reference, "' is invalid: ", why,
                     "; write azureml:NAME, azureml:NAME@latest, azureml:NAME@VERSION or "
                     "azureml:NAME:VERSION"));
  };
  std::string rest = reference;
  if (absl::StartsWith(rest, "azureml:")) rest = rest.substr(8);
  EnvironmentRef ref;
  const size_t sep = rest.find_first_of("@:");
  ref.name = rest.substr(0, sep);
  if (absl::Status s = ValidateEnvironmentName(ref.name); !s.ok()) {
    return bad(std::string(s.message()));
  }
  if (sep == std::string::npos) return ref;
  const std::string version = rest.substr(sep + 1);
  if (rest[sep] == '@' && version == "latest") return ref;
  int64_t number = 0;
  if (!absl::SimpleAtoi(version, &number) || number < 1) {
    return bad(absl::StrCat("version '", version, "' is not a number >= 1 or 'latest'"));
  }
  ref.version = number;
  return ref;
}

bool IsCuratedEnvironmentName(const std::string& name) {
  return absl::StartsWithIgnoreCase(name, "azureml-") ||
         absl::StartsWithIgnoreCase(name, "azureml_");
}

}  // namespace sweep::spec

#include "cli/environment_commands.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "cli/admin.h"
#include "cli/output.h"
#include "core/files.h"
#include "spec/asset_names.h"
#include "workspace/registry.h"

namespace sweep::cli {
namespace {

namespace fs = std::filesystem;

nlohmann::json EnvironmentToJson(const core::Environment& e) {
  nlohmann::json files = nlohmann::json::array();
  for (const core::EnvironmentFile& f : e.files) {
    files.push_back({{"name", f.name}, {"bytes", f.content.size()}});
  }
  return {{"name", e.name},
          {"version", e.version},
          {"kind", e.kind},
          {"python", e.python.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.python)},
          {"setup",
           e.setup_command.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.setup_command)},
          {"files", files},
          {"digest", e.digest},
          {"created_at", FormatTime(e.created_ms)}};
}

// One line saying what the environment runs in.
std::string Definition(const core::Environment& e) {
  if (e.kind == "user_managed") {
    return e.python.empty() ? "the node's own environment" : "python " + e.python;
  }
  std::string files;
  for (const core::EnvironmentFile& f : e.files) files += (files.empty() ? "" : ", ") + f.name;
  return "setup '" + e.setup_command + "'" + (files.empty() ? "" : " with " + files);
}

// The definition the flags describe; InvalidArgument naming the flag that is wrong.
absl::StatusOr<core::Environment> DefinitionFromArgs(const EnvironmentArgs& args) {
  if (absl::Status s = spec::ValidateEnvironmentName(args.name); !s.ok()) return s;
  const bool system_managed = args.setup.has_value();
  if (args.user_managed == system_managed) {
    return absl::InvalidArgumentError(
        args.user_managed
            ? "--user-managed and --setup exclude each other: a user-managed environment runs "
              "in the node's own environment, a system-managed one is built by its setup command"
            : "say what kind of environment '" + args.name +
                  "' is: --user-managed [--python PATH] (the node's own environment) or "
                  "--setup 'COMMAND' [--file requirements.txt ...] (built once per node)");
  }
  core::Environment e;
  e.name = args.name;
  if (args.user_managed) {
    if (!args.files.empty()) {
      return absl::InvalidArgumentError(
          "--file goes with --setup: a user-managed environment has no definition files");
    }
    if (!args.python.empty()) {
      struct stat st {};
      if (args.python.front() != '/') {
        return absl::InvalidArgumentError("--python '" + args.python +
                                          "' must be an absolute path (e.g. /usr/bin/python3)");
      }
      if (stat(args.python.c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
          access(args.python.c_str(), X_OK) != 0) {
        return absl::InvalidArgumentError("--python '" + args.python +
                                          "' is not an executable file on this host");
      }
    }
    e.kind = "user_managed";
    e.python = args.python;
    return e;
  }
  if (!args.python.empty()) {
    return absl::InvalidArgumentError(
        "--python goes with --user-managed; a system-managed environment's setup command "
        "installs its own interpreter into $SWEEP_ENV_DIR/bin");
  }
  e.kind = "system_managed";
  e.setup_command = *args.setup;
  for (const std::string& path : args.files) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
      return absl::InvalidArgumentError("--file '" + path + "' is not a readable file");
    }
    absl::StatusOr<std::string> content = core::ReadFileToString(path);
    if (!content.ok()) {
      return absl::InvalidArgumentError("--file '" + path +
                                        "': " + std::string(content.status().message()));
    }
    e.files.push_back({fs::path(path).filename().string(), *std::move(content)});
  }
  return e;
}

}  // namespace

int CmdEnvironmentCreate(const GlobalOptions& options, const EnvironmentArgs& args) {
  // The flags and files first: a bad one touches no workspace.
  absl::StatusOr<core::Environment> definition = DefinitionFromArgs(args);
  if (!definition.ok()) return ReportError(definition.status());
  auto admin = OpenAdmin(options, "sweep environment create");
  if (!admin.ok()) return ReportError(admin.status());
  auto created = (*admin)->CreateEnvironment(*definition);
  if (!created.ok()) return ReportError(created.status());
  const core::Environment& e = created->environment;
  if (options.json) {
    nlohmann::json j = EnvironmentToJson(e);
    j["created"] = created->created;
    std::cout << j.dump(2) << "\n";
  } else if (created->created) {
    std::cout << "created environment " << e.name << " version " << e.version << " ("
              << Definition(e) << ")\n";
  } else {
    std::cout << "environment " << e.name << " version " << e.version
              << " already has this definition; no new version created\n";
  }
  return kExitOk;
}

int CmdEnvironmentList(const GlobalOptions& options) {
  auto source = OpenForQuery(options, /*create=*/true);
  if (!source.ok()) return ReportError(source.status());
  auto environments = (*source)->store()->ListEnvironments();
  if (!environments.ok()) return ReportError(environments.status());
  if (options.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : *environments) out.push_back(EnvironmentToJson(e));
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  Table table({"NAME", "VERSION", "KIND", "DEFINITION", "CREATED"});
  for (const auto& e : *environments) {
    table.AddRow(
        {e.name, std::to_string(e.version), e.kind, Definition(e), FormatTime(e.created_ms)});
  }
  table.Print(std::cout);
  return kExitOk;
}

int CmdEnvironmentShow(const GlobalOptions& options, const std::string& reference) {
  auto ref = spec::ParseEnvironmentRef(reference);
  if (!ref.ok()) return ReportError(ref.status());
  auto source = OpenForQuery(options, /*create=*/true);
  if (!source.ok()) return ReportError(source.status());
  auto e = workspace::ResolveEnvironment((*source)->store(), reference);
  if (!e.ok()) return ReportError(e.status());
  if (options.json) {
    std::cout << EnvironmentToJson(*e).dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "name      " << e->name << "\n"
            << "version   " << e->version << "\n"
            << "kind      " << e->kind << "\n";
  if (e->kind == "user_managed") {
    std::cout << "python    " << (e->python.empty() ? "(the node's own)" : e->python) << "\n";
  } else {
    std::cout << "setup     " << e->setup_command << "\n";
    for (const core::EnvironmentFile& f : e->files) {
      std::cout << "file      " << f.name << " (" << f.content.size() << " bytes)\n";
    }
  }
  std::cout << "digest    " << e->digest << "\n"
            << "created   " << FormatTime(e->created_ms) << "\n";
  return kExitOk;
}

}  // namespace sweep::cli

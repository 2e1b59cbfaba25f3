#include "cli/artifact_commands.h"

#include <iostream>

#include "cli/output.h"
#include "nlohmann/json.hpp"
#include "workspace/artifact_store.h"

namespace sweep::cli {

int CmdArtifacts(const GlobalOptions& options, const ArtifactsArgs& args) {
  auto ws = OpenForQuery(options);
  if (!ws.ok()) return ReportError(ws.status());
  if ((*ws)->workspace == nullptr) {
    return ReportError(absl::InvalidArgumentError(
        "sweep artifacts reads the files of a workspace on this host; run it with --workspace"));
  }
  auto sweep = ResolveSweep((*ws)->store(), args.sweep_id);
  if (!sweep.ok()) return ReportError(sweep.status());
  if (!(*ws)->store()->GetTrial(sweep->id, args.trial_id).ok()) {
    return ReportError(absl::NotFoundError("sweep " + sweep->id + " has no trial " +
                                           std::to_string(args.trial_id)));
  }
  auto found = workspace::FindTrialArtifacts((*ws)->workspace->dir(), sweep->id, args.trial_id);
  if (!found.ok()) return ReportError(found.status());
  const workspace::ArtifactManifest& manifest = found->manifest;
  if (!args.download_dir.empty()) {
    absl::Status copied =
        workspace::CopyVerified(found->dir + "/files", manifest, args.download_dir);
    if (absl::IsFailedPrecondition(copied)) {
      return ReportError(absl::InvalidArgumentError(
          std::string(copied.message()) + "; choose a new or empty directory for --download"));
    }
    if (!copied.ok()) return ReportError(copied);
    if (options.json) {
      std::cout << nlohmann::json{{"directory", args.download_dir},
                                  {"files", manifest.files.size()},
                                  {"total_bytes", manifest.total_bytes}}
                       .dump()
                << "\n";
    } else {
      std::cout << "downloaded " << manifest.files.size() << " files (" << manifest.total_bytes
                << " bytes) of trial " << args.trial_id << " to " << args.download_dir << "\n";
    }
    return kExitOk;
  }
  if (options.json) {
    nlohmann::json files = nlohmann::json::array();
    for (const auto& f : manifest.files) {
      files.push_back(nlohmann::json{{"path", f.path}, {"size", f.size}, {"sha256", f.sha256}});
    }
    std::cout << nlohmann::json{{"sweep_id", sweep->id},
                                {"trial_id", args.trial_id},
                                {"attempt", found->attempt},
                                {"total_bytes", manifest.total_bytes},
                                {"files", files}}
                     .dump(2)
              << "\n";
    return kExitOk;
  }
  Table table({"PATH", "SIZE", "SHA256"});
  for (const auto& f : manifest.files) {
    table.AddRow({f.path, std::to_string(f.size), f.sha256});
  }
  table.Print(std::cout);
  std::cout << manifest.files.size() << " files, " << manifest.total_bytes << " bytes (attempt "
            << found->attempt << ")\n";
  return kExitOk;
}

}  // namespace sweep::cli

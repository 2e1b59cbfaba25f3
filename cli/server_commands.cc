#include "cli/server_commands.h"

#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "cli/serve.h"
#include "core/env.h"
#include "nlohmann/json.hpp"
#include "rpc/admin_client.h"
#include "spec/spec.h"

namespace sweep::cli {

int CmdServer(const GlobalOptions& options, const ServerArgs& args) {
  ServeOptions serve_options;
  serve_options.listen = args.listen;
  serve_options.lease_seconds = args.lease_seconds;
  serve_options.node_wait_seconds = args.node_wait_seconds;
  serve_options.tls_cert_file = options.tls_cert;
  serve_options.tls_key_file = options.tls_key;
  serve_options.tls_ca_file = options.tls_ca;
  auto served = ServedController::Start(WorkspaceDir(options), serve_options);
  if (!served.ok()) return ReportError(served.status());
  ServedController& s = **served;
  InstallInterruptHandlers();
  s.Run();
  if (options.json) {
    std::cout << nlohmann::json{{"address", s.address()},
                                {"port", s.port()},
                                {"workspace", s.workspace().dir()},
                                {"token_file", s.workspace().token_path()},
                                {"pid", static_cast<int64_t>(getpid())}}
                     .dump()
              << std::endl;
  } else {
    std::cout << "sweep server listening on " << s.address() << " (workspace "
              << s.workspace().dir() << ", pid " << getpid() << ")\n"
              << "submit with:  sweep submit SPEC --server " << s.dial_address() << " --token-file "
              << s.workspace().token_path() << "\n"
              << "stop with Ctrl-C or SIGTERM" << std::endl;
    // One line per event of any sweep, after the banner: the server's log.
    s.controller().SetEventListener([](const core::Event& e) {
      std::cout << FormatEventLine(e) << (e.sweep_id.empty() ? "" : "  [" + e.sweep_id + "]")
                << std::endl;
    });
  }
  absl::Status health;
  while (Interrupts() == 0 && (health = s.controller().Health()).ok()) {
    core::Env::Default()->SleepForMillis(100);
  }
  if (!health.ok()) {
    // The store cannot be written: stop serving rather than answer from unsaved memory.
    std::cerr << "sweep: error: " << health.message() << "\n";
    s.Stop();
    return kExitFailure;
  }
  if (!options.json) std::cout << "sweep server stopping: stopping nodes" << std::endl;
  s.Stop();
  if (!options.json) std::cout << "sweep server stopped" << std::endl;
  return kExitOk;
}

int CmdSubmit(const GlobalOptions& options, const std::string& spec_path,
              const std::vector<std::string>& warm_start) {
  if (absl::Status s = CheckAddress("--server", options.server, /*allow_port_zero=*/false);
      !s.ok()) {
    return ReportError(s);
  }
  // A local check first: the fastest clear message for a bad spec.
  auto spec = spec::LoadSpecFile(spec_path);
  if (!spec.ok()) {
    std::cerr << spec.status().message() << "\n";
    return kExitUsage;
  }
  // LoadSpecFile read it a moment ago.
  absl::StatusOr<std::string> text = core::Env::Default()->ReadFile(spec_path);
  if (!text.ok()) return ReportError(text.status());
  auto token = ReadServerToken(options);
  if (!token.ok()) return ReportError(token.status());
  std::error_code ec;
  std::string absolute = std::filesystem::absolute(spec_path, ec).lexically_normal().string();
  auto id = rpc::SubmitViaServer(options.server, *token, *text, absolute, warm_start);
  if (!id.ok()) return ReportSubmitError(id.status());
  if (options.json) {
    std::cout << nlohmann::json{{"id", *id}, {"server", options.server}}.dump() << "\n";
  } else {
    std::cout << *id << "\n";
  }
  return kExitOk;
}

}  // namespace sweep::cli

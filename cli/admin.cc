#include "cli/admin.h"

#include <optional>
#include <utility>

#include "cli/serve.h"
#include "compute/target_provisioner.h"
#include "core/status.h"
#include "rpc/admin_client.h"

namespace sweep::cli {
namespace {

const absl::Status& StatusOf(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& StatusOf(const absl::StatusOr<T>& result) {
  return result.status();
}

// Starts with one admin; when it says that a controller serves the workspace, sends that
// call and the later ones to the controller.
class RoutedAdmin final : public workspace::WorkspaceAdmin {
 public:
  RoutedAdmin(std::unique_ptr<workspace::WorkspaceAdmin> first, const GlobalOptions& options)
      : current_(std::move(first)), options_(options) {}

  absl::StatusOr<store::Store*> reader() override {
    return Route([](WorkspaceAdmin& a) { return a.reader(); });
  }
  absl::StatusOr<core::ComputeTarget> PutComputeTarget(const core::ComputeTarget& target,
                                                       workspace::PutMode mode) override {
    return Route([&](WorkspaceAdmin& a) { return a.PutComputeTarget(target, mode); });
  }
  absl::Status DeleteComputeTarget(const std::string& name) override {
    return Route([&](WorkspaceAdmin& a) { return a.DeleteComputeTarget(name); });
  }
  absl::StatusOr<workspace::AttachedRemoteVm> AttachRemoteVm(
      const workspace::RemoteVmRequest& request) override {
    return Route([&](WorkspaceAdmin& a) { return a.AttachRemoteVm(request); });
  }
  absl::StatusOr<workspace::CreatedEnvironment> CreateEnvironment(
      const core::Environment& definition) override {
    return Route([&](WorkspaceAdmin& a) { return a.CreateEnvironment(definition); });
  }
  absl::StatusOr<core::Model> RegisterModel(const workspace::ModelRequest& request) override {
    return Route([&](WorkspaceAdmin& a) { return a.RegisterModel(request); });
  }

 private:
  template <typename Call>
  auto Route(const Call& call) -> decltype(call(std::declval<WorkspaceAdmin&>())) {
    auto result = call(*current_);
    std::optional<std::string> address = workspace::ServingAddress(StatusOf(result));
    if (!address || rerouted_) return result;
    // The local admin changed nothing: make the change through the controller.
    absl::StatusOr<std::string> token = ReadServerToken(options_);
    if (!token.ok()) return token.status();
    current_ = rpc::NewRemoteAdmin(*address, *token);
    rerouted_ = true;
    return call(*current_);
  }

  std::unique_ptr<workspace::WorkspaceAdmin> current_;
  const GlobalOptions options_;
  bool rerouted_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<workspace::WorkspaceAdmin>> OpenAdmin(const GlobalOptions& options,
                                                                     const std::string& command) {
  if (!options.server.empty()) {
    RETURN_IF_ERROR(CheckAddress("--server", options.server, /*allow_port_zero=*/false));
    ASSIGN_OR_RETURN(std::string token, ReadServerToken(options));
    return rpc::NewRemoteAdmin(options.server, token);
  }
  const std::string dir = WorkspaceDir(options);
  std::unique_ptr<workspace::WorkspaceAdmin> first;
  std::optional<workspace::LockHolder> holder = workspace::WorkspaceLock::Peek(dir);
  if (holder && holder->is_controller() && !holder->address.empty()) {
    ASSIGN_OR_RETURN(std::string token, ReadServerToken(options));
    first = rpc::NewRemoteAdmin(holder->address, token);
  } else {
    first = workspace::NewLocalAdmin(dir, command, compute::NewTargetProvisioner(dir));
  }
  return std::make_unique<RoutedAdmin>(std::move(first), options);
}

}  // namespace sweep::cli

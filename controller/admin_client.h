// Admin calls a CLI process makes to the controller serving a workspace (e.g.
// `sweep cancel` while `sweep run` is running). Keeps generated gRPC code out of cli/.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace sweep::controller {

// Cancels `sweep_id` through the controller at `address` ("host:port").
// Unavailable if it cannot be reached within a few seconds; otherwise the controller's
// own status (NotFound, FailedPrecondition, ...).
absl::Status CancelViaServer(const std::string& address, const std::string& token,
                             const std::string& sweep_id);

}  // namespace sweep::controller

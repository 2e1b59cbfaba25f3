// Calls a CLI process makes to the controller serving a workspace: `sweep cancel` while
// `sweep run` runs, `sweep submit`, query commands with `--server ADDR`, and the changes of
// workspace/admin.h. Keeps
// generated gRPC code out of cli/.
//
// Every call sends `token` as the workspace token and maps failures the same way:
// Unavailable "cannot reach the sweep server at ADDR ..." when nothing answers within
// the deadline (10 s), Unauthenticated "the sweep server at ADDR rejected the token ..."
// for a wrong token, otherwise the controller's own status (NotFound, InvalidArgument,
// FailedPrecondition, ...) with its message.
// Thread safety: the functions are thread-safe; a RemoteStore is too.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "controller/controller.h"
#include "core/env.h"
#include "store/store.h"
#include "workspace/admin.h"

namespace sweep::rpc {

// Cancels `sweep_id` through the controller at `address` ("host:port").
absl::Status CancelViaServer(const std::string& address, const std::string& token,
                             const std::string& sweep_id);

// Hands a spec to the controller at `address`; returns the new sweep's id.
// `spec_path` is the spec's absolute path: relative paths in it resolve against its
// directory on the controller's host. InvalidArgument (the spec's file:line message) or
// NotFound (unknown compute target) when the controller cannot run it. `warm_start`
// names more sweeps to warm start from (`--warm-start`), checked by the controller.
absl::StatusOr<std::string> SubmitViaServer(const std::string& address, const std::string& token,
                                            const std::string& spec_yaml,
                                            const std::string& spec_path,
                                            const std::vector<std::string>& warm_start = {});

// The autoscaling state of `compute` from the controller at `address`.
absl::StatusOr<controller::ComputeStatus> ComputeStatusViaServer(const std::string& address,
                                                                 const std::string& token,
                                                                 const std::string& compute);

// The WorkspaceAdmin of the controller at `address` (the admin rpcs); its reader() is a
// RemoteStore. An error the controller returns comes as it is (an unreachable VM is
// Unavailable too); a transport failure as above. Does not connect until the first call.
std::unique_ptr<workspace::WorkspaceAdmin> NewRemoteAdmin(const std::string& address,
                                                          const std::string& token);

// A read-only store::Store whose reads are ReadStore rpcs to the controller at `address`,
// so query commands run unchanged against a server. Records round-trip exactly.
// Commit fails FailedPrecondition (read-only). Does not connect until the first read.
std::unique_ptr<store::Store> NewRemoteStore(const std::string& address, const std::string& token);

// Enqueues a configuration ("NAME=VALUE" words) into `sweep_id` through the controller at
// `address` (Controller::EnqueueTrial); returns the new trial's number.
absl::StatusOr<int64_t> EnqueueViaServer(const std::string& address, const std::string& token,
                                         const std::string& sweep_id,
                                         const std::vector<std::string>& params);

// Extends the ended sweep `sweep_id` through the controller at `address`
// (Controller::ExtendSweep); returns the extension's number.
absl::StatusOr<int64_t> ExtendViaServer(const std::string& address, const std::string& token,
                                        const std::string& sweep_id,
                                        const controller::ExtendRequest& extend);
// Makes every later call of this file verify the controller over TLS with the PEM roots in
// `ca_file` (its certificate, or the CA that signed it); "" goes back to plaintext.
// InvalidArgument naming the file when it cannot be read. For a whole CLI process: the
// `--tls-ca` flag (or SWEEP_TLS_CA) sets it once before any call.
absl::Status SetClientTlsCa(const std::string& ca_file, core::Env* env = core::Env::Default());

}  // namespace sweep::rpc

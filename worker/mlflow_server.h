// The MLflow tracking endpoint of a worker: MlflowTracking (worker/mlflow_tracking.h)
// served over HTTP on 127.0.0.1 (cpp-httplib), on an ephemeral port, at the paths MLflow
// clients use: /api/2.0/mlflow/..., /ajax-api/2.0/mlflow/..., /api/2.0/preview/mlflow/...
// and /api/2.0/mlflow-artifacts/artifacts/.... Any other request gets MLflow's
// ENDPOINT_NOT_FOUND error as JSON (404), never a hang.
//
// Thread safety: Start and Stop from one thread; requests are served on the server's own
// threads.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "worker/mlflow_tracking.h"

namespace sweep::worker {

class MlflowServer {
 public:
  // `tracking` (not owned) must outlive the server.
  explicit MlflowServer(MlflowTracking* tracking);
  ~MlflowServer();  // stops serving

  // Binds 127.0.0.1 on an ephemeral port and serves until Stop. Returns the port;
  // Unavailable when no port can be bound.
  absl::StatusOr<int> Start();
  // Stops serving (waits for requests in progress). Idempotent.
  void Stop();
  // "http://127.0.0.1:<port>" once started ("" before).
  const std::string& uri() const { return uri_; }

 private:
  struct Impl;
  MlflowTracking* tracking_;
  std::unique_ptr<Impl> impl_;
  std::string uri_;
};

}  // namespace sweep::worker

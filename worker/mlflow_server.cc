#include "worker/mlflow_server.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "worker/mlflow_request.h"

namespace sweep::worker {
namespace {

constexpr char kTrackingPattern[] = R"(/(?:api|ajax-api)/2\.0/(?:preview/)?mlflow/([^?]+))";
constexpr char kArtifactsPattern[] = R"(/(?:api|ajax-api)/2\.0/mlflow-artifacts/artifacts(/.*)?)";

void Send(const MlflowResponse& reply, httplib::Response& res) {
  res.status = reply.status;
  res.set_content(reply.body, reply.content_type.c_str());
}

void NotFound(const httplib::Request& req, httplib::Response& res) {
  Send(MlflowError(mlflow::kEndpointNotFound,
                   absl::StrCat("Sweep's MLflow endpoint does not serve ", req.method, " ",
                                req.path, " (docs/mlflow.md lists what it serves)")),
       res);
}

std::string Capture(const httplib::Request& req, size_t i) {
  return req.matches.size() > i ? std::string(req.matches[i]) : std::string();
}

}  // namespace

struct MlflowServer::Impl {
  httplib::Server server;
  std::thread thread;
  std::atomic<bool> done{false};  // listen_after_bind returned
};

MlflowServer::MlflowServer(MlflowTracking* tracking) : tracking_(tracking) {}

MlflowServer::~MlflowServer() { Stop(); }

absl::StatusOr<int> MlflowServer::Start() {
  if (impl_) return absl::FailedPreconditionError("the MLflow endpoint is already started");
  auto impl = std::make_unique<Impl>();
  httplib::Server& server = impl->server;
  server.new_task_queue = [] { return new httplib::ThreadPool(4); };
  server.set_keep_alive_timeout(2);
  MlflowTracking* tracking = tracking_;
  auto call = [tracking](const httplib::Request& req, httplib::Response& res) {
    Send(tracking->Call(req.method, Capture(req, 1), req.params, req.body), res);
  };
  server.Get(kTrackingPattern, call);
  server.Post(kTrackingPattern, call);
  server.Get(kArtifactsPattern, [tracking](const httplib::Request& req, httplib::Response& res) {
    std::string path = Capture(req, 1);
    // Without a path after "artifacts" it is the listing, whose directory is ?path=.
    Send(path.empty() || path == "/" ? tracking->ListArtifacts(req.get_param_value("path"))
                                     : tracking->DownloadArtifact(path),
         res);
  });
  server.Put(kArtifactsPattern, [tracking](const httplib::Request& req, httplib::Response& res,
                                           const httplib::ContentReader& reader) {
    Send(tracking->UploadArtifact(Capture(req, 1),
                                  [&reader](const MlflowTracking::BodySink& sink) {
                                    return reader([&sink](const char* data, size_t size) {
                                      return sink(std::string_view(data, size));
                                    });
                                  }),
         res);
  });
  server.Get(".*", NotFound);
  server.Post(".*", NotFound);
  server.Put(".*", NotFound);
  server.Delete(".*", NotFound);
  server.Patch(".*", NotFound);
  server.set_exception_handler([](const httplib::Request&, httplib::Response& res,
                                  std::exception_ptr) {
    Send(MlflowError(mlflow::kInternalError, "the request failed inside Sweep's MLflow endpoint"),
         res);
  });
  int port = server.bind_to_any_port("127.0.0.1");
  if (port <= 0) {
    return absl::UnavailableError("cannot bind a loopback port for the MLflow endpoint");
  }
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] {
    raw->server.listen_after_bind();
    raw->done = true;
  });
  impl_ = std::move(impl);
  uri_ = absl::StrCat("http://127.0.0.1:", port);
  return port;
}

void MlflowServer::Stop() {
  if (!impl_) return;
  // stop() is a no-op until the server runs: repeat it until the serving thread returns.
  while (!impl_->done.load()) {
    impl_->server.stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  impl_->thread.join();
  impl_.reset();
  uri_.clear();
}

}  // namespace sweep::worker

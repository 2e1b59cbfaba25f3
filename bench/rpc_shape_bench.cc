// rpc_shape: what one request/reply exchange costs as a unary gRPC call (what a worker's
// CompleteTrial is) and as a message pair on a long-lived bidirectional stream (what one
// stream per worker for its lease traffic would use instead), so the saving a stream could
// bring is measured before anyone builds it (issue 12).
//
// Two processes on 127.0.0.1, like a worker and its controller: this one runs the clients,
// a copy of itself started with --serve runs the server, with the product's server options
// (rpc::ApplySyncServerOptions) and the product's process settings. Every unary call
// carries an authorization header and a deadline, as the worker's do; the stream carries
// them once. The payloads (--request-bytes, --reply-bytes; 400 and 600 by default) are a
// little above a CompleteTrial request and its reply with the next lease: a `printf`
// trial's whole exchange, headers included, is about 440 bytes out and 400 back. Each
// client thread has its own channel and does one exchange at a time.
//
// Rounds alternate the two shapes (the machine's speed drifts); each round's CPU is the
// user+system time of both processes over the round. Printed per shape: the median over
// rounds of the CPU per exchange and of exchanges per second, and stream / unary.
//
// usage: rpc_shape_bench [--clients 2] [--exchanges 5000] [--rounds 5]
//                        [--request-bytes 400] [--reply-bytes 600] [--json]
// The generated code of bench/rpc_shape.proto is used here only.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "bench/rpc_shape.grpc.pb.h"
#include "core/env.h"
#include "core/process_settings.h"
#include "core/status.h"
#include "grpcpp/grpcpp.h"
#include "rpc/grpc_service.h"

namespace sweep::bench {
namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  int clients = 2;
  int exchanges = 5000;  // per client per round
  int rounds = 5;        // per shape
  int request_bytes = 400;
  int reply_bytes = 600;
  bool json = false;
  bool serve = false;  // internal: run the server (the clients start it)
};

class ShapeService final : public Shape::Service {
 public:
  explicit ShapeService(int reply_bytes) : reply_(reply_bytes, 'r') {}

  grpc::Status Unary(grpc::ServerContext*, const Payload*, Payload* reply) override {
    reply->set_data(reply_);
    return grpc::Status::OK;
  }

  grpc::Status Stream(grpc::ServerContext*,
                      grpc::ServerReaderWriter<Payload, Payload>* stream) override {
    Payload request, reply;
    while (stream->Read(&request)) {
      reply.set_data(reply_);
      if (!stream->Write(reply)) break;
    }
    return grpc::Status::OK;
  }

 private:
  const std::string reply_;
};

// The server process: prints its port, serves until its stdin closes.
int Serve(const Args& args) {
  ShapeService service(args.reply_bytes);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  rpc::ApplySyncServerOptions(&builder);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) return 1;
  std::printf("%d\n", port);
  std::fflush(stdout);
  char byte;
  while (read(STDIN_FILENO, &byte, 1) > 0) {
  }
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(200));
  return 0;
}

// A copy of this program serving (--serve), and its port; closing its stdin stops it.
struct ServerProcess {
  std::unique_ptr<core::Subprocess> child;
  int port = 0;
};

absl::StatusOr<ServerProcess> StartServer(const Args& args) {
  core::SpawnOptions options;
  options.argv = {"/proc/self/exe", "--serve", "--reply-bytes", std::to_string(args.reply_bytes)};
  options.stdin_to = core::Stdio::Pipe();
  options.stdout_to = core::Stdio::Pipe();
  ServerProcess server;
  ASSIGN_OR_RETURN(server.child, core::Env::Default()->Spawn(options));
  std::string line;
  while (line.find('\n') == std::string::npos &&
         server.child->ReadOutput(10'000, [&](int, std::string_view data) { line += data; })) {
  }
  server.port = std::atoi(line.c_str());
  if (server.port <= 0) return absl::UnavailableError("the server process printed no port");
  return server;
}

void StopServer(ServerProcess& server) {
  server.child->CloseInput();
  server.child->Reap().IgnoreError();
}

// User+system seconds of `pid` (/proc/PID/stat fields 14 and 15).
double ProcessCpu(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(text.substr(text.rfind(')') + 2));
  std::string field;
  long long utime = 0, stime = 0;
  for (int i = 3; fields >> field; ++i) {
    if (i == 14) utime = std::atoll(field.c_str());
    if (i == 15) {
      stime = std::atoll(field.c_str());
      break;
    }
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double SelfCpu() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

void Prepare(grpc::ClientContext* context, bool deadline) {
  context->AddMetadata("authorization", "Bearer 0123456789abcdef0123456789abcdef");
  if (deadline) {
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  }
}

// One client's exchanges; false on any failed call.
bool RunClient(Shape::Stub* stub, bool stream, const Args& args) {
  Payload request, reply;
  request.set_data(std::string(args.request_bytes, 'q'));
  if (!stream) {
    for (int i = 0; i < args.exchanges; ++i) {
      grpc::ClientContext context;
      Prepare(&context, /*deadline=*/true);
      if (!stub->Unary(&context, request, &reply).ok()) return false;
    }
    return true;
  }
  grpc::ClientContext context;
  Prepare(&context, /*deadline=*/false);
  std::unique_ptr<grpc::ClientReaderWriter<Payload, Payload>> s = stub->Stream(&context);
  for (int i = 0; i < args.exchanges; ++i) {
    if (!s->Write(request) || !s->Read(&reply)) return false;
  }
  s->WritesDone();
  return s->Finish().ok();
}

struct Round {
  double cpu_us_per_exchange;
  double exchanges_per_s;
};

bool RunRound(const std::vector<std::unique_ptr<Shape::Stub>>& stubs, pid_t server, bool stream,
              const Args& args, Round* out) {
  const double cpu0 = SelfCpu() + ProcessCpu(server);
  const Clock::time_point start = Clock::now();
  std::vector<std::thread> threads;
  std::vector<char> ok(stubs.size(), 0);
  for (size_t c = 0; c < stubs.size(); ++c) {
    threads.emplace_back([&, c] { ok[c] = RunClient(stubs[c].get(), stream, args); });
  }
  for (std::thread& t : threads) t.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu = SelfCpu() + ProcessCpu(server) - cpu0;
  const double exchanges = static_cast<double>(args.exchanges) * static_cast<double>(stubs.size());
  *out = {1e6 * cpu / exchanges, exchanges / seconds};
  return std::all_of(ok.begin(), ok.end(), [](char c) { return c != 0; });
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int Run(const Args& args) {
  absl::StatusOr<ServerProcess> started = StartServer(args);
  if (!started.ok()) {
    std::fprintf(stderr, "rpc_shape_bench: cannot start the server process: %s\n",
                 std::string(started.status().message()).c_str());
    return 1;
  }
  ServerProcess& server = *started;
  const pid_t server_pid = static_cast<pid_t>(server.child->pid());
  const std::string address = "127.0.0.1:" + std::to_string(server.port);
  std::vector<std::unique_ptr<Shape::Stub>> stubs;
  for (int c = 0; c < args.clients; ++c) {
    grpc::ChannelArguments channel_args;
    channel_args.SetInt("sweep.bench.client", c);  // a channel (and connection) per client
    stubs.push_back(Shape::NewStub(
        grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), channel_args)));
  }
  // Warm-up: connections, and the first calls' one-time costs.
  Args warm = args;
  warm.exchanges = std::max(1, args.exchanges / 10);
  Round ignored;
  bool ok = RunRound(stubs, server_pid, false, warm, &ignored) &&
            RunRound(stubs, server_pid, true, warm, &ignored);
  std::vector<double> cpu[2], rate[2];
  for (int r = 0; ok && r < args.rounds; ++r) {
    for (int shape = 0; ok && shape < 2; ++shape) {
      Round round;
      ok = RunRound(stubs, server_pid, shape == 1, args, &round);
      cpu[shape].push_back(round.cpu_us_per_exchange);
      rate[shape].push_back(round.exchanges_per_s);
    }
  }
  stubs.clear();
  StopServer(server);
  if (!ok) {
    std::fprintf(stderr, "rpc_shape_bench: a call failed\n");
    return 1;
  }
  const double unary_cpu = Median(cpu[0]), stream_cpu = Median(cpu[1]);
  const double unary_rate = Median(rate[0]), stream_rate = Median(rate[1]);
  if (args.json) {
    std::printf(
        "{\"clients\": %d, \"unary_cpu_us\": %.1f, \"stream_cpu_us\": %.1f, "
        "\"unary_per_s\": %.0f, \"stream_per_s\": %.0f, \"stream_over_unary_cpu\": %.3f}\n",
        args.clients, unary_cpu, stream_cpu, unary_rate, stream_rate, stream_cpu / unary_cpu);
  } else {
    std::printf("%d clients, %d exchanges each per round, %d rounds per shape (alternating)\n",
                args.clients, args.exchanges, args.rounds);
    std::printf("unary call:     %.1f us CPU per exchange (both processes), %.0f exchanges/s\n",
                unary_cpu, unary_rate);
    std::printf("stream message: %.1f us CPU per exchange (both processes), %.0f exchanges/s\n",
                stream_cpu, stream_rate);
    std::printf("stream / unary CPU: %.2f (saving %.1f us per exchange)\n", stream_cpu / unary_cpu,
                unary_cpu - stream_cpu);
  }
  return 0;
}

}  // namespace
}  // namespace sweep::bench

int main(int argc, char** argv) {
  sweep::core::ApplyProcessSettings();  // as the controller and the workers run
  sweep::bench::Args args;
  CLI::App app{"One exchange as a unary gRPC call and as a stream message pair"};
  app.add_option("--clients", args.clients, "Client threads, one channel each")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--exchanges", args.exchanges, "Exchanges per client per round")
      ->check(CLI::Range(1, 100'000'000))
      ->capture_default_str();
  app.add_option("--rounds", args.rounds, "Rounds per shape (the shapes alternate)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--request-bytes", args.request_bytes, "Request payload")
      ->check(CLI::Range(0, 4 << 20))
      ->capture_default_str();
  app.add_option("--reply-bytes", args.reply_bytes, "Reply payload")
      ->check(CLI::Range(0, 4 << 20))
      ->capture_default_str();
  app.add_flag("--json", args.json, "One JSON object instead of lines");
  app.add_flag("--serve", args.serve, "Internal: run the server process")->group("");
  CLI11_PARSE(app, argc, argv);
  return args.serve ? sweep::bench::Serve(args) : sweep::bench::Run(args);
}

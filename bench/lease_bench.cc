// Lease latency: how long AcquireTrial takes to return a grant while trials wait, with many
// workers. One process: a Controller on a SqliteStore in a temporary workspace, its gRPC
// server on 127.0.0.1, and N worker threads, each with its own gRPC worker client (the one
// `sweep worker` uses), looping Register -> { AcquireTrial -> ReportMetrics (5 points) ->
// "work" for --trial-ms -> CompleteTrial }. A sweep with room for every worker always has
// a trial to grant, so every AcquireTrial measured is one that returned a grant. The
// process applies the settings `sweep` does (core/process_settings.h).
//
// The anchor, measured in the same run before the load: the round trip of a Heartbeat
// under an unknown lease (authentication, a lookup, an error reply: one gRPC unary call
// through the same server), p50 and p99.
//
// With --trial-jitter F each trial lasts trial-ms times a uniform draw from [1-F, 1+F]: equal
// trials keep the workers in lockstep, so every grant of a round arrives in one burst.
//
// usage: lease_bench [--workers 64] [--trials 20000] [--trial-ms 50] [--trial-jitter 0]
//                    [--json]
// Prints one line per figure; --json prints one JSON object instead.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "controller/controller.h"
#include "core/process_settings.h"
#include "rpc/grpc_service.h"
#include "rpc/worker_client.h"
#include "spec/spec.h"
#include "workspace/workspace.h"

namespace sweep::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Args {
  int workers = 64;
  int64_t trials = 20'000;
  int64_t trial_ms = 50;
  double trial_jitter = 0;  // each trial lasts trial_ms * U(1 - jitter, 1 + jitter)
  bool json = false;
};

double Micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

bool ParseArgs(int argc, char** argv, Args* args) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--json") {
      args->json = true;
    } else if (a == "--workers" && (v = next())) {
      args->workers = std::atoi(v);
    } else if (a == "--trials" && (v = next())) {
      args->trials = std::atoll(v);
    } else if (a == "--trial-ms" && (v = next())) {
      args->trial_ms = std::atoll(v);
    } else if (a == "--trial-jitter" && (v = next())) {
      args->trial_jitter = std::atof(v);
    } else {
      std::fprintf(stderr,
                   "usage: lease_bench [--workers N] [--trials N] [--trial-ms N] "
                   "[--trial-jitter F] [--json]\n");
      return false;
    }
  }
  return args->workers > 0 && args->trials > 0 && args->trial_ms >= 0 && args->trial_jitter >= 0 &&
         args->trial_jitter < 1;
}

std::string SpecYaml(int workers) {
  return absl::StrCat(
      "type: sweep\n"
      "trial:\n  command: echo ${{search_space.x}}\n"
      "compute: azureml:bench-pool\n"
      "sampling_algorithm: random\n"
      "search_space:\n  x: {type: uniform, min_value: 0, max_value: 1}\n"
      "objective: {primary_metric: loss, goal: minimize}\n"
      "limits: {max_total_trials: 1000000, max_concurrent_trials: ",
      workers, "}\n");
}

// One worker thread's loop; appends the latency of each granted AcquireTrial.
void WorkerLoop(const std::string& address, const std::string& token, const Args& args,
                std::atomic<int64_t>* granted, std::vector<double>* latencies_us,
                std::atomic<int>* errors) {
  rpc::GrpcClientOptions o;
  o.server = address;
  o.token = token;
  auto client = rpc::NewGrpcControllerClient(o);
  if (!client.ok()) {
    ++*errors;
    return;
  }
  core::NodeRegistration reg;
  reg.compute = "bench-pool";
  reg.hostname = "bench";
  reg.pid = ::getpid();
  reg.version = "lease-bench";
  auto registered = (*client)->Register(reg);
  if (!registered.ok()) {
    std::fprintf(stderr, "Register: %s\n", registered.status().ToString().c_str());
    ++*errors;
    return;
  }
  const std::string node = registered->node_id;
  // Seeded per worker: runs repeat, and workers drift apart as real trials do.
  std::mt19937_64 rng(std::hash<std::string>{}(node));
  std::uniform_real_distribution<double> jitter(1 - args.trial_jitter, 1 + args.trial_jitter);
  while (granted->load() < args.trials) {
    Clock::time_point t0 = Clock::now();
    auto reply = (*client)->AcquireTrial(node, 1'000);
    Clock::time_point t1 = Clock::now();
    if (!reply.ok()) {
      ++*errors;
      continue;
    }
    if (!reply->lease) continue;
    granted->fetch_add(1);
    latencies_us->push_back(Micros(t1 - t0));
    std::vector<core::MetricPoint> points;
    for (int step = 0; step < 5; ++step) {
      core::MetricPoint p;
      p.name = "loss";
      p.value = 5 - step;
      p.step = step;
      points.push_back(p);
    }
    if (!(*client)->ReportMetrics(reply->lease->ref, points).ok()) ++*errors;
    if (args.trial_ms > 0) {
      std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(
          static_cast<double>(args.trial_ms) * jitter(rng)));
    }
    core::Completion c;
    c.outcome = core::Outcome::kSucceeded;
    if (!(*client)->CompleteTrial(reply->lease->ref, c).ok()) ++*errors;
  }
  (*client)->Deregister(node).IgnoreError();
}

// p50/p99 of a Heartbeat under a lease nobody holds, one call at a time.
std::vector<double> AnchorRoundTrips(const std::string& address, const std::string& token) {
  rpc::GrpcClientOptions o;
  o.server = address;
  o.token = token;
  auto client = rpc::NewGrpcControllerClient(o);
  std::vector<double> us;
  if (!client.ok()) return us;
  core::LeaseRef ref;
  ref.sweep_id = "sw-000000000000";
  ref.trial_id = 1;
  ref.attempt = 1;
  ref.node_id = "node-none";
  ref.fencing_token = 1;
  for (int i = 0; i < 2'200; ++i) {
    Clock::time_point t0 = Clock::now();
    (*client)->Heartbeat(ref).IgnoreError();
    if (i >= 200) us.push_back(Micros(Clock::now() - t0));  // the first ones warm up
  }
  return us;
}

int Run(const Args& args) {
  std::string tmpl = (fs::temp_directory_path() / "sweep-lease-bench-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return 1;
  const std::string dir = tmpl;
  auto ws = workspace::Workspace::OpenOrCreate(dir + "/ws");
  if (!ws.ok()) {
    std::fprintf(stderr, "workspace: %s\n", ws.status().ToString().c_str());
    return 1;
  }
  controller::ControllerOptions co;
  co.workspace_dir = (*ws)->dir();
  co.lease_duration_ms = 60'000;
  auto ctl = controller::Controller::Create((*ws)->store(), co);
  if (!ctl.ok()) return 1;
  controller::Controller& controller = **ctl;
  core::ComputeTarget pool;
  pool.name = "bench-pool";
  pool.type = "amlcompute";
  pool.provider = "local";  // no provider attached: only the bench's workers join
  pool.min_nodes = 0;
  pool.max_nodes = args.workers;
  if (auto put = controller.PutComputeTarget(pool, workspace::PutMode::kCreate); !put.ok()) {
    std::fprintf(stderr, "compute: %s\n", put.status().ToString().c_str());
    return 1;
  }
  controller.Start();
  rpc::GrpcServerOptions so;
  so.token = (*ws)->token();
  auto server = rpc::GrpcServer::Start(&controller, so);
  if (!server.ok()) return 1;
  const std::string yaml = SpecYaml(args.workers);
  auto spec = spec::ParseSpec(yaml, dir + "/spec.yml", dir);
  if (!spec.ok()) {
    std::fprintf(stderr, "spec: %s\n", spec.status().ToString().c_str());
    return 1;
  }
  auto sweep_id = controller.SubmitSweep(*spec, yaml);
  if (!sweep_id.ok()) {
    std::fprintf(stderr, "submit: %s\n", sweep_id.status().ToString().c_str());
    return 1;
  }
  std::vector<double> anchor = AnchorRoundTrips((*server)->address(), (*ws)->token());

  std::atomic<int64_t> granted{0};
  std::atomic<int> errors{0};
  std::vector<std::vector<double>> per_thread(args.workers);
  std::vector<std::thread> threads;
  Clock::time_point start = Clock::now();
  for (int i = 0; i < args.workers; ++i) {
    threads.emplace_back(WorkerLoop, (*server)->address(), (*ws)->token(), std::cref(args),
                         &granted, &per_thread[i], &errors);
  }
  for (std::thread& t : threads) t.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  controller.CancelSweep(*sweep_id).IgnoreError();
  controller.Shutdown();
  (*server)->Shutdown();
  std::vector<double> all;
  for (const auto& v : per_thread) all.insert(all.end(), v.begin(), v.end());
  // The first grant of each worker includes its channel's connection: leave them out.
  std::vector<double> steady;
  for (const auto& v : per_thread)
    steady.insert(steady.end(), v.begin() + (v.empty() ? 0 : 1), v.end());
  ws->reset();
  fs::remove_all(dir);
  const double p50 = Percentile(steady, 0.50), p99 = Percentile(steady, 0.99);
  const double a50 = Percentile(anchor, 0.50), a99 = Percentile(anchor, 0.99);
  if (args.json) {
    std::printf(
        "{\"workers\": %d, \"grants\": %zu, \"seconds\": %.3f, \"errors\": %d, "
        "\"acquire_p50_us\": %.1f, \"acquire_p90_us\": %.1f, \"acquire_p99_us\": %.1f, "
        "\"acquire_max_us\": %.1f, \"anchor_rtt_p50_us\": %.1f, \"anchor_rtt_p99_us\": %.1f}\n",
        args.workers, all.size(), seconds, errors.load(), p50, Percentile(steady, 0.90), p99,
        Percentile(steady, 1.0), a50, a99);
  } else {
    std::printf("%d workers, %zu grants in %.2f s (%.0f/s), %d errors\n", args.workers, all.size(),
                seconds, static_cast<double>(all.size()) / seconds, errors.load());
    std::printf("AcquireTrial with a grant: p50 %.0f us, p90 %.0f us, p99 %.0f us, max %.0f us\n",
                p50, Percentile(steady, 0.90), p99, Percentile(steady, 1.0));
    std::printf(
        "anchor, one unary round trip (Heartbeat, unknown lease): p50 %.0f us, p99 %.0f us\n", a50,
        a99);
  }
  return errors.load() == 0 ? 0 : 1;
}

}  // namespace
}  // namespace sweep::bench

int main(int argc, char** argv) {
  sweep::core::ApplyProcessSettings();  // as the controller and the workers run
  sweep::bench::Args args;
  if (!sweep::bench::ParseArgs(argc, argv, &args)) return 2;
  return sweep::bench::Run(args);
}

// suggest_server: Sweep's samplers behind a line protocol, for bench/bo_suite.py.
//
// Reads one JSON request per line on stdin and answers one JSON line on stdout:
//   {"cmd": "start", "space": {...}, "algorithm": "bayesian", "seed": 0}
//       A new run: `space` is a spec's search_space mapping (as JSON, which is YAML),
//       parsed by spec::ParseSpec exactly as `sweep run` does; algorithm is bayesian,
//       tpe, random or sobol. Answers {"ok": true} or {"error": "..."}. An optional
//       "gp_options" object sets GpSamplerOptions fields (experiments only).
//   {"cmd": "ask"}
//       The sampler's next config for trial number len(history)+1; the trial joins the
//       history as running. Answers {"trial": i, "config": {...}, "cpu_seconds": c,
//       "wall_seconds": w} (the sampler's time only) or {"exhausted": true}. With
//       "debug": true the GP also reports its notes and fitted hyperparameters.
//   {"cmd": "tell", "trial": i, "value": v, "state": "completed"}
//       Completes trial i (0-based) with its value (state: completed, failed).
// Any failure is answered {"error": "..."}; the server keeps reading.
#include <time.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <string>

#include "bench/gp_options.h"
#include "core/search_space.h"
#include "nlohmann/json.hpp"
#include "samplers/gp_sampler.h"
#include "samplers/sampler.h"
#include "spec/spec.h"

namespace sweep::bench {
namespace {

using nlohmann::json;

double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

absl::StatusOr<core::SearchSpace> ParseSpace(const json& space) {
  const std::string text =
      "type: sweep\n"
      "trial: {command: 'true'}\n"
      "compute: azureml:bench\n"
      "sampling_algorithm: random\n"
      "search_space: " +
      space.dump() +
      "\n"
      "objective: {primary_metric: value, goal: minimize}\n"
      "limits: {max_total_trials: 100000}\n";
  auto spec = spec::ParseSpec(text, "<bo_suite space>", "");
  if (!spec.ok()) return spec.status();
  return spec->search_space;
}

struct Session {
  std::unique_ptr<samplers::Sampler> sampler;
  const samplers::GpSampler* gp = nullptr;  // when the sampler is the GP
  samplers::History history;
};

json Handle(const json& request, Session& session) {
  const std::string cmd = request.value("cmd", "");
  if (cmd == "start") {
    auto space = ParseSpace(request.at("space"));
    if (!space.ok()) return {{"error", std::string(space.status().message())}};
    const std::string name = request.value("algorithm", "bayesian");
    samplers::Algorithm algorithm;
    if (name == "bayesian") {
      algorithm = samplers::Algorithm::kBayesian;
    } else if (name == "tpe") {
      algorithm = samplers::Algorithm::kTpe;
    } else if (name == "random") {
      algorithm = samplers::Algorithm::kRandom;
    } else if (name == "sobol") {
      algorithm = samplers::Algorithm::kSobol;
    } else {
      return {{"error", "unknown algorithm " + name}};
    }
    const samplers::SamplerOptions options{core::Goal::kMinimize,
                                           request.value<uint64_t>("seed", 0)};
    session.gp = nullptr;
    if (algorithm == samplers::Algorithm::kBayesian) {
      auto gp_options = GpOptionsFromJson(request.value("gp_options", json::object()));
      if (!gp_options.ok()) return {{"error", std::string(gp_options.status().message())}};
      auto gp = samplers::GpSampler::Create(*space, options, *gp_options);
      if (!gp.ok()) return {{"error", std::string(gp.status().message())}};
      session.gp = gp->get();
      session.sampler = *std::move(gp);
    } else {
      auto sampler = samplers::MakeSampler(algorithm, *space, options);
      if (!sampler.ok()) return {{"error", std::string(sampler.status().message())}};
      session.sampler = *std::move(sampler);
    }
    session.history = {};
    return {{"ok", true}};
  }
  if (session.sampler == nullptr) return {{"error", "no run started"}};
  if (cmd == "ask") {
    const double cpu_start = ThreadCpuSeconds();
    const auto start = std::chrono::steady_clock::now();
    auto next = session.sampler->Next(session.history);
    const auto end = std::chrono::steady_clock::now();
    const double cpu = ThreadCpuSeconds() - cpu_start;
    if (!next.ok()) return {{"error", std::string(next.status().message())}};
    if (!next->has_value()) return {{"exhausted", true}};
    session.history.trials.push_back({**next, core::TrialState::kRunning, std::nullopt, 0});
    json reply = {{"trial", session.history.trials.size() - 1},
                  {"config", core::ConfigToJson(**next)},
                  {"cpu_seconds", cpu},
                  {"wall_seconds", std::chrono::duration<double>(end - start).count()}};
    if (session.gp != nullptr && request.value("debug", false)) {
      reply["notes"] = session.gp->notes();
      const auto& info = session.gp->fit_info();
      reply["fit"] = {{"additive", info.additive}, {"product_lml", info.product_lml}};
      if (info.additive_lml) reply["fit"]["additive_lml"] = *info.additive_lml;
      reply["fit"]["trend"] = info.trend;
      if (const auto& hp = session.gp->hyperparameters()) {
        reply["hyperparameters"] = {
            {"log_lengthscales", std::vector<double>(hp->log_lengthscales.data(),
                                                     hp->log_lengthscales.data() + hp->dims())},
            {"log_signal_variance", hp->log_signal_variance},
            {"log_noise_variance", hp->log_noise_variance},
            {"log_additive_lengthscales",
             std::vector<double>(
                 hp->log_additive_lengthscales.data(),
                 hp->log_additive_lengthscales.data() + hp->log_additive_lengthscales.size())},
            {"log_additive_variance", hp->log_additive_variance}};
      }
    }
    return reply;
  }
  if (cmd == "tell") {
    const size_t trial = request.at("trial").get<size_t>();
    if (trial >= session.history.trials.size()) return {{"error", "unknown trial"}};
    samplers::Observation& o = session.history.trials[trial];
    const std::string state = request.value("state", "completed");
    if (state == "completed") {
      o.state = core::TrialState::kCompleted;
      o.value = request.at("value").get<double>();
      o.intervals = 1;
    } else if (state == "failed") {
      o.state = core::TrialState::kFailed;
    } else {
      return {{"error", "unknown state " + state}};
    }
    return {{"ok", true}};
  }
  return {{"error", "unknown cmd '" + cmd + "'"}};
}

}  // namespace
}  // namespace sweep::bench

int main() {
  std::ios::sync_with_stdio(false);
  sweep::bench::Session session;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    nlohmann::json reply;
    try {
      reply = sweep::bench::Handle(nlohmann::json::parse(line), session);
    } catch (const std::exception& e) {
      reply = {{"error", e.what()}};
    }
    std::cout << reply.dump() << std::endl;
  }
  return 0;
}

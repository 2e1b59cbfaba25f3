// GpSamplerOptions from JSON ({"additive": false, ...}), for the benchmarks' A/B
// experiments (bo_bench --gp-options, suggest_server's "gp_options").
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "samplers/gp_sampler.h"

namespace sweep::bench {

// InvalidArgument naming the first unknown field or a value of the wrong type.
inline absl::StatusOr<samplers::GpSamplerOptions> GpOptionsFromJson(const nlohmann::json& j) {
  samplers::GpSamplerOptions o;
  if (!j.is_object()) return absl::InvalidArgumentError("gp options must be a JSON object");
  try {
    for (const auto& [key, value] : j.items()) {
      if (key == "additive") {
        o.additive = value.get<bool>();
      } else if (key == "power_transform") {
        o.power_transform = value.get<bool>();
      } else if (key == "mean_incumbent") {
        o.mean_incumbent = value.get<bool>();
      } else if (key == "initial_design") {
        o.initial_design = value.get<int>();
      } else if (key == "trust_region") {
        const std::string use = value.get<std::string>();
        using Use = samplers::GpSamplerOptions::TrustRegionUse;
        if (use == "never") {
          o.trust_region = Use::kNever;
        } else if (use == "pending") {
          o.trust_region = Use::kWhilePending;
        } else if (use == "always") {
          o.trust_region = Use::kAlways;
        } else {
          return absl::InvalidArgumentError("trust_region must be never, pending or always");
        }
      } else if (key == "trend_ridge") {
        o.trend_ridge = value.get<double>();
      } else if (key == "global_every") {
        o.global_every = value.get<int>();
      } else if (key == "flat_acquisition") {
        o.flat_acquisition = value.get<double>();
      } else if (key == "flat_noise_gate") {
        o.flat_noise_gate = value.get<double>();
      } else if (key == "flat_noise_share") {
        o.flat_noise_share = value.get<double>();
      } else if (key == "flat_probe") {
        o.flat_probe = value.get<bool>();
      } else if (key == "flat_probe_pending_aware") {
        o.flat_probe_pending_aware = value.get<bool>();
      } else {
        return absl::InvalidArgumentError("unknown gp option " + key);
      }
    }
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(std::string("gp options: ") + e.what());
  }
  return o;
}

}  // namespace sweep::bench

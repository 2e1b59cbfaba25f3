// Early-termination policies with Azure ML semantics (DESIGN.md "Early termination"),
// plus ASHA as an extension. A policy is fed every report of the primary metric in
// the order the controller received them and decides, at evaluation intervals, whether
// the reporting trial should stop. The same code serves the live controller and
// `sweep replay`.
//
// Thread safety: not thread-safe; the controller serialises calls per sweep.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "core/types.h"
#include "spec/spec.h"

namespace sweep::controller {

class EarlyTerminationPolicy {
 public:
  virtual ~EarlyTerminationPolicy() = default;

  // Trial `trial_id` reported `value` as its interval `interval` (1-based, consecutive
  // per trial). Returns the decision when `interval` is an evaluation point for this
  // policy (a Decision with stop=false is a recorded "continue"), nullopt otherwise.
  // A non-finite value is never used as a reference; a trial reporting one is judged
  // by its best finite value so far (or not judged if it has none).
  virtual std::optional<core::Decision> OnReport(int64_t trial_id, int64_t interval,
                                                 double value) = 0;

  // The trial ended (completed, failed, stopped, canceled).
  virtual void OnTrialEnded(int64_t trial_id, core::TrialState state) = 0;

  // Drops everything known about the trial's current curve (its attempt was preempted
  // or lost; the next attempt reports from interval 1 again).
  virtual void ForgetCurve(int64_t trial_id) = 0;
};

// Returns nullptr for PolicyType::kNone. InvalidArgument for inconsistent settings.
absl::StatusOr<std::unique_ptr<EarlyTerminationPolicy>> MakeEarlyTerminationPolicy(
    const spec::EarlyTermination& settings, core::Goal goal);

}  // namespace sweep::controller

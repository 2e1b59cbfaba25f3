// The lease contract between the controller and its workers, in plain structs: what a
// node registers with, what a grant carries, the directive a renewal returns and what a
// finished attempt reports. The controller (controller/controller.h) serves it, the worker
// (worker/controller_client.h) consumes it, and rpc/ converts it to and from the wire
// (proto/sweep.proto). One definition, so the two sides cannot drift apart.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/types.h"

namespace sweep::core {

// Names one attempt under one lease. Every call under a lease carries it; a fencing token
// that is not the attempt's current one is refused (FailedPrecondition) and changes nothing.
struct LeaseRef {
  std::string node_id;
  std::string sweep_id;
  int64_t trial_id = 0;
  int32_t attempt = 0;
  uint64_t fencing_token = 0;
};

// The right of one node to run one attempt, and everything it needs to run it.
struct LeaseGrant {
  LeaseRef ref;
  std::vector<std::string> argv;  // the trial command, already substituted
  std::vector<std::pair<std::string, std::string>> env;
  std::string params_json;
  std::string primary_metric;
  int64_t expires_at_ms = 0;
  int64_t trial_timeout_ms = 0;    // 0: none
  int64_t stop_grace_ms = 0;       // SIGTERM -> SIGKILL delay; 0: the worker's default
  std::string snapshot_digest;     // the code snapshot to start in; "" when there is none
  int64_t artifact_max_bytes = 0;  // cap on the attempt's outputs/; 0: none given
  // The workspace environment to prepare (worker/environment.h); nullopt: the node's own.
  std::optional<Environment> environment;
  // argv is {"/bin/bash", "-c", SCRIPT} (spec::BuildTrialCommand): a node without bash
  // runs the script with /bin/sh.
  bool shell = false;
};

// AcquireTrial's answer: a lease, or nothing yet, or "exit" (scale-down).
struct AcquireResult {
  std::optional<LeaseGrant> lease;
  bool shutdown = false;
};

enum class Directive { kContinue, kStop };

// What a heartbeat or metric report gets back; the lease now expires at expires_at_ms.
struct DirectiveReply {
  Directive directive = Directive::kContinue;
  int64_t expires_at_ms = 0;
  std::string reason;  // why stop
};

enum class Outcome { kSucceeded, kFailed, kStopped };

// How an attempt's process ended.
struct Completion {
  Outcome outcome = Outcome::kSucceeded;
  int32_t exit_code = 0;  // -1 when killed by a signal
  int32_t signal = 0;
  std::string error;
  // Points not reported yet; only name/value/step/timestamp are read.
  std::vector<MetricPoint> points;
};

struct NodeRegistration {
  std::string node_id;  // empty: the controller assigns one
  std::string compute;
  std::string hostname;
  int64_t pid = 0;
  std::string version;
};

struct Registered {
  std::string node_id;
  int64_t heartbeat_interval_ms = 0;
  int64_t lease_duration_ms = 0;
};

}  // namespace sweep::core

// Metric points in the wire's packed form (proto PackedMetricPoints): what a worker sends
// to a controller that takes it, and what the controller reads back. A gRPC adapter file:
// include it only from the other adapters (worker_client.cc, grpc_service.cc).
// Thread safety: stateless functions.
#pragma once

#include <vector>

#include "absl/status/status.h"
#include "core/types.h"
#include "proto/sweep.pb.h"

namespace sweep::rpc {

// Appends `points` (name, value, step, timestamp, seq; names made valid UTF-8) to `out`.
void PackPoints(const std::vector<core::MetricPoint>& points, proto::PackedMetricPoints* out);

// Appends the points of `in` to `out`. InvalidArgument (nothing appended) when the
// columns differ in length or a point names an index past `names`.
absl::Status UnpackPoints(const proto::PackedMetricPoints& in, std::vector<core::MetricPoint>* out);

}  // namespace sweep::rpc

// Input limits shared by the controller (which refuses what exceeds them with
// InvalidArgument, storing nothing) and the worker and clients (which keep within them).
// docs/server.md, "Input limits", lists them for users.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sweep::core {

// Largest gRPC message the controller accepts or sends (artifact and snapshot chunks are
// 1 MiB; a spec is at most 1 MiB).
inline constexpr int kMaxMessageBytes = 8 << 20;
// Metric points in one ReportMetrics or CompleteTrial (the worker sends at most 1,000).
inline constexpr size_t kMaxPointsPerReport = 10'000;
// A metric name, a node id, a hostname or a compute name.
inline constexpr size_t kMaxNameBytes = 256;
// The error text of a completion (the worker keeps the last lines of stderr).
inline constexpr size_t kMaxErrorBytes = 64 << 10;
// Files in one attempt's outputs/.
inline constexpr int64_t kMaxArtifactFiles = 10'000;
// Longest wait or timeout a caller may ask for, in milliseconds (one day); larger values
// are clamped, so deadlines never overflow.
inline constexpr int64_t kMaxWaitMs = 24LL * 3600 * 1000;

}  // namespace sweep::core

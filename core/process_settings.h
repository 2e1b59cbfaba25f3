// Settings a Sweep process applies once at start, before it starts a thread: the `sweep`
// binary's main, and the benchmarks that stand in for it (bench/lease_bench), so that
// what they measure is what runs. Tests do not call it, so they keep Abseil's deadlock
// detector.
#pragma once

namespace sweep::core {

void ApplyProcessSettings();

}  // namespace sweep::core

#include "core/process_settings.h"

#include <malloc.h>

#include "absl/synchronization/mutex.h"

namespace sweep::core {

void ApplyProcessSettings() {
  // Freed memory stays with the process: otherwise glibc hands large blocks (SQLite's, per
  // commit) back to the kernel and maps them again at once, and each unmap of this
  // multi-threaded process flushes every core's TLB: a sixth of the controller's and
  // workers' CPU per trial in the dispatch benchmark (bench/dispatch_bench.py).
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 128 << 20);
  // Debian's Abseil is built without NDEBUG, so every absl::Mutex (gRPC's and ours) keeps
  // a lock-order graph for deadlock detection: about 1% of the controller's and workers'
  // CPU per trial.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

}  // namespace sweep::core

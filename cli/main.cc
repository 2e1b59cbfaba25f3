#include <malloc.h>

#include "cli/commands.h"

int main(int argc, char** argv) {
  // Freed memory stays with the process: otherwise glibc hands large blocks (SQLite's, per
  // commit) back to the kernel and maps them again at once, and each unmap of this
  // multi-threaded process flushes every core's TLB: a sixth of the controller's and
  // workers' CPU per trial in the dispatch benchmark (bench/dispatch_bench.py).
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 128 << 20);
  return sweep::cli::Main(argc, argv);
}

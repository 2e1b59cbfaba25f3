// For tests that need the CI's Slurm cluster (.ci/start-slurm.sh): they skip, saying
// why, when `sinfo` does not answer, unless SWEEP_REQUIRE_SERVICES=1 (set by .ci/run),
// which makes the missing cluster a failure.
#pragma once

#include <cstdlib>
#include <string>

namespace sweep::testing {

inline bool SlurmAnswers() { return std::system("sinfo --noheader >/dev/null 2>&1") == 0; }

inline bool ServicesRequired() {
  const char* v = std::getenv("SWEEP_REQUIRE_SERVICES");
  return v != nullptr && std::string(v) == "1";
}

}  // namespace sweep::testing

#define SWEEP_REQUIRE_SLURM()                                                             \
  do {                                                                                    \
    if (!::sweep::testing::SlurmAnswers()) {                                              \
      if (::sweep::testing::ServicesRequired()) {                                         \
        FAIL() << "Slurm does not answer (`sinfo` failed) but SWEEP_REQUIRE_SERVICES=1; " \
                  "start it with `bash .ci/start-slurm.sh`";                              \
      }                                                                                   \
      GTEST_SKIP() << "Slurm does not answer (`sinfo` failed); start it with "            \
                      "`bash .ci/start-slurm.sh` (as root)";                              \
    }                                                                                     \
  } while (0)

#include "core/clock.h"

#include <chrono>

namespace sweep::core {

int64_t SystemClock::NowMillis() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Clock* SystemClock::Default() {
  static SystemClock* clock = new SystemClock();
  return clock;
}

int64_t SteadyClock::NowMillis() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Clock* SteadyClock::Default() {
  static SteadyClock* clock = new SteadyClock();
  return clock;
}

Clock* MonotonicWallClock::Default() {
  static MonotonicWallClock* clock =
      new MonotonicWallClock(SystemClock::Default(), SteadyClock::Default());
  return clock;
}

}  // namespace sweep::core

// Time goes through a Clock so tests can drive it. Times are milliseconds since the Unix
// epoch, except SteadyClock's (since an arbitrary start). Implementations are thread-safe.
// core::Env (core/env.h) hands out the clocks a component should use.
#pragma once

#include <atomic>
#include <cstdint>

namespace sweep::core {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMillis() const = 0;
};

// Wall clock (system_clock).
class SystemClock final : public Clock {
 public:
  int64_t NowMillis() const override;
  // Process-wide instance; never destroyed.
  static Clock* Default();
};

// Monotonic clock (steady_clock): milliseconds since an arbitrary start, never stepped.
class SteadyClock final : public Clock {
 public:
  int64_t NowMillis() const override;
  // Process-wide instance; never destroyed.
  static Clock* Default();
};

// Wall-clock time that is never stepped: the wall time when it was made plus the
// monotonic time elapsed since. A step of the system clock (NTP, an administrator) does not
// move it, so deadlines measured with it (leases) neither all expire nor all stretch at
// once; its readings drift from the wall clock only by the steps since it was made. The
// controller's default clock.
class MonotonicWallClock final : public Clock {
 public:
  // Reads `wall` once now and `steady` on every call; both are not owned and must outlive it.
  MonotonicWallClock(const Clock* wall, const Clock* steady)
      : steady_(steady), offset_(wall->NowMillis() - steady->NowMillis()) {}
  int64_t NowMillis() const override { return steady_->NowMillis() + offset_; }
  // Process-wide instance over SystemClock and SteadyClock; never destroyed.
  static Clock* Default();

 private:
  const Clock* const steady_;
  const int64_t offset_;
};

// Manually advanced clock for tests.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_ms = 1'700'000'000'000) : now_(start_ms) {}
  int64_t NowMillis() const override { return now_.load(); }
  void Advance(int64_t ms) { now_ += ms; }
  void Set(int64_t ms) { now_ = ms; }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace sweep::core

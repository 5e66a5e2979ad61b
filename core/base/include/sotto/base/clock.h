#pragma once

// Clock: the only way sotto code reads time or sleeps, so tests can drive time by hand.
//
// Clock::Real() is the process-wide system clock. FakeClock starts at a fixed instant and
// moves only when Advance() or SleepFor() is called. Both are thread-safe.

#include <chrono>
#include <mutex>

namespace sotto {

class Clock {
 public:
  using Duration = std::chrono::nanoseconds;
  // Monotonic time: for deadlines and durations.
  using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;
  // Calendar time: for log stamps and checkpoints.
  using WallTime = std::chrono::time_point<std::chrono::system_clock, Duration>;

  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
  virtual WallTime WallNow() const = 0;
  virtual void SleepFor(Duration duration) = 0;

  // The real clock; never null, lives for the whole process.
  static Clock* Real();
};

class FakeClock final : public Clock {
 public:
  FakeClock();
  TimePoint Now() const override;
  WallTime WallNow() const override;
  // Advances time by `duration` and returns at once.
  void SleepFor(Duration duration) override { Advance(duration); }
  void Advance(Duration duration);

 private:
  mutable std::mutex mu_;
  Duration elapsed_{0};
};

// Seconds between two time points, as a double (for progress lines and metrics).
inline double SecondsBetween(Clock::TimePoint start, Clock::TimePoint end) {
  return std::chrono::duration<double>(end - start).count();
}

}  // namespace sotto

#include "sotto/base/clock.h"

#include <thread>

namespace sotto {
namespace {

class RealClock final : public Clock {
 public:
  TimePoint Now() const override {
    return std::chrono::time_point_cast<Duration>(std::chrono::steady_clock::now());
  }
  WallTime WallNow() const override {
    return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
  }
  void SleepFor(Duration duration) override { std::this_thread::sleep_for(duration); }
};

// 2026-01-01T00:00:00Z: a fixed, recognisable start for fake wall time.
constexpr std::chrono::seconds kFakeEpoch{1767225600};

}  // namespace

Clock* Clock::Real() {
  static RealClock* clock = new RealClock();  // never destroyed: usable during exit
  return clock;
}

FakeClock::FakeClock() = default;

Clock::TimePoint FakeClock::Now() const {
  std::lock_guard<std::mutex> lock(mu_);
  return TimePoint(elapsed_);
}

Clock::WallTime FakeClock::WallNow() const {
  std::lock_guard<std::mutex> lock(mu_);
  return WallTime(std::chrono::duration_cast<Duration>(kFakeEpoch) + elapsed_);
}

void FakeClock::Advance(Duration duration) {
  std::lock_guard<std::mutex> lock(mu_);
  elapsed_ += duration;
}

}  // namespace sotto

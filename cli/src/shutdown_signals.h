#pragma once

// Graceful shutdown of the long-running commands (`sotto coordinator`, `sotto client`) on
// SIGINT and SIGTERM.
//
// Constructing a ShutdownSignals blocks the two signals in the calling thread, so every thread
// started afterwards inherits the mask, and starts one thread that waits for them
// (sigtimedwait): the first signal calls `on_signal` on that thread; a second one ends the
// process at once with status 128 + signal, for a shutdown that hangs. Nothing runs in a
// signal handler, so `on_signal` may call anything thread-safe (Client::Stop, an atomic).
//
//   std::atomic<bool> stop{false};
//   ShutdownSignals signals([&](int) { stop = true; });   // before starting other threads
//
// Destruction stops the waiting thread and restores the old mask. One instance per process.

#include <signal.h>

#include <atomic>
#include <functional>
#include <thread>

namespace sotto::cli {

class ShutdownSignals {
 public:
  explicit ShutdownSignals(std::function<void(int signal)> on_signal);
  ~ShutdownSignals();
  ShutdownSignals(const ShutdownSignals&) = delete;
  ShutdownSignals& operator=(const ShutdownSignals&) = delete;

  // The first signal received, 0 while none.
  int received() const { return received_.load(); }

 private:
  void Wait();

  std::function<void(int)> on_signal_;
  sigset_t set_;
  sigset_t old_mask_;
  std::atomic<bool> done_{false};
  std::atomic<int> received_{0};
  std::thread thread_;
};

}  // namespace sotto::cli

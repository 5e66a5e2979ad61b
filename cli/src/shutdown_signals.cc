#include "shutdown_signals.h"

#include <pthread.h>

#include <cerrno>
#include <cstdlib>
#include <ctime>

namespace sotto::cli {
namespace {

// How often the waiting thread looks at done_ (a bound on how long destruction takes).
constexpr long kPollNanoseconds = 100'000'000;

}  // namespace

ShutdownSignals::ShutdownSignals(std::function<void(int signal)> on_signal)
    : on_signal_(std::move(on_signal)) {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set_, &old_mask_);
  thread_ = std::thread([this] { Wait(); });
}

ShutdownSignals::~ShutdownSignals() {
  done_ = true;
  thread_.join();
  pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
}

void ShutdownSignals::Wait() {
  const timespec poll{0, kPollNanoseconds};
  while (!done_) {
    const int signal = sigtimedwait(&set_, nullptr, &poll);
    if (signal < 0) continue;  // EAGAIN (timeout) or EINTR
    int expected = 0;
    if (received_.compare_exchange_strong(expected, signal)) {
      if (on_signal_) on_signal_(signal);
    } else {
      std::_Exit(128 + signal);  // a second signal: the user insists
    }
  }
}

}  // namespace sotto::cli

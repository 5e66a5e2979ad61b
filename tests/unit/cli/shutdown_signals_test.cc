#include "shutdown_signals.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <future>

namespace sotto::cli {
namespace {

TEST(ShutdownSignalsTest, FirstSignalCallsTheCallbackOnItsThread) {
  std::promise<int> got;
  {
    ShutdownSignals signals([&got](int signal) { got.set_value(signal); });
    EXPECT_EQ(signals.received(), 0);
    // Blocked in this thread, so the waiting thread takes it instead of the default action.
    ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
    EXPECT_EQ(got.get_future().get(), SIGTERM);
    EXPECT_EQ(signals.received(), SIGTERM);
  }
  // The old mask is back: SIGTERM is no longer blocked here.
  sigset_t mask;
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, nullptr, &mask), 0);
  EXPECT_FALSE(sigismember(&mask, SIGTERM));
  EXPECT_FALSE(sigismember(&mask, SIGINT));
}

}  // namespace
}  // namespace sotto::cli

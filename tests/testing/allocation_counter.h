#pragma once

// Counts heap allocations made by a piece of code, for tests of "this step does not allocate".
//
// Linking the sotto_testing_allocation_counter object library into a test binary replaces
// malloc and friends for that binary (glibc exports the real allocator as __libc_*), so
// allocations inside libstdc++, Eigen and our libraries all count. Under sanitizers (which
// install their own allocator) or off glibc, counting is unavailable: tests must check
// AllocationCountingAvailable() and GTEST_SKIP otherwise.
//
// Not thread-safe: count only on the test's thread while no other thread allocates.

#include <cstddef>
#include <utility>

namespace sotto::testing {

bool AllocationCountingAvailable();

// Starts/stops counting; StopCountingAllocations() returns the count since the start.
void StartCountingAllocations();
size_t StopCountingAllocations();

// The allocations made while `body` runs.
template <typename Body>
size_t AllocationsDuring(Body&& body) {
  StartCountingAllocations();
  std::forward<Body>(body)();
  return StopCountingAllocations();
}

}  // namespace sotto::testing

#pragma once

// ParallelFor for the simulator: fn(i) for every i in [0, n) on up to `threads` threads, each
// index exactly once, in no particular order. Callers make fn(i) touch only state of index i,
// so results do not depend on the thread count. Internal to sotto_sim.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace sotto::sim::internal {

template <typename Fn>
void ParallelFor(size_t n, int threads, Fn fn) {
  const size_t workers = std::min<size_t>(n, static_cast<size_t>(std::max(1, threads)));
  if (workers <= 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  pool.reserve(workers);
  for (size_t w = 0; w < workers; ++w) {
    pool.emplace_back([&] {
      for (size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) fn(i);
    });
  }
  for (auto& t : pool) t.join();
}

}  // namespace sotto::sim::internal

#pragma once

// ThreadPool: a tiny fixed pool of worker threads for the CPU kernels.
//
// The pool has num_threads() lanes: lane 0 is the calling thread, lanes 1.. are workers that
// the pool starts in Create and joins in its destructor. Run(fn) calls fn(lane) once on every
// lane and returns when all have finished; the kernels split a vector into contiguous chunks,
// one per lane, so their output never depends on scheduling.
//
// Ownership: the caller owns the pool (std::unique_ptr from Create) and passes a raw pointer
// in ExecOptions; the pool must outlive every call that uses it.
// Thread-safety: Run is not reentrant and must not be called from two threads at once (give
// each caller its own pool). fn must not throw.

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "sotto/base/statusor.h"

namespace sotto::kernels {

class ThreadPool {
 public:
  // num_threads >= 1 lanes (1 means no workers). InvalidArgument for < 1 or > 256;
  // ResourceExhausted when a thread cannot be started.
  static StatusOr<std::unique_ptr<ThreadPool>> Create(int num_threads);

  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return num_threads_; }

  // Calls fn(lane) for lane in [0, lanes) (lanes <= num_threads()), lane 0 on the calling
  // thread; blocks until every call has returned.
  template <typename Fn>
  void Run(int lanes, Fn&& fn) {
    using F = std::remove_reference_t<Fn>;
    RunErased(
        lanes, [](void* ctx, int lane) { (*static_cast<F*>(ctx))(lane); },
        const_cast<void*>(static_cast<const void*>(&fn)));
  }

 private:
  using Task = void (*)(void* ctx, int lane);

  explicit ThreadPool(int num_threads);
  void RunErased(int lanes, Task task, void* ctx);
  void WorkerLoop(int lane);

  const int num_threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  uint64_t generation_ = 0;  // guarded by mu_
  int lanes_ = 0;            // guarded by mu_
  int pending_ = 0;          // guarded by mu_
  bool stop_ = false;        // guarded by mu_
  Task task_ = nullptr;      // guarded by mu_
  void* ctx_ = nullptr;      // guarded by mu_
};

}  // namespace sotto::kernels

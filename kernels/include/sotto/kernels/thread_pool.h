#pragma once

// ThreadPool: a tiny fixed pool of worker threads for the CPU kernels.
//
// The pool runs on the calling thread plus num_threads() - 1 workers that it starts in Create
// and joins in its destructor. Run(lanes, fn) calls fn(lane) exactly once for every lane in
// [0, lanes) and returns when all calls have finished. Lanes are handed out dynamically: the
// calling thread takes lanes too, so a worker that is slow to wake (a busy shared machine)
// costs at most the lanes it actually took, never a wait for it to start. Which thread runs
// which lane is unspecified; the kernels make a lane a fixed contiguous chunk of the vector,
// so their output never depends on scheduling.
//
// Latency: a kernel call runs a few Runs of tens of microseconds each, and waking a sleeping
// thread costs about as much on a VM. So after a Run a worker spins (with a pause instruction)
// for about 250 microseconds before it sleeps on a condition variable, and the calling thread
// waits for the last lanes the same way; a Run that follows within that time starts at once.
// Wake() starts that spin ahead of a Run: a kernel calls it on entry, so the workers' wake-up
// (tens to hundreds of microseconds on a VM) overlaps the serial work before its first Run.
//
// Ownership: the caller owns the pool (std::unique_ptr from Create) and passes a raw pointer
// in ExecOptions; the pool must outlive every call that uses it.
// Thread-safety: Run is not reentrant and must not be called from two threads at once (give
// each caller its own pool). fn must not throw.

#include <atomic>
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

  // Wakes sleeping workers without giving them work, so that they spin (as after a Run) and a
  // Run within about 250 microseconds starts on them at once. Cheap when they already spin.
  // Not to be called during a Run (same thread rules as Run).
  void Wake();

  // Calls fn(lane) once for each lane in [0, lanes) (1 <= lanes <= 65535) on the calling
  // thread and the workers; blocks until every call has returned.
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
  void WorkerLoop();
  // Claims the next lane of generation `gen`; -1 when none is left (or gen is over).
  int Claim(uint32_t gen);
  // Runs lanes of `gen` until none is left; returns how many it ran.
  int Drain(uint32_t gen, Task task, void* ctx);

  const int num_threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  // [generation:32][lanes:16][next lane:16]: lanes are claimed with one compare-exchange that
  // also checks the generation, so a late worker can never take a lane of a later Run.
  std::atomic<uint64_t> claim_{0};
  // generation_, readable without the lock: spinning workers watch it.
  std::atomic<uint32_t> published_{0};
  // Lanes finished in the current generation (reset under mu_ before it is published).
  std::atomic<int> done_{0};
  uint32_t generation_ = 0;  // guarded by mu_
  int sleepers_ = 0;         // workers blocked on work_cv_; guarded by mu_
  bool stop_ = false;        // guarded by mu_
  Task task_ = nullptr;      // guarded by mu_
  void* ctx_ = nullptr;      // guarded by mu_
};

}  // namespace sotto::kernels

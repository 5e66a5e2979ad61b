#include "sotto/kernels/thread_pool.h"

#include <chrono>
#include <string>
#include <system_error>
#include <thread>

namespace sotto::kernels {

StatusOr<std::unique_ptr<ThreadPool>> ThreadPool::Create(int num_threads) {
  if (num_threads < 1 || num_threads > 256) {
    return InvalidArgumentError("ThreadPool: num_threads must be in [1, 256], got " +
                                std::to_string(num_threads));
  }
  // The constructor is private (fallible construction goes through Create).
  std::unique_ptr<ThreadPool> pool(new ThreadPool(num_threads));
  try {
    for (int i = 1; i < num_threads; ++i) {
      pool->workers_.emplace_back([p = pool.get()] { p->WorkerLoop(); });
    }
  } catch (const std::system_error& e) {
    return ResourceExhaustedError(std::string("ThreadPool: cannot start a thread: ") + e.what());
  }
  return pool;
}

ThreadPool::ThreadPool(int num_threads) : num_threads_(num_threads) {}

namespace {

// How long a worker waits for the next Run, and the caller for the last lanes, before blocking.
constexpr std::chrono::microseconds kSpin{250};

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

// Spins until done() or kSpin has passed; returns done().
template <typename Done>
bool SpinUntil(Done done) {
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      CpuRelax();
    }
    if (std::chrono::steady_clock::now() >= deadline) return done();
  }
}

}  // namespace

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    published_.fetch_add(1, std::memory_order_release);  // ends the workers' spins
  }
  work_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

int ThreadPool::Claim(uint32_t gen) {
  uint64_t cur = claim_.load(std::memory_order_acquire);
  for (;;) {
    const auto cur_gen = static_cast<uint32_t>(cur >> 32);
    const auto lanes = static_cast<uint32_t>((cur >> 16) & 0xffff);
    const auto next = static_cast<uint32_t>(cur & 0xffff);
    if (cur_gen != gen || next >= lanes) return -1;
    if (claim_.compare_exchange_weak(cur, cur + 1, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
      return static_cast<int>(next);
    }
  }
}

int ThreadPool::Drain(uint32_t gen, Task task, void* ctx) {
  int ran = 0;
  for (int lane = Claim(gen); lane >= 0; lane = Claim(gen)) {
    task(ctx, lane);
    ++ran;
  }
  return ran;
}

void ThreadPool::Wake() {
  if (workers_.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Only sleepers need it; a worker between its spin and its sleep is missed (Wake is a hint:
    // the Run still wakes it).
    if (sleepers_ == 0) return;
    // A generation with no lanes: each worker wakes, claims nothing, and spins for the next.
    const uint32_t gen = ++generation_;
    claim_.store(uint64_t{gen} << 32, std::memory_order_release);
    published_.store(gen, std::memory_order_release);
  }
  work_cv_.notify_all();
}

void ThreadPool::RunErased(int lanes, Task task, void* ctx) {
  if (lanes <= 0) return;
  if (lanes > 0xffff) lanes = 0xffff;
  if (lanes == 1 || workers_.empty()) {
    for (int lane = 0; lane < lanes; ++lane) task(ctx, lane);
    return;
  }
  uint32_t gen;
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    gen = ++generation_;
    task_ = task;
    ctx_ = ctx;
    done_.store(0, std::memory_order_relaxed);
    claim_.store((uint64_t{gen} << 32) | (uint64_t{static_cast<uint32_t>(lanes)} << 16),
                 std::memory_order_release);
    published_.store(gen, std::memory_order_release);
    wake = sleepers_ > 0;
  }
  if (wake) work_cv_.notify_all();
  const int ran = Drain(gen, task, ctx);
  if (done_.fetch_add(ran, std::memory_order_acq_rel) + ran == lanes) return;
  if (SpinUntil([&] { return done_.load(std::memory_order_acquire) == lanes; })) return;
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [&] { return done_.load(std::memory_order_acquire) == lanes; });
}

void ThreadPool::WorkerLoop() {
  uint32_t seen = 0;
  for (;;) {
    SpinUntil([&] { return published_.load(std::memory_order_acquire) != seen; });
    Task task;
    void* ctx;
    uint32_t gen;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (!stop_ && generation_ == seen) {
        ++sleepers_;
        work_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
        --sleepers_;
      }
      if (stop_) return;
      seen = gen = generation_;
      task = task_;
      ctx = ctx_;
    }
    // Claim checks the generation, so task/ctx are only used while that Run is in progress.
    const int ran = Drain(gen, task, ctx);
    if (ran > 0) {
      done_.fetch_add(ran, std::memory_order_acq_rel);
      // The caller may be blocked on done_cv_ (after its spin); taking the lock orders this
      // notification after its predicate check.
      std::lock_guard<std::mutex> lock(mu_);
      done_cv_.notify_one();
    }
  }
}

}  // namespace sotto::kernels

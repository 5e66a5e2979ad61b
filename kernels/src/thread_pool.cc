#include "sotto/kernels/thread_pool.h"

#include <string>
#include <system_error>

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

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
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

void ThreadPool::RunErased(int lanes, Task task, void* ctx) {
  if (lanes <= 0) return;
  if (lanes > 0xffff) lanes = 0xffff;
  if (lanes == 1 || workers_.empty()) {
    for (int lane = 0; lane < lanes; ++lane) task(ctx, lane);
    return;
  }
  uint32_t gen;
  {
    std::lock_guard<std::mutex> lock(mu_);
    gen = ++generation_;
    task_ = task;
    ctx_ = ctx;
    done_ = 0;
    claim_.store((uint64_t{gen} << 32) | (uint64_t{static_cast<uint32_t>(lanes)} << 16),
                 std::memory_order_release);
  }
  work_cv_.notify_all();
  const int ran = Drain(gen, task, ctx);
  std::unique_lock<std::mutex> lock(mu_);
  done_ += ran;
  done_cv_.wait(lock, [&] { return done_ == lanes; });
}

void ThreadPool::WorkerLoop() {
  uint32_t seen = 0;
  for (;;) {
    Task task;
    void* ctx;
    uint32_t gen;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = gen = generation_;
      task = task_;
      ctx = ctx_;
    }
    // Claim checks the generation, so task/ctx are only used while that Run is in progress.
    const int ran = Drain(gen, task, ctx);
    if (ran > 0) {
      std::lock_guard<std::mutex> lock(mu_);
      done_ += ran;
      done_cv_.notify_one();
    }
  }
}

}  // namespace sotto::kernels

#include "sotto/kernels/thread_pool.h"

#include <string>
#include <system_error>

namespace sotto::kernels {

StatusOr<std::unique_ptr<ThreadPool>> ThreadPool::Create(int num_threads) {
  if (num_threads < 1 || num_threads > 256) {
    return InvalidArgumentError("ThreadPool: num_threads must be in [1, 256], got " +
                                std::to_string(num_threads));
  }
  std::unique_ptr<ThreadPool> pool(new ThreadPool(num_threads));  // private constructor
  try {
    for (int lane = 1; lane < num_threads; ++lane) {
      pool->workers_.emplace_back([p = pool.get(), lane] { p->WorkerLoop(lane); });
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

void ThreadPool::RunErased(int lanes, Task task, void* ctx) {
  if (lanes > num_threads_) lanes = num_threads_;
  if (lanes <= 1 || workers_.empty()) {
    for (int lane = 0; lane < lanes; ++lane) task(ctx, lane);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    task_ = task;
    ctx_ = ctx;
    lanes_ = lanes;
    pending_ = lanes - 1;
    ++generation_;
  }
  work_cv_.notify_all();
  task(ctx, 0);
  std::unique_lock<std::mutex> lock(mu_);
  done_cv_.wait(lock, [this] { return pending_ == 0; });
}

void ThreadPool::WorkerLoop(int lane) {
  uint64_t seen = 0;
  for (;;) {
    Task task;
    void* ctx;
    {
      std::unique_lock<std::mutex> lock(mu_);
      work_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      if (lane >= lanes_) continue;
      task = task_;
      ctx = ctx_;
    }
    task(ctx, lane);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (--pending_ == 0) done_cv_.notify_one();
    }
  }
}

}  // namespace sotto::kernels

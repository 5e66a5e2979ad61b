#include "sotto/kernels/backend.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "sotto/kernels/error_feedback.h"
#include "sotto/kernels/scratch.h"
#include "sotto/kernels/select.h"
#include "sotto/kernels/thread_pool.h"
#include "sotto/kernels/topk.h"

namespace sotto::kernels {
namespace {

TEST(BackendTest, DeviceDetectionIsClean) {
  const int count = CudaDeviceCount();
  EXPECT_GE(count, 0);
  EXPECT_EQ(CudaDeviceCount(), count) << "cached";
  EXPECT_EQ(CudaAvailable(), CudaCompiled() && count > 0);
  if (!CudaCompiled()) {
    EXPECT_EQ(count, 0);
  }
}

TEST(BackendTest, ResolveBackend) {
  EXPECT_EQ(ResolveBackend(Backend::kCpu, size_t{1} << 30).value(), Backend::kCpu);
  EXPECT_EQ(ResolveBackend(Backend::kAuto, 10).value(), Backend::kCpu);
  if (CudaAvailable()) {
    EXPECT_EQ(ResolveBackend(Backend::kAuto, kCudaMinElements).value(), Backend::kCuda);
    EXPECT_EQ(ResolveBackend(Backend::kCuda, 10).value(), Backend::kCuda);
  } else {
    EXPECT_EQ(ResolveBackend(Backend::kAuto, kCudaMinElements).value(), Backend::kCpu);
    EXPECT_EQ(ResolveBackend(Backend::kCuda, 10).status().code(), StatusCode::kFailedPrecondition);
  }
  EXPECT_EQ(BackendName(Backend::kCuda), "cuda");
}

TEST(BackendTest, CudaRequestsFailCleanlyWithoutDevice) {
  if (CudaAvailable()) GTEST_SKIP() << "a CUDA device is present";
  ExecOptions cuda;
  cuda.backend = Backend::kCuda;
  const std::vector<float> x(100, 1.0f);
  std::vector<float> e(100, 0.0f);
  std::vector<uint32_t> idx(100);
  Scratch scratch;
  auto bytes = scratch.Get(1 << 20);
  EXPECT_EQ(TopK(x, 5, idx, {}, bytes, cuda).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(ThresholdSelect(x, 0.5f, idx, {}, bytes, cuda).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(GaussianK(x, 5, idx, {}, bytes, cuda).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrorFeedbackStep(x, e, EfSelection::TopK(5), idx, {}, bytes, cuda).status().code(),
            StatusCode::kFailedPrecondition);
  // kAuto on a large vector quietly uses the CPU.
  const std::vector<float> big(kCudaMinElements, 1.0f);
  ExecOptions automatic;
  auto r = TopK(big, 3, idx, {}, scratch.Get(TopKScratchBytes(big.size(), 3)), automatic);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->backend, Backend::kCpu);
}

TEST(ThreadPoolTest, RunsEveryLaneOnce) {
  auto pool = ThreadPool::Create(3);
  ASSERT_TRUE(pool.ok()) << pool.status();
  EXPECT_EQ((*pool)->num_threads(), 3);
  for (int round = 0; round < 100; ++round) {
    std::vector<std::atomic<int>> hits(3);
    (*pool)->Run(3, [&](int lane) { hits[lane].fetch_add(1); });
    for (auto& h : hits) ASSERT_EQ(h.load(), 1);
    std::atomic<int> two{0};
    (*pool)->Run(2, [&](int lane) { two.fetch_add(lane + 1); });
    ASSERT_EQ(two.load(), 3);
  }
}

// Wake() publishes a generation with no lanes: sleeping workers wake and spin, but must not
// run the previous Run's task again, and the next Run still runs every lane once.
TEST(ThreadPoolTest, WakeRunsNothingAndTheNextRunWorks) {
  auto pool = ThreadPool::Create(3);
  ASSERT_TRUE(pool.ok()) << pool.status();
  std::atomic<int> calls{0};
  auto count = [&](int) { calls.fetch_add(1); };
  (*pool)->Run(3, count);
  for (int round = 1; round <= 5; ++round) {
    // The workers spin about 250 us after a Run, then sleep.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    (*pool)->Wake();
    (*pool)->Wake();  // while they spin: nothing
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ASSERT_EQ(calls.load(), 3 * round) << "a wake ran the previous task (round " << round << ")";
    (*pool)->Run(3, count);
    ASSERT_EQ(calls.load(), 3 * round + 3);
  }
  auto one = ThreadPool::Create(1);
  ASSERT_TRUE(one.ok());
  (*one)->Wake();  // no workers: nothing to do
  (*one)->Run(2, count);
  EXPECT_EQ(calls.load(), 20);
}

TEST(ThreadPoolTest, RejectsBadSizes) {
  EXPECT_EQ(ThreadPool::Create(0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ThreadPool::Create(1000).status().code(), StatusCode::kInvalidArgument);
  auto one = ThreadPool::Create(1);
  ASSERT_TRUE(one.ok());
  int calls = 0;
  (*one)->Run(1, [&](int) { ++calls; });
  EXPECT_EQ(calls, 1);
}

TEST(ScratchTest, GrowsAndAligns) {
  Scratch s;
  auto a = s.Get(10);
  EXPECT_EQ(a.size(), 10u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a.data()) % 64, 0u);
  auto b = s.Get(1 << 20);
  EXPECT_EQ(b.size(), size_t{1} << 20);
  EXPECT_GE(s.capacity(), size_t{1} << 20);
}

}  // namespace
}  // namespace sotto::kernels

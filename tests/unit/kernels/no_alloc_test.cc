// The kernels' two-phase contract: once the caller holds scratch of the reported size, a call
// allocates nothing (CUB's temp-storage pattern; style guide rule 15). This binary replaces the
// global operator new/delete to count allocations around calls on every SIMD level and with a
// two-thread pool. (Own binary: the replacement applies to the whole program.)

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

#include "kernels_test_util.h"
#include "sotto/kernels/error_feedback.h"
#include "sotto/kernels/scratch.h"
#include "sotto/kernels/select.h"
#include "sotto/kernels/topk.h"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return ::operator new(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace sotto::kernels {
namespace {

constexpr uint64_t kSeed = 0xa110c;

TEST(NoAllocTest, TheCounterSeesAllocations) {
  const long before = g_allocations.load();
  auto p = std::make_unique<std::vector<int>>(100);
  EXPECT_GE(g_allocations.load() - before, 2);
}

TEST(NoAllocTest, CallsWithScratchDoNotAllocate) {
  const size_t n = (size_t{1} << 18) + 5;  // several lanes with two threads
  const std::vector<float> x = testing::MakeData(testing::Dist::kLaplace, n, kSeed);
  const std::vector<float> e0 = testing::MakeData(testing::Dist::kGaussian, n, kSeed + 1);
  std::vector<float> e(n);
  for (int threads : {1, 2}) {
    for (const testing::Config& config : testing::EverySimd(threads, CpuTopKAlgorithm::kAuto)) {
      SCOPED_TRACE(testing::ConfigName(config) + " seed=" + std::to_string(kSeed));
      const ExecOptions options = testing::OptionsFor(config);
      for (size_t k : {n / 1000, n / 100, n / 10}) {
        std::vector<uint32_t> idx(k);
        std::vector<float> val(k);
        std::vector<uint32_t> cap_idx(n);
        Scratch scratch;
        const EfSelection sel = EfSelection::TopK(k);
        const size_t bytes = std::max({TopKScratchBytes(n, k, options),
                                       ErrorFeedbackScratchBytes(n, sel, k, options),
                                       ThresholdScratchBytes(n, n, options)});
        const std::span<std::byte> buf = scratch.Get(bytes);
        e = e0;
        const long before = g_allocations.load();
        const bool ok = TopK(x, k, idx, val, buf, options).ok() &&
                        ErrorFeedbackStep(x, e, sel, idx, val, buf, options).ok() &&
                        ThresholdSelect(x, 1.0f, cap_idx, {}, buf, options).ok();
        const long during = g_allocations.load() - before;
        ASSERT_TRUE(ok);
        EXPECT_EQ(during, 0) << "k=" << k;
      }
    }
  }
}

}  // namespace
}  // namespace sotto::kernels

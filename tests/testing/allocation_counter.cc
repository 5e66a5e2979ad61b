#include "allocation_counter.h"

#include <cerrno>
#include <cstddef>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define SOTTO_TEST_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SOTTO_TEST_SANITIZED 1
#endif

#if defined(__GLIBC__) && !defined(SOTTO_TEST_SANITIZED)
#define SOTTO_COUNT_ALLOCATIONS 1
#else
#define SOTTO_COUNT_ALLOCATIONS 0
#endif

namespace {
bool g_counting = false;
size_t g_allocations = 0;

[[maybe_unused]] void CountAllocation() {
  if (g_counting) {
    ++g_allocations;
  }
}
}  // namespace

namespace sotto::testing {

bool AllocationCountingAvailable() { return SOTTO_COUNT_ALLOCATIONS != 0; }

void StartCountingAllocations() {
  g_allocations = 0;
  g_counting = true;
}

size_t StopCountingAllocations() {
  g_counting = false;
  return g_allocations;
}

}  // namespace sotto::testing

#if SOTTO_COUNT_ALLOCATIONS
extern "C" {
void* __libc_malloc(size_t size);
void* __libc_calloc(size_t count, size_t size);
void* __libc_realloc(void* pointer, size_t size);
void* __libc_memalign(size_t alignment, size_t size);

void* malloc(size_t size) noexcept {
  CountAllocation();
  return __libc_malloc(size);
}
void* calloc(size_t count, size_t size) noexcept {
  CountAllocation();
  return __libc_calloc(count, size);
}
void* realloc(void* pointer, size_t size) noexcept {
  CountAllocation();
  return __libc_realloc(pointer, size);
}
void* memalign(size_t alignment, size_t size) noexcept {
  CountAllocation();
  return __libc_memalign(alignment, size);
}
void* aligned_alloc(size_t alignment, size_t size) noexcept {
  CountAllocation();
  return __libc_memalign(alignment, size);
}
int posix_memalign(void** pointer, size_t alignment, size_t size) noexcept {
  CountAllocation();
  *pointer = __libc_memalign(alignment, size);
  return *pointer == nullptr ? ENOMEM : 0;
}
}  // extern "C"
#endif

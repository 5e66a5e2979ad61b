#pragma once

// Back-end choice and execution options shared by every kernel in sotto::kernels.
//
// Each kernel has one API and two back ends. The CPU path is the reference and is always
// built. The CUDA path is built when the project is configured with CUDA (SOTTO_HAVE_CUDA) and
// runs only where a device exists: with Backend::kAuto a call goes to CUDA when a device is
// present and the vector has at least kCudaMinElements elements, otherwise to the CPU. Both
// back ends return the same selection (the rules in topk.h and select.h are exact), so the
// choice changes the speed, never the result.
//
// Thread-safety: the functions here are thread-safe. ExecOptions is a plain value; the
// ThreadPool it points to is not owned and must outlive the call (see thread_pool.h).

#include <cstddef>
#include <string_view>

#include "sotto/base/statusor.h"

namespace sotto::kernels {

class ThreadPool;

enum class Backend {
  kAuto,  // CUDA when a device exists and n >= kCudaMinElements, else CPU.
  kCpu,   // Always the CPU reference.
  kCuda,  // CUDA; FailedPrecondition where it was not built or no device exists.
};

std::string_view BackendName(Backend backend);

// Below this many elements a host-memory call stays on the CPU even with a device: copying
// to the device and launching costs more than the selection itself.
inline constexpr size_t kCudaMinElements = size_t{1} << 22;

// True when this build contains the CUDA kernels.
bool CudaCompiled();

// Number of usable CUDA devices: 0 when CUDA was not built, no driver is installed, or no
// device is present (never an error). Queried once, then cached.
int CudaDeviceCount();

// CudaCompiled() && CudaDeviceCount() > 0.
bool CudaAvailable();

// The back end a call over `n` elements runs on: kCpu or kCuda, never kAuto. Asking for
// kCuda where it is unavailable is FailedPrecondition.
StatusOr<Backend> ResolveBackend(Backend requested, size_t n);

// Top-k algorithm on the CPU. kAuto picks by size and density; the others exist so tests
// and benchmarks can exercise each path. All return the same result.
enum class CpuTopKAlgorithm {
  kAuto,
  kSampled,  // predict a window from a sample, one pass, select among candidates
  kRadix,    // 3-level radix select over the magnitude bits (bounded memory, any input)
  kSmall,    // select over packed (key, index) words; meant for small n
};

// SIMD code paths of the CPU back end, narrowest first. Every path returns bit-identical
// results; the level only changes the speed.
enum class SimdLevel {
  kScalar,  // portable C++
  kAvx2,    // AVX2 + POPCNT
  kAvx512,  // AVX-512 F, BW, VL, DQ + BMI2 (compress, mask registers)
};

std::string_view SimdLevelName(SimdLevel level);

struct ExecOptions {
  // Worker threads for the CPU path; nullptr runs on the calling thread only. Results do not
  // depend on the number of threads.
  ThreadPool* pool = nullptr;
  Backend backend = Backend::kAuto;
  // Use SIMD where the CPU has it (checked at run time). false forces the portable scalar
  // code; results are identical.
  bool use_simd = true;
  CpuTopKAlgorithm topk_algorithm = CpuTopKAlgorithm::kAuto;
  // The widest SIMD path a call may take; it runs at min(max_simd, CpuSimdLevel()), or scalar
  // when use_simd is false. Lowering it exists for tests and benchmarks.
  SimdLevel max_simd = SimdLevel::kAvx512;
};

// Number of CPU threads a call with `options` may use (1 without a pool).
int NumThreads(const ExecOptions& options);

// The widest SIMD level the running CPU (and OS) supports, detected once.
SimdLevel CpuSimdLevel();

// The level a CPU call with `options` runs at (see ExecOptions::max_simd).
SimdLevel EffectiveSimdLevel(const ExecOptions& options);

// CpuSimdLevel() >= kAvx2 / >= kAvx512.
bool CpuHasAvx2();
bool CpuHasAvx512();

}  // namespace sotto::kernels

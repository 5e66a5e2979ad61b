#include "sotto/kernels/backend.h"

#include "sotto/kernels/thread_pool.h"

namespace sotto::kernels {

std::string_view BackendName(Backend backend) {
  switch (backend) {
    case Backend::kAuto:
      return "auto";
    case Backend::kCpu:
      return "cpu";
    case Backend::kCuda:
      return "cuda";
  }
  return "unknown";
}

bool CudaAvailable() { return CudaCompiled() && CudaDeviceCount() > 0; }

StatusOr<Backend> ResolveBackend(Backend requested, size_t n) {
  switch (requested) {
    case Backend::kCpu:
      return Backend::kCpu;
    case Backend::kCuda:
      if (!CudaCompiled()) {
        return FailedPreconditionError("CUDA back end requested but this build has no CUDA");
      }
      if (CudaDeviceCount() == 0) {
        return FailedPreconditionError("CUDA back end requested but no CUDA device is present");
      }
      return Backend::kCuda;
    case Backend::kAuto:
      break;
  }
  return n >= kCudaMinElements && CudaAvailable() ? Backend::kCuda : Backend::kCpu;
}

int NumThreads(const ExecOptions& options) {
  return options.pool == nullptr ? 1 : options.pool->num_threads();
}

std::string_view SimdLevelName(SimdLevel level) {
  switch (level) {
    case SimdLevel::kScalar:
      return "scalar";
    case SimdLevel::kAvx2:
      return "avx2";
    case SimdLevel::kAvx512:
      return "avx512";
  }
  return "unknown";
}

SimdLevel CpuSimdLevel() {
  // __builtin_cpu_supports also checks that the OS saves the wider register state (XCR0).
  static const SimdLevel level = [] {
    __builtin_cpu_init();
    const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
    if (!avx2) return SimdLevel::kScalar;
    const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
                        __builtin_cpu_supports("bmi2");
    return avx512 ? SimdLevel::kAvx512 : SimdLevel::kAvx2;
  }();
  return level;
}

SimdLevel EffectiveSimdLevel(const ExecOptions& options) {
  if (!options.use_simd) return SimdLevel::kScalar;
  const SimdLevel cpu = CpuSimdLevel();
  return static_cast<int>(options.max_simd) < static_cast<int>(cpu) ? options.max_simd : cpu;
}

bool CpuHasAvx2() { return CpuSimdLevel() >= SimdLevel::kAvx2; }
bool CpuHasAvx512() { return CpuSimdLevel() >= SimdLevel::kAvx512; }

}  // namespace sotto::kernels

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

bool CpuHasAvx2() {
  static const bool has = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
  }();
  return has;
}

}  // namespace sotto::kernels

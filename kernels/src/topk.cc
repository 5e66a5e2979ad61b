#include "sotto/kernels/topk.h"

#include <string>

#include "cpu/engine.h"
#include "cuda_bridge.h"
#include "sotto/base/status_macros.h"

namespace sotto::kernels {

size_t TopKScratchBytes(size_t n, size_t k, const ExecOptions& options) {
  return internal::TopKCpuScratchBytes(n, std::min(k, n), options);
}

StatusOr<SelectResult> TopK(std::span<const float> x, size_t k, std::span<uint32_t> out_idx,
                            std::span<float> out_val, std::span<std::byte> scratch,
                            const ExecOptions& options) {
  const size_t n = x.size();
  if (n > kMaxElements) return InvalidArgumentError("TopK: vector has 2^32 or more elements");
  if (k > n) {
    return InvalidArgumentError("TopK: k=" + std::to_string(k) + " > n=" + std::to_string(n));
  }
  if (out_idx.size() < k) return InvalidArgumentError("TopK: out_idx holds fewer than k entries");
  if (!out_val.empty() && out_val.size() < k) {
    return InvalidArgumentError("TopK: out_val is neither empty nor >= k entries");
  }
  float* val = out_val.empty() ? nullptr : out_val.data();
  ASSIGN_OR_RETURN(const Backend backend, ResolveBackend(options.backend, n));
  if (backend == Backend::kCuda) return internal::CudaTopKHost(x, k, out_idx.data(), val);
  const size_t need = TopKScratchBytes(n, k, options);
  if (scratch.size() < need) {
    return InvalidArgumentError("TopK: scratch has " + std::to_string(scratch.size()) +
                                " bytes, needs " + std::to_string(need));
  }
  internal::Arena arena(scratch);
  return internal::TopKCpu(internal::SelectInput{x.data(), nullptr, nullptr}, n, k, out_idx.data(),
                           val, arena, options);
}

}  // namespace sotto::kernels

#include "sotto/kernels/select.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "cpu/engine.h"
#include "cuda_bridge.h"
#include "sotto/base/random.h"
#include "sotto/base/status_macros.h"

namespace sotto::kernels {
namespace {

Status CheckOutputs(const char* what, size_t n, std::span<uint32_t> out_idx,
                    std::span<float> out_val) {
  if (n > kMaxElements) {
    return InvalidArgumentError(std::string(what) + ": vector has 2^32 or more elements");
  }
  if (!out_val.empty() && out_val.size() < out_idx.size()) {
    return InvalidArgumentError(std::string(what) +
                                ": out_val is neither empty nor as large as out_idx");
  }
  return OkStatus();
}

Status CheckScratch(const char* what, std::span<std::byte> scratch, size_t need) {
  if (scratch.size() < need) {
    return InvalidArgumentError(std::string(what) + ": scratch has " +
                                std::to_string(scratch.size()) + " bytes, needs " +
                                std::to_string(need));
  }
  return OkStatus();
}

}  // namespace

size_t ThresholdScratchBytes(size_t n, size_t capacity, const ExecOptions& options) {
  return internal::ThresholdCpuScratchBytes(n, capacity, options);
}

StatusOr<SelectResult> ThresholdSelect(std::span<const float> x, float tau,
                                       std::span<uint32_t> out_idx, std::span<float> out_val,
                                       std::span<std::byte> scratch, const ExecOptions& options) {
  RETURN_IF_ERROR(CheckOutputs("ThresholdSelect", x.size(), out_idx, out_val));
  if (std::isnan(tau)) return InvalidArgumentError("ThresholdSelect: tau is NaN");
  float* val = out_val.empty() ? nullptr : out_val.data();
  const size_t capacity = out_idx.size();
  ASSIGN_OR_RETURN(const Backend backend, ResolveBackend(options.backend, x.size()));
  if (backend == Backend::kCuda) {
    return internal::CudaThresholdHost(x, tau, capacity, out_idx.data(), val);
  }
  RETURN_IF_ERROR(
      CheckScratch("ThresholdSelect", scratch, ThresholdScratchBytes(x.size(), capacity, options)));
  internal::Arena arena(scratch);
  SelectResult result = internal::ThresholdCpu(internal::SelectInput{x.data(), nullptr, nullptr},
                                               x.size(), internal::ThresholdRule(tau), capacity,
                                               out_idx.data(), val, arena, options);
  if (result.num_above <= capacity) result.threshold = tau;
  return result;
}

size_t GaussianKScratchBytes(size_t n, size_t capacity, const ExecOptions& options) {
  return internal::GaussianKCpuScratchBytes(n, capacity, options);
}

StatusOr<SelectResult> GaussianK(std::span<const float> x, size_t k, std::span<uint32_t> out_idx,
                                 std::span<float> out_val, std::span<std::byte> scratch,
                                 const ExecOptions& options) {
  RETURN_IF_ERROR(CheckOutputs("GaussianK", x.size(), out_idx, out_val));
  if (k > x.size()) {
    return InvalidArgumentError("GaussianK: k=" + std::to_string(k) +
                                " > n=" + std::to_string(x.size()));
  }
  float* val = out_val.empty() ? nullptr : out_val.data();
  const size_t capacity = out_idx.size();
  ASSIGN_OR_RETURN(const Backend backend, ResolveBackend(options.backend, x.size()));
  if (backend == Backend::kCuda) {
    return internal::CudaGaussianKHost(x, k, capacity, out_idx.data(), val);
  }
  RETURN_IF_ERROR(
      CheckScratch("GaussianK", scratch, GaussianKScratchBytes(x.size(), capacity, options)));
  internal::Arena arena(scratch);
  return internal::GaussianKCpu(internal::SelectInput{x.data(), nullptr, nullptr}, x.size(), k,
                                capacity, out_idx.data(), val, arena, options);
}

size_t RandomKScratchBytes(size_t n) { return ((n + 63) / 64) * sizeof(uint64_t) + 64; }

Status RandomK(size_t n, size_t k, uint64_t seed, std::span<uint32_t> out_idx,
               std::span<std::byte> scratch) {
  if (n > kMaxElements) return InvalidArgumentError("RandomK: n is 2^32 or more");
  if (k > n) {
    return InvalidArgumentError("RandomK: k=" + std::to_string(k) + " > n=" + std::to_string(n));
  }
  if (out_idx.size() < k) return InvalidArgumentError("RandomK: out_idx holds fewer than k");
  RETURN_IF_ERROR(CheckScratch("RandomK", scratch, RandomKScratchBytes(n)));
  internal::Arena arena(scratch);
  const size_t words = (n + 63) / 64;
  uint64_t* bits = arena.Take<uint64_t>(words);
  std::memset(bits, 0, words * sizeof(uint64_t));
  const bool complement = k > n - k;
  const size_t m = complement ? n - k : k;
  Prng rng(seed);
  for (size_t kept = 0; kept < m;) {
    const uint64_t i = rng.UniformInt(n);
    const uint64_t bit = uint64_t{1} << (i & 63);
    if ((bits[i >> 6] & bit) == 0) {
      bits[i >> 6] |= bit;
      ++kept;
    }
  }
  size_t o = 0;
  for (size_t w = 0; w < words; ++w) {
    uint64_t word = complement ? ~bits[w] : bits[w];
    if (w == words - 1 && (n & 63) != 0) word &= (uint64_t{1} << (n & 63)) - 1;
    while (word != 0) {
      out_idx[o++] = static_cast<uint32_t>(w * 64 + static_cast<size_t>(std::countr_zero(word)));
      word &= word - 1;
    }
  }
  return OkStatus();
}

}  // namespace sotto::kernels

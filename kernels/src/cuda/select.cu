// Threshold, Gaussian-k and the fused error-feedback step on the GPU, built from a counting
// kernel (exact integer counts, so deterministic), cub::DeviceSelect::If for ordered
// compaction, and TopKDevice (topk.cu) for the capacity rule. These synchronise the stream:
// the count decides what runs next.

#include <thrust/iterator/counting_iterator.h>

#include <cmath>
#include <cub/block/block_reduce.cuh>
#include <cub/device/device_select.cuh>
#include <limits>
#include <vector>

#include "cpu/engine.h"
#include "cuda/cuda_common.cuh"
#include "sotto/kernels/cuda.h"

namespace sotto::kernels::cuda_internal {
namespace {

constexpr unsigned kBlock = 256;
constexpr size_t kStatChunk = 16384;

struct Above {
  const float* x;
  int32_t rule;  // key > rule
  __device__ bool operator()(uint32_t i) const {
    return static_cast<int32_t>(DeviceKey(x[i])) > rule;
  }
};

__global__ void CountAboveKernel(const float* __restrict__ x, size_t n, int32_t rule,
                                 unsigned long long* __restrict__ count) {
  using BlockReduce = cub::BlockReduce<unsigned long long, kBlock>;
  __shared__ typename BlockReduce::TempStorage storage;
  unsigned long long c = 0;
  const size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  for (size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    c += static_cast<int32_t>(DeviceKey(x[i])) > rule ? 1ull : 0ull;
  }
  const unsigned long long total = BlockReduce(storage).Sum(c);
  if (threadIdx.x == 0 && total != 0) atomicAdd(count, total);
}

struct Stats {
  double sum;
  double sumsq;
  unsigned long long finite;
};

// One block per fixed chunk of kStatChunk elements: the partials do not depend on the grid.
__global__ void StatsKernel(const float* __restrict__ x, size_t n, Stats* __restrict__ out) {
  using Reduce = cub::BlockReduce<double, kBlock>;
  using ReduceCount = cub::BlockReduce<unsigned long long, kBlock>;
  __shared__ typename Reduce::TempStorage s1;
  __shared__ typename Reduce::TempStorage s2;
  __shared__ typename ReduceCount::TempStorage s3;
  const size_t begin = static_cast<size_t>(blockIdx.x) * kStatChunk;
  const size_t end = begin + kStatChunk < n ? begin + kStatChunk : n;
  double sum = 0.0;
  double sumsq = 0.0;
  unsigned long long finite = 0;
  for (size_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
    const float v = x[i];
    if (DeviceKey(v) < 0x7f800000u) {
      const double d = static_cast<double>(v);
      sum += d;
      sumsq = __dadd_rn(sumsq, __dmul_rn(d, d));
      ++finite;
    }
  }
  const double bs = Reduce(s1).Sum(sum);
  const double bq = Reduce(s2).Sum(sumsq);
  const unsigned long long bf = ReduceCount(s3).Sum(finite);
  if (threadIdx.x == 0) out[blockIdx.x] = Stats{bs, bq, bf};
}

__global__ void AddKernel(const float* __restrict__ u, float* __restrict__ e, size_t n) {
  const size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  for (size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    e[i] = __fadd_rn(u[i], e[i]);
  }
}

__global__ void GatherKernel(const float* __restrict__ x, const uint32_t* __restrict__ idx,
                             size_t count, float* __restrict__ val) {
  const size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  for (size_t j = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; j < count;
       j += stride) {
    val[j] = x[idx[j]];
  }
}

__global__ void ZeroAtKernel(float* __restrict__ e, const uint32_t* __restrict__ idx,
                             size_t count) {
  const size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  for (size_t j = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; j < count;
       j += stride) {
    e[idx[j]] = 0.0f;
  }
}

__global__ void CopyKernel(const uint32_t* __restrict__ in, uint32_t* __restrict__ out,
                           size_t count) {
  const size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  for (size_t j = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; j < count;
       j += stride) {
    out[j] = in[j];
  }
}

// Flags a support that is not strictly ascending or has an index >= n.
__global__ void CheckSupportKernel(const uint32_t* __restrict__ idx, size_t count, size_t n,
                                   unsigned* __restrict__ bad) {
  const size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  for (size_t j = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; j < count;
       j += stride) {
    if (idx[j] >= n || (j > 0 && idx[j] <= idx[j - 1])) atomicOr(bad, 1u);
  }
}

struct SelectLayout {
  unsigned long long* count;
  int64_t* num;
  Stats* stats;
  void* cub;
  size_t cub_bytes;
  void* topk;
  size_t topk_bytes;
};

Status CarveSelect(void* base, size_t n, SelectLayout* l, size_t* total) {
  thrust::counting_iterator<uint32_t> first(0);
  size_t cub_bytes = 0;
  SOTTO_CUDA_RETURN_IF_ERROR(
      cub::DeviceSelect::If(nullptr, cub_bytes, first, static_cast<uint32_t*>(nullptr),
                            static_cast<int64_t*>(nullptr), static_cast<int64_t>(n), Above{}));
  const StatusOr<size_t> topk_bytes = TopKTemp(n);
  if (!topk_bytes.ok()) return topk_bytes.status();
  TempCarver c(base);
  l->count = c.Take<unsigned long long>(1);
  l->num = c.Take<int64_t>(1);
  l->stats = c.Take<Stats>((n + kStatChunk - 1) / kStatChunk);
  l->cub_bytes = cub_bytes;
  l->cub = c.Take<char>(cub_bytes);
  l->topk_bytes = *topk_bytes;
  l->topk = c.Take<char>(*topk_bytes);
  *total = c.used();
  return OkStatus();
}

StatusOr<size_t> CountAbove(const float* d_x, size_t n, int32_t rule, const SelectLayout& l,
                            cudaStream_t stream) {
  SOTTO_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(l.count, 0, sizeof(unsigned long long), stream));
  CountAboveKernel<<<GridFor(n, kBlock, 2048), kBlock, 0, stream>>>(d_x, n, rule, l.count);
  SOTTO_CUDA_RETURN_IF_LAUNCH_ERROR("CountAboveKernel");
  unsigned long long host = 0;
  SOTTO_CUDA_RETURN_IF_ERROR(
      cudaMemcpyAsync(&host, l.count, sizeof(host), cudaMemcpyDeviceToHost, stream));
  SOTTO_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream));
  return static_cast<size_t>(host);
}

// {key > rule} when it fits, else top-capacity; returns the count written.
StatusOr<SelectResult> SelectAbove(const float* d_x, size_t n, int32_t rule, size_t count,
                                   size_t capacity, uint32_t* d_idx, float* d_val,
                                   const SelectLayout& l, cudaStream_t stream) {
  SelectResult r;
  r.backend = Backend::kCuda;
  r.num_above = count;
  if (count <= capacity) {
    if (count > 0) {
      thrust::counting_iterator<uint32_t> first(0);
      size_t bytes = l.cub_bytes;
      SOTTO_CUDA_RETURN_IF_ERROR(cub::DeviceSelect::If(
          l.cub, bytes, first, d_idx, l.num, static_cast<int64_t>(n), Above{d_x, rule}, stream));
      if (d_val != nullptr) {
        GatherKernel<<<GridFor(count, kBlock), kBlock, 0, stream>>>(d_x, d_idx, count, d_val);
        SOTTO_CUDA_RETURN_IF_LAUNCH_ERROR("GatherKernel");
      }
    }
    SOTTO_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream));
    r.count = count;
    return r;
  }
  float kth = 0.0f;
  RETURN_IF_ERROR(TopKDevice(d_x, n, capacity, d_idx, d_val, l.topk, l.topk_bytes, stream, &kth));
  r.count = capacity;
  r.threshold = kth;
  return r;
}

StatusOr<SelectResult> GaussianDevice(const float* d_x, size_t n, size_t k, size_t capacity,
                                      uint32_t* d_idx, float* d_val, const SelectLayout& l,
                                      cudaStream_t stream) {
  if (k == 0 || k >= n) {
    const size_t take = k == 0 ? 0 : (capacity < n ? capacity : n);
    float kth = 0.0f;
    RETURN_IF_ERROR(TopKDevice(d_x, n, take, d_idx, d_val, l.topk, l.topk_bytes, stream, &kth));
    SelectResult r;
    r.backend = Backend::kCuda;
    r.count = take;
    r.num_above = k == 0 ? 0 : n;
    r.threshold = kth;
    return r;
  }
  const size_t chunks = (n + kStatChunk - 1) / kStatChunk;
  StatsKernel<<<static_cast<unsigned>(chunks), kBlock, 0, stream>>>(d_x, n, l.stats);
  SOTTO_CUDA_RETURN_IF_LAUNCH_ERROR("StatsKernel");
  std::vector<Stats> partial(chunks);
  SOTTO_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(partial.data(), l.stats, chunks * sizeof(Stats),
                                             cudaMemcpyDeviceToHost, stream));
  SOTTO_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream));
  double sum = 0.0;
  double sumsq = 0.0;
  unsigned long long finite = 0;
  for (const Stats& s : partial) {
    sum += s.sum;
    sumsq += s.sumsq;
    finite += s.finite;
  }
  double mean = 0.0;
  double stddev = 0.0;
  if (finite > 0) {
    mean = sum / static_cast<double>(finite);
    stddev = std::sqrt(std::fmax(0.0, sumsq / static_cast<double>(finite) - mean * mean));
  }
  const double rho = static_cast<double>(k) / static_cast<double>(n);
  double tau = std::fabs(mean) + internal::NormalQuantile(1.0 - rho / 2.0) * stddev;
  const size_t lo = (2 * k + 2) / 3;
  const size_t hi = 4 * k / 3;
  double taus[4];
  size_t counts[4];
  int tries = 0;
  for (;;) {
    if (!std::isfinite(tau)) tau = std::numeric_limits<float>::max();
    const auto tau_f = static_cast<float>(tau);
    const StatusOr<size_t> c = CountAbove(d_x, n, internal::ThresholdRule(tau_f), l, stream);
    if (!c.ok()) return c.status();
    taus[tries] = tau_f;
    counts[tries] = *c;
    ++tries;
    if ((*c >= lo && *c <= hi) || tries == 4) break;
    tau = internal::GaussianCorrectTau(taus, counts, tries, k, n);
  }
  const auto tau_f = static_cast<float>(taus[tries - 1]);
  StatusOr<SelectResult> r = SelectAbove(d_x, n, internal::ThresholdRule(tau_f), counts[tries - 1],
                                         capacity, d_idx, d_val, l, stream);
  if (!r.ok()) return r;
  r->threshold = tau_f;
  r->corrections = tries - 1;
  return r;
}

}  // namespace
}  // namespace sotto::kernels::cuda_internal

namespace sotto::kernels::cuda {

using cuda_internal::SelectLayout;

StatusOr<size_t> SelectTempBytes(size_t n, size_t /*capacity*/) {
  SelectLayout l;
  size_t total = 0;
  const Status s = cuda_internal::CarveSelect(nullptr, n, &l, &total);
  if (!s.ok()) return s;
  return total;
}

StatusOr<SelectResult> ThresholdSelect(const float* d_x, size_t n, float tau, uint32_t* d_idx,
                                       float* d_val, size_t capacity, void* d_temp,
                                       size_t temp_bytes, Stream stream) {
  if (n > kMaxElements) return InvalidArgumentError("cuda::ThresholdSelect: too many elements");
  if (std::isnan(tau)) return InvalidArgumentError("cuda::ThresholdSelect: tau is NaN");
  SelectLayout l;
  size_t total = 0;
  RETURN_IF_ERROR(cuda_internal::CarveSelect(d_temp, n, &l, &total));
  if (temp_bytes < total) return InvalidArgumentError("cuda::ThresholdSelect: temp too small");
  auto s = reinterpret_cast<cudaStream_t>(stream);
  const int32_t rule = internal::ThresholdRule(tau);
  const StatusOr<size_t> count = cuda_internal::CountAbove(d_x, n, rule, l, s);
  if (!count.ok()) return count.status();
  StatusOr<SelectResult> r =
      cuda_internal::SelectAbove(d_x, n, rule, *count, capacity, d_idx, d_val, l, s);
  if (r.ok() && r->num_above <= capacity) r->threshold = tau;
  return r;
}

StatusOr<SelectResult> GaussianK(const float* d_x, size_t n, size_t k, uint32_t* d_idx,
                                 float* d_val, size_t capacity, void* d_temp, size_t temp_bytes,
                                 Stream stream) {
  if (n > kMaxElements) return InvalidArgumentError("cuda::GaussianK: too many elements");
  if (k > n) return InvalidArgumentError("cuda::GaussianK: k > n");
  SelectLayout l;
  size_t total = 0;
  RETURN_IF_ERROR(cuda_internal::CarveSelect(d_temp, n, &l, &total));
  if (temp_bytes < total) return InvalidArgumentError("cuda::GaussianK: temp too small");
  return cuda_internal::GaussianDevice(d_x, n, k, capacity, d_idx, d_val, l,
                                       reinterpret_cast<cudaStream_t>(stream));
}

StatusOr<size_t> ErrorFeedbackTempBytes(size_t n, const EfSelection& /*selection*/,
                                        size_t capacity) {
  return SelectTempBytes(n, capacity);
}

StatusOr<SelectResult> ErrorFeedbackStep(const float* d_u, float* d_e, size_t n,
                                         const EfSelection& selection, uint32_t* d_idx,
                                         float* d_val, size_t capacity, void* d_temp,
                                         size_t temp_bytes, Stream stream) {
  using cuda_internal::GridFor;
  using cuda_internal::kBlock;
  if (n > kMaxElements) return InvalidArgumentError("cuda::ErrorFeedbackStep: too many elements");
  if ((selection.kind == EfSelection::Kind::kTopK ||
       selection.kind == EfSelection::Kind::kGaussianK) &&
      selection.k > n) {
    return InvalidArgumentError("cuda::ErrorFeedbackStep: k > n");
  }
  if (selection.kind == EfSelection::Kind::kTopK && capacity < selection.k) {
    return InvalidArgumentError("cuda::ErrorFeedbackStep: capacity < k");
  }
  if (selection.kind == EfSelection::Kind::kThreshold && std::isnan(selection.tau)) {
    return InvalidArgumentError("cuda::ErrorFeedbackStep: tau is NaN");
  }
  if (selection.kind == EfSelection::Kind::kSupport && capacity < selection.support.size()) {
    return InvalidArgumentError("cuda::ErrorFeedbackStep: capacity < support size");
  }
  SelectLayout l;
  size_t total = 0;
  RETURN_IF_ERROR(cuda_internal::CarveSelect(d_temp, n, &l, &total));
  if (temp_bytes < total) return InvalidArgumentError("cuda::ErrorFeedbackStep: temp too small");
  auto s = reinterpret_cast<cudaStream_t>(stream);
  const size_t m = selection.support.size();
  if (selection.kind == EfSelection::Kind::kSupport && m > 0) {
    auto* bad = reinterpret_cast<unsigned*>(l.count);
    SOTTO_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(bad, 0, sizeof(unsigned), s));
    cuda_internal::CheckSupportKernel<<<GridFor(m, kBlock), kBlock, 0, s>>>(
        selection.support.data(), m, n, bad);
    SOTTO_CUDA_RETURN_IF_LAUNCH_ERROR("CheckSupportKernel");
    unsigned host_bad = 0;
    SOTTO_CUDA_RETURN_IF_ERROR(
        cudaMemcpyAsync(&host_bad, bad, sizeof(host_bad), cudaMemcpyDeviceToHost, s));
    SOTTO_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(s));
    if (host_bad != 0) {
      return InvalidArgumentError(
          "cuda::ErrorFeedbackStep: support not strictly ascending or out of range");
    }
  }
  // a = u + e, in place.
  if (n > 0) {
    cuda_internal::AddKernel<<<GridFor(n, kBlock, 4096), kBlock, 0, s>>>(d_u, d_e, n);
    SOTTO_CUDA_RETURN_IF_LAUNCH_ERROR("AddKernel");
  }
  SelectResult r;
  r.backend = Backend::kCuda;
  switch (selection.kind) {
    case EfSelection::Kind::kTopK:
      r.count = selection.k;
      r.num_above = selection.k;
      RETURN_IF_ERROR(cuda_internal::TopKDevice(d_e, n, selection.k, d_idx, d_val, l.topk,
                                                l.topk_bytes, s, &r.threshold));
      break;
    case EfSelection::Kind::kThreshold: {
      const int32_t rule = internal::ThresholdRule(selection.tau);
      const StatusOr<size_t> count = cuda_internal::CountAbove(d_e, n, rule, l, s);
      if (!count.ok()) return count.status();
      const StatusOr<SelectResult> t =
          cuda_internal::SelectAbove(d_e, n, rule, *count, capacity, d_idx, d_val, l, s);
      if (!t.ok()) return t.status();
      r = *t;
      if (r.num_above <= capacity) r.threshold = selection.tau;
      break;
    }
    case EfSelection::Kind::kGaussianK: {
      const StatusOr<SelectResult> t =
          cuda_internal::GaussianDevice(d_e, n, selection.k, capacity, d_idx, d_val, l, s);
      if (!t.ok()) return t.status();
      r = *t;
      break;
    }
    case EfSelection::Kind::kSupport:
      r.count = m;
      r.num_above = m;
      if (m > 0) {
        cuda_internal::CopyKernel<<<GridFor(m, kBlock), kBlock, 0, s>>>(selection.support.data(),
                                                                        d_idx, m);
        if (d_val != nullptr) {
          cuda_internal::GatherKernel<<<GridFor(m, kBlock), kBlock, 0, s>>>(d_e, d_idx, m, d_val);
        }
        SOTTO_CUDA_RETURN_IF_LAUNCH_ERROR("support gather");
      }
      break;
  }
  // Selected coordinates leave e (their values were gathered above, in stream order).
  if (r.count > 0) {
    cuda_internal::ZeroAtKernel<<<GridFor(r.count, kBlock), kBlock, 0, s>>>(d_e, d_idx, r.count);
    SOTTO_CUDA_RETURN_IF_LAUNCH_ERROR("ZeroAtKernel");
  }
  SOTTO_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(s));
  return r;
}

}  // namespace sotto::kernels::cuda

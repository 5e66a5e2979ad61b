#include "sotto/core/compress/compressor.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <utility>

#include "compress/wire_rounding.h"
#include "sotto/base/check.h"
#include "sotto/base/random.h"
#include "sotto/base/status_macros.h"
#include "sotto/kernels/backend.h"
#include "sotto/kernels/error_feedback.h"
#include "sotto/kernels/scratch.h"
#include "sotto/kernels/select.h"
#include "sotto/kernels/selection.h"
#include "sotto/kernels/thread_pool.h"

namespace sotto::compress {
namespace {

// ThreadPool::Create refuses more lanes than this.
constexpr int kMaxThreads = 256;

Status Invalid(const std::string& what) { return InvalidArgumentError("compressor: " + what); }

bool KnownSparsifier(SparsifierKind kind) {
  switch (kind) {
    case SparsifierKind::kIdentity:
    case SparsifierKind::kTopK:
    case SparsifierKind::kGaussianK:
    case SparsifierKind::kThreshold:
    case SparsifierKind::kRandomK:
      return true;
  }
  return false;
}

bool KnownErrorFeedback(ErrorFeedback ef) {
  switch (ef) {
    case ErrorFeedback::kNone:
    case ErrorFeedback::kClassic:
    case ErrorFeedback::kStepAhead:
      return true;
  }
  return false;
}

bool IsFloatCoding(ValueCoding coding) {
  return coding == ValueCoding::kFp32 || coding == ValueCoding::kFp16 ||
         coding == ValueCoding::kBf16;
}

// Index/value buffer capacity per sparsifier. Threshold: every coordinate may pass, so the whole
// d (a pure threshold rule, never capped). Gaussian-k: ceil(4k/3), the top of the kernel's
// target band; a count above it keeps the exact top-ceil(4k/3) of the passing elements.
size_t CapacityFor(SparsifierKind kind, size_t dim, size_t k) {
  switch (kind) {
    case SparsifierKind::kIdentity:
    case SparsifierKind::kThreshold:
      return dim;
    case SparsifierKind::kGaussianK:
      return std::min(dim, (4 * k + 2) / 3);
    case SparsifierKind::kTopK:
    case SparsifierKind::kRandomK:
      return k;
  }
  return dim;
}

// Refuses a non-finite u_i, or an a_i = u_i + e_i the value coding cannot carry exactly, before
// any state changes. One test covers both (NaN/Inf make |a_i| fail the comparison, e being
// finite); the slow loop only runs to name the culprit.
Status CheckUpdate(std::span<const float> update, std::span<const float> e, float bound) {
  size_t bad = 0;
  for (size_t i = 0; i < update.size(); ++i) {
    bad += !(std::fabs(update[i] + e[i]) < bound);
  }
  if (bad == 0) {
    return OkStatus();
  }
  for (size_t i = 0; i < update.size(); ++i) {
    if (!std::isfinite(update[i])) {
      return Invalid("Compress: update[" + std::to_string(i) + "] is not finite (" +
                     std::to_string(update[i]) + ")");
    }
    const float a = update[i] + e[i];
    if (!(std::fabs(a) < bound)) {
      return Invalid("Compress: update[" + std::to_string(i) + "] + error = " + std::to_string(a) +
                     " is beyond what the value coding carries exactly");
    }
  }
  return OkStatus();
}

}  // namespace

Status ValidateCompressorOptions(const CompressorOptions& options) {
  if (!KnownSparsifier(options.sparsifier)) {
    return Invalid("sparsifier: unknown kind " +
                   std::to_string(static_cast<int>(options.sparsifier)));
  }
  if (!KnownErrorFeedback(options.error_feedback)) {
    return Invalid("error_feedback: unknown policy " +
                   std::to_string(static_cast<int>(options.error_feedback)));
  }
  if (!(options.density > 0.0 && options.density <= 1.0)) {
    return Invalid("density: must be in (0, 1], got " + std::to_string(options.density));
  }
  if (!(options.threshold >= 0.0f)) {
    return Invalid("threshold: must be >= 0 and not NaN, got " + std::to_string(options.threshold));
  }
  if (options.averaging_period < 0) {
    return Invalid("averaging_period: must be >= 0, got " +
                   std::to_string(options.averaging_period));
  }
  if (!IsFloatCoding(options.value_coding)) {
    return Invalid("value_coding: must be fp32, fp16 or bf16 (ring codings carry masked sums)");
  }
  if (options.threads < 1 || options.threads > kMaxThreads) {
    return Invalid("threads: must be in [1, " + std::to_string(kMaxThreads) + "], got " +
                   std::to_string(options.threads));
  }
  return OkStatus();
}

size_t KForDensity(size_t dim, double density) {
  if (dim == 0) {
    return 0;
  }
  const double k = std::round(density * static_cast<double>(dim));
  if (!(k >= 1.0)) {  // also a NaN density
    return 1;
  }
  if (k >= static_cast<double>(dim)) {
    return dim;
  }
  return static_cast<size_t>(k);
}

struct Compressor::State {
  CompressorOptions options;
  size_t dim = 0;
  size_t k = 0;         // top-k, Gaussian-k (target), random-k
  size_t capacity = 0;  // entries of idx/val
  std::vector<float> error;
  std::vector<uint32_t> idx;
  std::vector<float> val;
  std::vector<uint32_t> support;      // random-k
  std::vector<uint32_t> support_idx;  // CompressOnSupport's index output
  std::unique_ptr<kernels::ThreadPool> pool;
  kernels::ExecOptions exec;
  kernels::Scratch scratch;
  std::span<std::byte> scratch_span;
};

Compressor::Compressor(std::unique_ptr<State> state) : state_(std::move(state)) {}
Compressor::~Compressor() = default;

StatusOr<std::unique_ptr<Compressor>> Compressor::Create(const CompressorOptions& options,
                                                         size_t dim) {
  RETURN_IF_ERROR(ValidateCompressorOptions(options));
  if (dim == 0 || dim > kernels::kMaxElements) {
    return Invalid("dim: must be in [1, 2^32 - 1], got " + std::to_string(dim));
  }
  auto state = std::make_unique<State>();
  state->options = options;
  state->dim = dim;
  state->k = KForDensity(dim, options.density);
  state->capacity = CapacityFor(options.sparsifier, dim, state->k);
  state->error.assign(dim, 0.0f);
  state->idx.resize(state->capacity);
  state->val.resize(state->capacity);
  if (options.threads > 1) {
    ASSIGN_OR_RETURN(state->pool, kernels::ThreadPool::Create(options.threads));
    state->exec.pool = state->pool.get();
  }

  size_t scratch_bytes = 0;
  switch (options.sparsifier) {
    case SparsifierKind::kIdentity:
      break;
    case SparsifierKind::kTopK:
      scratch_bytes = kernels::ErrorFeedbackScratchBytes(dim, kernels::EfSelection::TopK(state->k),
                                                         state->capacity, state->exec);
      break;
    case SparsifierKind::kGaussianK:
      scratch_bytes = kernels::ErrorFeedbackScratchBytes(
          dim, kernels::EfSelection::GaussianK(state->k), state->capacity, state->exec);
      break;
    case SparsifierKind::kThreshold:
      scratch_bytes = kernels::ErrorFeedbackScratchBytes(
          dim, kernels::EfSelection::Threshold(options.threshold), state->capacity, state->exec);
      break;
    case SparsifierKind::kRandomK:
      state->support.resize(state->k);
      // RandomK and the support step run one after the other and share the scratch.
      scratch_bytes = std::max(
          kernels::RandomKScratchBytes(dim),
          kernels::ErrorFeedbackScratchBytes(dim, kernels::EfSelection::Support(state->support),
                                             state->capacity, state->exec));
      break;
  }
  state->scratch_span = state->scratch.Get(scratch_bytes);
  return std::unique_ptr<Compressor>(new Compressor(std::move(state)));
}

size_t Compressor::dim() const { return state_->dim; }
const CompressorOptions& Compressor::options() const { return state_->options; }
std::span<const float> Compressor::error() const { return state_->error; }

Status Compressor::Compress(std::span<const float> update, uint64_t round, SparseUpdate* out) {
  State& s = *state_;
  if (out == nullptr) {
    return Invalid("Compress: out is null");
  }
  if (update.size() != s.dim) {
    return Invalid("Compress: update has " + std::to_string(update.size()) +
                   " values, the compressor " + std::to_string(s.dim));
  }
  const ValueCoding coding = s.options.value_coding;
  std::span<float> e = s.error;

  RETURN_IF_ERROR(CheckUpdate(update, e, internal::MagnitudeBound(coding)));

  size_t count = 0;
  if (s.options.sparsifier == SparsifierKind::kIdentity) {
    for (size_t i = 0; i < s.dim; ++i) {
      const float a = update[i] + e[i];
      const float wire = internal::RoundToWire(a, coding);
      s.idx[i] = static_cast<uint32_t>(i);
      s.val[i] = wire;
      e[i] = a - wire;
    }
    count = s.dim;
  } else {
    kernels::EfSelection selection;
    switch (s.options.sparsifier) {
      case SparsifierKind::kTopK:
        selection = kernels::EfSelection::TopK(s.k);
        break;
      case SparsifierKind::kGaussianK:
        selection = kernels::EfSelection::GaussianK(s.k);
        break;
      case SparsifierKind::kThreshold:
        selection = kernels::EfSelection::Threshold(s.options.threshold);
        break;
      case SparsifierKind::kRandomK:
        RETURN_IF_ERROR(kernels::RandomK(s.dim, s.k, DeriveSeed(s.options.support_seed, round),
                                         s.support, s.scratch_span));
        selection = kernels::EfSelection::Support(s.support);
        break;
      case SparsifierKind::kIdentity:
        break;
    }
    // An argument error returns before the kernel writes anything, so the state is intact.
    ASSIGN_OR_RETURN(
        const kernels::SelectResult result,
        kernels::ErrorFeedbackStep(update, e, selection, s.idx, s.val, s.scratch_span, s.exec));
    count = result.count;
    if (coding != ValueCoding::kFp32) {
      // The step left e_i = 0 on the support; keep the wire rounding error there instead.
      for (size_t j = 0; j < count; ++j) {
        const float a = s.val[j];
        const float wire = internal::RoundToWire(a, coding);
        s.val[j] = wire;
        e[s.idx[j]] += a - wire;
      }
    }
  }
  if (s.options.error_feedback == ErrorFeedback::kNone) {
    std::fill(e.begin(), e.end(), 0.0f);
  }

  out->dim = s.dim;
  out->format = SparseFormat{};
  out->format.value_coding = coding;
  // assign() reuses the capacity of a message the caller passes again: no allocation.
  out->indices.assign(s.idx.begin(), s.idx.begin() + static_cast<std::ptrdiff_t>(count));
  out->values.assign(s.val.begin(), s.val.begin() + static_cast<std::ptrdiff_t>(count));
  return OkStatus();
}

Status Compressor::CompressOnSupport(std::span<const float> update,
                                     std::span<const uint32_t> support, std::span<float> values) {
  State& s = *state_;
  if (update.size() != s.dim) {
    return Invalid("CompressOnSupport: update has " + std::to_string(update.size()) +
                   " values, the compressor " + std::to_string(s.dim));
  }
  if (values.size() != support.size()) {
    return Invalid("CompressOnSupport: " + std::to_string(values.size()) + " values for a " +
                   std::to_string(support.size()) + "-coordinate support");
  }
  std::span<float> e = s.error;
  RETURN_IF_ERROR(CheckUpdate(update, e, internal::MagnitudeBound(ValueCoding::kFp32)));
  if (s.support_idx.size() < support.size()) {
    s.support_idx.resize(support.size());  // grows once to the largest support seen
  }
  const size_t scratch_bytes = kernels::ErrorFeedbackScratchBytes(
      s.dim, kernels::EfSelection::Support(support), support.size(), s.exec);
  if (s.scratch_span.size() < scratch_bytes) {
    s.scratch_span = s.scratch.Get(scratch_bytes);
  }
  // An argument error (support not ascending, a coordinate >= dim) returns before the kernel
  // writes anything, so the state is intact.
  RETURN_IF_ERROR(kernels::ErrorFeedbackStep(update, e, kernels::EfSelection::Support(support),
                                             std::span(s.support_idx).first(support.size()), values,
                                             s.scratch_span, s.exec)
                      .status());
  if (s.options.error_feedback == ErrorFeedback::kNone) {
    std::fill(e.begin(), e.end(), 0.0f);
  }
  return OkStatus();
}

Status Compressor::AddResidual(std::span<const uint32_t> support, std::span<const float> residual) {
  State& s = *state_;
  if (residual.size() != support.size()) {
    return Invalid("AddResidual: " + std::to_string(residual.size()) + " residuals for a " +
                   std::to_string(support.size()) + "-coordinate support");
  }
  for (size_t j = 0; j < support.size(); ++j) {
    if (support[j] >= s.dim || !std::isfinite(residual[j])) {
      return Invalid("AddResidual: entry " + std::to_string(j) + " (coordinate " +
                     std::to_string(support[j]) + ", residual " + std::to_string(residual[j]) +
                     ") is out of range or not finite");
    }
  }
  if (s.options.error_feedback == ErrorFeedback::kNone) {
    return OkStatus();
  }
  for (size_t j = 0; j < support.size(); ++j) {
    s.error[support[j]] += residual[j];
  }
  return OkStatus();
}

Status Compressor::RandomSupport(uint64_t round, std::vector<uint32_t>* support) const {
  const State& s = *state_;
  if (support == nullptr) {
    return Invalid("RandomSupport: support is null");
  }
  if (s.options.sparsifier != SparsifierKind::kRandomK) {
    return FailedPreconditionError("compressor: RandomSupport: the sparsifier is " +
                                   std::string(SparsifierKindName(s.options.sparsifier)) +
                                   ", not randomk");
  }
  // Not on the hot path (and const): a scratch of its own.
  kernels::Scratch scratch;
  support->resize(s.k);
  return kernels::RandomK(s.dim, s.k, DeriveSeed(s.options.support_seed, round), *support,
                          scratch.Get(kernels::RandomKScratchBytes(s.dim)));
}

Status Compressor::SetError(std::span<const float> error) {
  State& s = *state_;
  if (error.size() != s.dim) {
    return Invalid("SetError: error has " + std::to_string(error.size()) +
                   " values, the compressor " + std::to_string(s.dim));
  }
  for (size_t i = 0; i < error.size(); ++i) {
    if (!std::isfinite(error[i])) {
      return Invalid("SetError: error[" + std::to_string(i) + "] is not finite");
    }
  }
  if (s.options.error_feedback == ErrorFeedback::kNone) {
    for (size_t i = 0; i < error.size(); ++i) {
      if (error[i] != 0.0f) {
        return FailedPreconditionError(
            "compressor: SetError: error feedback is off (none), the error memory stays zero; "
            "error[" +
            std::to_string(i) + "] is " + std::to_string(error[i]));
      }
    }
  }
  std::copy(error.begin(), error.end(), s.error.begin());
  return OkStatus();
}

bool Compressor::ShouldAverageError(uint64_t round) const {
  const CompressorOptions& o = state_->options;
  if (o.averaging_period <= 0 || o.error_feedback == ErrorFeedback::kNone || round == 0) {
    return false;
  }
  // Rounds are 1-based: average after rounds p, 2p, 3p, ...
  return round % static_cast<uint64_t>(o.averaging_period) == 0;
}

void Compressor::StepAheadPoint(std::span<const float> x, float scale, std::span<float> out) const {
  const State& s = *state_;
  SOTTO_CHECK(x.size() == s.dim && out.size() == s.dim)
      << "StepAheadPoint: x has " << x.size() << " values, out " << out.size() << ", dim " << s.dim;
  if (s.options.error_feedback != ErrorFeedback::kStepAhead) {
    std::copy(x.begin(), x.end(), out.begin());
    return;
  }
  for (size_t i = 0; i < s.dim; ++i) {
    out[i] = x[i] - scale * s.error[i];
  }
}

StatusOr<SparsifierKind> ParseSparsifierKind(std::string_view name) {
  for (SparsifierKind kind :
       {SparsifierKind::kIdentity, SparsifierKind::kTopK, SparsifierKind::kGaussianK,
        SparsifierKind::kThreshold, SparsifierKind::kRandomK}) {
    if (name == SparsifierKindName(kind)) {
      return kind;
    }
  }
  return InvalidArgumentError("unknown sparsifier '" + std::string(name) +
                              "' (identity, topk, gaussiank, threshold, randomk)");
}

std::string_view SparsifierKindName(SparsifierKind kind) {
  switch (kind) {
    case SparsifierKind::kIdentity:
      return "identity";
    case SparsifierKind::kTopK:
      return "topk";
    case SparsifierKind::kGaussianK:
      return "gaussiank";
    case SparsifierKind::kThreshold:
      return "threshold";
    case SparsifierKind::kRandomK:
      return "randomk";
  }
  return "unknown";
}

StatusOr<ErrorFeedback> ParseErrorFeedback(std::string_view name) {
  for (ErrorFeedback ef :
       {ErrorFeedback::kNone, ErrorFeedback::kClassic, ErrorFeedback::kStepAhead}) {
    if (name == ErrorFeedbackName(ef)) {
      return ef;
    }
  }
  return InvalidArgumentError("unknown error feedback '" + std::string(name) +
                              "' (none, ef, stepahead)");
}

std::string_view ErrorFeedbackName(ErrorFeedback ef) {
  switch (ef) {
    case ErrorFeedback::kNone:
      return "none";
    case ErrorFeedback::kClassic:
      return "ef";
    case ErrorFeedback::kStepAhead:
      return "stepahead";
  }
  return "unknown";
}

}  // namespace sotto::compress

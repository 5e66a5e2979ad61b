#pragma once

// Compressor: the client-side compression stack for one client — a sparsifier from the
// kernels (top-k, Gaussian-k, threshold, random-k, identity) under an error-feedback policy —
// turning a dense update u into the sparse message the client sends.
//
// Per round (ARCHITECTURE.md, "Algorithms"):
//   a = u + e                     (e = 0 and not kept under ErrorFeedback::kNone)
//   S = select(a)                 (the sparsifier; random-k from the round's shared seed)
//   sent = wire(a[S])             (values rounded to the wire's value coding, e.g. fp16)
//   e = a - sent                  (every coordinate: unselected ones keep a_i, selected ones
//                                  keep the wire rounding error a_i - wire(a_i))
// so sent_i + e_new_i == u_i + e_old_i exactly, per coordinate, in float arithmetic (the
// rounding error of a float to fp16/bf16 is itself exact in float).
//
// Error-feedback family:
//   kNone       plain sparsification, nothing carried over.
//   kClassic    EF / memory SGD (Stich et al.; Karimireddy et al.): e as above.
//   kStepAhead  classic EF, plus the trainer starts from the step-ahead point
//               x - scale * e instead of x (Xu et al., AAAI 2021): StepAheadPoint().
// Error averaging (every `averaging_period` rounds the clients' errors are replaced by their
// mean, which the framework obtains through secure aggregation) is a hook: the round loop asks
// ShouldAverageError(round), aggregates error() over the clients and calls SetError(mean).
//
// A Compressor owns its error memory (d floats), index/value buffers and kernel scratch, sized
// once at creation: Compress() does not allocate. Not thread-safe; one per client. The state
// that must survive a reconnect or restart is error() (and the options).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "sotto/base/statusor.h"
#include "sotto/core/compress/sparse_codec.h"

namespace sotto::compress {

enum class SparsifierKind { kIdentity, kTopK, kGaussianK, kThreshold, kRandomK };
enum class ErrorFeedback { kNone, kClassic, kStepAhead };

struct CompressorOptions {
  SparsifierKind sparsifier = SparsifierKind::kTopK;
  double density = 0.01;   // top-k, Gaussian-k, random-k: k = max(1, round(density * d))
  float threshold = 0.0f;  // threshold: |a_i| > threshold
  ErrorFeedback error_feedback = ErrorFeedback::kClassic;
  int averaging_period = 0;  // error averaging every this many rounds; 0 = never
  ValueCoding value_coding = ValueCoding::kFp32;  // fp32, fp16 or bf16
  uint64_t support_seed = 0;  // random-k: the federation's public seed (mixed with the round)
  int threads = 1;            // kernel threads for large vectors
};

// InvalidArgument naming the field: density outside (0, 1], negative/NaN threshold, a ring
// value coding, negative averaging_period, threads < 1.
Status ValidateCompressorOptions(const CompressorOptions& options);

// k for a density over d coordinates: max(1, round(density * d)), at most d.
size_t KForDensity(size_t dim, double density);

class Compressor {
 public:
  static StatusOr<std::unique_ptr<Compressor>> Create(const CompressorOptions& options, size_t dim);
  ~Compressor();

  size_t dim() const;
  const CompressorOptions& options() const;

  // Compresses `update` (dim floats) for `round`; updates the error memory and fills `out`
  // (dim, indices ascending, values as they go on the wire, format.value_coding). Refuses a
  // non-finite update with InvalidArgument before touching any state (BAD_INPUTS row 8).
  Status Compress(std::span<const float> update, uint64_t round, SparseUpdate* out);

  // Secure aggregation (sotto/secagg): the round's support S is fixed by its policy and is the
  // same for every client, so the sparsifier is bypassed and error feedback runs on S:
  //   a = u + e;   values[i] = a[support[i]];   e = a, with e[support[i]] = 0.
  // The caller encodes `values` for the ring (clipping, rounding) and hands back what the ring
  // did not carry with AddResidual. support: strictly ascending, every coordinate < dim;
  // values: support.size() floats. InvalidArgument, state untouched, for a non-finite update
  // or bad spans. Allocates only when the support is larger than any seen before.
  Status CompressOnSupport(std::span<const float> update, std::span<const uint32_t> support,
                           std::span<float> values);
  // e[support[i]] += residual[i]: the error feedback of the ring encoding (residual = value -
  // what the ring carried). Nothing changes under kNone. InvalidArgument (state untouched) for
  // sizes that differ, a coordinate >= dim or a non-finite residual.
  Status AddResidual(std::span<const uint32_t> support, std::span<const float> residual);

  // The random-k support of `round` (every client computes the same one).
  Status RandomSupport(uint64_t round, std::vector<uint32_t>* support) const;

  std::span<const float> error() const;
  // Replaces the error memory (error averaging, restoring a checkpoint). InvalidArgument on a
  // length mismatch or a non-finite value.
  Status SetError(std::span<const float> error);
  bool ShouldAverageError(uint64_t round) const;

  // Step-ahead EF: out = x - scale * e (x, out: dim floats). With kNone/kClassic out = x.
  void StepAheadPoint(std::span<const float> x, float scale, std::span<float> out) const;

 private:
  struct State;
  explicit Compressor(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// Names for configs and the CLI: "identity", "topk", "gaussiank", "threshold", "randomk";
// "none", "ef", "stepahead".
StatusOr<SparsifierKind> ParseSparsifierKind(std::string_view name);
std::string_view SparsifierKindName(SparsifierKind kind);
StatusOr<ErrorFeedback> ParseErrorFeedback(std::string_view name);
std::string_view ErrorFeedbackName(ErrorFeedback ef);

}  // namespace sotto::compress

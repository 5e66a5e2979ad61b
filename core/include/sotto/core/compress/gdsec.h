#pragma once

// GD-SEC: distributed gradient descent with sparsified gradient differences and error
// correction (Chen, Blum, Takac, Sadler, IEEE JSTSP 2022; ARCHITECTURE.md "Algorithms").
//
// Worker m holds h_m (a running combination of what it sent) and e_m (the error memory):
//   v   = grad_m(x) - h_m + e_m
//   S   = {i : |v_i| > tau_i}   (threshold rule)   or   top-k of |v|   (top-k rule)
//   sent = v on S (rounded to the wire's value coding), 0 elsewhere
//   e_m = v - sent
//   h_m += beta * sent
// The server holds h = sum_m h_m and, from the round's sum of sent vectors,
//   g = h + sum_m sent_m;   h += beta * sum_m sent_m;   x -= alpha * g   (the strategy step).
//
// Exactness. The server's h must equal the sum of the workers' h_m bit for bit, for ever,
// although it only sees sums. Both sides therefore keep h in fixed point: every sent value is
// mapped to the integer q = round(sent * 2^kGdSecFracBits) (a deterministic function of the
// float that went on the wire, or of the ring element secure aggregation carries), beta is
// rounded to beta_q / 2^kGdSecBetaBits, and h is kept as int64 in units of
// 2^-(kGdSecFracBits + kGdSecBetaBits), updated by h += beta_q * q. Integer sums are
// associative, so sum_m h_m == h exactly whatever the order or grouping. The float view of h is
// h_int * 2^-(kGdSecFracBits + kGdSecBetaBits).
//
// Threshold rule: tau_i = xi * |x_i^k - x_i^{k-1}| (the last model movement, coordinate-wise;
// LAG-style, so the sparsity grows as the method converges), or, with `norm_threshold`,
// tau = xi * ||x^k - x^{k-1}||_2 / sqrt(d) for every coordinate. In the first round (no
// movement yet) every coordinate is sent.
//
// Not thread-safe; one GdSecClient per worker, one GdSecServer per federation.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "sotto/base/statusor.h"
#include "sotto/core/compress/sparse_codec.h"

namespace sotto::compress {

inline constexpr int kGdSecFracBits = 24;
inline constexpr int kGdSecBetaBits = 16;

enum class GdSecRule { kThreshold, kTopK };

struct GdSecOptions {
  double beta = 1.0;  // in (0, 1]
  GdSecRule rule = GdSecRule::kThreshold;
  double xi = 1.0;                                // threshold constant (>= 0)
  bool norm_threshold = false;                    // scalar threshold from the norm of the movement
  double density = 0.01;                          // top-k rule
  ValueCoding value_coding = ValueCoding::kFp32;  // fp32, fp16 or bf16
};

// InvalidArgument naming the field: beta outside (0, 1], xi < 0, density outside (0, 1].
Status ValidateGdSecOptions(const GdSecOptions& options);

// The integer GD-SEC adds to h for one sent value: round(value * 2^kGdSecFracBits).
int64_t GdSecQuantize(float value);
// beta as beta_q / 2^kGdSecBetaBits (at least 1).
int64_t GdSecBetaQ(double beta);

class GdSecClient {
 public:
  static StatusOr<std::unique_ptr<GdSecClient>> Create(const GdSecOptions& options, size_t dim);
  ~GdSecClient();

  // One step. `gradient` is grad_m at the current model; `movement` is x^k - x^{k-1} (empty
  // in the first round). Fills `out` with the sparse difference. InvalidArgument for a
  // non-finite gradient or a length mismatch (state untouched).
  Status Encode(std::span<const float> gradient, std::span<const float> movement,
                SparseUpdate* out);

  // One step under secure aggregation: the round's support S (strictly ascending, < dim) is
  // fixed by its policy, so the rule is bypassed. On S the difference is clipped to
  // [-clip, clip] and rounded to q = GdSecQuantize(v_i), the integers the ring carries (their
  // sum is what GdSecServer::Step takes); e = v - q * 2^-kGdSecFracBits and h_m += beta * q, so
  // the clipped excess stays in e_m and the server's h still equals sum_m h_m exactly. |q_i| <=
  // ceil(clip * 2^kGdSecFracBits). InvalidArgument (state untouched) for a non-finite gradient,
  // bad spans or support, or clip outside (0, 2^22).
  Status EncodeOnSupport(std::span<const float> gradient, std::span<const uint32_t> support,
                         double clip, std::span<int64_t> q);

  // The state that outlives a round: h_m (fixed point) and e_m. A round that aborts after
  // Encode restores the state saved before it (the server's h did not move), and a checkpoint
  // keeps it. Restore: InvalidArgument (state untouched) for lengths other than dim or a
  // non-finite error.
  struct Snapshot {
    std::vector<int64_t> h;
    std::vector<float> error;
  };
  Snapshot Save() const;
  Status Restore(const Snapshot& snapshot);

  // h_m as fixed-point integers and as floats; e_m.
  std::span<const int64_t> h_fixed() const;
  void HFloat(std::span<float> out) const;
  std::span<const float> error() const;

 private:
  struct State;
  explicit GdSecClient(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

class GdSecServer {
 public:
  GdSecServer(const GdSecOptions& options, size_t dim);

  // Given the round's sum of the sent values as fixed-point integers (sum_m q_m, which secure
  // aggregation delivers directly, or AddSent() accumulates), writes the gradient estimate
  // g = h + sum into `gradient` and updates h += beta * sum.
  Status Step(std::span<const int64_t> sum_q, std::span<float> gradient);

  // Step in two halves, for a server that commits only once the round is final: Estimate
  // writes g = h + sum and leaves h alone; Commit does h += beta * sum. InvalidArgument for
  // spans of another length (nothing changes).
  Status Estimate(std::span<const int64_t> sum_q, std::span<float> gradient) const;
  Status Commit(std::span<const int64_t> sum_q);

  // Replaces h (from a checkpoint). InvalidArgument for another length.
  Status Restore(std::span<const int64_t> h_fixed);

  // Plaintext helper: accumulates one worker's sparse message into `sum_q` (dim integers).
  static Status AddSent(const SparseUpdate& sent, std::span<int64_t> sum_q);

  std::span<const int64_t> h_fixed() const { return h_; }

 private:
  int64_t beta_q_;
  std::vector<int64_t> h_;
};

}  // namespace sotto::compress

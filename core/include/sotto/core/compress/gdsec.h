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
// Rounds that may not count. A worker's step is tentative until its round counts: a round that
// aborts must leave h_m and e_m as they were (the server's h did not move). The client takes the
// step back with Undo(), in time proportional to what the step changed, instead of copying the
// whole state aside before every step (12 bytes per coordinate, twice per round):
//   - h_m changes only on the coordinates the step sent (k under the top-k rule, the support
//     under EncodeOnSupport); the client remembers them and what it added there.
//   - e_m is double-buffered: a step writes the new e_m into the other buffer and flips, so the
//     previous e_m stays intact until the next step. Neither a step nor Undo copies dim floats.
// Memory: h_m (8 bytes per coordinate) and the two e_m buffers (4 + 4), as before (the second
// buffer replaces the step's scratch difference). The undo record of EncodeOnSupport and of
// RestoreWithUndo takes 12 bytes per coordinate it covers, allocated on first use and kept.
// Encode's record is its own selection, which the client keeps anyway.
//
// Order of calls, per round: [ClearUndo()] Encode or EncodeOnSupport, then either nothing (the
// round counted) or Undo() (it did not). Save/Restore remain for checkpoints; SaveBeforeStep
// and RestoreWithUndo write and read a checkpoint taken while a step is pending.
//
// The span error() returns shows the current buffer: after a step, Undo or Restore, read it
// again (an old one then shows the other buffer). Spans are valid until the next non-const call.
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
// The value of a fixed-point h: h_fixed * 2^-(kGdSecFracBits + kGdSecBetaBits), rounded once to
// double (== static_cast<double>(h_fixed) * 2^-40, bit for bit).
double GdSecHValue(int64_t h_fixed);

class GdSecClient {
 public:
  static StatusOr<std::unique_ptr<GdSecClient>> Create(const GdSecOptions& options, size_t dim);
  ~GdSecClient();

  // One step. `gradient` is grad_m at the current model; `movement` is x^k - x^{k-1} (empty
  // in the first round). Fills `out` with the sparse difference. InvalidArgument for a
  // non-finite gradient or a length mismatch (state untouched). Every call, failed or not,
  // ends the undo window of the step before it; a successful one opens its own.
  Status Encode(std::span<const float> gradient, std::span<const float> movement,
                SparseUpdate* out);

  // One step under secure aggregation: the round's support S (strictly ascending, < dim) is
  // fixed by its policy, so the rule is bypassed. On S the difference is clipped to
  // [-clip, clip] and rounded to q = GdSecQuantize(v_i), the integers the ring carries (their
  // sum is what GdSecServer::Step takes); e = v - q * 2^-kGdSecFracBits and h_m += beta * q, so
  // the clipped excess stays in e_m and the server's h still equals sum_m h_m exactly. |q_i| <=
  // ceil(clip * 2^kGdSecFracBits). InvalidArgument (state untouched) for a non-finite gradient,
  // bad spans or support, or clip outside (0, 2^22). Undo window: as Encode.
  Status EncodeOnSupport(std::span<const float> gradient, std::span<const uint32_t> support,
                         double clip, std::span<int64_t> q);

  // Undo() takes the state back, bit for bit, to what it was before the last successful
  // Encode or EncodeOnSupport: h_m on the coordinates that step changed, e_m everywhere (the
  // previous buffer becomes current again). CanUndo() is true from that step's success until
  // the next call to Encode, EncodeOnSupport (even one that fails), Undo, ClearUndo, Restore
  // or RestoreWithUndo; Undo() otherwise returns FailedPrecondition and changes nothing. O(what
  // the step sent): k under the top-k rule, up to dim under the threshold rule (dim in a first
  // round), the support under EncodeOnSupport.
  bool CanUndo() const;
  Status Undo();
  // Makes the last step final: CanUndo() is false until the next successful step. A client
  // calls it when a round starts (or when its round counts), so that a rollback of a round
  // whose step never ran cannot reach the step of an earlier round that counted.
  void ClearUndo();

  // The state that outlives a round: h_m (fixed point) and e_m, for a checkpoint. Restore:
  // InvalidArgument (nothing changes, the undo window included) for lengths other than dim or
  // a non-finite error; otherwise it ends the undo window.
  struct Snapshot {
    std::vector<int64_t> h;
    std::vector<float> error;
  };
  Snapshot Save() const;
  Status Restore(const Snapshot& snapshot);
  // A checkpoint taken while a step is pending holds the state before it as well:
  // SaveBeforeStep writes into `out` (reusing its capacity) what Undo() would restore, in
  // O(dim); FailedPrecondition (nothing written) when !CanUndo(). RestoreWithUndo makes `after`
  // the state with an open undo window back to `before`, as if a step had led from one to the
  // other (O(dim); the undo record covers every coordinate where the two h differ); when either
  // snapshot would be refused by Restore, InvalidArgument and nothing changes.
  Status SaveBeforeStep(Snapshot* out) const;
  Status RestoreWithUndo(const Snapshot& before, const Snapshot& after);

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

#include "sotto/core/compress/gdsec.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>
#include <utility>

#include "compress/wire_rounding.h"
#include "sotto/base/check.h"
#include "sotto/base/status_macros.h"
#include "sotto/core/compress/compressor.h"
#include "sotto/kernels/backend.h"
#include "sotto/kernels/scratch.h"
#include "sotto/kernels/selection.h"
#include "sotto/kernels/topk.h"

namespace sotto::compress {
namespace {

constexpr double kFracScale = 0x1p24;  // 2^kGdSecFracBits
constexpr double kHScale = 0x1p-40;    // 2^-(kGdSecFracBits + kGdSecBetaBits)
constexpr double kInvFracScale = 0x1p-24;
static_assert(kGdSecFracBits == 24 && kGdSecBetaBits == 16, "update the scales above");

// GdSecQuantize saturates here, so that beta_q * q (beta_q <= 2^16) cannot leave int64 for a
// single value; the client refuses far smaller values anyway (kMaxDifference).
constexpr double kQuantizeLimit = 0x1p46;
// The client refuses |v_i| >= 2^22. h is kept in units of 2^-40, so int64 holds |h| < 2^23;
// bounding each message keeps a worker's h_m (which tracks its gradient) well inside that.
constexpr float kMaxDifference = 0x1p22f;

Status Invalid(const std::string& what) { return InvalidArgumentError("gdsec: " + what); }

// h is updated modulo 2^64: unsigned arithmetic, so that an overflow is defined (and the sum
// of the workers' h_m still equals the server's h exactly, modulo 2^64).
int64_t WrapAdd(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
int64_t WrapMul(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
}
int64_t WrapSub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}

// static_cast<double>(x) * scale, bit for bit, for a power-of-two `scale` (2^-40 or 2^-24), in
// operations that vectorize: SSE2 and AVX2 have no int64 -> double conversion, so the plain
// cast keeps the loops below scalar. With u = x + 2^63 (unsigned), each 32-bit half of u is
// read as an exact double through the exponent of 2^52, (hi - 2^31) * 2^32 * scale and lo *
// scale are exact (integers below 2^32 times powers of two), and their sum is x * scale rounded
// once, to nearest, as the cast rounds x. Contracting the sum into an FMA changes nothing: the
// product is exact.
inline double FixedToDouble(int64_t x, double scale) {
  constexpr uint64_t kExp52 = 0x4330000000000000;  // the bits of 2^52
  const uint64_t u = static_cast<uint64_t>(x) ^ (uint64_t{1} << 63);
  const double hi = std::bit_cast<double>(kExp52 | (u >> 32)) - (0x1p52 + 0x1p31);
  const double lo = std::bit_cast<double>(kExp52 | (u & 0xffffffffu)) - 0x1p52;
  return hi * (0x1p32 * scale) + lo * scale;
}

double HToDouble(int64_t h) { return FixedToDouble(h, kHScale); }

// The first non-finite value of `x`, or x.size(): a branch-free pass that vectorizes, then a
// search only where there is one.
size_t FirstNonFinite(std::span<const float> x) {
  constexpr float kMax = std::numeric_limits<float>::max();
  unsigned bad = 0;
  for (const float a : x) {
    bad |= static_cast<unsigned>(!(std::fabs(a) <= kMax));
  }
  if (bad == 0) {
    return x.size();
  }
  return static_cast<size_t>(
      std::find_if(x.begin(), x.end(), [](float a) { return !std::isfinite(a); }) - x.begin());
}

// v = float(grad - h * 2^-40 + e), in double from the exact fixed-point h (a float view of h
// would add its own rounding to every step), rounded once to float: e = v - sent is then exact
// in float. Returns nonzero when some |v_i| is not below `bound` (or is NaN). One loop, compiled
// for the baseline ISA and, through target attributes, for AVX2 and AVX-512; every operation is
// exactly rounded IEEE arithmetic, so all three give the same bits.
[[gnu::always_inline]] inline unsigned DifferenceLoop(const float* __restrict gradient,
                                                      const int64_t* __restrict h,
                                                      const float* __restrict error,
                                                      float* __restrict v, size_t n, float bound) {
  unsigned bad = 0;
  for (size_t i = 0; i < n; ++i) {
    const float diff = static_cast<float>(static_cast<double>(gradient[i]) - HToDouble(h[i]) +
                                          static_cast<double>(error[i]));
    v[i] = diff;
    bad |= static_cast<unsigned>(!(std::fabs(diff) < bound));
  }
  return bad;
}

unsigned DifferenceBaseline(const float* gradient, const int64_t* h, const float* error, float* v,
                            size_t n, float bound) {
  return DifferenceLoop(gradient, h, error, v, n, bound);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SOTTO_GDSEC_MULTIVERSION 1
[[gnu::target("avx2")]] unsigned DifferenceAvx2(const float* gradient, const int64_t* h,
                                                const float* error, float* v, size_t n,
                                                float bound) {
  return DifferenceLoop(gradient, h, error, v, n, bound);
}
[[gnu::target("avx512f,avx512vl,avx512dq,avx512bw")]] unsigned DifferenceAvx512(
    const float* gradient, const int64_t* h, const float* error, float* v, size_t n, float bound) {
  return DifferenceLoop(gradient, h, error, v, n, bound);
}
#endif

unsigned Difference(const kernels::ExecOptions& exec, std::span<const float> gradient,
                    std::span<const int64_t> h, std::span<const float> error, std::span<float> v,
                    float bound) {
  const size_t n = v.size();
#ifdef SOTTO_GDSEC_MULTIVERSION
  switch (kernels::EffectiveSimdLevel(exec)) {
    case kernels::SimdLevel::kAvx512:
      return DifferenceAvx512(gradient.data(), h.data(), error.data(), v.data(), n, bound);
    case kernels::SimdLevel::kAvx2:
      return DifferenceAvx2(gradient.data(), h.data(), error.data(), v.data(), n, bound);
    case kernels::SimdLevel::kScalar:
      break;
  }
#else
  (void)exec;
#endif
  return DifferenceBaseline(gradient.data(), h.data(), error.data(), v.data(), n, bound);
}

bool IsFloatCoding(ValueCoding coding) {
  return coding == ValueCoding::kFp32 || coding == ValueCoding::kFp16 ||
         coding == ValueCoding::kBf16;
}

// The commit and undo loops visit k scattered coordinates of v and h (a cache and often a TLB
// miss each, at 1 % density); fetching a few entries ahead overlaps the misses.
constexpr size_t kPrefetchAhead = 16;
inline void Prefetch(std::span<const float> v, std::span<const int64_t> h, uint32_t i) {
  __builtin_prefetch(&v[i], 1);
  __builtin_prefetch(&h[i], 1);
}

// What Undo() has to take back. kSent: Encode's selection, idx[0..count) and the values sent
// val[0..count) (h moved by beta_q * GdSecQuantize(val[j]) there; recomputing that costs less
// than a record of dim integers under the threshold rule, which sends every coordinate in the
// first round). kRecord: undo_idx/undo_dh[0..count), what was added to h (EncodeOnSupport,
// whose support and q are the caller's, and RestoreWithUndo).
enum class UndoKind { kNone, kSent, kRecord };

Status CheckSnapshot(const GdSecClient::Snapshot& snapshot, size_t dim, const char* what) {
  if (snapshot.h.size() != dim || snapshot.error.size() != dim) {
    return Invalid(std::string(what) + ": a snapshot of " + std::to_string(snapshot.h.size()) +
                   " / " + std::to_string(snapshot.error.size()) + " values for dim " +
                   std::to_string(dim));
  }
  if (const size_t bad = FirstNonFinite(snapshot.error); bad != dim) {
    return Invalid(std::string(what) + ": error[" + std::to_string(bad) + "] is not finite");
  }
  return OkStatus();
}

}  // namespace

Status ValidateGdSecOptions(const GdSecOptions& options) {
  if (!(options.beta > 0.0 && options.beta <= 1.0)) {
    return Invalid("beta: must be in (0, 1], got " + std::to_string(options.beta));
  }
  if (options.rule != GdSecRule::kThreshold && options.rule != GdSecRule::kTopK) {
    return Invalid("rule: unknown rule " + std::to_string(static_cast<int>(options.rule)));
  }
  if (!(options.xi >= 0.0 && std::isfinite(options.xi))) {
    return Invalid("xi: must be finite and >= 0, got " + std::to_string(options.xi));
  }
  if (!(options.density > 0.0 && options.density <= 1.0)) {
    return Invalid("density: must be in (0, 1], got " + std::to_string(options.density));
  }
  if (!IsFloatCoding(options.value_coding)) {
    return Invalid("value_coding: must be fp32, fp16 or bf16");
  }
  return OkStatus();
}

int64_t GdSecQuantize(float value) {
  if (std::isnan(value)) {
    return 0;
  }
  // Exact in double (a power-of-two scale); llround ties away from zero.
  const double scaled = static_cast<double>(value) * kFracScale;
  if (scaled >= kQuantizeLimit) {
    return static_cast<int64_t>(kQuantizeLimit);
  }
  if (scaled <= -kQuantizeLimit) {
    return -static_cast<int64_t>(kQuantizeLimit);
  }
  return static_cast<int64_t>(std::llround(scaled));
}

int64_t GdSecBetaQ(double beta) {
  constexpr int64_t kOne = int64_t{1} << kGdSecBetaBits;
  if (!(beta > 0.0)) {
    return 1;
  }
  if (beta >= 1.0) {
    return kOne;
  }
  return std::clamp<int64_t>(std::llround(std::ldexp(beta, kGdSecBetaBits)), 1, kOne);
}

double GdSecHValue(int64_t h_fixed) { return HToDouble(h_fixed); }

struct GdSecClient::State {
  GdSecOptions options;
  size_t dim = 0;
  size_t k = 0;  // top-k rule
  int64_t beta_q = 0;
  std::vector<int64_t> h;
  // e_m, double-buffered: errors[current] is e_m; a step writes its difference v and then the
  // new e_m into errors[current ^ 1] and flips `current` only once it cannot fail, so the other
  // buffer holds the e_m before the last step until the next one starts.
  std::array<std::vector<float>, 2> errors;
  int current = 0;
  std::vector<uint32_t> idx;
  std::vector<float> val;
  UndoKind undo = UndoKind::kNone;
  size_t undo_count = 0;
  std::vector<uint32_t> undo_idx;
  std::vector<int64_t> undo_dh;
  kernels::ExecOptions exec;
  kernels::Scratch scratch;
  std::span<std::byte> scratch_span;

  std::span<float> Error() { return errors[current]; }
  std::span<const float> Error() const { return errors[current]; }
  std::span<float> Spare() { return errors[current ^ 1]; }
  std::span<const float> Spare() const { return errors[current ^ 1]; }

  // v = grad - h_m + e_m into Spare(), refusing a non-finite gradient or a difference outside
  // the fixed-point range of h or the value coding. Changes nothing but Spare().
  Status ComputeDifference(std::span<const float> gradient);
  // Grows the undo record to n entries (it keeps its capacity across steps).
  void ReserveRecord(size_t n);
  // Takes back on `h_out` what the last step added to h (per `undo`).
  void UndoH(std::span<int64_t> h_out) const;
};

Status GdSecClient::State::ComputeDifference(std::span<const float> gradient) {
  const ValueCoding coding = options.value_coding;
  const float bound = std::min(internal::MagnitudeBound(coding), kMaxDifference);
  const std::span<float> v = Spare();
  if (Difference(exec, gradient, h, Error(), v, bound) != 0) {
    for (size_t i = 0; i < dim; ++i) {
      if (!std::isfinite(gradient[i])) {
        return Invalid("Encode: gradient[" + std::to_string(i) + "] is not finite (" +
                       std::to_string(gradient[i]) + ")");
      }
      if (!(std::fabs(v[i]) < bound)) {
        return Invalid("Encode: the difference at " + std::to_string(i) + " (" +
                       std::to_string(v[i]) + ") is outside the fixed-point range of h" +
                       " or of the value coding");
      }
    }
  }
  return OkStatus();
}

void GdSecClient::State::ReserveRecord(size_t n) {
  if (undo_idx.size() < n) {
    undo_idx.resize(n);
    undo_dh.resize(n);
  }
}

void GdSecClient::State::UndoH(std::span<int64_t> h_out) const {
  if (undo == UndoKind::kSent) {
    for (size_t j = 0; j < undo_count; ++j) {
      if (j + kPrefetchAhead < undo_count) {
        __builtin_prefetch(&h_out[idx[j + kPrefetchAhead]], 1);
      }
      int64_t& slot = h_out[idx[j]];
      slot = WrapSub(slot, WrapMul(beta_q, GdSecQuantize(val[j])));
    }
  } else if (undo == UndoKind::kRecord) {
    for (size_t j = 0; j < undo_count; ++j) {
      if (j + kPrefetchAhead < undo_count) {
        __builtin_prefetch(&h_out[undo_idx[j + kPrefetchAhead]], 1);
      }
      int64_t& slot = h_out[undo_idx[j]];
      slot = WrapSub(slot, undo_dh[j]);
    }
  }
}

GdSecClient::GdSecClient(std::unique_ptr<State> state) : state_(std::move(state)) {}
GdSecClient::~GdSecClient() = default;

StatusOr<std::unique_ptr<GdSecClient>> GdSecClient::Create(const GdSecOptions& options,
                                                           size_t dim) {
  RETURN_IF_ERROR(ValidateGdSecOptions(options));
  if (dim == 0 || dim > kernels::kMaxElements) {
    return Invalid("dim: must be in [1, 2^32 - 1], got " + std::to_string(dim));
  }
  auto state = std::make_unique<State>();
  state->options = options;
  state->dim = dim;
  state->k = KForDensity(dim, options.density);
  state->beta_q = GdSecBetaQ(options.beta);
  state->h.assign(dim, 0);
  state->errors[0].assign(dim, 0.0f);
  state->errors[1].assign(dim, 0.0f);
  // The threshold rule may send every coordinate (it does in the first round).
  const size_t capacity = options.rule == GdSecRule::kTopK ? state->k : dim;
  state->idx.resize(capacity);
  state->val.resize(capacity);
  if (options.rule == GdSecRule::kTopK) {
    state->scratch_span = state->scratch.Get(kernels::TopKScratchBytes(dim, state->k, state->exec));
  }
  return std::unique_ptr<GdSecClient>(new GdSecClient(std::move(state)));
}

Status GdSecClient::Encode(std::span<const float> gradient, std::span<const float> movement,
                           SparseUpdate* out) {
  State& s = *state_;
  s.undo = UndoKind::kNone;  // whatever happens below, the step before this one is final
  if (out == nullptr) {
    return Invalid("Encode: out is null");
  }
  if (gradient.size() != s.dim) {
    return Invalid("Encode: gradient has " + std::to_string(gradient.size()) +
                   " values, the client " + std::to_string(s.dim));
  }
  if (!movement.empty() && movement.size() != s.dim) {
    return Invalid("Encode: movement has " + std::to_string(movement.size()) +
                   " values, the client " + std::to_string(s.dim) + " (or none, first round)");
  }
  if (const size_t bad = FirstNonFinite(movement); bad != movement.size()) {
    return Invalid("Encode: movement[" + std::to_string(bad) + "] is not finite");
  }

  RETURN_IF_ERROR(s.ComputeDifference(gradient));
  const ValueCoding coding = s.options.value_coding;

  // Select. Nothing of the state has changed yet (the difference is in the spare buffer).
  size_t count = 0;
  const std::span<float> v = s.Spare();
  if (s.options.rule == GdSecRule::kTopK) {
    ASSIGN_OR_RETURN(const kernels::SelectResult result,
                     kernels::TopK(v, s.k, s.idx, {}, s.scratch_span, s.exec));
    count = result.count;
  } else if (movement.empty()) {
    for (size_t i = 0; i < s.dim; ++i) {
      s.idx[i] = static_cast<uint32_t>(i);
    }
    count = s.dim;
  } else if (s.options.norm_threshold) {
    double sum_sq = 0.0;
    for (float m : movement) {
      sum_sq += static_cast<double>(m) * static_cast<double>(m);
    }
    const double tau = s.options.xi * std::sqrt(sum_sq / static_cast<double>(s.dim));
    for (size_t i = 0; i < s.dim; ++i) {
      if (std::fabs(static_cast<double>(v[i])) > tau) {
        s.idx[count++] = static_cast<uint32_t>(i);
      }
    }
  } else {
    const double xi = s.options.xi;
    for (size_t i = 0; i < s.dim; ++i) {
      if (std::fabs(static_cast<double>(v[i])) > xi * std::fabs(static_cast<double>(movement[i]))) {
        s.idx[count++] = static_cast<uint32_t>(i);
      }
    }
  }

  // Commit: the spare buffer holds v, which is e off the support; on it, the value rounded to
  // the wire, e = v - sent (exact, see wire_rounding.h) and h_m += beta_q * q(sent). Then the
  // spare buffer becomes e_m; the old one stays for Undo.
  for (size_t j = 0; j < count; ++j) {
    const uint32_t i = s.idx[j];
    if (j + kPrefetchAhead < count) {
      Prefetch(v, s.h, s.idx[j + kPrefetchAhead]);
    }
    const float vi = v[i];
    const float sent = internal::RoundToWire(vi, coding);
    s.val[j] = sent;
    v[i] = vi - sent;
    s.h[i] = WrapAdd(s.h[i], WrapMul(s.beta_q, GdSecQuantize(sent)));
  }
  s.current ^= 1;
  s.undo = UndoKind::kSent;
  s.undo_count = count;

  out->dim = s.dim;
  out->format = SparseFormat{};
  out->format.value_coding = coding;
  out->indices.assign(s.idx.begin(), s.idx.begin() + static_cast<std::ptrdiff_t>(count));
  out->values.assign(s.val.begin(), s.val.begin() + static_cast<std::ptrdiff_t>(count));
  return OkStatus();
}

Status GdSecClient::EncodeOnSupport(std::span<const float> gradient,
                                    std::span<const uint32_t> support, double clip,
                                    std::span<int64_t> q) {
  State& s = *state_;
  s.undo = UndoKind::kNone;  // as in Encode
  if (gradient.size() != s.dim) {
    return Invalid("EncodeOnSupport: gradient has " + std::to_string(gradient.size()) +
                   " values, the client " + std::to_string(s.dim));
  }
  if (q.size() != support.size()) {
    return Invalid("EncodeOnSupport: " + std::to_string(q.size()) + " outputs for a " +
                   std::to_string(support.size()) + "-coordinate support");
  }
  if (!(clip > 0.0 && clip < static_cast<double>(kMaxDifference))) {
    return Invalid("EncodeOnSupport: clip must be in (0, 2^22), got " + std::to_string(clip));
  }
  for (size_t j = 0; j < support.size(); ++j) {
    if (support[j] >= s.dim || (j > 0 && support[j] <= support[j - 1])) {
      return Invalid("EncodeOnSupport: the support must be strictly ascending and below " +
                     std::to_string(s.dim) + " (entry " + std::to_string(j) + " is " +
                     std::to_string(support[j]) + ")");
    }
  }
  RETURN_IF_ERROR(s.ComputeDifference(gradient));
  s.ReserveRecord(support.size());
  // Commit: the spare buffer holds v, e off the support; on it sent = q * 2^-kGdSecFracBits with
  // q the rounded, clipped difference, e = v - sent, h_m += beta_q * q: exactly the integers the
  // ring carries. Then the spare buffer becomes e_m.
  const std::span<float> v = s.Spare();
  const float limit = static_cast<float>(clip);
  for (size_t j = 0; j < support.size(); ++j) {
    const uint32_t i = support[j];
    if (j + kPrefetchAhead < support.size()) {
      Prefetch(v, s.h, support[j + kPrefetchAhead]);
    }
    const float vi = v[i];
    const int64_t qi = GdSecQuantize(std::clamp(vi, -limit, limit));
    const int64_t dh = WrapMul(s.beta_q, qi);
    q[j] = qi;
    v[i] = vi - static_cast<float>(static_cast<double>(qi) * kInvFracScale);
    s.h[i] = WrapAdd(s.h[i], dh);
    s.undo_idx[j] = i;
    s.undo_dh[j] = dh;
  }
  s.current ^= 1;
  s.undo = UndoKind::kRecord;
  s.undo_count = support.size();
  return OkStatus();
}

bool GdSecClient::CanUndo() const { return state_->undo != UndoKind::kNone; }

Status GdSecClient::Undo() {
  State& s = *state_;
  if (s.undo == UndoKind::kNone) {
    return FailedPreconditionError(
        "gdsec: Undo: no step to undo (none since the last Undo, ClearUndo or Restore, or the "
        "last step failed)");
  }
  s.UndoH(s.h);
  s.current ^= 1;
  s.undo = UndoKind::kNone;
  return OkStatus();
}

void GdSecClient::ClearUndo() { state_->undo = UndoKind::kNone; }

GdSecClient::Snapshot GdSecClient::Save() const {
  const State& s = *state_;
  const std::span<const float> e = s.Error();
  return Snapshot{s.h, std::vector<float>(e.begin(), e.end())};
}

Status GdSecClient::Restore(const Snapshot& snapshot) {
  State& s = *state_;
  RETURN_IF_ERROR(CheckSnapshot(snapshot, s.dim, "Restore"));
  s.undo = UndoKind::kNone;
  std::copy(snapshot.h.begin(), snapshot.h.end(), s.h.begin());
  std::copy(snapshot.error.begin(), snapshot.error.end(), s.Error().begin());
  return OkStatus();
}

Status GdSecClient::SaveBeforeStep(Snapshot* out) const {
  const State& s = *state_;
  if (s.undo == UndoKind::kNone) {
    return FailedPreconditionError("gdsec: SaveBeforeStep: no pending step");
  }
  if (out == nullptr) {
    return Invalid("SaveBeforeStep: out is null");
  }
  out->h.assign(s.h.begin(), s.h.end());
  s.UndoH(out->h);
  const std::span<const float> before = s.Spare();
  out->error.assign(before.begin(), before.end());
  return OkStatus();
}

Status GdSecClient::RestoreWithUndo(const Snapshot& before, const Snapshot& after) {
  State& s = *state_;
  RETURN_IF_ERROR(CheckSnapshot(before, s.dim, "RestoreWithUndo (before)"));
  RETURN_IF_ERROR(CheckSnapshot(after, s.dim, "RestoreWithUndo (after)"));
  size_t changed = 0;
  for (size_t i = 0; i < s.dim; ++i) {
    changed += before.h[i] != after.h[i];
  }
  s.ReserveRecord(changed);
  size_t j = 0;
  for (size_t i = 0; i < s.dim; ++i) {
    if (before.h[i] != after.h[i]) {
      s.undo_idx[j] = static_cast<uint32_t>(i);
      s.undo_dh[j] = WrapSub(after.h[i], before.h[i]);
      ++j;
    }
  }
  std::copy(after.h.begin(), after.h.end(), s.h.begin());
  std::copy(after.error.begin(), after.error.end(), s.Error().begin());
  std::copy(before.error.begin(), before.error.end(), s.Spare().begin());
  s.undo = UndoKind::kRecord;
  s.undo_count = changed;
  return OkStatus();
}

std::span<const int64_t> GdSecClient::h_fixed() const { return state_->h; }

void GdSecClient::HFloat(std::span<float> out) const {
  const State& s = *state_;
  SOTTO_CHECK(out.size() == s.dim) << "HFloat: out has " << out.size() << " values, dim " << s.dim;
  for (size_t i = 0; i < s.dim; ++i) {
    out[i] = static_cast<float>(HToDouble(s.h[i]));
  }
}

std::span<const float> GdSecClient::error() const { return state_->Error(); }

GdSecServer::GdSecServer(const GdSecOptions& options, size_t dim)
    : beta_q_(GdSecBetaQ(options.beta)), h_(dim, 0) {}

Status GdSecServer::Step(std::span<const int64_t> sum_q, std::span<float> gradient) {
  RETURN_IF_ERROR(Estimate(sum_q, gradient));
  return Commit(sum_q);
}

Status GdSecServer::Estimate(std::span<const int64_t> sum_q, std::span<float> gradient) const {
  if (sum_q.size() != h_.size() || gradient.size() != h_.size()) {
    return Invalid("Estimate: sum_q has " + std::to_string(sum_q.size()) + " values, gradient " +
                   std::to_string(gradient.size()) + ", the server " + std::to_string(h_.size()));
  }
  for (size_t i = 0; i < h_.size(); ++i) {
    gradient[i] = static_cast<float>(HToDouble(h_[i]) + FixedToDouble(sum_q[i], kInvFracScale));
  }
  return OkStatus();
}

Status GdSecServer::Commit(std::span<const int64_t> sum_q) {
  if (sum_q.size() != h_.size()) {
    return Invalid("Commit: sum_q has " + std::to_string(sum_q.size()) + " values, the server " +
                   std::to_string(h_.size()));
  }
  for (size_t i = 0; i < h_.size(); ++i) h_[i] = WrapAdd(h_[i], WrapMul(beta_q_, sum_q[i]));
  return OkStatus();
}

Status GdSecServer::Restore(std::span<const int64_t> h_fixed) {
  if (h_fixed.size() != h_.size()) {
    return Invalid("Restore: h has " + std::to_string(h_fixed.size()) + " values, the server " +
                   std::to_string(h_.size()));
  }
  h_.assign(h_fixed.begin(), h_fixed.end());
  return OkStatus();
}

Status GdSecServer::AddSent(const SparseUpdate& sent, std::span<int64_t> sum_q) {
  if (sent.dim != sum_q.size()) {
    return Invalid("AddSent: message dimension " + std::to_string(sent.dim) + ", sum has " +
                   std::to_string(sum_q.size()));
  }
  if (sent.values.size() != sent.indices.size()) {
    return Invalid("AddSent: " + std::to_string(sent.indices.size()) + " indices but " +
                   std::to_string(sent.values.size()) + " values");
  }
  if (!IsFloatCoding(sent.format.value_coding)) {
    return Invalid("AddSent: not a float-coded message");
  }
  // Validate everything before adding anything: a refused message leaves the sum untouched.
  for (size_t j = 0; j < sent.indices.size(); ++j) {
    if (sent.indices[j] >= sum_q.size() || (j > 0 && sent.indices[j] <= sent.indices[j - 1])) {
      return Invalid("AddSent: index " + std::to_string(sent.indices[j]) + " at position " +
                     std::to_string(j) + " is out of range or not ascending");
    }
    if (!std::isfinite(sent.values[j])) {
      return Invalid("AddSent: value at position " + std::to_string(j) + " is not finite");
    }
  }
  for (size_t j = 0; j < sent.indices.size(); ++j) {
    int64_t& slot = sum_q[sent.indices[j]];
    slot = WrapAdd(slot, GdSecQuantize(sent.values[j]));
  }
  return OkStatus();
}

}  // namespace sotto::compress

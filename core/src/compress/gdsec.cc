#include "sotto/core/compress/gdsec.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
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

double HToDouble(int64_t h) { return static_cast<double>(h) * kHScale; }

bool IsFloatCoding(ValueCoding coding) {
  return coding == ValueCoding::kFp32 || coding == ValueCoding::kFp16 ||
         coding == ValueCoding::kBf16;
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

struct GdSecClient::State {
  GdSecOptions options;
  size_t dim = 0;
  size_t k = 0;  // top-k rule
  int64_t beta_q = 0;
  std::vector<int64_t> h;
  std::vector<float> error;
  std::vector<float> v;  // this step's difference, kept apart until the step cannot fail
  std::vector<uint32_t> idx;
  std::vector<float> val;
  kernels::ExecOptions exec;
  kernels::Scratch scratch;
  std::span<std::byte> scratch_span;

  // v = grad - h_m + e_m (into `v`), refusing a non-finite gradient or a difference outside the
  // fixed-point range of h or the value coding. Changes nothing but `v`.
  Status ComputeDifference(std::span<const float> gradient);
};

Status GdSecClient::State::ComputeDifference(std::span<const float> gradient) {
  // v = grad - h_m + e_m, in double from the exact fixed-point h_m (a float view of h_m would
  // add its own rounding to every step), rounded once to float: e = v - sent below is then
  // exact in float.
  const ValueCoding coding = options.value_coding;
  const float bound = std::min(internal::MagnitudeBound(coding), kMaxDifference);
  size_t bad = 0;
  for (size_t i = 0; i < dim; ++i) {
    const float diff = static_cast<float>(static_cast<double>(gradient[i]) - HToDouble(h[i]) +
                                          static_cast<double>(error[i]));
    v[i] = diff;
    bad += !(std::fabs(diff) < bound);
  }
  if (bad != 0) {
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
  state->error.assign(dim, 0.0f);
  state->v.resize(dim);
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
  for (size_t i = 0; i < movement.size(); ++i) {
    if (!std::isfinite(movement[i])) {
      return Invalid("Encode: movement[" + std::to_string(i) + "] is not finite");
    }
  }

  RETURN_IF_ERROR(s.ComputeDifference(gradient));
  const ValueCoding coding = s.options.value_coding;

  // Select. Nothing of the state has changed yet.
  size_t count = 0;
  const std::span<const float> v = s.v;
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

  // Commit: e = v off the support; on it, the value rounded to the wire, e = v - sent (exact,
  // see wire_rounding.h) and h_m += beta_q * q(sent).
  std::copy(s.v.begin(), s.v.end(), s.error.begin());
  for (size_t j = 0; j < count; ++j) {
    const uint32_t i = s.idx[j];
    const float sent = internal::RoundToWire(v[i], coding);
    s.val[j] = sent;
    s.error[i] = v[i] - sent;
    s.h[i] = WrapAdd(s.h[i], WrapMul(s.beta_q, GdSecQuantize(sent)));
  }

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
  // Commit: e = v off the support; on it sent = q * 2^-kGdSecFracBits with q the rounded,
  // clipped difference, e = v - sent, h_m += beta_q * q: exactly the integers the ring carries.
  std::copy(s.v.begin(), s.v.end(), s.error.begin());
  const float limit = static_cast<float>(clip);
  for (size_t j = 0; j < support.size(); ++j) {
    const uint32_t i = support[j];
    const int64_t qi = GdSecQuantize(std::clamp(s.v[i], -limit, limit));
    q[j] = qi;
    s.error[i] = s.v[i] - static_cast<float>(static_cast<double>(qi) * kInvFracScale);
    s.h[i] = WrapAdd(s.h[i], WrapMul(s.beta_q, qi));
  }
  return OkStatus();
}

GdSecClient::Snapshot GdSecClient::Save() const { return Snapshot{state_->h, state_->error}; }

Status GdSecClient::Restore(const Snapshot& snapshot) {
  State& s = *state_;
  if (snapshot.h.size() != s.dim || snapshot.error.size() != s.dim) {
    return Invalid("Restore: a snapshot of " + std::to_string(snapshot.h.size()) + " / " +
                   std::to_string(snapshot.error.size()) + " values for dim " +
                   std::to_string(s.dim));
  }
  for (size_t i = 0; i < s.dim; ++i) {
    if (!std::isfinite(snapshot.error[i])) {
      return Invalid("Restore: error[" + std::to_string(i) + "] is not finite");
    }
  }
  s.h = snapshot.h;
  s.error = snapshot.error;
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

std::span<const float> GdSecClient::error() const { return state_->error; }

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
    gradient[i] =
        static_cast<float>(HToDouble(h_[i]) + static_cast<double>(sum_q[i]) * kInvFracScale);
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

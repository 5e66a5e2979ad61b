#include "masking.h"

#include <string_view>

#include "sotto/base/status_macros.h"

namespace sotto::secagg::internal {
namespace {

constexpr std::string_view kCommitmentLabel = "sotto/secagg/seed-commitment/v1";

template <typename Word>
Status ApplyToVector(const crypto::MaskPrg& prg, const Support& support, std::span<Word> values,
                     crypto::MaskOp op) {
  if (support.is_dense()) {
    return prg.ApplyDense(0, values, op);
  }
  return prg.ApplySparse(support.indices(), values, op);
}

}  // namespace

MaskedSum::MaskedSum(crypto::Ring ring, size_t size) : ring_(ring) {
  if (ring == crypto::Ring::kRing32) {
    w32_.assign(size, 0);
  } else {
    w64_.assign(size, 0);
  }
}

void MaskedSum::Assign(std::span<const uint64_t> values, uint64_t weight) {
  if (ring_ == crypto::Ring::kRing32) {
    for (size_t i = 0; i < values.size(); ++i) {
      w32_[i] = static_cast<uint32_t>(values[i]);
    }
    weight_ = weight & 0xffffffffu;
  } else {
    std::copy(values.begin(), values.end(), w64_.begin());
    weight_ = weight;
  }
}

void MaskedSum::Add(std::span<const uint64_t> values, uint64_t weight) {
  if (ring_ == crypto::Ring::kRing32) {
    uint32_t* out = w32_.data();
    const uint64_t* in = values.data();
    for (size_t i = 0; i < values.size(); ++i) {
      out[i] += static_cast<uint32_t>(in[i]);
    }
    weight_ = (weight_ + weight) & 0xffffffffu;
  } else {
    uint64_t* out = w64_.data();
    const uint64_t* in = values.data();
    for (size_t i = 0; i < values.size(); ++i) {
      out[i] += in[i];
    }
    weight_ += weight;
  }
}

Status MaskedSum::ApplySeed(const crypto::Seed& seed, const Support& support, crypto::MaskOp op) {
  const crypto::MaskPrg vector_prg(seed, kVectorStream);
  const crypto::MaskPrg weight_prg(seed, kWeightStream);
  if (ring_ == crypto::Ring::kRing32) {
    RETURN_IF_ERROR(ApplyToVector(vector_prg, support, std::span<uint32_t>(w32_), op));
    uint32_t w = static_cast<uint32_t>(weight_);
    RETURN_IF_ERROR(weight_prg.ApplyDense(0, std::span<uint32_t>(&w, 1), op));
    weight_ = w;
  } else {
    RETURN_IF_ERROR(ApplyToVector(vector_prg, support, std::span<uint64_t>(w64_), op));
    RETURN_IF_ERROR(weight_prg.ApplyDense(0, std::span<uint64_t>(&weight_, 1), op));
  }
  return OkStatus();
}

std::vector<uint64_t> MaskedSum::Values() const {
  if (ring_ == crypto::Ring::kRing32) {
    return std::vector<uint64_t>(w32_.begin(), w32_.end());
  }
  return w64_;
}

crypto::Blake2b256Digest SeedCommitment(const RoundConfig& config, uint64_t client_id,
                                        std::span<const uint8_t> seed) {
  crypto::Blake2b256Hasher hasher;
  hasher.Update(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(kCommitmentLabel.data()),
                                         kCommitmentLabel.size()));
  hasher.UpdateU64(config.run_id);
  hasher.UpdateU64(config.round_id);
  hasher.UpdateU64(client_id);
  hasher.Update(seed);
  return hasher.Final();
}

crypto::PairContext MakePairContext(const RoundConfig& config, uint64_t self, uint64_t peer,
                                    crypto::PairPurpose purpose) {
  return {config.run_id, config.round_id, self, peer, purpose};
}

crypto::AeadContext MakeAeadContext(const RoundConfig& config, uint64_t sender,
                                    uint64_t recipient) {
  return {config.run_id, config.round_id, sender, recipient};
}

void StoreLe64(uint64_t value, uint8_t* out) {
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<uint8_t>(value >> (8 * i));
  }
}

uint64_t LoadLe64(const uint8_t* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v |= uint64_t{in[i]} << (8 * i);
  }
  return v;
}

}  // namespace sotto::secagg::internal

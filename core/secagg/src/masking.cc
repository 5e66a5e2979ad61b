#include "masking.h"

#include <algorithm>
#include <string_view>
#include <system_error>
#include <thread>

#include "sotto/base/status_macros.h"

namespace sotto::secagg::internal {
namespace {

constexpr std::string_view kCommitmentLabel = "sotto/secagg/seed-commitment/v1";

// Elements per thread below which more threads do not pay for their start-up.
constexpr size_t kMinElementsPerThread = size_t{1} << 15;

// Applies every seed to elements [begin, end) of `values` (coordinates from `support`).
template <typename Word>
Status ApplyRange(std::span<const MaskedSum::SeedOp> seeds, const Support& support,
                  MaskIndexing indexing, std::span<Word> values, size_t begin, size_t end) {
  const auto part = values.subspan(begin, end - begin);
  const bool by_position = support.is_dense() || indexing == MaskIndexing::kSupportPosition;
  for (const auto& s : seeds) {
    const crypto::MaskPrg prg(*s.seed, kVectorStream);
    if (by_position) {
      RETURN_IF_ERROR(prg.ApplyDense(begin, part, s.op));
    } else {
      RETURN_IF_ERROR(prg.ApplySparse(support.indices().subspan(begin, end - begin), part, s.op));
    }
  }
  return OkStatus();
}

template <typename Word>
Status ApplyParallel(std::span<const MaskedSum::SeedOp> seeds, const Support& support,
                     MaskIndexing indexing, std::span<Word> values, int num_threads) {
  const size_t n = values.size();
  const size_t threads = std::max<size_t>(
      1,
      std::min<size_t>(static_cast<size_t>(std::max(num_threads, 1)), n / kMinElementsPerThread));
  if (threads == 1) {
    return ApplyRange(seeds, support, indexing, values, 0, n);
  }
  // Chunk boundaries on 64-element multiples: one ChaCha20 block never straddles two dense
  // chunks (16 words of 2^32, 8 of 2^64), so no block is generated twice.
  const size_t chunk = (n / threads + 63) / 64 * 64;
  std::vector<Status> results(threads);
  std::vector<std::thread> workers;
  workers.reserve(threads - 1);
  for (size_t t = 1; t < threads; ++t) {
    const size_t begin = std::min(n, t * chunk);
    const size_t end = std::min(n, begin + chunk);
    auto work = [&, t, begin, end] {
      results[t] = ApplyRange(seeds, support, indexing, values, begin, end);
    };
    try {
      workers.emplace_back(work);
    } catch (const std::system_error&) {
      work();  // no thread to be had: do this range here (no exception leaves the library)
    }
  }
  results[0] = ApplyRange(seeds, support, indexing, values, 0, std::min(n, chunk));
  for (auto& w : workers) {
    w.join();
  }
  for (auto& r : results) {
    RETURN_IF_ERROR(r);
  }
  return OkStatus();
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

Status MaskedSum::ApplySeeds(std::span<const SeedOp> seeds, const Support& support,
                             MaskIndexing indexing, int num_threads) {
  if (ring_ == crypto::Ring::kRing32) {
    RETURN_IF_ERROR(
        ApplyParallel(seeds, support, indexing, std::span<uint32_t>(w32_), num_threads));
    uint32_t w = static_cast<uint32_t>(weight_);
    for (const auto& s : seeds) {
      RETURN_IF_ERROR(
          crypto::MaskPrg(*s.seed, kWeightStream).ApplyDense(0, std::span<uint32_t>(&w, 1), s.op));
    }
    weight_ = w;
  } else {
    RETURN_IF_ERROR(
        ApplyParallel(seeds, support, indexing, std::span<uint64_t>(w64_), num_threads));
    for (const auto& s : seeds) {
      RETURN_IF_ERROR(crypto::MaskPrg(*s.seed, kWeightStream)
                          .ApplyDense(0, std::span<uint64_t>(&weight_, 1), s.op));
    }
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

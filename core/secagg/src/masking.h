#pragma once

// Ring vectors and the masks of one round (private to sotto_secagg).
//
// Streams: a seed (a self-mask seed b_u or a pair seed s_uv) masks the vector with MaskPrg
// stream kVectorStream at the support's global coordinates, and the weight with stream
// kWeightStream at coordinate 0, so the two never share keystream.
// Pair sign: client u adds PRG(s_uv) when u < v and subtracts it when u > v; the pair's two
// masks cancel in the sum. A server that removes the mask of a dropped v from the input of
// u applies the inverse of PairMaskOp(u, v).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "sotto/base/status.h"
#include "sotto/crypto/aead.h"
#include "sotto/crypto/fixed_point.h"
#include "sotto/crypto/hash.h"
#include "sotto/crypto/key_agreement.h"
#include "sotto/crypto/mask_prg.h"
#include "sotto/crypto/secret_bytes.h"
#include "sotto/secagg/config.h"

namespace sotto::secagg::internal {

inline constexpr uint64_t kVectorStream = 0;
inline constexpr uint64_t kWeightStream = 1;

// |S| ring elements and a weight, in the round's word width (uint32_t or uint64_t), with
// arithmetic mod 2^w.
class MaskedSum {
 public:
  MaskedSum(crypto::Ring ring, size_t size);

  crypto::Ring ring() const { return ring_; }
  size_t size() const { return ring_ == crypto::Ring::kRing32 ? w32_.size() : w64_.size(); }

  // this = values (elements < 2^w), weight.
  void Assign(std::span<const uint64_t> values, uint64_t weight);
  // this += values, weight (elements < 2^w; sizes equal).
  void Add(std::span<const uint64_t> values, uint64_t weight);
  // this += values, weight if the weight and every element are < 2^w, in one pass over the
  // values (split over up to `num_threads` threads from 2^18 elements each); otherwise false and
  // this is unchanged (the pass is undone). Sizes equal. The server's MaskedInput path: one read
  // of the 8-byte-per-element input instead of a validation pass and an addition pass.
  bool AddIfInRing(std::span<const uint64_t> values, uint64_t weight, int num_threads);

  struct SeedOp {
    const crypto::Seed* seed;
    crypto::MaskOp op;
  };
  // this op= the masks of every seed in `seeds`: the vector's from stream kVectorStream, the
  // weight's from coordinate 0 of stream kWeightStream. Up to `num_threads` threads: the vector is
  // cut into contiguous ranges (multiples of 256 elements) and each thread applies every seed to
  // its own range (no shared writes, no reduction), 16 KiB of the vector at a time (the piece
  // stays in L1 across the seeds). The result does not depend on the thread count.
  // `indexing` says where element i's mask is (RoundConfig::mask_indexing).
  Status ApplySeeds(std::span<const SeedOp> seeds, const Support& support, MaskIndexing indexing,
                    int num_threads);

  // The elements widened to uint64_t.
  std::vector<uint64_t> Values() const;
  // Elements [begin, end) widened to uint64_t into out[0 .. end - begin).
  void ValuesTo(size_t begin, size_t end, uint64_t* out) const;
  uint64_t Weight() const { return weight_; }

 private:
  crypto::Ring ring_;
  std::vector<uint32_t> w32_;
  std::vector<uint64_t> w64_;
  uint64_t weight_ = 0;
};

// Runs fn(i) for every i < count on up to `num_threads` threads, the calling thread included;
// indices are handed out in ascending order, one at a time, so that uneven jobs balance. fn must
// be safe to call concurrently for different i, and should write only what belongs to i (then
// the result does not depend on the thread count or the schedule). Returns when every call has
// returned. A thread that cannot be started leaves its share to the others.
void ParallelFor(size_t count, int num_threads, const std::function<void(size_t)>& fn);

inline crypto::MaskOp PairMaskOp(uint64_t self, uint64_t peer) {
  return self < peer ? crypto::MaskOp::kAdd : crypto::MaskOp::kSubtract;
}
inline crypto::MaskOp Inverse(crypto::MaskOp op) {
  return op == crypto::MaskOp::kAdd ? crypto::MaskOp::kSubtract : crypto::MaskOp::kAdd;
}

// BLAKE2b-256("sotto/secagg/seed-commitment/v1" || LE64(run) || LE64(round) || LE64(client)
// || seed): binds the self-mask seed before any share of it exists.
crypto::Blake2b256Digest SeedCommitment(const RoundConfig& config, uint64_t client_id,
                                        std::span<const uint8_t> seed);

crypto::PairContext MakePairContext(const RoundConfig& config, uint64_t self, uint64_t peer,
                                    crypto::PairPurpose purpose);
crypto::AeadContext MakeAeadContext(const RoundConfig& config, uint64_t sender, uint64_t recipient);

// Little-endian helpers for the share envelope.
void StoreLe64(uint64_t value, uint8_t* out);
uint64_t LoadLe64(const uint8_t* in);

}  // namespace sotto::secagg::internal

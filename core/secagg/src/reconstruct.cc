#include "reconstruct.h"

#include <numeric>
#include <string>
#include <vector>

#include "sotto/base/random.h"

namespace sotto::secagg::internal {
namespace {

std::vector<crypto::ShamirShare> Pick(std::span<const crypto::ShamirShare> shares,
                                      std::span<const size_t> picks) {
  std::vector<crypto::ShamirShare> out;
  out.reserve(picks.size());
  for (size_t i : picks) {
    out.push_back({shares[i].x, shares[i].value.Clone()});
  }
  return out;
}

}  // namespace

StatusOr<crypto::SecretBytes> ReconstructChecked(
    std::span<const crypto::ShamirShare> shares, uint32_t threshold, uint32_t max_attempts,
    uint64_t subset_seed, const std::function<bool(const crypto::SecretBytes&)>& accept) {
  const size_t m = shares.size();
  if (threshold == 0 || m < threshold) {
    return AbortedError("reconstruct: " + std::to_string(m) + " shares, threshold " +
                        std::to_string(threshold));
  }
  uint32_t attempts = 0;
  // 1. Everything.
  {
    auto secret = crypto::ShamirReconstruct(shares, threshold);
    ++attempts;
    if (secret.ok() && accept(*secret)) {
      return std::move(secret).value();
    }
  }
  std::vector<size_t> picks;
  // 2. Leave one out.
  if (m > threshold) {
    for (size_t skip = 0; skip < m && attempts < max_attempts; ++skip) {
      picks.clear();
      for (size_t i = 0; i < m; ++i) {
        if (i != skip) {
          picks.push_back(i);
        }
      }
      auto candidate = Pick(shares, picks);
      auto secret = crypto::ShamirReconstruct(candidate, threshold);
      ++attempts;
      if (secret.ok() && accept(*secret)) {
        return std::move(secret).value();
      }
    }
  }
  // 3. Random t-subsets.
  if (m > threshold) {
    Prng prng(subset_seed);
    std::vector<size_t> order(m);
    while (attempts < max_attempts) {
      std::iota(order.begin(), order.end(), size_t{0});
      prng.Shuffle(std::span<size_t>(order));
      auto candidate = Pick(shares, std::span<const size_t>(order).first(threshold));
      auto secret = crypto::ShamirReconstruct(candidate, threshold);
      ++attempts;
      if (secret.ok() && accept(*secret)) {
        return std::move(secret).value();
      }
    }
  }
  return DataLossError("reconstruct: no set of " + std::to_string(m) +
                       " shares rebuilt a secret that matches its commitment (" +
                       std::to_string(attempts) + " attempts)");
}

}  // namespace sotto::secagg::internal

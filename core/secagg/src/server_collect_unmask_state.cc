#include "server_collect_unmask_state.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "reconstruct.h"
#include "server_terminal_states.h"
#include "sotto/base/random.h"
#include "sotto/base/status_macros.h"
#include "sotto/crypto/key_agreement.h"

namespace sotto::secagg::internal {
namespace {

uint64_t Magnitude(int64_t q) {
  return q < 0 ? uint64_t{0} - static_cast<uint64_t>(q) : static_cast<uint64_t>(q);
}

}  // namespace

ServerCollectUnmaskState::ServerCollectUnmaskState(
    std::unique_ptr<ServerRoundData> data, MaskedSum sum,
    std::vector<std::optional<UnmaskRequest>> requests)
    : ServerState(std::move(data)), sum_(std::move(sum)), requests_(std::move(requests)) {
  seed_shares_.resize(round_data()->clients.size());
  key_shares_.resize(round_data()->clients.size());
}

Status ServerCollectUnmaskState::Accept(uint32_t index, ClientMessage message, DropReason*) {
  ServerRoundData& d = data();
  auto& response = std::get<UnmaskResponse>(message);
  const uint64_t sender = d.clients[index].id;
  // Only live members of U3 were asked; they are the only live clients in this phase.
  if (!requests_[index].has_value()) {
    return InternalError("no UnmaskRequest was sent to a live client");
  }
  RETURN_IF_ERROR(ValidateUnmaskResponse(response, sender, *requests_[index]));
  for (auto* list : {&response.self_mask_seed_shares, &response.mask_key_shares}) {
    const bool seeds = list == &response.self_mask_seed_shares;
    for (RevealedShare& share : *list) {
      const int64_t owner = d.graph.IndexOf(share.owner_id);
      const uint32_t x = d.graph.ShareIndex(share.owner_id, sender);
      (seeds ? seed_shares_ : key_shares_)[owner].push_back({x, std::move(share.value)});
    }
  }
  return OkStatus();
}

ServerOutcome ServerCollectUnmaskState::Advance() {
  ServerRoundData& d = data();
  d.DropSilent();
  const uint32_t t = d.config.threshold;

  // 1. Enough shares for every secret the unmasking needs.
  std::vector<uint32_t> u3;
  std::vector<uint32_t> dropped;  // U2 \ U3 with a neighbour in U3
  for (uint32_t i = 0; i < d.clients.size(); ++i) {
    const ServerClient& c = d.clients[i];
    if (c.in_u3) {
      u3.push_back(i);
      if (seed_shares_[i].size() < t) {
        return MakeServerAbort(ServerAbortReason::kTooFewSurvivors,
                               AbortedError("Unmask: " + std::to_string(seed_shares_[i].size()) +
                                            " self-mask shares of client " + std::to_string(c.id) +
                                            ", threshold " + std::to_string(t)));
      }
    } else if (c.in_u2) {
      bool has_u3_neighbour = false;
      for (uint32_t j : d.graph.ClosedNeighbourhoodIndices(i)) {
        has_u3_neighbour = has_u3_neighbour || d.clients[j].in_u3;
      }
      if (!has_u3_neighbour) {
        continue;
      }
      dropped.push_back(i);
      if (key_shares_[i].size() < t) {
        return MakeServerAbort(ServerAbortReason::kTooFewSurvivors,
                               AbortedError("Unmask: " + std::to_string(key_shares_[i].size()) +
                                            " mask-key shares of client " + std::to_string(c.id) +
                                            ", threshold " + std::to_string(t)));
      }
    }
  }

  const uint32_t attempts = d.options.max_reconstruction_attempts;
  const uint64_t subset_seed = DeriveSeed(d.config.run_id, d.config.round_id);
  // 2. One job per secret: for U3 rebuild b_u and check it against the commitment; for a dropped
  // client rebuild s_v^SK, check it against the advertised key, and derive the pair seeds of its
  // neighbours in U3. The jobs are independent (X25519 and Shamir dominate), so they run on the
  // round's threads; each writes only its own seed slots and failure, and the first failure in
  // job order decides the abort, as on one thread.
  struct Job {
    uint32_t client;
    bool dropped;
    size_t first_slot;
  };
  struct Failure {
    ServerAbortReason reason;
    Status status;
  };
  std::vector<Job> jobs;
  jobs.reserve(u3.size() + dropped.size());
  size_t slots = 0;
  for (uint32_t i : u3) {
    jobs.push_back({i, false, slots++});
  }
  for (uint32_t i : dropped) {
    jobs.push_back({i, true, slots});
    for (uint32_t j : d.graph.ClosedNeighbourhoodIndices(i)) {
      slots += j != i && d.clients[j].in_u3 ? 1 : 0;
    }
  }
  std::vector<std::optional<crypto::Seed>> seeds(slots);
  std::vector<crypto::MaskOp> ops(slots, crypto::MaskOp::kSubtract);
  std::vector<std::optional<Failure>> failures(jobs.size());
  ParallelFor(jobs.size(), d.options.num_threads, [&](size_t k) {
    const Job& job = jobs[k];
    const ServerClient& c = d.clients[job.client];
    if (!job.dropped) {
      auto secret = ReconstructChecked(
          seed_shares_[job.client], t, attempts, DeriveSeed(subset_seed, c.id),
          [&](const crypto::SecretBytes& s) {
            return SeedCommitment(d.config, c.id, s.bytes()) == c.keys->seed_commitment;
          });
      if (!secret.ok()) {
        failures[k] = Failure{
            ServerAbortReason::kReconstructionFailed,
            secret.status().WithContext("self-mask seed of client " + std::to_string(c.id))};
        return;
      }
      auto seed = crypto::Seed::FromBytes(secret->bytes());
      if (!seed.ok()) {
        failures[k] = Failure{ServerAbortReason::kInternal, seed.status()};
        return;
      }
      seeds[job.first_slot] = std::move(seed).value();
      return;
    }
    auto secret =
        ReconstructChecked(key_shares_[job.client], t, attempts, DeriveSeed(subset_seed, ~c.id),
                           [&](const crypto::SecretBytes& s) {
                             auto key = crypto::X25519SecretKey::FromBytes(s.bytes());
                             if (!key.ok()) {
                               return false;
                             }
                             auto public_key = crypto::X25519PublicKeyFromSecret(*key);
                             return public_key.ok() && *public_key == c.keys->mask_key;
                           });
    if (!secret.ok()) {
      failures[k] =
          Failure{ServerAbortReason::kReconstructionFailed,
                  secret.status().WithContext("mask key of client " + std::to_string(c.id))};
      return;
    }
    auto secret_key = crypto::X25519SecretKey::FromBytes(secret->bytes());
    if (!secret_key.ok()) {
      failures[k] = Failure{ServerAbortReason::kInternal, secret_key.status()};
      return;
    }
    const crypto::X25519KeyPair key_pair{c.keys->mask_key, std::move(secret_key).value()};
    // The pair seeds with all its neighbours in U3 in one batch (crypto's DerivePairSeeds).
    std::vector<crypto::X25519PublicKey> peer_keys;
    std::vector<crypto::PairContext> contexts;
    for (uint32_t j : d.graph.ClosedNeighbourhoodIndices(job.client)) {
      const ServerClient& u = d.clients[j];
      if (j == job.client || !u.in_u3) {
        continue;
      }
      peer_keys.push_back(u.keys->mask_key);
      contexts.push_back(MakePairContext(d.config, c.id, u.id, crypto::PairPurpose::kMask));
    }
    auto pair_seeds = crypto::DerivePairSeeds(key_pair, peer_keys, contexts);
    if (!pair_seeds.ok()) {
      failures[k] = Failure{ServerAbortReason::kInternal, pair_seeds.status()};
      return;
    }
    for (size_t m = 0; m < pair_seeds->size(); ++m) {
      seeds[job.first_slot + m] = std::move((*pair_seeds)[m]);
      ops[job.first_slot + m] = Inverse(PairMaskOp(contexts[m].peer_id, c.id));
    }
  });
  for (auto& failure : failures) {
    if (failure.has_value()) {
      return MakeServerAbort(failure->reason, std::move(failure->status));
    }
  }
  // 3. Every mask removed in one pass per coordinate range.
  std::vector<MaskedSum::SeedOp> seed_ops;
  seed_ops.reserve(seeds.size());
  for (size_t k = 0; k < seeds.size(); ++k) {
    seed_ops.push_back({&*seeds[k], ops[k]});
  }
  if (Status s = sum_.ApplySeeds(seed_ops, d.config.support, d.config.mask_indexing,
                                 d.options.num_threads);
      !s.ok()) {
    return MakeServerAbort(ServerAbortReason::kInternal, s);
  }

  // 4. The range n honest clients can produce, checked while the sum is widened to uint64_t,
  // in blocks over the round's threads (the first bad element in index order is reported).
  AggregateResult result;
  result.sum.resize(sum_.size());
  result.weight_sum = sum_.Weight();
  for (uint32_t i : u3) {
    result.contributors.push_back(d.clients[i].id);
  }
  const uint64_t n3 = u3.size();
  const uint64_t bound = n3 * d.max_magnitude;  // < 2^(w-1): ValidateRoundConfig
  const bool ring32 = d.config.fixed_point.ring == crypto::Ring::kRing32;
  constexpr size_t kBlock = size_t{1} << 16;
  const size_t blocks = (result.sum.size() + kBlock - 1) / kBlock;
  std::vector<size_t> first_bad(blocks, result.sum.size());
  ParallelFor(blocks, d.options.num_threads, [&](size_t b) {
    const size_t begin = b * kBlock;
    const size_t end = std::min(result.sum.size(), begin + kBlock);
    sum_.ValuesTo(begin, end, result.sum.data() + begin);
    for (size_t k = begin; k < end; ++k) {
      const int64_t q = ring32 ? static_cast<int32_t>(static_cast<uint32_t>(result.sum[k]))
                               : static_cast<int64_t>(result.sum[k]);
      if (Magnitude(q) > bound) {
        first_bad[b] = k;
        return;
      }
    }
  });
  for (size_t k : first_bad) {
    if (k < result.sum.size()) {
      return MakeServerAbort(
          ServerAbortReason::kAggregateOutOfRange,
          DataLossError("Unmask: element " + std::to_string(k) + " of the sum is outside what " +
                        std::to_string(n3) + " honest clients can produce"));
    }
  }
  if (result.weight_sum < n3 || result.weight_sum > n3 * d.config.max_weight) {
    return MakeServerAbort(ServerAbortReason::kAggregateOutOfRange,
                           DataLossError("Unmask: the weight sum is outside what " +
                                         std::to_string(n3) + " honest clients can produce"));
  }
  return ServerTransition{std::make_unique<ServerCompletedState>(TakeData(), std::move(result)),
                          {}};
}

}  // namespace sotto::secagg::internal

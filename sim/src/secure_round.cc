#include "secure_round.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "parallel.h"
#include "sotto/base/random.h"
#include "sotto/base/status_macros.h"
#include "sotto/secagg/client.h"
#include "sotto/secagg/wire.h"

namespace sotto::sim::internal {
namespace {

// The phase (count of Advance calls so far) from which an offline client stops answering:
// it answered ShareKeysRequest (phase 1) and never answers MaskedInputRequest (phase 2).
constexpr int kOfflineFromPhase = 2;

uint64_t RingBytes(const secagg::RoundConfig& config) {
  return config.fixed_point.ring == crypto::Ring::kRing32 ? 4 : 8;
}

uint64_t UplinkBytes(const secagg::RoundConfig& config, const secagg::ClientMessage& message) {
  if (const auto* masked = std::get_if<secagg::MaskedInput>(&message)) {
    return (masked->values.size() + 1) * RingBytes(config) + 8;
  }
  return secagg::SerializeClientMessage(message).size();
}

}  // namespace

StatusOr<SecureRoundResult> RunSecureRound(const secagg::RoundConfig& config,
                                           std::map<uint64_t, secagg::ClientInput> inputs,
                                           const std::map<uint64_t, uint64_t>& client_seeds,
                                           const std::set<uint64_t>& offline_after_share_keys,
                                           int threads) {
  secagg::ServerOptions server_options;
  server_options.num_threads = std::max(1, threads);
  ASSIGN_OR_RETURN(std::unique_ptr<secagg::SecAggServer> server,
                   secagg::SecAggServer::Create(config, std::move(server_options)));

  std::vector<uint64_t> ids = config.client_ids;
  std::sort(ids.begin(), ids.end());
  const size_t n = ids.size();
  std::map<uint64_t, size_t> slot_of;
  std::vector<std::unique_ptr<SeededRandom>> randoms(n);
  std::vector<std::unique_ptr<secagg::SecAggClient>> clients(n);
  for (size_t i = 0; i < n; ++i) {
    const uint64_t id = ids[i];
    slot_of[id] = i;
    auto seed = client_seeds.find(id);
    if (seed == client_seeds.end()) {
      return InvalidArgumentError("secure round: no seed for client " + std::to_string(id));
    }
    randoms[i] = std::make_unique<SeededRandom>(seed->second);
    secagg::ClientInput input;
    if (auto it = inputs.find(id); it != inputs.end()) {
      input = std::move(it->second);
    } else if (offline_after_share_keys.count(id) != 0) {
      input.values.assign(config.support.size(), 0);  // never sent
      input.weight = 1;
    } else {
      return InvalidArgumentError("secure round: no input for client " + std::to_string(id));
    }
    ASSIGN_OR_RETURN(clients[i],
                     secagg::SecAggClient::Create(config, id, std::move(input), *randoms[i]));
  }

  SecureRoundResult result;
  // Clients work in parallel; the server takes their replies in ascending id order.
  std::vector<StatusOr<std::optional<secagg::ClientMessage>>> replies;
  replies.reserve(n);
  for (size_t i = 0; i < n; ++i) replies.emplace_back(std::optional<secagg::ClientMessage>());
  auto deliver = [&](size_t i) {
    if (!replies[i].ok() || !replies[i]->has_value()) {
      return;  // the client aborted, or had nothing to say
    }
    secagg::ClientMessage message = std::move(**replies[i]);
    result.uplink_bytes += UplinkBytes(config, message);
    // A refusal drops the sender; the server records why (drop_reason).
    server->Handle(ids[i], std::move(message)).IgnoreError();
  };

  ParallelFor(n, threads, [&](size_t i) {
    StatusOr<secagg::ClientMessage> start = clients[i]->Start();
    if (start.ok()) {
      replies[i] = std::optional<secagg::ClientMessage>(std::move(start).value());
    } else {
      replies[i] = start.status();
    }
  });
  for (size_t i = 0; i < n; ++i) deliver(i);

  int phase = 0;
  while (server->phase() != secagg::ServerPhase::kCompleted &&
         server->phase() != secagg::ServerPhase::kAborted) {
    ASSIGN_OR_RETURN(std::vector<secagg::Outgoing> outgoing, server->Advance());
    ++phase;
    std::vector<const secagg::ServerMessage*> inbox(n, nullptr);
    for (const secagg::Outgoing& o : outgoing) {
      result.downlink_bytes += secagg::SerializeServerMessage(o.message).size();
      auto slot = slot_of.find(o.to);
      if (slot == slot_of.end()) {
        return InternalError("secure round: the server wrote to unknown client " +
                             std::to_string(o.to));
      }
      if (inbox[slot->second] != nullptr) {
        return InternalError("secure round: two messages to client " + std::to_string(o.to) +
                             " in one phase");
      }
      inbox[slot->second] = &o.message;
    }
    for (auto& r : replies) r = std::optional<secagg::ClientMessage>();
    ParallelFor(n, threads, [&](size_t i) {
      if (inbox[i] == nullptr ||
          (phase >= kOfflineFromPhase && offline_after_share_keys.count(ids[i]) != 0)) {
        return;
      }
      replies[i] = clients[i]->Handle(*inbox[i]);
    });
    for (size_t i = 0; i < n; ++i) deliver(i);
  }

  for (uint64_t id : ids) {
    result.dropped += server->drop_reason(id) != secagg::DropReason::kNone;
  }
  if (server->phase() == secagg::ServerPhase::kAborted) {
    result.abort_status = server->abort()->status;
  } else {
    result.aggregate = *server->result();
  }
  return result;
}

}  // namespace sotto::sim::internal

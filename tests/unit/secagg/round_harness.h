#pragma once

// An in-memory transport for whole secure-aggregation rounds in tests: one SecAggServer, n
// SecAggClients (each with its own SeededRandom), messages moved by value. It can take clients
// offline before any phase, tamper with messages in flight, and it records everything the
// server receives (the spy: what an honest-but-curious server holds).

#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "sotto/base/check.h"
#include "sotto/base/random.h"
#include "sotto/secagg/client.h"
#include "sotto/secagg/config.h"
#include "sotto/secagg/input.h"
#include "sotto/secagg/server.h"
#include "sotto/secagg/support.h"
#include "sotto/secagg/wire.h"

namespace sotto::secagg::testing {

// Phases at which a client can go offline: it never handles that phase's request (or, for
// kAdvertiseKeys, never starts) and sends nothing from then on.
enum class DropAt : int {
  kNever = -1,
  kAdvertise = 0,
  kShareKeys = 1,
  kMaskedInput = 2,
  kUnmask = 3
};

// A config with n clients (ids 1000 + 7 i, so ids are not dense indices), threshold t, the given
// support, and a fixed-point encoding whose M leaves room for n clients in the ring.
inline RoundConfig MakeConfig(uint32_t n, uint32_t threshold, Support support,
                              crypto::Ring ring = crypto::Ring::kRing32, uint32_t degree = 0,
                              uint64_t seed = 1) {
  RoundConfig config;
  config.run_id = 77;
  config.round_id = 5;
  for (uint32_t i = 0; i < n; ++i) {
    config.client_ids.push_back(1000 + 7 * uint64_t{i});
  }
  config.threshold = threshold;
  config.degree = degree;
  config.graph_seed = seed;
  config.fixed_point.ring = ring;
  config.fixed_point.clip = 1.0;
  // M = 2^20 (ring 2^32, n <= 2^10) or 2^40 (ring 2^64).
  config.fixed_point.scale = ring == crypto::Ring::kRing32 ? double(1 << 20) : double(1ULL << 40);
  config.fixed_point.max_clients = n;
  config.max_weight = 1000;
  config.support_policy = support.is_dense() ? SupportPolicy::kDense : SupportPolicy::kSharedRandom;
  config.support = std::move(support);
  return config;
}

inline Support DenseSupport(uint64_t dim) {
  auto s = Support::Dense(dim);
  SOTTO_CHECK_OK(s.status());
  return *s;
}

// A random ring input with |q| <= M and a weight in [1, max_weight].
inline ClientInput RandomInput(const RoundConfig& config, uint64_t seed) {
  Prng prng(seed);
  const uint64_t m =
      static_cast<uint64_t>(std::ceil(config.fixed_point.clip * config.fixed_point.scale));
  const uint64_t mask = RingMaxElement(config.fixed_point.ring);
  ClientInput input;
  input.values.resize(config.support.size());
  for (auto& v : input.values) {
    const int64_t q = static_cast<int64_t>(prng.UniformInt(2 * m + 1)) - static_cast<int64_t>(m);
    v = static_cast<uint64_t>(q) & mask;
  }
  input.weight = 1 + prng.UniformInt(config.max_weight);
  return input;
}

struct Received {
  uint64_t from;
  ServerPhase phase;           // the server's phase when it arrived
  std::vector<uint8_t> bytes;  // SerializeClientMessage
  bool accepted;
};

class InMemoryRound {
 public:
  InMemoryRound(RoundConfig config, uint64_t seed) : config_(std::move(config)), seed_(seed) {
    for (uint64_t id : config_.client_ids) {
      inputs_[id] = RandomInput(config_, DeriveSeed(seed_, id));
    }
  }

  const RoundConfig& config() const { return config_; }
  std::map<uint64_t, ClientInput>& inputs() { return inputs_; }
  void DropAtPhase(uint64_t id, DropAt phase) { drop_at_[id] = phase; }

  // Called on every client -> server message before delivery; may change it.
  std::function<void(uint64_t from, ClientMessage&)> tamper_up;
  // Called on every server -> client message before delivery; may change it.
  std::function<void(uint64_t to, ServerMessage&)> tamper_down;
  ServerOptions server_options;
  ClientOptions client_options;

  // Runs the round to a terminal server phase. Returns OK when it completed.
  Status Run() {
    auto server = SecAggServer::Create(config_, std::move(server_options));
    if (!server.ok()) {
      return server.status();
    }
    server_ = std::move(server).value();
    for (uint64_t id : config_.client_ids) {
      randoms_[id] = std::make_unique<SeededRandom>(DeriveSeed(seed_ + 1, id));
      auto client = SecAggClient::Create(config_, id, inputs_[id], *randoms_[id], client_options);
      if (!client.ok()) {
        return client.status();
      }
      clients_[id] = std::move(client).value();
    }
    for (uint64_t id : config_.client_ids) {
      if (Offline(id, 0)) {
        continue;
      }
      auto message = clients_[id]->Start();
      SOTTO_CHECK_OK(message.status());
      Deliver(id, std::move(message).value());
    }
    int phase = 0;
    while (server_->phase() != ServerPhase::kCompleted &&
           server_->phase() != ServerPhase::kAborted) {
      auto out = server_->Advance();
      SOTTO_CHECK_OK(out.status());
      ++phase;
      for (Outgoing& o : *out) {
        if (tamper_down) {
          tamper_down(o.to, o.message);
        }
        if (Offline(o.to, phase)) {
          continue;
        }
        auto reply = clients_[o.to]->Handle(o.message);
        if (reply.ok() && reply->has_value()) {
          Deliver(o.to, std::move(**reply));
        }
      }
    }
    if (server_->phase() == ServerPhase::kAborted) {
      return server_->abort()->status;
    }
    return OkStatus();
  }

  SecAggServer& server() { return *server_; }
  SecAggClient& client(uint64_t id) { return *clients_.at(id); }
  const std::vector<Received>& received() const { return received_; }

  // The ring sum of the inputs of `contributors`.
  std::vector<uint64_t> PlainSum(const std::vector<uint64_t>& contributors, uint64_t* weight) {
    const uint64_t mask = RingMaxElement(config_.fixed_point.ring);
    std::vector<uint64_t> sum(config_.support.size(), 0);
    uint64_t w = 0;
    for (uint64_t id : contributors) {
      const auto& in = inputs_.at(id);
      for (size_t i = 0; i < sum.size(); ++i) {
        sum[i] = (sum[i] + in.values[i]) & mask;
      }
      w = (w + in.weight) & mask;
    }
    *weight = w;
    return sum;
  }

 private:
  bool Offline(uint64_t id, int phase) const {
    auto it = drop_at_.find(id);
    return it != drop_at_.end() && it->second != DropAt::kNever &&
           static_cast<int>(it->second) <= phase;
  }

  void Deliver(uint64_t from, ClientMessage message) {
    if (tamper_up) {
      tamper_up(from, message);
    }
    Received r{from, server_->phase(), SerializeClientMessage(message), false};
    r.accepted = server_->Handle(from, std::move(message)).ok();
    received_.push_back(std::move(r));
  }

  RoundConfig config_;
  uint64_t seed_;
  std::map<uint64_t, ClientInput> inputs_;
  std::map<uint64_t, DropAt> drop_at_;
  std::map<uint64_t, std::unique_ptr<SeededRandom>> randoms_;
  std::map<uint64_t, std::unique_ptr<SecAggClient>> clients_;
  std::unique_ptr<SecAggServer> server_;
  std::vector<Received> received_;
};

}  // namespace sotto::secagg::testing

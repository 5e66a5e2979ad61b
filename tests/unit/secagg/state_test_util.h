#pragma once

// Helpers for the per-state tests.
//
// - FakePeers: the test plays the server and every other client around one real SecAggClient,
//   with key pairs it holds itself, so it can build any request (good or malformed) and open
//   and check everything the client sends.
// - Stepper: a real server and real clients moved one phase at a time, so a server-state test
//   can inject a bad message at exactly the phase it tests.

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "round_harness.h"
#include "sotto/base/check.h"
#include "sotto/base/random.h"
#include "sotto/crypto/aead.h"
#include "sotto/crypto/key_agreement.h"
#include "sotto/crypto/mask_prg.h"
#include "sotto/crypto/shamir.h"
#include "sotto/secagg/client.h"
#include "sotto/secagg/graph.h"
#include "sotto/secagg/messages.h"
#include "sotto/secagg/server.h"
#include "sotto/secagg/validation.h"

namespace sotto::secagg::testing {

inline std::vector<uint8_t> Bytes(std::span<const uint8_t> b) { return {b.begin(), b.end()}; }

inline void PutLe64(uint64_t v, uint8_t* out) {
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<uint8_t>(v >> (8 * i));
  }
}

// One simulated client around the real one: key pairs, a self-mask seed, its Shamir shares.
struct FakePeer {
  uint64_t id = 0;
  crypto::X25519KeyPair mask;
  crypto::X25519KeyPair encryption;
  crypto::Seed seed;
  std::vector<crypto::ShamirShare> seed_shares;  // t-of-num_shares, x = 1..num_shares
  std::vector<crypto::ShamirShare> key_shares;
};

class FakePeers {
 public:
  // Config: n clients, threshold t, graph `degree`; the real client is config.client_ids[0].
  explicit FakePeers(RoundConfig config, uint64_t seed = 7)
      : config_(std::move(config)), random_(seed), client_random_(seed + 1) {
    auto graph = NeighbourGraph::Create(config_);
    SOTTO_CHECK_OK(graph.status());
    graph_ = std::make_unique<NeighbourGraph>(std::move(graph).value());
    self_ = config_.client_ids[0];
    for (size_t i = 1; i < config_.client_ids.size(); ++i) {
      FakePeer p{config_.client_ids[i],
                 *crypto::GenerateX25519KeyPair(random_),
                 *crypto::GenerateX25519KeyPair(random_),
                 *crypto::Seed::Generate(random_),
                 {},
                 {}};
      p.seed_shares =
          *crypto::ShamirSplit(p.seed.bytes(), config_.threshold, graph_->num_shares(), random_);
      p.key_shares = *crypto::ShamirSplit(p.mask.secret_key.bytes(), config_.threshold,
                                          graph_->num_shares(), random_);
      peers_.emplace(p.id, std::move(p));
    }
    input_ = RandomInput(config_, seed);
  }

  const RoundConfig& config() const { return config_; }
  const NeighbourGraph& graph() const { return *graph_; }
  uint64_t self() const { return self_; }
  FakePeer& peer(uint64_t id) { return peers_.at(id); }
  const ClientInput& input() const { return input_; }
  // Neighbours of the real client that are fake peers, ascending.
  std::vector<uint64_t> Neighbours() const {
    std::vector<uint64_t> out;
    for (uint64_t id : graph_->ClosedNeighbourhood(self_)) {
      if (id != self_) {
        out.push_back(id);
      }
    }
    return out;
  }

  // The real client; Start()ed, its AdvertiseKeys parsed.
  SecAggClient& StartClient(ClientOptions options = {}) {
    auto client = SecAggClient::Create(config_, self_, input_, client_random_, options);
    SOTTO_CHECK_OK(client.status());
    client_ = std::move(client).value();
    auto advertise = client_->Start();
    SOTTO_CHECK_OK(advertise.status());
    advertise_ = std::get<AdvertiseKeys>(*advertise);
    auto parsed = ValidateAdvertiseKeys(advertise_);
    SOTTO_CHECK_OK(parsed.status());
    client_mask_key_ = parsed->mask_key;
    client_encryption_key_ = parsed->encryption_key;
    return *client_;
  }
  SecAggClient& client() { return *client_; }
  const AdvertiseKeys& advertise() const { return advertise_; }

  ShareKeysRequest MakeShareKeysRequest(const std::vector<uint64_t>& ids) {
    ShareKeysRequest request;
    for (uint64_t id : ids) {
      const FakePeer& p = peers_.at(id);
      request.peers.push_back(
          {id, Bytes(p.mask.public_key.bytes()), Bytes(p.encryption.public_key.bytes())});
    }
    return request;
  }

  // The envelope `from` would send the real client, with the given inner sender/recipient.
  std::vector<uint8_t> MakeEnvelope(uint64_t from, uint64_t inner_sender, uint64_t inner_recipient,
                                    uint64_t aead_sender) {
    FakePeer& p = peers_.at(from);
    auto key = crypto::DerivePairSeed(
        p.encryption, *client_encryption_key_,
        {config_.run_id, config_.round_id, from, self_, crypto::PairPurpose::kShareEncryption});
    SOTTO_CHECK_OK(key.status());
    const uint32_t x = graph_->ShareIndex(from, self_);
    std::vector<uint8_t> plain(kSharePlaintextBytes);
    PutLe64(inner_sender, plain.data());
    PutLe64(inner_recipient, plain.data() + 8);
    auto s = p.seed_shares[x - 1].value.bytes();
    auto k = p.key_shares[x - 1].value.bytes();
    std::copy(s.begin(), s.end(), plain.begin() + 16);
    std::copy(k.begin(), k.end(), plain.begin() + 16 + crypto::kShamirShareBytes);
    auto sealed = crypto::AeadSeal(*key, {config_.run_id, config_.round_id, aead_sender, self_},
                                   plain, random_);
    SOTTO_CHECK_OK(sealed.status());
    return *sealed;
  }

  MaskedInputRequest MakeMaskedInputRequest(const std::vector<uint64_t>& ids) {
    MaskedInputRequest request;
    for (uint64_t id : ids) {
      request.shares.push_back({id, MakeEnvelope(id, id, self_, id)});
    }
    return request;
  }

  // Opens the envelope the real client sent to `to`: (seed share, key share).
  std::pair<crypto::SecretBytes, crypto::SecretBytes> OpenFromClient(
      uint64_t to, const std::vector<uint8_t>& ciphertext) {
    FakePeer& p = peers_.at(to);
    auto key = crypto::DerivePairSeed(
        p.encryption, *client_encryption_key_,
        {config_.run_id, config_.round_id, to, self_, crypto::PairPurpose::kShareEncryption});
    SOTTO_CHECK_OK(key.status());
    auto opened = crypto::AeadOpen(*key, {config_.run_id, config_.round_id, self_, to}, ciphertext);
    SOTTO_CHECK_OK(opened.status());
    const auto b = opened->bytes();
    uint64_t sender = 0, recipient = 0;
    for (int i = 0; i < 8; ++i) {
      sender |= uint64_t{b[i]} << (8 * i);
      recipient |= uint64_t{b[8 + i]} << (8 * i);
    }
    EXPECT_EQ(sender, self_);
    EXPECT_EQ(recipient, to);
    return std::make_pair(crypto::SecretBytes::CopyFrom(b.subspan(16, crypto::kShamirShareBytes)),
                          crypto::SecretBytes::CopyFrom(b.subspan(16 + crypto::kShamirShareBytes)));
  }

  const crypto::X25519PublicKey& client_mask_key() const { return *client_mask_key_; }

  // Drives the real client through ShareKeys with all neighbours; returns its response.
  ShareKeysResponse DoShareKeys() {
    auto reply = client_->Handle(MakeShareKeysRequest(Neighbours()));
    SOTTO_CHECK_OK(reply.status());
    return std::get<ShareKeysResponse>(**reply);
  }
  // ... and through MaskedInput with all neighbours; returns the masked input.
  MaskedInput DoMaskedInput() {
    auto reply = client_->Handle(MakeMaskedInputRequest(Neighbours()));
    SOTTO_CHECK_OK(reply.status());
    return std::get<MaskedInput>(**reply);
  }

 private:
  RoundConfig config_;
  SeededRandom random_;
  SeededRandom client_random_;
  std::unique_ptr<NeighbourGraph> graph_;
  uint64_t self_ = 0;
  std::map<uint64_t, FakePeer> peers_;
  ClientInput input_;
  std::unique_ptr<SecAggClient> client_;
  AdvertiseKeys advertise_;
  std::optional<crypto::X25519PublicKey> client_mask_key_;
  std::optional<crypto::X25519PublicKey> client_encryption_key_;
};

// A real server with real clients, one phase at a time.
class Stepper {
 public:
  explicit Stepper(RoundConfig config, uint64_t seed = 11, ServerOptions options = {},
                   std::map<uint64_t, ClientOptions> client_options = {})
      : config_(std::move(config)) {
    auto server = SecAggServer::Create(config_, std::move(options));
    SOTTO_CHECK_OK(server.status());
    server_ = std::move(server).value();
    for (uint64_t id : config_.client_ids) {
      randoms_[id] = std::make_unique<SeededRandom>(DeriveSeed(seed, id));
      inputs_[id] = RandomInput(config_, DeriveSeed(seed + 1, id));
      auto client =
          SecAggClient::Create(config_, id, inputs_[id], *randoms_[id], client_options[id]);
      SOTTO_CHECK_OK(client.status());
      clients_[id] = std::move(client).value();
    }
  }

  const RoundConfig& config() const { return config_; }
  const std::vector<uint64_t>& ids() const { return config_.client_ids; }
  SecAggServer& server() { return *server_; }
  SecAggClient& client(uint64_t id) { return *clients_.at(id); }
  const ClientInput& input(uint64_t id) const { return inputs_.at(id); }

  // The clients' messages for the current server phase, not yet delivered: AdvertiseKeys from
  // Start(), or the replies to the last Advance()'s requests.
  std::map<uint64_t, ClientMessage>& pending() { return pending_; }

  void StartAll() {
    for (uint64_t id : config_.client_ids) {
      auto m = clients_[id]->Start();
      SOTTO_CHECK_OK(m.status());
      pending_.emplace(id, std::move(m).value());
    }
  }
  // Delivers every pending message (except those of `skip`) to the server; expects OK.
  void DeliverPending(const std::vector<uint64_t>& skip = {}) {
    for (auto& [id, m] : pending_) {
      if (std::find(skip.begin(), skip.end(), id) != skip.end()) {
        continue;
      }
      Status s = server_->Handle(id, std::move(m));
      EXPECT_TRUE(s.ok()) << id << ": " << s;
    }
    pending_.clear();
  }
  // Server Advance; the requests are handed to the clients and their replies become pending.
  // Returns the requests.
  std::map<uint64_t, ServerMessage> Advance() {
    auto out = server_->Advance();
    SOTTO_CHECK_OK(out.status());
    std::map<uint64_t, ServerMessage> sent;
    for (Outgoing& o : *out) {
      auto reply = clients_[o.to]->Handle(o.message);
      if (reply.ok() && reply->has_value()) {
        pending_.emplace(o.to, std::move(**reply));
      }
      sent.emplace(o.to, std::move(o.message));
    }
    return sent;
  }
  // Runs phases until the server is in `phase`, delivering everything.
  void RunTo(ServerPhase phase) {
    if (server_->phase() == ServerPhase::kCollectingKeys && pending_.empty()) {
      StartAll();
    }
    while (server_->phase() != phase) {
      DeliverPending();
      Advance();
    }
  }
  // Delivers the rest and advances to the end.
  Status Finish() {
    while (server_->phase() != ServerPhase::kCompleted &&
           server_->phase() != ServerPhase::kAborted) {
      DeliverPending();
      Advance();
    }
    return server_->phase() == ServerPhase::kCompleted ? OkStatus() : server_->abort()->status;
  }
  std::vector<uint64_t> PlainSum(const std::vector<uint64_t>& contributors) const {
    const uint64_t mask = RingMaxElement(config_.fixed_point.ring);
    std::vector<uint64_t> sum(config_.support.size(), 0);
    for (uint64_t id : contributors) {
      for (size_t i = 0; i < sum.size(); ++i) {
        sum[i] = (sum[i] + inputs_.at(id).values[i]) & mask;
      }
    }
    return sum;
  }

 private:
  RoundConfig config_;
  std::unique_ptr<SecAggServer> server_;
  std::map<uint64_t, std::unique_ptr<SeededRandom>> randoms_;
  std::map<uint64_t, ClientInput> inputs_;
  std::map<uint64_t, std::unique_ptr<SecAggClient>> clients_;
  std::map<uint64_t, ClientMessage> pending_;
};

}  // namespace sotto::secagg::testing

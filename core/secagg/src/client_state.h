#pragma once

// The client's protocol states (private to sotto_secagg; SecAggClient in
// sotto/secagg/client.h owns the current one). One class per phase, in the files
// client_<phase>_state.h, each tested by tests/unit/secagg/client_<phase>_state_test.cc.
//
// A state owns the round's data (ClientRoundData) and moves it into the next state. Handle
// either returns the next state plus the message to send, or a typed abort: a state never
// sends half an answer, and after an abort the client sends nothing.

#include <cstdint>
#include <memory>
#include <optional>
#include <variant>
#include <vector>

#include "sotto/base/random.h"
#include "sotto/crypto/key_agreement.h"
#include "sotto/crypto/secret_bytes.h"
#include "sotto/secagg/client.h"
#include "sotto/secagg/config.h"
#include "sotto/secagg/graph.h"
#include "sotto/secagg/input.h"
#include "sotto/secagg/messages.h"
#include "sotto/secagg/validation.h"

namespace sotto::secagg::internal {

// A neighbour in U1 with the pair key for its share envelopes and the seed of its pair mask.
struct ClientPeer {
  uint64_t id = 0;
  crypto::X25519PublicKey mask_key;
  crypto::X25519PublicKey encryption_key;
  crypto::Seed envelope_key;  // DerivePairSeed(kShareEncryption)
  crypto::Seed mask_seed;     // DerivePairSeed(kMask), used by MaskedInput if the peer is in U2
};

// The shares a neighbour in U2 gave this client.
struct HeldShares {
  uint64_t owner_id = 0;
  crypto::SecretBytes seed_share;  // of the owner's self-mask seed b
  crypto::SecretBytes key_share;   // of the owner's mask secret key
};

struct ClientRoundData {
  explicit ClientRoundData(NeighbourGraph g) : graph(std::move(g)) {}

  RoundConfig config;
  NeighbourGraph graph;
  uint64_t self_id = 0;
  Random* random = nullptr;  // not owned
  ClientOptions options;
  ClientInput input;

  // Made by the AdvertiseKeys state.
  std::optional<crypto::X25519KeyPair> mask_keys;
  std::optional<crypto::X25519KeyPair> encryption_keys;
  std::optional<crypto::Seed> self_mask_seed;

  // Made by the ShareKeys state: the neighbours in U1 (ascending, with their envelope keys and
  // mask seeds) and this client's own shares.
  std::vector<ClientPeer> peers;
  crypto::SecretBytes own_seed_share;
  crypto::SecretBytes own_key_share;

  // Made by the MaskedInput state: the shares of the neighbours in U2 (ascending owner).
  std::vector<HeldShares> held;
};

class ClientState;

struct ClientTransition {
  std::unique_ptr<ClientState> next;
  std::optional<ClientMessage> reply;
};

// The next state (and reply) or why the client stops.
using ClientOutcome = std::variant<ClientTransition, ClientAbort>;

class ClientState {
 public:
  virtual ~ClientState() = default;
  ClientState(const ClientState&) = delete;
  ClientState& operator=(const ClientState&) = delete;

  virtual ClientPhase phase() const = 0;

  // Only the AdvertiseKeys state starts; the others answer FailedPrecondition (kWrongPhase).
  virtual ClientOutcome Start();
  // Every state accepts AbortRound (-> Aborted, kServerAborted); anything but the message of
  // its phase is a kWrongPhase abort. Terminal states override this.
  virtual ClientOutcome Handle(const ServerMessage& message);

 protected:
  explicit ClientState(std::unique_ptr<ClientRoundData> data) : data_(std::move(data)) {}

  // The message of this phase (after the generic checks above).
  virtual ClientOutcome HandleOwn(const ServerMessage& message) = 0;
  // Which ServerMessage alternative HandleOwn takes, or -1.
  virtual int OwnMessageIndex() const = 0;

  ClientRoundData& data() { return *data_; }
  std::unique_ptr<ClientRoundData> TakeData() { return std::move(data_); }

 private:
  std::unique_ptr<ClientRoundData> data_;
};

ClientAbort MakeClientAbort(ClientAbortReason reason, Status status);
// The abort reason a validator's status stands for: Aborted -> kTooFewNeighbours, anything
// else -> kMalformedRequest.
ClientAbort AbortFromValidation(Status status);

}  // namespace sotto::secagg::internal

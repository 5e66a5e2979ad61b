#pragma once

// The server's protocol states (private to sotto_secagg; SecAggServer in
// sotto/secagg/server.h owns the current one). One class per phase, in the files
// server_<phase>_state.h, each tested by tests/unit/secagg/server_<phase>_state_test.cc.
//
// A state owns the round's data (ServerRoundData) and moves it into the next state.
// ServerState::Handle does the checks every phase shares (row 10: unknown or dropped sender;
// row 4: a message of another phase; row 5: a second message) and passes the message of its
// phase to Accept; a refused message drops its sender. Advance ends the phase and returns the
// next state with the messages to send, or a typed abort.

#include <cstdint>
#include <memory>
#include <optional>
#include <variant>
#include <vector>

#include "sotto/crypto/fixed_point.h"
#include "sotto/secagg/config.h"
#include "sotto/secagg/graph.h"
#include "sotto/secagg/messages.h"
#include "sotto/secagg/server.h"
#include "sotto/secagg/validation.h"

namespace sotto::secagg::internal {

// What the server knows about one client. Set memberships only grow along
// U3 subset of U2 subset of U1.
struct ServerClient {
  uint64_t id = 0;
  bool live = true;
  DropReason drop_reason = DropReason::kNone;
  bool sent_this_phase = false;
  std::optional<ParsedAdvertiseKeys> keys;
  bool in_u1 = false;  // advertised keys and was sent a ShareKeysRequest
  bool in_u2 = false;  // shared keys and was sent a MaskedInputRequest
  bool in_u3 = false;  // its masked input is in the sum
};

struct ServerRoundData {
  explicit ServerRoundData(NeighbourGraph g) : graph(std::move(g)) {}

  RoundConfig config;
  NeighbourGraph graph;
  ServerOptions options;
  uint64_t max_magnitude = 0;         // M of the fixed-point config
  std::vector<ServerClient> clients;  // by dense index (graph order)

  // Marks client `index` dead (never revived).
  void Drop(uint32_t index, DropReason reason);
  // Dense indices of the clients for which pred(client) holds, ascending.
  template <typename Pred>
  std::vector<uint32_t> Select(Pred pred) const {
    std::vector<uint32_t> out;
    for (uint32_t i = 0; i < clients.size(); ++i) {
      if (pred(clients[i])) {
        out.push_back(i);
      }
    }
    return out;
  }
  // Clients that were expected in this phase (live) but sent nothing: dropped (kNoResponse).
  void DropSilent();
  // The live clients with member(c) that would have to leave the set because fewer than t
  // members of their closed neighbourhood are in it (repeated until stable). Changes nothing:
  // the caller drops them (kTooFewNeighbours) unless the round aborts.
  template <typename Member>
  std::vector<uint32_t> PruneToThreshold(Member member) const;
  // Live clients with member(c).
  template <typename Member>
  size_t CountLive(Member member) const {
    size_t n = 0;
    for (const auto& c : clients) {
      n += (c.live && member(c)) ? 1 : 0;
    }
    return n;
  }
  // Drops `pruned` (kTooFewNeighbours) and tells each of them the round goes on without it.
  void DropPruned(const std::vector<uint32_t>& pruned, std::vector<Outgoing>& out);
  void ResetPhase();
};

class ServerState;

struct ServerTransition {
  std::unique_ptr<ServerState> next;
  std::vector<Outgoing> messages;
};

using ServerOutcome = std::variant<ServerTransition, ServerAbort>;

class ServerState {
 public:
  virtual ~ServerState() = default;
  ServerState(const ServerState&) = delete;
  ServerState& operator=(const ServerState&) = delete;

  virtual ServerPhase phase() const = 0;

  // See server.h (Handle). Terminal states refuse everything with FailedPrecondition.
  Status Handle(uint64_t from, ClientMessage message);
  // Every live client has sent its message of this phase.
  virtual bool ReadyToAdvance() const;
  virtual ServerOutcome Advance() = 0;

  const ServerRoundData* round_data() const { return data_.get(); }
  // Hands the round's data over (to a terminal state after an abort).
  std::unique_ptr<ServerRoundData> ReleaseData() { return std::move(data_); }
  // The aggregate (kCompleted only).
  virtual const AggregateResult* result() const { return nullptr; }

 protected:
  explicit ServerState(std::unique_ptr<ServerRoundData> data) : data_(std::move(data)) {}

  // The ClientMessage alternative this phase takes, or -1 (terminal).
  virtual int OwnMessageIndex() const = 0;
  // The message of this phase from live client `index` that has not sent one yet. A non-OK
  // status refuses it; Handle then drops the sender with `*reason` (default kMalformedMessage).
  virtual Status Accept(uint32_t index, ClientMessage message, DropReason* reason) = 0;

  ServerRoundData& data() { return *data_; }
  std::unique_ptr<ServerRoundData> TakeData() { return std::move(data_); }

 private:
  std::unique_ptr<ServerRoundData> data_;
};

ServerAbort MakeServerAbort(ServerAbortReason reason, Status status);

template <typename Member>
std::vector<uint32_t> ServerRoundData::PruneToThreshold(Member member) const {
  std::vector<char> in(clients.size());
  for (uint32_t i = 0; i < clients.size(); ++i) {
    in[i] = clients[i].live && member(clients[i]);
  }
  std::vector<uint32_t> pruned;
  bool changed = true;
  while (changed) {
    changed = false;
    for (uint32_t i = 0; i < clients.size(); ++i) {
      if (!in[i]) {
        continue;
      }
      size_t count = 0;
      for (uint32_t j : graph.ClosedNeighbourhoodIndices(i)) {
        count += in[j] ? 1 : 0;
      }
      if (count < config.threshold) {
        in[i] = 0;
        pruned.push_back(i);
        changed = true;
      }
    }
  }
  return pruned;
}

}  // namespace sotto::secagg::internal

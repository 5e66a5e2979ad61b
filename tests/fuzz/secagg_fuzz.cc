// Fuzz target for secure aggregation's message handling (sotto/secagg): the byte format
// (wire.h), every message validator (validation.h), and the client and server state machines.
//
// The first byte picks what the rest feeds:
//   0: ParseClientMessage, then the server-side validators against a fixed 3-client round;
//   1: ParseServerMessage, then the client-side validators;
//   2: a real server of a 3-client round, run honestly to the phase named by the second byte,
//      receives the parsed client message from the client named by the third byte, then
//      advances (and, if it can, finishes the round with the honest clients' messages);
//   3: a real client, run honestly to the phase named by the second byte, handles the parsed
//      server message.
// Every outcome must be a Status with a documented code; a parsed message re-serialises to the
// same bytes; a server that completes a round must hold the exact sum of the contributors'
// inputs (no input can make it accept a wrong sum). Anything else aborts.
//
// Built as a libFuzzer binary when SOTTO_FUZZ=ON with clang, and always as the corpus-replay
// test fuzz_secagg_corpus (tests/fuzz/corpus_main.cc).

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "sotto/base/check.h"
#include "sotto/base/random.h"
#include "sotto/secagg/client.h"
#include "sotto/secagg/config.h"
#include "sotto/secagg/graph.h"
#include "sotto/secagg/server.h"
#include "sotto/secagg/validation.h"
#include "sotto/secagg/wire.h"

namespace sotto::secagg {
namespace {

constexpr uint64_t kIds[] = {11, 22, 33};

RoundConfig FuzzConfig() {
  RoundConfig config;
  config.run_id = 1;
  config.round_id = 2;
  config.client_ids = {kIds[0], kIds[1], kIds[2]};
  config.threshold = 2;
  config.fixed_point = {1.0, 1024.0, 3, crypto::Ring::kRing32};
  config.max_weight = 10;
  config.support = *Support::Sparse(64, {1, 7, 8, 63});
  config.support_policy = SupportPolicy::kSharedRandom;
  return config;
}

void CheckCode(const Status& status, std::initializer_list<StatusCode> allowed) {
  if (status.ok()) {
    return;
  }
  for (StatusCode code : allowed) {
    if (status.code() == code) {
      return;
    }
  }
  SOTTO_CHECK(false) << "unexpected status " << status;
}

ClientInput InputFor(uint64_t id) {
  ClientInput input;
  input.values = {id, 0, 1024 - id, (uint64_t{1} << 32) - id};  // |q| <= 1024
  input.weight = 1 + id % 10;
  return input;
}

// Three honest clients and a server, stepped together.
struct Round {
  Round() : config(FuzzConfig()) {
    server = *SecAggServer::Create(config);
    for (uint64_t id : kIds) {
      randoms[id] = std::make_unique<SeededRandom>(id);
      clients[id] = *SecAggClient::Create(config, id, InputFor(id), *randoms[id]);
      pending.emplace(id, *clients[id]->Start());
    }
  }
  // Delivers the pending messages and advances once; the replies become pending.
  void Step() {
    for (auto& [id, m] : pending) {
      SOTTO_CHECK_OK(server->Handle(id, std::move(m)));
    }
    pending.clear();
    Advance();
  }
  void Advance() {
    auto out = server->Advance();
    SOTTO_CHECK_OK(out.status());
    for (auto& o : *out) {
      last_sent.insert_or_assign(o.to, o.message);
      auto reply = clients[o.to]->Handle(o.message);
      if (reply.ok() && reply->has_value()) {
        pending.emplace(o.to, std::move(**reply));
      }
    }
  }

  RoundConfig config;
  std::unique_ptr<SecAggServer> server;
  std::map<uint64_t, std::unique_ptr<SeededRandom>> randoms;
  std::map<uint64_t, std::unique_ptr<SecAggClient>> clients;
  std::map<uint64_t, ClientMessage> pending;
  std::map<uint64_t, ServerMessage> last_sent;
};

void FuzzClientValidators(const ClientMessage& message) {
  const RoundConfig config = FuzzConfig();
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, AdvertiseKeys>) {
          CheckCode(ValidateAdvertiseKeys(m).status(), {StatusCode::kInvalidArgument});
          (void)AdvertiseSignedBytes(config, kIds[0], m);
        } else if constexpr (std::is_same_v<T, ShareKeysResponse>) {
          const std::vector<uint64_t> recipients = {kIds[1], kIds[2]};
          CheckCode(ValidateShareKeysResponse(m, recipients), {StatusCode::kInvalidArgument});
        } else if constexpr (std::is_same_v<T, MaskedInput>) {
          CheckCode(ValidateMaskedInput(m, 4, crypto::Ring::kRing32),
                    {StatusCode::kInvalidArgument});
          CheckCode(ValidateMaskedInput(m, 4, crypto::Ring::kRing64),
                    {StatusCode::kInvalidArgument});
        } else {
          CheckCode(ValidateUnmaskResponse(m, kIds[0], UnmaskRequest{{kIds[1]}, {kIds[2]}}),
                    {StatusCode::kInvalidArgument});
        }
      },
      message);
}

void FuzzServerValidators(const ServerMessage& message) {
  const RoundConfig config = FuzzConfig();
  const auto graph = *NeighbourGraph::Create(config);
  SeededRandom random(5);
  const auto own_mask = *crypto::GenerateX25519KeyPair(random);
  const auto own_enc = *crypto::GenerateX25519KeyPair(random);
  const std::vector<uint64_t> peers = {kIds[1], kIds[2]};
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, ShareKeysRequest>) {
          CheckCode(ValidateShareKeysRequest(m, graph, kIds[0], own_mask.public_key,
                                             own_enc.public_key, 2)
                        .status(),
                    {StatusCode::kInvalidArgument, StatusCode::kAborted});
        } else if constexpr (std::is_same_v<T, MaskedInputRequest>) {
          CheckCode(ValidateMaskedInputRequest(m, peers, 2),
                    {StatusCode::kInvalidArgument, StatusCode::kAborted});
        } else if constexpr (std::is_same_v<T, UnmaskRequest>) {
          CheckCode(ValidateUnmaskRequest(m, kIds[0], peers, 2),
                    {StatusCode::kInvalidArgument, StatusCode::kAborted});
        }
      },
      message);
}

void FuzzServer(uint8_t phase, uint8_t who, const ClientMessage& message) {
  Round round;
  for (uint8_t p = 0; p < phase % 4; ++p) {
    round.Step();
  }
  const uint64_t from = who < 3 ? kIds[who] : who;
  const Status status = round.server->Handle(from, CloneClientMessage(message));
  CheckCode(status, {StatusCode::kInvalidArgument, StatusCode::kFailedPrecondition,
                     StatusCode::kPermissionDenied, StatusCode::kUnauthenticated});
  // An accepted masked input is simply that client's (other) input: the sum check below cannot
  // know it. Everything else a message can do must leave the sum exact or abort the round.
  const bool own_input_replaced = status.ok() && std::holds_alternative<MaskedInput>(message);
  // The honest messages of the others (and of `from` if it was not dropped; a duplicate then
  // drops it), then the rest of the round.
  while (round.server->phase() != ServerPhase::kCompleted &&
         round.server->phase() != ServerPhase::kAborted) {
    for (auto& [id, m] : round.pending) {
      CheckCode(round.server->Handle(id, std::move(m)),
                {StatusCode::kFailedPrecondition, StatusCode::kPermissionDenied,
                 StatusCode::kInvalidArgument});
    }
    round.pending.clear();
    round.Advance();
  }
  if (const AggregateResult* result = round.server->result(); result && !own_input_replaced) {
    // Never a wrong sum: exactly the contributors' inputs.
    std::vector<uint64_t> expected(4, 0);
    uint64_t weight = 0;
    for (uint64_t id : result->contributors) {
      const ClientInput in = InputFor(id);
      for (size_t i = 0; i < 4; ++i) {
        expected[i] = (expected[i] + in.values[i]) & 0xffffffffu;
      }
      weight += in.weight;
    }
    SOTTO_CHECK(result->sum == expected) << "wrong sum";
    SOTTO_CHECK(result->weight_sum == weight) << "wrong weight";
  } else if (round.server->abort().has_value()) {
    CheckCode(round.server->abort()->status, {StatusCode::kAborted, StatusCode::kDataLoss});
  }
}

void FuzzClient(uint8_t phase, const ServerMessage& message) {
  Round round;
  for (uint8_t p = 0; p < phase % 4; ++p) {
    round.Step();
  }
  SecAggClient& client = *round.clients[kIds[0]];
  auto reply = client.Handle(message);
  if (!reply.ok()) {
    CheckCode(reply.status(), {StatusCode::kInvalidArgument, StatusCode::kFailedPrecondition,
                               StatusCode::kAborted, StatusCode::kUnauthenticated});
    SOTTO_CHECK(client.phase() == ClientPhase::kAborted ||
                client.phase() == ClientPhase::kCompleted);
  }
}

void FuzzOne(std::span<const uint8_t> bytes) {
  if (bytes.empty()) {
    return;
  }
  const uint8_t mode = bytes[0] % 4;
  bytes = bytes.subspan(1);
  uint8_t phase = 0;
  uint8_t who = 0;
  if (mode >= 2) {
    if (bytes.size() < 2) {
      return;
    }
    phase = bytes[0];
    who = bytes[1];
    bytes = bytes.subspan(2);
  }
  if (mode == 0 || mode == 2) {
    auto message = ParseClientMessage(bytes);
    if (!message.ok()) {
      CheckCode(message.status(), {StatusCode::kInvalidArgument});
      return;
    }
    const auto again = SerializeClientMessage(*message);
    SOTTO_CHECK(std::equal(again.begin(), again.end(), bytes.begin(), bytes.end()));
    if (mode == 0) {
      FuzzClientValidators(*message);
    } else {
      FuzzServer(phase, who % 4, *message);
    }
  } else {
    auto message = ParseServerMessage(bytes);
    if (!message.ok()) {
      CheckCode(message.status(), {StatusCode::kInvalidArgument});
      return;
    }
    const auto again = SerializeServerMessage(*message);
    SOTTO_CHECK(std::equal(again.begin(), again.end(), bytes.begin(), bytes.end()));
    if (mode == 1) {
      FuzzServerValidators(*message);
    } else {
      FuzzClient(phase, *message);
    }
  }
}

}  // namespace
}  // namespace sotto::secagg

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sotto::secagg::FuzzOne(std::span<const uint8_t>(data, size));
  return 0;
}

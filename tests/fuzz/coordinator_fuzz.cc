// Fuzz target for the coordinator's message dispatch (sotto/coordinator/coordinator.h) behind
// the in-memory transport's frame decoder: what an authenticated but hostile client can send.
//
// The harness connects three clients (secure aggregation needs three), says Hello for each, and
// lets the coordinator start a round; the fuzzed client "mallory" is selected and holds a
// RoundStart, the two others stay silent. Every input runs twice: against a secure round with
// top-k updates, and against a plain GD-SEC round that counts with mallory alone (so what it
// sends reaches GD-SEC's sum, h and the strategy). The input is then a sequence of chunks,
// each a 2-byte little-endian length and that many bytes:
//   - a chunk that parses as an Envelope is sent as one; if the flag bit of the chunk's length
//     (0x8000) is set, its run id and round id are first set to the current ones, so that it
//     gets past the replay filter into the round;
//   - any other chunk goes onto the stream raw (the coordinator's frame decoder sees it).
// After each chunk the network runs and the coordinator ticks on a fake clock that advances
// 5 s, so deadlines pass too.
// Properties (anything else aborts): Tick never fails, the model stays finite and of its size,
// at most the three clients are connected, and the coordinator survives to the end of the input.
//
// Built as a libFuzzer binary when SOTTO_FUZZ=ON with clang, and always as the corpus-replay
// test fuzz_coordinator_corpus (tests/fuzz/corpus_main.cc).

#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "sotto/base/check.h"
#include "sotto/base/clock.h"
#include "sotto/coordinator/coordinator.h"
#include "sotto/net/inbox.h"
#include "sotto/net/memory_transport.h"

namespace sotto {
namespace {

coordinator::CoordinatorOptions Options(bool gdsec) {
  coordinator::CoordinatorOptions o;
  o.num_rounds = 2;
  o.selection.min_clients = 3;
  o.initial_model.assign(64, 0.25f);
  o.deadlines.train = std::chrono::seconds(20);
  if (gdsec) {
    o.selection.min_clients = 1;
    o.compression.mutable_gdsec()->set_beta(0.5);
    o.compression.mutable_gdsec()->set_density(0.25);
    return o;
  }
  o.compression.set_sparsifier(proto::SPARSIFIER_TOP_K);
  o.compression.set_density(0.25);
  o.secure_aggregation.enabled = true;
  o.secure_aggregation.policy = secagg::SupportPolicy::kSharedRandom;
  o.secure_aggregation.density = 0.25;
  return o;
}

void Run(const uint8_t* data, size_t size, bool gdsec) {
  FakeClock clock;
  net::MemoryNetwork network;
  auto listener = network.Listen("coordinator", "coordinator");
  SOTTO_CHECK(listener.ok());
  auto made = coordinator::Coordinator::Create(Options(gdsec), &clock, nullptr);
  SOTTO_CHECK(made.ok()) << made.status();
  std::unique_ptr<coordinator::Coordinator> c = *std::move(made);
  (*listener)->Start([&](std::shared_ptr<net::Connection> conn) { c->Accept(std::move(conn)); });

  std::vector<std::shared_ptr<net::Connection>> links;
  for (const char* id : {"mallory", "quiet-1", "quiet-2"}) {
    auto dialer = network.NewDialer("coordinator", id);
    SOTTO_CHECK(dialer.ok());
    std::shared_ptr<net::Connection> conn;
    (*dialer)->Dial([&](StatusOr<std::shared_ptr<net::Connection>> dialed) {
      SOTTO_CHECK(dialed.ok());
      conn = *dialed;
    });
    network.RunUntilIdle();
    SOTTO_CHECK(conn != nullptr);
    conn->Start(net::Inbox::Create()->Callbacks());
    proto::Envelope hello;
    hello.mutable_hello()->set_min_protocol_version(1);
    hello.mutable_hello()->set_max_protocol_version(1);
    hello.mutable_hello()->set_client_id(id);
    SOTTO_CHECK(conn->Send(hello).ok());
    links.push_back(conn);
  }
  std::shared_ptr<net::Connection> link = links[0];
  network.RunUntilIdle();
  SOTTO_CHECK(c->Tick().ok());  // the round starts
  network.RunUntilIdle();

  auto check = [&] {
    SOTTO_CHECK(c->model().size() == 64);
    for (float v : c->model()) SOTTO_CHECK(std::isfinite(v));
    SOTTO_CHECK(c->connected_clients() <= 3);
    SOTTO_CHECK(c->gdsec_h().size() == (gdsec ? 64u : 0u));
  };
  size_t pos = 0;
  while (pos + 2 <= size) {
    const uint16_t header = static_cast<uint16_t>(data[pos] | (data[pos + 1] << 8));
    pos += 2;
    const size_t length = std::min<size_t>(header & 0x7fff, size - pos);
    const uint8_t* chunk = data + pos;
    pos += length;
    proto::Envelope envelope;
    if (envelope.ParseFromArray(chunk, static_cast<int>(length)) &&
        envelope.body_case() != proto::Envelope::BODY_NOT_SET) {
      if (header & 0x8000) {
        envelope.set_run_id(c->run_id());
        envelope.set_round_id(c->completed_rounds() + 1);
      }
      (void)link->Send(envelope);  // may be refused by the sender's own caps
    } else if (link->is_open()) {
      (void)network.SendRawForTesting(*link, std::vector<uint8_t>(chunk, chunk + length));
    }
    network.RunUntilIdle();
    clock.Advance(std::chrono::seconds(5));
    SOTTO_CHECK(c->Tick().ok());
    network.RunUntilIdle();
    check();
  }
  check();
}

}  // namespace
}  // namespace sotto

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sotto::Run(data, size, /*gdsec=*/false);
  sotto::Run(data, size, /*gdsec=*/true);
  return 0;
}

#pragma once

// The in-memory transport: sotto/net/transport.h without sockets, for tests and the
// simulator. Deterministic: nothing happens except inside RunUntilIdle()/RunOne(), which run
// queued events in the order they were queued, on the calling thread. The same program with
// the same calls produces the same callbacks in the same order, every time.
//
//   net::MemoryNetwork network;
//   ASSIGN_OR_RETURN(auto listener, network.Listen("coordinator", "coordinator"));
//   listener->Start(on_accept);
//   ASSIGN_OR_RETURN(auto dialer, network.NewDialer("coordinator", "alice"));
//   dialer->Dial(on_dialed);
//   network.RunUntilIdle();
//
// It behaves like the TLS transport where that matters to the layers above:
//   - identity: a dialer authenticates as the client id it was made with (what its
//     certificate would say); the listener's connections report it as peer_id, and every
//     envelope is bound to it (BindPeerIdentity: a claim of another id closes with
//     Unauthenticated). A dialer's connections report the listener's server id.
//   - framing: envelopes are encoded into frames and decoded by the receiver's FrameDecoder
//     with its receive caps, so oversized, malformed and truncated frames are refused with the
//     same codes (SendRawForTesting and Disconnect inject them). SendEncoded queues the
//     recipient's own bytes and a reference to the shared body (not a copy); the receiver
//     decodes the same bytes as for Send.
//   - bounded queues: a sender may have max_queued_messages / max_queued_bytes frames that the
//     receiver has not processed yet (e.g. because it has not called Start).
//   - the connection cap: a dial beyond max_connections fails with Unavailable and counts as
//     refused_over_cap; dialing an address nobody listens on fails with Unavailable.
//   - closing: Close() delivers what was sent before it, then the peer sees a clean end (OK);
//     Disconnect() and a refused frame end both sides abruptly (Unavailable on the other).
// Not modelled: time. Deadlines in ConnectionOptions are ignored (there is no clock);
// handshakes cannot fail; no bandwidth or latency (the simulator adds those above).
//
// Threading: every callback runs inside RunUntilIdle/RunOne on the calling thread, one at a
// time; call those from one thread at a time. Everything else (Send, Close, Start, Dial,
// Listen, Shutdown, stats) is thread-safe. The network must outlive its listeners, dialers
// and connections.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sotto/base/status.h"
#include "sotto/base/statusor.h"
#include "sotto/net/transport.h"

namespace sotto::net {

struct MemoryListenerOptions {
  size_t max_connections = 1024;
  ConnectionOptions connection = ServerConnectionOptions();
};

class MemoryNetwork {
 public:
  MemoryNetwork();
  ~MemoryNetwork();
  MemoryNetwork(const MemoryNetwork&) = delete;
  MemoryNetwork& operator=(const MemoryNetwork&) = delete;

  // A listener at `address` whose peers see it as `server_id` (a valid identity).
  // AlreadyExists when the address is taken, InvalidArgument for a bad id or options.
  StatusOr<std::shared_ptr<Listener>> Listen(const std::string& address,
                                             const std::string& server_id,
                                             const MemoryListenerOptions& options = {});

  // A dialer to `address` that authenticates as `client_id` (a valid identity).
  StatusOr<std::shared_ptr<Dialer>> NewDialer(
      const std::string& address, const std::string& client_id,
      const ConnectionOptions& options = ClientConnectionOptions());

  // Runs queued events until there are none (callbacks may queue more); returns how many ran.
  size_t RunUntilIdle();
  // Runs the oldest queued event; false when there was none.
  bool RunOne();
  size_t pending_events() const;

  // Faults. Queues `bytes` from `from` to its peer as if written raw on the stream (the peer's
  // decoder sees exactly these bytes). InvalidArgument if `from` is not a memory connection,
  // FailedPrecondition if it is closed.
  Status SendRawForTesting(Connection& from, std::vector<uint8_t> bytes);
  // Breaks the link under `connection`: it ends with Unavailable, and its peer, after
  // processing what was already sent, sees the stream end abruptly (Unavailable).
  void Disconnect(Connection& connection);

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace sotto::net

#pragma once

// The transport interface: authenticated, message-oriented connections between the
// coordinator and its clients. Two implementations share it: TLS over TCP (sotto/net/tls.h)
// and an in-memory network for tests and the simulator (sotto/net/memory_transport.h). The
// coordinator and the client SDK are written against this header only.
//
// A Connection carries sotto.proto.Envelope messages in both directions. Every connection has
// an authenticated peer identity, fixed before the application sees the connection (TLS: the
// CN of the certificate the peer proved it holds; memory: the name it registered with), and
// every received envelope has been checked against it and stamped with it
// (sotto/net/envelope_codec.h: a mismatch closes the connection with Unauthenticated).
//
// Life of a connection:
//   1. A Listener hands each new, authenticated connection to its AcceptHandler; a Dialer
//      hands its DialHandler the connection or the reason it could not be made.
//   2. The owner calls Start(callbacks) once. Nothing is received before Start (bytes wait in
//      the transport), so no message is lost between accepting and starting.
//   3. on_message runs once per received envelope, in order. Send() queues envelopes;
//      SendEncoded() queues one whose body was serialized once for many connections.
//   4. The connection ends exactly once, with on_closed(status):
//        OK                 Close() was called, or the peer closed cleanly between frames;
//        InvalidArgument    the peer sent a malformed frame or envelope (BAD_INPUTS row 3);
//        ResourceExhausted  the peer announced a frame over its cap (row 1);
//        Unauthenticated    the peer claimed another identity (row 11);
//        DeadlineExceeded   a read, write or idle deadline passed (rows 2, 23);
//        Unavailable        the stream broke or ended inside a frame (row 2).
//      After on_closed no callback runs again, and Send() returns FailedPrecondition. A
//      connection closed before Start() reports its status when Start() is called.
//
// Threading contract (both transports):
//   - Callbacks (AcceptHandler, DialHandler, on_message, on_closed) run on the transport's
//     driving thread: the thread running the EventLoop (TLS) or calling
//     MemoryNetwork::RunUntilIdle (memory). They run one at a time, never concurrently, so a
//     single-threaded coordinator needs no locks of its own for state touched only there.
//     A callback must not block: it holds up every connection of that loop.
//   - Connection::Send, SendEncoded, Close, Start, peer_id and stats, and Listener::Start,
//     Shutdown and stats, are thread-safe: they may be called from any thread, including
//     from inside a callback. Effects happen later, on the driving thread. A client SDK can
//     run the loop in one thread and send from its training thread.
//   - Objects are shared: the transport keeps a connection alive while it has work pending;
//     the owner's shared_ptr keeps it alive after that. The EventLoop / MemoryNetwork must
//     outlive every object created on it.
//
// Back-pressure: Send() encodes the envelope at once (on the calling thread) and queues the
// frame. A connection holds at most max_queued_messages frames and max_queued_bytes bytes not
// yet written; beyond that Send returns ResourceExhausted and queues nothing (the caller
// decides: drop the client, retry later). Frames larger than the receiver's cap are refused
// by the sender already (ResourceExhausted). SendEncoded counts the whole frame against these
// limits (the bytes still to be written), although its body is held once for all.
//
// Broadcasts: to send one large body (a RoundStart with the model) to many peers, serialize
// it once (EncodedBody::Create, sotto/net/envelope_codec.h) and call SendEncoded on each
// connection with that peer's own header fields:
//
//   proto::Envelope body;   // only the body: *body.mutable_round_start() = ...
//   ASSIGN_OR_RETURN(std::shared_ptr<const net::EncodedBody> encoded,
//                    net::EncodedBody::Create(body));
//   for (each recipient) {
//     proto::Envelope header;   // every field but the body: run_id, round_id, sequence, ...
//     Status sent = connection->SendEncoded(header, encoded);
//   }
//
// Per recipient this serializes only the header fields (tens of bytes); the connections share
// the body's bytes until each has written them.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "sotto/base/status.h"
#include "sotto/base/statusor.h"
#include "sotto/net/envelope_codec.h"
#include "sotto/net/frame.h"
#include "sotto/proto/sotto.pb.h"

namespace sotto::net {

// Timeouts of one connection (TLS; the memory transport has no clock and ignores them).
struct Deadlines {
  // From TCP accept (server) or the start of the dial (client) to a finished TLS handshake.
  std::chrono::milliseconds handshake{10'000};
  // From the first byte of a frame to its last: the budget for a whole frame, so a peer that
  // trickles a header or payload (slowloris) is cut off (BAD_INPUTS row 23). Size it for the
  // largest frame at the slowest accepted bandwidth.
  std::chrono::milliseconds read{60'000};
  // For each write to complete once started (a peer that stops reading).
  std::chrono::milliseconds write{60'000};
  // Longest time without any frame arriving, between frames. Heartbeats keep a connection
  // alive; 0 disables the idle deadline.
  std::chrono::milliseconds idle{120'000};
  // For the TLS close_notify exchange of a graceful close.
  std::chrono::milliseconds shutdown{2'000};
};

struct ConnectionOptions {
  // What this side accepts from the peer (its frame types and sizes). The peer's own caps
  // (what it accepts from us) are `send_caps`: Send refuses what the peer would refuse.
  FrameCaps receive_caps = FrameCaps::Default();
  FrameCaps send_caps = FrameCaps::Default();
  size_t max_queued_messages = 256;
  size_t max_queued_bytes = size_t{1} << 30;
  Deadlines deadlines;
};

// InvalidArgument naming the field: no queue room (max_queued_messages or max_queued_bytes
// 0), a handshake, read, write or shutdown deadline <= 0, an idle deadline < 0.
Status ValidateConnectionOptions(const ConnectionOptions& options);

// The caps of a coordinator's connections: receive what clients send, send what they accept.
ConnectionOptions ServerConnectionOptions();
// The caps of a client's connection to the coordinator.
ConnectionOptions ClientConnectionOptions();

struct ConnectionStats {
  uint64_t messages_sent = 0;      // frames fully written (TLS) or delivered (memory)
  uint64_t messages_received = 0;  // envelopes handed to on_message
  uint64_t bytes_sent = 0;         // frame bytes, headers included (TLS record overhead not)
  uint64_t bytes_received = 0;
  uint64_t queued_messages = 0;  // accepted by Send, not yet written
  uint64_t queued_bytes = 0;
};

struct ConnectionCallbacks {
  // One received envelope; sender_id is the authenticated peer identity.
  std::function<void(proto::Envelope envelope)> on_message;
  // The connection is over (see the file comment for the codes).
  std::function<void(const Status& status)> on_closed;
};

class Connection {
 public:
  virtual ~Connection() = default;

  // The authenticated identity of the peer: a client's certificate CN on the coordinator, the
  // verified server name on a client. Immutable.
  virtual const std::string& peer_id() const = 0;
  // A number unique among the connections of one listener / network (for logs and maps).
  virtual uint64_t id() const = 0;

  // Begins delivering received envelopes to `callbacks`. Call once; a second call is ignored.
  virtual void Start(ConnectionCallbacks callbacks) = 0;

  // Queues `envelope` for sending. InvalidArgument without a body or for a type the peer does
  // not accept, ResourceExhausted over the peer's cap or when the queue is full,
  // FailedPrecondition once the connection is closing or closed. Leave sender_id empty (or set
  // it to this side's own identity): the receiver stamps the authenticated identity and closes
  // the connection on any other claim. An envelope queued by a Send that races with Close()
  // from another thread may be dropped.
  virtual Status Send(const proto::Envelope& envelope) = 0;

  // Queues the envelope made of `header` (every field but the body) and `body` (serialized
  // once, shared with other connections). The peer receives exactly the bytes Send would
  // write for `header` with the body set, and checks them the same way (caps, identity: a
  // sender_id in `header`, or a Hello body, naming anyone but this side closes the
  // connection). Errors as Send, plus InvalidArgument when `body` is null or `header` has a
  // body. `body` is kept alive until written or dropped. Thread-safe, like Send.
  //
  // Both transports send it without copying the body. The default, for wrappers, makes the
  // whole envelope and calls Send (correct, but the body is copied and serialized again).
  virtual Status SendEncoded(const proto::Envelope& header,
                             std::shared_ptr<const EncodedBody> body);

  // Graceful close: stop reading, write what is queued (within the write deadline), close the
  // stream (TLS: close_notify), then on_closed(OK). Idempotent.
  virtual void Close() = 0;

  // False once closing has begun (by either side).
  virtual bool is_open() const = 0;

  virtual ConnectionStats stats() const = 0;
};

using AcceptHandler = std::function<void(std::shared_ptr<Connection> connection)>;
using DialHandler = std::function<void(StatusOr<std::shared_ptr<Connection>> connection)>;

struct ListenerStats {
  uint64_t accepted = 0;            // connections handed to the AcceptHandler
  uint64_t open = 0;                // connections now open, handshakes in progress included
  uint64_t refused_over_cap = 0;    // closed at once: max_connections reached (row 23)
  uint64_t handshake_failures = 0;  // TLS refused: no or bad certificate, old protocol (row 24)
  uint64_t handshake_timeouts = 0;  // no finished handshake within the deadline (row 23)
  uint64_t identity_refusals = 0;   // a certificate whose CN is not a valid identity
};

class Listener {
 public:
  virtual ~Listener() = default;

  // Starts accepting; each authenticated connection goes to `on_accept` (not yet started).
  // Call once.
  virtual void Start(AcceptHandler on_accept) = 0;

  // Graceful shutdown: stop accepting (new connections are refused), then Close() every
  // open connection (queued messages are written first) and abort handshakes in progress.
  // Idempotent.
  virtual void Shutdown() = 0;

  virtual ListenerStats stats() const = 0;
};

class Dialer {
 public:
  virtual ~Dialer() = default;

  // Opens one connection to the server this dialer was made for; `on_done` receives it,
  // authenticated and not yet started, or the reason it failed (Unavailable: unreachable,
  // refused, handshake failed; DeadlineExceeded: handshake too slow). May be called again for
  // a new connection (reconnects).
  virtual void Dial(DialHandler on_done) = 0;
};

}  // namespace sotto::net

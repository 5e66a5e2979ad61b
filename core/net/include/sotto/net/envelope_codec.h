#pragma once

// Envelopes in frames, and the binding of every received envelope to the authenticated peer.
// Both transports (sotto/net/tls.h, sotto/net/memory_transport.h) run every message through
// these functions, so the checks below hold whichever transport carries it.
//
// Encoding: an Envelope travels as the payload of one frame whose type is the field number of
// its body (sotto/net/frame.h); an envelope without a body cannot be sent.
// Decoding (untrusted payload): InvalidArgument when the payload does not parse, holds a field
// this schema does not know (at any depth), or carries a body other than the frame's type
// (BAD_INPUTS row 3).
//
// Identity binding (BAD_INPUTS row 11). The transport knows who the peer is: for TLS, the
// identity in its certificate (its CN); in memory, the identity it registered with. For every
// envelope it receives it calls BindPeerIdentity, which refuses with Unauthenticated
//   - an envelope whose sender_id is set and differs from the peer's identity,
//   - a Hello whose client_id differs from the peer's identity,
// and otherwise stamps the peer's identity into sender_id. The transport then closes the
// connection. So the application can trust envelope.sender_id() and never needs to ask the
// connection who sent a message.
//
// Broadcasts (EncodedBody). The coordinator sends the same large body (a RoundStart with the
// model) to every selected client, with envelope fields that differ per client (sequence).
// Protobuf writes an envelope's fields in field-number order, and every header field (1..6)
// comes before every body (16..30), so the serialized envelope is the serialized header
// fields followed by the serialized body. An EncodedBody is that second part, serialized once;
// Connection::SendEncoded (sotto/net/transport.h) writes the per-recipient first part in front
// of it. The receiver sees exactly the bytes Send would have written: nothing changes on the
// wire, and every check above applies to the whole envelope.
//
// Thread-safety: the functions are pure; an EncodedBody is immutable once made, so any number
// of connections and threads may share it.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "sotto/base/status.h"
#include "sotto/base/statusor.h"
#include "sotto/net/frame.h"
#include "sotto/proto/sotto.pb.h"

namespace sotto::net {

// The protocol version this build speaks (Envelope.protocol_version, Hello, Welcome).
inline constexpr uint32_t kProtocolVersion = 1;
// Longest peer identity (a certificate CN, a registered in-memory name).
inline constexpr size_t kMaxPeerIdBytes = 128;

// The frame type that carries `envelope`; InvalidArgument when it has no body.
StatusOr<MessageType> MessageTypeOf(const proto::Envelope& envelope);

// The body of an envelope (its `oneof body` member), serialized once to go to many peers.
// Own it through shared_ptr<const EncodedBody>: every connection that queues it keeps it
// alive until written.
class EncodedBody {
  struct Key {};  // only Create makes one

 public:
  // Serializes the body of `envelope`, which must hold nothing else: InvalidArgument without a
  // body or with any header field set (run_id, round_id, phase, sequence, ... go in the
  // header given to each SendEncoded). ResourceExhausted above kMaxFramePayloadBytes.
  static StatusOr<std::shared_ptr<const EncodedBody>> Create(const proto::Envelope& envelope);

  EncodedBody(Key, MessageType type, std::unique_ptr<uint8_t[]> bytes, size_t size);
  EncodedBody(const EncodedBody&) = delete;
  EncodedBody& operator=(const EncodedBody&) = delete;

  // The frame type (the body's field number).
  MessageType type() const { return type_; }
  // The body as it appears in a serialized Envelope: field tag, length, message.
  std::span<const uint8_t> bytes() const { return {bytes_.get(), size_}; }
  size_t size() const { return size_; }

 private:
  const MessageType type_;
  const std::unique_ptr<uint8_t[]> bytes_;
  const size_t size_;
};

// One frame holding `envelope`. InvalidArgument without a body or when `caps` (what the
// receiver accepts) does not accept its type; ResourceExhausted over the type's cap.
StatusOr<std::vector<uint8_t>> EncodeEnvelopeFrame(const proto::Envelope& envelope,
                                                   const FrameCaps& caps);

// The frame Connection::SendEncoded writes for `header` and `body`: byte for byte the frame
// of `header` with `body` set. InvalidArgument when `header` has a body of its own, otherwise
// the errors above for the whole envelope.
StatusOr<std::vector<uint8_t>> EncodeEnvelopeFrame(const proto::Envelope& header,
                                                   const EncodedBody& body, const FrameCaps& caps);

// Frame bytes of `header` with `body`, as SendEncoded writes them (for byte counters).
size_t EncodedFrameBytes(const proto::Envelope& header, const EncodedBody& body);

// The envelope in a received frame (see the file comment for the errors). Parses the
// payload's pieces in place (no copy into one buffer first).
StatusOr<proto::Envelope> DecodeEnvelopeFrame(const Frame& frame);

// Checks `envelope` against the authenticated `peer_id` and stamps it (file comment).
Status BindPeerIdentity(std::string_view peer_id, proto::Envelope* envelope);

// A usable identity: 1 to kMaxPeerIdBytes characters from [A-Za-z0-9._-]. InvalidArgument
// otherwise. Certificates are issued only for such names (sotto/net/certs.h) and a transport
// refuses a peer whose certificate names anything else.
Status ValidatePeerId(std::string_view id);

}  // namespace sotto::net

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
// Thread-safety: pure functions.

#include <cstdint>
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

// One frame holding `envelope`. InvalidArgument without a body or when `caps` (what the
// receiver accepts) does not accept its type; ResourceExhausted over the type's cap.
StatusOr<std::vector<uint8_t>> EncodeEnvelopeFrame(const proto::Envelope& envelope,
                                                   const FrameCaps& caps);

// The envelope in a received frame (see the file comment for the errors).
StatusOr<proto::Envelope> DecodeEnvelopeFrame(const Frame& frame);

// Checks `envelope` against the authenticated `peer_id` and stamps it (file comment).
Status BindPeerIdentity(std::string_view peer_id, proto::Envelope* envelope);

// A usable identity: 1 to kMaxPeerIdBytes characters from [A-Za-z0-9._-]. InvalidArgument
// otherwise. Certificates are issued only for such names (sotto/net/certs.h) and a transport
// refuses a peer whose certificate names anything else.
Status ValidatePeerId(std::string_view id);

}  // namespace sotto::net

#include "sotto/net/envelope_codec.h"

#include <string>

#include "sotto/base/status_macros.h"
#include "sotto/proto/parse.h"

namespace sotto::net {
namespace {

// The frame type of each body is its field number: keep the two tables in step.
static_assert(static_cast<int>(MessageType::kHello) == proto::Envelope::kHello);
static_assert(static_cast<int>(MessageType::kWelcome) == proto::Envelope::kWelcome);
static_assert(static_cast<int>(MessageType::kHeartbeat) == proto::Envelope::kHeartbeat);
static_assert(static_cast<int>(MessageType::kError) == proto::Envelope::kError);
static_assert(static_cast<int>(MessageType::kRoundStart) == proto::Envelope::kRoundStart);
static_assert(static_cast<int>(MessageType::kRoundEnd) == proto::Envelope::kRoundEnd);
static_assert(static_cast<int>(MessageType::kUpdate) == proto::Envelope::kUpdate);
static_assert(static_cast<int>(MessageType::kAdvertiseKeys) == proto::Envelope::kAdvertiseKeys);
static_assert(static_cast<int>(MessageType::kShareKeysRequest) ==
              proto::Envelope::kShareKeysRequest);
static_assert(static_cast<int>(MessageType::kShareKeysResponse) ==
              proto::Envelope::kShareKeysResponse);
static_assert(static_cast<int>(MessageType::kMaskedInputRequest) ==
              proto::Envelope::kMaskedInputRequest);
static_assert(static_cast<int>(MessageType::kMaskedInput) == proto::Envelope::kMaskedInput);
static_assert(static_cast<int>(MessageType::kUnmaskRequest) == proto::Envelope::kUnmaskRequest);
static_assert(static_cast<int>(MessageType::kUnmaskResponse) == proto::Envelope::kUnmaskResponse);
static_assert(static_cast<int>(MessageType::kAbortRound) == proto::Envelope::kAbortRound);
static_assert(kFirstMessageType == proto::Envelope::kHello);
static_assert(kLastMessageType == proto::Envelope::kAbortRound);

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

// Quoted for an error message; the claim is untrusted, so only well-formed ids are echoed.
std::string Describe(std::string_view id) {
  if (ValidatePeerId(id).ok()) {
    return "\"" + std::string(id) + "\"";
  }
  return "a malformed id of " + std::to_string(id.size()) + " bytes";
}

}  // namespace

StatusOr<MessageType> MessageTypeOf(const proto::Envelope& envelope) {
  const int body = envelope.body_case();
  if (body == proto::Envelope::BODY_NOT_SET) {
    return InvalidArgumentError("envelope has no body");
  }
  if (!IsKnownMessageType(static_cast<uint8_t>(body)) || body > 255) {
    return InternalError("envelope body " + std::to_string(body) + " has no frame type");
  }
  return static_cast<MessageType>(body);
}

StatusOr<std::vector<uint8_t>> EncodeEnvelopeFrame(const proto::Envelope& envelope,
                                                   const FrameCaps& caps) {
  ASSIGN_OR_RETURN(const MessageType type, MessageTypeOf(envelope));
  const size_t size = envelope.ByteSizeLong();
  if (!caps.Accepts(static_cast<uint8_t>(type))) {
    return InvalidArgumentError(std::string("message type ") + MessageTypeName(type) +
                                " is not accepted by the receiver");
  }
  if (size > caps.Get(type)) {
    return ResourceExhaustedError(std::string(MessageTypeName(type)) + " of " +
                                  std::to_string(size) + " bytes is over its cap of " +
                                  std::to_string(caps.Get(type)));
  }
  std::vector<uint8_t> out(kFrameHeaderBytes + size);
  EncodeFrameHeader({type, static_cast<uint32_t>(size)},
                    std::span<uint8_t, kFrameHeaderBytes>(out.data(), kFrameHeaderBytes));
  if (!envelope.SerializeToArray(out.data() + kFrameHeaderBytes, static_cast<int>(size))) {
    return InternalError(std::string("cannot serialize ") + MessageTypeName(type));
  }
  return out;
}

StatusOr<proto::Envelope> DecodeEnvelopeFrame(const Frame& frame) {
  proto::Envelope envelope;
  RETURN_IF_ERROR(proto::ParseStrict(frame.payload, &envelope));
  if (envelope.body_case() != static_cast<int>(frame.type)) {
    return InvalidArgumentError(std::string(MessageTypeName(frame.type)) +
                                " frame carries envelope body " +
                                std::to_string(static_cast<int>(envelope.body_case())));
  }
  return envelope;
}

Status BindPeerIdentity(std::string_view peer_id, proto::Envelope* envelope) {
  if (!envelope->sender_id().empty() && envelope->sender_id() != peer_id) {
    return UnauthenticatedError("peer \"" + std::string(peer_id) + "\" sent an envelope claiming " +
                                Describe(envelope->sender_id()));
  }
  if (envelope->has_hello() && envelope->hello().client_id() != peer_id) {
    return UnauthenticatedError("peer \"" + std::string(peer_id) + "\" sent a Hello claiming " +
                                Describe(envelope->hello().client_id()));
  }
  envelope->set_sender_id(std::string(peer_id));
  return OkStatus();
}

Status ValidatePeerId(std::string_view id) {
  if (id.empty() || id.size() > kMaxPeerIdBytes) {
    return InvalidArgumentError("identity of " + std::to_string(id.size()) +
                                " bytes (expected 1 to " + std::to_string(kMaxPeerIdBytes) + ")");
  }
  for (char c : id) {
    if (!IsIdChar(c)) {
      return InvalidArgumentError("identity holds a character outside [A-Za-z0-9._-]");
    }
  }
  return OkStatus();
}

}  // namespace sotto::net

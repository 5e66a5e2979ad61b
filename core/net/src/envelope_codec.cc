#include "sotto/net/envelope_codec.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream.h>
#include <google/protobuf/message.h>
#include <google/protobuf/stubs/logging.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <string>
#include <utility>

#include "outgoing_frame.h"
#include "sotto/base/status_macros.h"
#include "sotto/proto/parse.h"

namespace sotto::net {
namespace {

using google::protobuf::io::CodedOutputStream;

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

// InvalidArgument when the receiver does not accept `type`, ResourceExhausted when a payload
// of `size` bytes is over its cap.
Status CheckSendCaps(MessageType type, size_t size, const FrameCaps& caps) {
  if (!caps.Accepts(static_cast<uint8_t>(type))) {
    return InvalidArgumentError(std::string("message type ") + MessageTypeName(type) +
                                " is not accepted by the receiver");
  }
  if (size > caps.Get(type)) {
    return ResourceExhaustedError(std::string(MessageTypeName(type)) + " of " +
                                  std::to_string(size) + " bytes is over its cap of " +
                                  std::to_string(caps.Get(type)));
  }
  return OkStatus();
}

void WriteHeader(MessageType type, size_t payload_bytes, uint8_t* out) {
  EncodeFrameHeader({type, static_cast<uint32_t>(payload_bytes)},
                    std::span<uint8_t, kFrameHeaderBytes>(out, kFrameHeaderBytes));
}

// Serializes `message` (of `size` bytes, from ByteSizeLong) to `out`.
Status SerializeTo(const google::protobuf::MessageLite& message, size_t size, uint8_t* out) {
  if (!message.SerializeToArray(out, static_cast<int>(size))) {
    return InternalError("cannot serialize " + message.GetTypeName());
  }
  return OkStatus();
}

// The header fields of an envelope that goes out with an EncodedBody: no body of its own.
Status CheckHeaderOnly(const proto::Envelope& header) {
  if (header.body_case() != proto::Envelope::BODY_NOT_SET) {
    return InvalidArgumentError("the header sent with an EncodedBody has a body of its own (" +
                                std::to_string(static_cast<int>(header.body_case())) + ")");
  }
  return OkStatus();
}

// A ZeroCopyInputStream over the pieces of a received payload, so the parser reads them where
// the decoder put them.
class PiecesInputStream final : public google::protobuf::io::ZeroCopyInputStream {
 public:
  explicit PiecesInputStream(const FramePayload& payload) : payload_(payload) {}

  bool Next(const void** data, int* size) override {
    while (piece_ < payload_.piece_count() && offset_ == payload_.piece(piece_).size()) {
      ++piece_;
      offset_ = 0;
    }
    if (piece_ == payload_.piece_count()) {
      return false;
    }
    const std::span<const uint8_t> piece = payload_.piece(piece_);
    const size_t n = std::min<size_t>(piece.size() - offset_, INT_MAX);
    *data = piece.data() + offset_;
    *size = static_cast<int>(n);
    offset_ += n;
    position_ += static_cast<int64_t>(n);
    return true;
  }

  void BackUp(int count) override {
    // Only after Next, by at most what it returned (the interface's contract).
    offset_ -= static_cast<size_t>(count);
    position_ -= count;
  }

  bool Skip(int count) override {
    size_t left = static_cast<size_t>(count);
    const void* data = nullptr;
    int size = 0;
    while (left > 0) {
      if (!Next(&data, &size)) {
        return false;
      }
      if (static_cast<size_t>(size) > left) {
        BackUp(size - static_cast<int>(left));
        return true;
      }
      left -= static_cast<size_t>(size);
    }
    return true;
  }

  int64_t ByteCount() const override { return position_; }

 private:
  const FramePayload& payload_;
  size_t piece_ = 0;
  size_t offset_ = 0;  // within piece_
  int64_t position_ = 0;
};

}  // namespace

EncodedBody::EncodedBody(Key, MessageType type, std::unique_ptr<uint8_t[]> bytes, size_t size)
    : type_(type), bytes_(std::move(bytes)), size_(size) {}

StatusOr<std::shared_ptr<const EncodedBody>> EncodedBody::Create(const proto::Envelope& envelope) {
  ASSIGN_OR_RETURN(const MessageType type, MessageTypeOf(envelope));
  const google::protobuf::Reflection* reflection = envelope.GetReflection();
  std::vector<const google::protobuf::FieldDescriptor*> fields;
  reflection->ListFields(envelope, &fields);
  for (const google::protobuf::FieldDescriptor* field : fields) {
    if (field->number() != static_cast<int>(type)) {
      return InvalidArgumentError("an EncodedBody holds only the body; field " + field->name() +
                                  " belongs in the header of each send");
    }
  }
  if (!reflection->GetUnknownFields(envelope).empty()) {
    return InvalidArgumentError("an EncodedBody holds only the body, not unknown fields");
  }
  const google::protobuf::FieldDescriptor* field =
      envelope.GetDescriptor()->FindFieldByNumber(static_cast<int>(type));
  if (field == nullptr) {
    return InternalError("envelope body " + std::to_string(static_cast<int>(type)) +
                         " has no field");
  }
  const google::protobuf::Message& body = reflection->GetMessage(envelope, field);
  const size_t body_size = body.ByteSizeLong();
  const uint32_t tag = (static_cast<uint32_t>(type) << 3) | 2;  // length-delimited
  const size_t size =
      CodedOutputStream::VarintSize32(tag) + CodedOutputStream::VarintSize64(body_size) + body_size;
  if (size > kMaxFramePayloadBytes) {
    return ResourceExhaustedError(std::string(MessageTypeName(type)) + " of " +
                                  std::to_string(size) + " bytes is over the largest frame of " +
                                  std::to_string(kMaxFramePayloadBytes));
  }
  auto bytes = std::make_unique_for_overwrite<uint8_t[]>(size);
  uint8_t* out = CodedOutputStream::WriteVarint32ToArray(tag, bytes.get());
  out = CodedOutputStream::WriteVarint64ToArray(body_size, out);
  RETURN_IF_ERROR(SerializeTo(body, body_size, out));
  return std::shared_ptr<const EncodedBody>(
      std::make_shared<EncodedBody>(Key{}, type, std::move(bytes), size));
}

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
  RETURN_IF_ERROR(CheckSendCaps(type, size, caps));
  std::vector<uint8_t> out(kFrameHeaderBytes + size);
  WriteHeader(type, size, out.data());
  RETURN_IF_ERROR(SerializeTo(envelope, size, out.data() + kFrameHeaderBytes));
  return out;
}

StatusOr<std::vector<uint8_t>> EncodeEnvelopeFrame(const proto::Envelope& header,
                                                   const EncodedBody& body, const FrameCaps& caps) {
  RETURN_IF_ERROR(CheckHeaderOnly(header));
  const size_t header_size = header.ByteSizeLong();
  RETURN_IF_ERROR(CheckSendCaps(body.type(), header_size + body.size(), caps));
  std::vector<uint8_t> out(kFrameHeaderBytes + header_size + body.size());
  WriteHeader(body.type(), header_size + body.size(), out.data());
  RETURN_IF_ERROR(SerializeTo(header, header_size, out.data() + kFrameHeaderBytes));
  std::memcpy(out.data() + kFrameHeaderBytes + header_size, body.bytes().data(), body.size());
  return out;
}

size_t EncodedFrameBytes(const proto::Envelope& header, const EncodedBody& body) {
  return kFrameHeaderBytes + header.ByteSizeLong() + body.size();
}

namespace internal {

StatusOr<OutgoingFrame> EncodeOutgoingFrame(const proto::Envelope& envelope,
                                            const FrameCaps& caps) {
  ASSIGN_OR_RETURN(const MessageType type, MessageTypeOf(envelope));
  const size_t size = envelope.ByteSizeLong();
  RETURN_IF_ERROR(CheckSendCaps(type, size, caps));
  OutgoingFrame frame;
  frame.owned_size = kFrameHeaderBytes + size;
  frame.owned = std::make_unique_for_overwrite<uint8_t[]>(frame.owned_size);
  WriteHeader(type, size, frame.owned.get());
  RETURN_IF_ERROR(SerializeTo(envelope, size, frame.owned.get() + kFrameHeaderBytes));
  return frame;
}

StatusOr<OutgoingFrame> EncodeOutgoingFrame(const proto::Envelope& header,
                                            std::shared_ptr<const EncodedBody> body,
                                            const FrameCaps& caps) {
  if (body == nullptr) {
    return InvalidArgumentError("no EncodedBody");
  }
  RETURN_IF_ERROR(CheckHeaderOnly(header));
  const size_t header_size = header.ByteSizeLong();
  RETURN_IF_ERROR(CheckSendCaps(body->type(), header_size + body->size(), caps));
  OutgoingFrame frame;
  frame.owned_size = kFrameHeaderBytes + header_size;
  frame.owned = std::make_unique_for_overwrite<uint8_t[]>(frame.owned_size);
  WriteHeader(body->type(), header_size + body->size(), frame.owned.get());
  RETURN_IF_ERROR(SerializeTo(header, header_size, frame.owned.get() + kFrameHeaderBytes));
  frame.shared = std::move(body);
  return frame;
}

OutgoingFrame RawOutgoingFrame(std::span<const uint8_t> bytes) {
  OutgoingFrame frame;
  frame.owned_size = bytes.size();
  frame.owned = std::make_unique_for_overwrite<uint8_t[]>(bytes.size());
  if (!bytes.empty()) {
    std::memcpy(frame.owned.get(), bytes.data(), bytes.size());
  }
  return frame;
}

}  // namespace internal

StatusOr<proto::Envelope> DecodeEnvelopeFrame(const Frame& frame) {
  proto::Envelope envelope;
  const FramePayload& payload = frame.payload;
  if (payload.piece_count() <= 1) {
    RETURN_IF_ERROR(proto::ParseStrict(
        payload.empty() ? std::span<const uint8_t>() : payload.piece(0), &envelope));
  } else {
    if (payload.size() > static_cast<size_t>(INT_MAX)) {
      return InvalidArgumentError("message of " + std::to_string(payload.size()) +
                                  " bytes is larger than protobuf can parse");
    }
    // As proto::ParseStrict, over the pieces: untrusted bytes must not reach the log.
    const google::protobuf::LogSilencer silence_protobuf_logging;
    PiecesInputStream input(payload);
    if (!envelope.ParseFromZeroCopyStream(&input)) {
      return InvalidArgumentError("malformed " + envelope.GetTypeName() + " (" +
                                  std::to_string(payload.size()) + " bytes)");
    }
    RETURN_IF_ERROR(proto::CheckNoUnknownFields(envelope));
  }
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

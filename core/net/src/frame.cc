#include "sotto/net/frame.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "sotto/base/check.h"

namespace sotto::net {
namespace {

constexpr uint32_t kKiB = 1024;
constexpr uint32_t kMiB = 1024 * 1024;

// The smallest piece the decoder allocates for a payload (or the payload's size, if less);
// later pieces are as large as what the frame already holds.
constexpr size_t kMinPieceBytes = 64 * kKiB;

std::string Hex(uint8_t byte) {
  static constexpr char kDigits[] = "0123456789abcdef";
  return std::string("0x") + kDigits[byte >> 4] + kDigits[byte & 0xf];
}

}  // namespace

bool IsKnownMessageType(uint8_t type) {
  return type >= kFirstMessageType && type <= kLastMessageType;
}

const char* MessageTypeName(MessageType type) {
  switch (type) {
    case MessageType::kHello:
      return "Hello";
    case MessageType::kWelcome:
      return "Welcome";
    case MessageType::kHeartbeat:
      return "Heartbeat";
    case MessageType::kError:
      return "Error";
    case MessageType::kRoundStart:
      return "RoundStart";
    case MessageType::kRoundEnd:
      return "RoundEnd";
    case MessageType::kUpdate:
      return "Update";
    case MessageType::kAdvertiseKeys:
      return "AdvertiseKeys";
    case MessageType::kShareKeysRequest:
      return "ShareKeysRequest";
    case MessageType::kShareKeysResponse:
      return "ShareKeysResponse";
    case MessageType::kMaskedInputRequest:
      return "MaskedInputRequest";
    case MessageType::kMaskedInput:
      return "MaskedInput";
    case MessageType::kUnmaskRequest:
      return "UnmaskRequest";
    case MessageType::kUnmaskResponse:
      return "UnmaskResponse";
    case MessageType::kAbortRound:
      return "AbortRound";
  }
  return "unknown";
}

FrameCaps FrameCaps::Default() {
  FrameCaps caps;
  auto set = [&caps](MessageType type, uint32_t cap) { SOTTO_CHECK_OK(caps.Set(type, cap)); };
  set(MessageType::kHello, 4 * kKiB);
  set(MessageType::kWelcome, 4 * kKiB);
  set(MessageType::kHeartbeat, 1 * kKiB);
  set(MessageType::kError, 8 * kKiB);
  set(MessageType::kRoundStart, 512 * kMiB);
  set(MessageType::kRoundEnd, 4 * kKiB);
  set(MessageType::kUpdate, 256 * kMiB);
  set(MessageType::kAdvertiseKeys, 2 * kKiB);
  set(MessageType::kShareKeysRequest, 64 * kMiB);
  set(MessageType::kShareKeysResponse, 64 * kMiB);
  set(MessageType::kMaskedInputRequest, 64 * kMiB);
  set(MessageType::kMaskedInput, 256 * kMiB);
  set(MessageType::kUnmaskRequest, 32 * kMiB);
  set(MessageType::kUnmaskResponse, 64 * kMiB);
  set(MessageType::kAbortRound, 8 * kKiB);
  return caps;
}

FrameCaps FrameCaps::ClientToServer() {
  const FrameCaps all = Default();
  FrameCaps caps;
  for (MessageType type :
       {MessageType::kHello, MessageType::kHeartbeat, MessageType::kError, MessageType::kUpdate,
        MessageType::kAdvertiseKeys, MessageType::kShareKeysResponse, MessageType::kMaskedInput,
        MessageType::kUnmaskResponse}) {
    SOTTO_CHECK_OK(caps.Set(type, all.Get(type)));
  }
  return caps;
}

FrameCaps FrameCaps::ServerToClient() {
  const FrameCaps all = Default();
  FrameCaps caps;
  for (MessageType type :
       {MessageType::kWelcome, MessageType::kHeartbeat, MessageType::kError,
        MessageType::kRoundStart, MessageType::kRoundEnd, MessageType::kShareKeysRequest,
        MessageType::kMaskedInputRequest, MessageType::kUnmaskRequest, MessageType::kAbortRound}) {
    SOTTO_CHECK_OK(caps.Set(type, all.Get(type)));
  }
  return caps;
}

Status FrameCaps::Set(MessageType type, uint32_t max_payload_bytes) {
  if (!IsKnownMessageType(static_cast<uint8_t>(type))) {
    return InvalidArgumentError("unknown message type " + std::to_string(static_cast<int>(type)));
  }
  if (max_payload_bytes > kMaxFramePayloadBytes) {
    return InvalidArgumentError(std::string("cap for ") + MessageTypeName(type) + " of " +
                                std::to_string(max_payload_bytes) + " bytes is above " +
                                std::to_string(kMaxFramePayloadBytes));
  }
  caps_[static_cast<uint8_t>(type)] = max_payload_bytes;
  return OkStatus();
}

void EncodeFrameHeader(const FrameHeader& header, std::span<uint8_t, kFrameHeaderBytes> out) {
  out[0] = kFrameMagicVersion;
  out[1] = static_cast<uint8_t>(header.type);
  for (int i = 0; i < 4; ++i) {
    out[2 + i] = static_cast<uint8_t>((header.payload_bytes >> (8 * i)) & 0xff);
  }
}

StatusOr<FrameHeader> DecodeFrameHeader(std::span<const uint8_t, kFrameHeaderBytes> bytes,
                                        const FrameCaps& caps) {
  if (bytes[0] != kFrameMagicVersion) {
    return InvalidArgumentError("bad frame magic/version byte " + Hex(bytes[0]) + " (expected " +
                                Hex(kFrameMagicVersion) + ")");
  }
  const uint8_t type = bytes[1];
  if (!caps.Accepts(type)) {
    if (IsKnownMessageType(type)) {
      return InvalidArgumentError(std::string("message type ") +
                                  MessageTypeName(static_cast<MessageType>(type)) +
                                  " is not accepted on this side of the connection");
    }
    return InvalidArgumentError("unknown message type " + std::to_string(type));
  }
  uint32_t length = 0;
  for (int i = 0; i < 4; ++i) {
    length |= static_cast<uint32_t>(bytes[2 + i]) << (8 * i);
  }
  const uint32_t cap = caps.Get(type);
  if (length > cap) {
    return ResourceExhaustedError(std::string(MessageTypeName(static_cast<MessageType>(type))) +
                                  " frame of " + std::to_string(length) +
                                  " bytes is over its cap of " + std::to_string(cap));
  }
  return FrameHeader{static_cast<MessageType>(type), length};
}

StatusOr<std::vector<uint8_t>> EncodeFrame(MessageType type, std::span<const uint8_t> payload,
                                           const FrameCaps& caps) {
  const uint8_t type_byte = static_cast<uint8_t>(type);
  if (!caps.Accepts(type_byte)) {
    return InvalidArgumentError(std::string("message type ") + MessageTypeName(type) +
                                " is not accepted by the receiver");
  }
  if (payload.size() > caps.Get(type_byte)) {
    return ResourceExhaustedError(std::string(MessageTypeName(type)) + " of " +
                                  std::to_string(payload.size()) + " bytes is over its cap of " +
                                  std::to_string(caps.Get(type_byte)));
  }
  std::vector<uint8_t> out(kFrameHeaderBytes + payload.size());
  EncodeFrameHeader({type, static_cast<uint32_t>(payload.size())},
                    std::span<uint8_t, kFrameHeaderBytes>(out.data(), kFrameHeaderBytes));
  std::copy(payload.begin(), payload.end(), out.begin() + kFrameHeaderBytes);
  return out;
}

FramePayload::FramePayload(std::span<const uint8_t> bytes) {
  if (bytes.empty()) {
    return;
  }
  Piece piece;
  piece.data = std::make_unique_for_overwrite<uint8_t[]>(bytes.size());
  std::memcpy(piece.data.get(), bytes.data(), bytes.size());
  piece.size = piece.capacity = bytes.size();
  pieces_.push_back(std::move(piece));
  size_ = bytes.size();
}

FramePayload::FramePayload(const FramePayload& other) : FramePayload(other.ToVector()) {}

FramePayload& FramePayload::operator=(const FramePayload& other) {
  if (this != &other) {
    *this = FramePayload(other.ToVector());
  }
  return *this;
}

std::vector<uint8_t> FramePayload::ToVector() const {
  std::vector<uint8_t> out;
  out.reserve(size_);
  for (const Piece& piece : pieces_) {
    out.insert(out.end(), piece.data.get(), piece.data.get() + piece.size);
  }
  return out;
}

bool operator==(const FramePayload& payload, std::span<const uint8_t> bytes) {
  if (payload.size() != bytes.size()) {
    return false;
  }
  size_t offset = 0;
  for (size_t i = 0; i < payload.piece_count(); ++i) {
    const std::span<const uint8_t> piece = payload.piece(i);
    if (!std::equal(piece.begin(), piece.end(), bytes.begin() + offset)) {
      return false;
    }
    offset += piece.size();
  }
  return true;
}

FrameDecoder::FrameDecoder(const FrameCaps& caps) : caps_(caps) {}

std::span<uint8_t> FrameDecoder::Room(size_t incoming) {
  const size_t missing = current_.payload_bytes - payload_.size_;
  std::vector<FramePayload::Piece>& pieces = payload_.pieces_;
  if (pieces.empty() || pieces.back().size == pieces.back().capacity) {
    // The claimed length is only a promise: allocate no more than has already arrived (held,
    // or in hand) and a modest minimum, so a large claim followed by a trickle costs the
    // trickle.
    FramePayload::Piece piece;
    piece.capacity = std::min(missing, std::max({kMinPieceBytes, payload_.size_, incoming}));
    piece.data = std::make_unique_for_overwrite<uint8_t[]>(piece.capacity);
    reserved_ += piece.capacity;
    pieces.push_back(std::move(piece));
  }
  FramePayload::Piece& last = pieces.back();
  return {last.data.get() + last.size, std::min(missing, last.capacity - last.size)};
}

void FrameDecoder::Emit(std::vector<Frame>& frames) {
  frames.push_back(Frame{current_.type, std::move(payload_)});
  payload_ = FramePayload();
  reserved_ = 0;
  have_header_ = false;
  header_filled_ = 0;
}

std::span<uint8_t> FrameDecoder::PayloadSpace() {
  if (!error_.ok() || !have_header_ || payload_.size_ == current_.payload_bytes) {
    return {};
  }
  return Room(0);
}

void FrameDecoder::CommitPayload(size_t n, std::vector<Frame>& frames) {
  if (n == 0) {
    return;
  }
  SOTTO_CHECK(error_.ok() && have_header_ && !payload_.pieces_.empty());
  FramePayload::Piece& last = payload_.pieces_.back();
  SOTTO_CHECK(n <= last.capacity - last.size && n <= current_.payload_bytes - payload_.size_);
  last.size += n;
  payload_.size_ += n;
  if (payload_.size_ == current_.payload_bytes) {
    Emit(frames);
  }
}

Status FrameDecoder::Feed(std::span<const uint8_t> bytes, std::vector<Frame>& frames) {
  if (!error_.ok()) {
    return error_;
  }
  while (true) {
    if (!have_header_) {
      if (bytes.empty()) {
        break;
      }
      const size_t take = std::min(kFrameHeaderBytes - header_filled_, bytes.size());
      std::copy_n(bytes.begin(), take, header_.begin() + header_filled_);
      header_filled_ += take;
      bytes = bytes.subspan(take);
      if (header_filled_ < kFrameHeaderBytes) {
        break;
      }
      StatusOr<FrameHeader> header = DecodeFrameHeader(header_, caps_);
      if (!header.ok()) {
        error_ = header.status();
        return error_;
      }
      current_ = *header;
      have_header_ = true;
      if (current_.payload_bytes == 0) {
        Emit(frames);
        continue;
      }
    }
    if (bytes.empty()) {
      break;
    }
    const std::span<uint8_t> room = Room(bytes.size());
    const size_t take = std::min(room.size(), bytes.size());
    std::memcpy(room.data(), bytes.data(), take);
    bytes = bytes.subspan(take);
    CommitPayload(take, frames);
  }
  return OkStatus();
}

Status FrameDecoder::Finish() const {
  if (!error_.ok()) {
    return error_;
  }
  if (mid_frame()) {
    if (!have_header_) {
      return UnavailableError("stream ended inside a frame header (" +
                              std::to_string(header_filled_) + " of " +
                              std::to_string(kFrameHeaderBytes) + " bytes)");
    }
    return UnavailableError("stream ended inside a " + std::string(MessageTypeName(current_.type)) +
                            " frame (" + std::to_string(payload_.size()) + " of " +
                            std::to_string(current_.payload_bytes) + " payload bytes)");
  }
  return OkStatus();
}

}  // namespace sotto::net

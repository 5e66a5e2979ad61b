#pragma once

// Frames: how messages are delimited on a byte stream (a TLS connection, or the in-memory
// transport, which runs the same codec).
//
// ------------------------------------------------------------------------------------------
// Wire layout (a wire contract: change it only with a new magic/version byte).
//
//   offset  size  field
//   0       1     magic/version: kFrameMagicVersion (0xA1: magic nibble 0xA, version 1)
//   1       1     message type: the field number of the Envelope body it carries (16..30,
//                 MessageType below)
//   2       4     payload length in bytes, unsigned little-endian
//   6       n     payload: one serialized sotto.proto.Envelope (sotto/net/envelope_codec.h)
// ------------------------------------------------------------------------------------------
//
// Caps. Every message type has its own largest payload (FrameCaps); a cap of 0 means the type
// is not accepted on this side of a connection (a coordinator accepts no RoundStart, a client
// no Hello). The decoder checks the header before it holds a single payload byte
// (BAD_INPUTS rows 1 and 3):
//   InvalidArgument     a wrong magic/version byte; a type unknown or not accepted here
//   ResourceExhausted   a length above the type's cap (a header claiming 4 GiB costs nothing)
// and then grows its buffer only as payload bytes actually arrive, so a peer that claims a
// large (allowed) frame and sends little ties up only what it sent. At the end of the stream,
// Finish() reports a frame cut short (row 2) as Unavailable.
//
// Thread-safety: FrameCaps is a value; a FrameDecoder is used by one thread at a time.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "sotto/base/status.h"
#include "sotto/base/statusor.h"

namespace sotto::net {

inline constexpr uint8_t kFrameMagicVersion = 0xA1;
inline constexpr size_t kFrameHeaderBytes = 6;
// No cap may exceed this (1 GiB; protobuf parses at most 2 GiB).
inline constexpr uint32_t kMaxFramePayloadBytes = uint32_t{1} << 30;

// The message types, equal to the field numbers of sotto.proto.Envelope's body.
enum class MessageType : uint8_t {
  kHello = 16,
  kWelcome = 17,
  kHeartbeat = 18,
  kError = 19,
  kRoundStart = 20,
  kRoundEnd = 21,
  kUpdate = 22,
  kAdvertiseKeys = 23,
  kShareKeysRequest = 24,
  kShareKeysResponse = 25,
  kMaskedInputRequest = 26,
  kMaskedInput = 27,
  kUnmaskRequest = 28,
  kUnmaskResponse = 29,
  kAbortRound = 30,
};
inline constexpr uint8_t kFirstMessageType = 16;
inline constexpr uint8_t kLastMessageType = 30;

// True for the values of MessageType.
bool IsKnownMessageType(uint8_t type);
// "Hello", "RoundStart", ...; "unknown" for other values.
const char* MessageTypeName(MessageType type);

// The largest payload accepted per message type; 0 = not accepted.
class FrameCaps {
 public:
  // Accepts nothing.
  FrameCaps() = default;

  // Every type, with the default caps (in bytes of payload):
  //   Hello, Welcome, RoundEnd 4 KiB; Heartbeat 1 KiB; Error, AbortRound 8 KiB;
  //   AdvertiseKeys 2 KiB; ShareKeysRequest, ShareKeysResponse, MaskedInputRequest,
  //   UnmaskResponse 64 MiB; UnmaskRequest 32 MiB; Update, MaskedInput 256 MiB;
  //   RoundStart 512 MiB.
  // The large ones fit about 10^5 secure-aggregation peers and 3 * 10^7 parameters; a
  // coordinator that knows its model and round sizes should set tighter caps.
  static FrameCaps Default();
  // The defaults, restricted to what a coordinator accepts from a client: Hello, Heartbeat,
  // Error, Update, AdvertiseKeys, ShareKeysResponse, MaskedInput, UnmaskResponse.
  static FrameCaps ClientToServer();
  // The defaults, restricted to what a client accepts from the coordinator: Welcome,
  // Heartbeat, Error, RoundStart, RoundEnd, ShareKeysRequest, MaskedInputRequest,
  // UnmaskRequest, AbortRound.
  static FrameCaps ServerToClient();

  // Sets the cap of `type` (0: refuse the type). InvalidArgument above kMaxFramePayloadBytes.
  Status Set(MessageType type, uint32_t max_payload_bytes);
  // The cap for a header's type byte; 0 when unknown or not accepted.
  uint32_t Get(uint8_t type) const { return caps_[type]; }
  uint32_t Get(MessageType type) const { return caps_[static_cast<uint8_t>(type)]; }
  bool Accepts(uint8_t type) const { return caps_[type] != 0; }

 private:
  std::array<uint32_t, 256> caps_{};
};

struct FrameHeader {
  MessageType type = MessageType::kHeartbeat;
  uint32_t payload_bytes = 0;
};

// Writes the 6 header bytes.
void EncodeFrameHeader(const FrameHeader& header, std::span<uint8_t, kFrameHeaderBytes> out);
// Reads and checks a header against `caps` (InvalidArgument / ResourceExhausted as above).
StatusOr<FrameHeader> DecodeFrameHeader(std::span<const uint8_t, kFrameHeaderBytes> bytes,
                                        const FrameCaps& caps);

// One whole frame as received.
struct Frame {
  MessageType type = MessageType::kHeartbeat;
  std::vector<uint8_t> payload;
};

// header + payload. The sender honours the caps too: InvalidArgument when `caps` does not
// accept `type`, ResourceExhausted when the payload is over its cap.
StatusOr<std::vector<uint8_t>> EncodeFrame(MessageType type, std::span<const uint8_t> payload,
                                           const FrameCaps& caps);

// Splits a byte stream into frames, incrementally: feed it whatever a read returned.
//
//   FrameDecoder decoder(FrameCaps::ClientToServer());
//   std::vector<Frame> frames;
//   Status status = decoder.Feed(bytes_read, frames);   // frames completed so far appended
//   ...
//   status = decoder.Finish();                           // at end of stream
//
// The first error is final: the decoder stays failed and every later Feed returns that error
// without consuming anything (the caller closes the connection).
class FrameDecoder {
 public:
  explicit FrameDecoder(const FrameCaps& caps);

  // Consumes `bytes` and appends each frame they complete to `frames`, in order. On a bad
  // header, returns its error; frames completed before it in `bytes` are still appended.
  Status Feed(std::span<const uint8_t> bytes, std::vector<Frame>& frames);

  // At the end of the stream: OK between frames, Unavailable when a frame was cut short (or
  // the decoder's error, if it failed).
  Status Finish() const;

  // True once any byte of a frame has arrived and until the frame is complete. A transport
  // uses it to tell an idle connection from a slow frame (different deadlines).
  bool mid_frame() const { return header_filled_ > 0; }
  bool failed() const { return !error_.ok(); }
  // Payload bytes held for the frame in progress, and the buffer capacity behind them (for
  // metrics and for tests that a large claimed length reserves nothing up front).
  size_t buffered_bytes() const { return payload_.size(); }
  size_t reserved_bytes() const { return payload_.capacity(); }

 private:
  FrameCaps caps_;
  std::array<uint8_t, kFrameHeaderBytes> header_{};
  size_t header_filled_ = 0;
  bool have_header_ = false;
  FrameHeader current_;
  std::vector<uint8_t> payload_;
  Status error_;
};

}  // namespace sotto::net

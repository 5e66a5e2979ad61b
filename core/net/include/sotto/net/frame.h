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
// and then holds payload bytes only as they actually arrive, so a peer that claims a large
// (allowed) frame and sends little ties up only what it sent: the decoder's buffers never
// exceed twice the payload bytes received plus 64 KiB. At the end of the stream, Finish()
// reports a frame cut short (row 2) as Unavailable.
//
// A received payload is kept in the pieces it was filled in (FramePayload): growing a single
// buffer would move every byte once more each time it doubled, which for a 4 MB model is a
// large share of the receive path. A transport may also read straight into the decoder's
// buffer (PayloadSpace / CommitPayload) instead of copying from a read buffer.
//
// Thread-safety: FrameCaps is a value; a FrameDecoder is used by one thread at a time.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
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

// The payload of one received frame: its bytes in one or more pieces, in order. A decoder
// fills a piece at a time (each no larger than what had arrived when it was made, see
// FrameDecoder), so the bytes are never moved into a larger buffer. Copying makes a deep copy
// (in one piece); moving is cheap.
class FramePayload {
 public:
  FramePayload() = default;
  // One piece holding a copy of `bytes` (tests; frames made outside a decoder).
  explicit FramePayload(std::span<const uint8_t> bytes);
  FramePayload(const FramePayload& other);
  FramePayload& operator=(const FramePayload& other);
  FramePayload(FramePayload&& other) noexcept = default;
  FramePayload& operator=(FramePayload&& other) noexcept = default;
  ~FramePayload() = default;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // The pieces, in order; their sizes add up to size(). None are empty.
  size_t piece_count() const { return pieces_.size(); }
  std::span<const uint8_t> piece(size_t i) const {
    return {pieces_[i].data.get(), pieces_[i].size};
  }
  // The bytes in one buffer (a copy).
  std::vector<uint8_t> ToVector() const;

  friend bool operator==(const FramePayload& payload, std::span<const uint8_t> bytes);

 private:
  friend class FrameDecoder;
  struct Piece {
    std::unique_ptr<uint8_t[]> data;
    size_t size = 0;      // bytes filled
    size_t capacity = 0;  // bytes allocated
  };
  std::vector<Piece> pieces_;
  size_t size_ = 0;
};

// One whole frame as received.
struct Frame {
  MessageType type = MessageType::kHeartbeat;
  FramePayload payload;
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
// Or, to save the copy, read payload bytes straight into the decoder:
//
//   std::span<uint8_t> space = decoder.PayloadSpace();  // empty: no payload in progress
//   if (space.empty()) { n = read(buffer); status = decoder.Feed({buffer, n}, frames); }
//   else { n = read(space); decoder.CommitPayload(n, frames); }
//
// Memory: the payload of the frame in progress is held in pieces; a new piece is allocated
// only when the last one is full, with room for min(bytes still missing, max(64 KiB, bytes
// held, bytes being fed)). So what a frame reserves is at most twice what arrived plus
// 64 KiB, whatever its header claimed (BAD_INPUTS rows 1 and 23); a frame fed whole is held
// in one piece.
//
// The first error is final: the decoder stays failed and every later Feed returns that error
// without consuming anything (the caller closes the connection).
class FrameDecoder {
 public:
  explicit FrameDecoder(const FrameCaps& caps);

  // Consumes `bytes` and appends each frame they complete to `frames`, in order. On a bad
  // header, returns its error; frames completed before it in `bytes` are still appended.
  Status Feed(std::span<const uint8_t> bytes, std::vector<Frame>& frames);

  // Where the next payload bytes of the frame in progress may be written: the free room of
  // its last piece (allocating a new piece by the rule above when it is full), never more
  // than the payload still missing, so a read into it cannot run into the next frame. Empty
  // when no payload is in progress (between frames, inside a header, after an error): read
  // into a buffer of your own and Feed() it. The span stays valid until the next call of
  // any non-const method.
  std::span<uint8_t> PayloadSpace();
  // Declares that the first `n` bytes of the span the last PayloadSpace() returned now hold
  // payload (n may be 0); appends the frame to `frames` when that completes it. `n` larger
  // than that span is a bug in the caller (checked).
  void CommitPayload(size_t n, std::vector<Frame>& frames);

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
  size_t reserved_bytes() const { return reserved_; }

 private:
  // The free room of the last piece, at most the payload still missing; allocates a piece
  // when the last one is full, for up to max(64 KiB, bytes held, `incoming`: bytes in hand).
  // Only while a payload is in progress.
  std::span<uint8_t> Room(size_t incoming);
  // Appends the frame in progress to `frames` and resets for the next header.
  void Emit(std::vector<Frame>& frames);

  FrameCaps caps_;
  std::array<uint8_t, kFrameHeaderBytes> header_{};
  size_t header_filled_ = 0;
  bool have_header_ = false;
  FrameHeader current_;
  FramePayload payload_;
  size_t reserved_ = 0;  // capacity of payload_'s pieces
  Status error_;
};

}  // namespace sotto::net

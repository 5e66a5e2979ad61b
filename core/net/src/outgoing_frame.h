#pragma once

// A frame queued for writing, as both transports hold it. Private to core/net.
//
// The frame is `owned` followed by `shared`: for Send, `owned` is the whole frame; for
// SendEncoded, `owned` is the frame header and the recipient's own envelope fields, and
// `shared` the body that many connections send (sotto/net/envelope_codec.h, EncodedBody). The
// owned buffer is allocated without being zeroed (the serializer writes every byte) and is
// moved, never copied, from Send to the write.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "sotto/base/statusor.h"
#include "sotto/net/envelope_codec.h"
#include "sotto/net/frame.h"
#include "sotto/proto/sotto.pb.h"

namespace sotto::net::internal {

struct OutgoingFrame {
  std::unique_ptr<uint8_t[]> owned;
  size_t owned_size = 0;
  std::shared_ptr<const EncodedBody> shared;  // null for Send

  std::span<const uint8_t> owned_bytes() const { return {owned.get(), owned_size}; }
  std::span<const uint8_t> shared_bytes() const {
    return shared ? shared->bytes() : std::span<const uint8_t>();
  }
  size_t size() const { return owned_size + (shared ? shared->size() : 0); }
};

// The frame of `envelope` (errors as EncodeEnvelopeFrame).
StatusOr<OutgoingFrame> EncodeOutgoingFrame(const proto::Envelope& envelope, const FrameCaps& caps);
// The frame of `header` with `body`, sharing `body` (errors as EncodeEnvelopeFrame with a
// body; InvalidArgument when `body` is null).
StatusOr<OutgoingFrame> EncodeOutgoingFrame(const proto::Envelope& header,
                                            std::shared_ptr<const EncodedBody> body,
                                            const FrameCaps& caps);
// Raw bytes (test faults), copied.
OutgoingFrame RawOutgoingFrame(std::span<const uint8_t> bytes);

}  // namespace sotto::net::internal

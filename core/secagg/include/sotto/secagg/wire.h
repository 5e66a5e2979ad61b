#pragma once

// A small, canonical, length-prefixed byte format for the messages of sotto/secagg/messages.h.
// The production wire format is protobuf (network issue); this one exists so that the
// validators and state machines can be fuzzed from bytes (tests/fuzz/secagg_fuzz.cc) and so
// that tests can record exactly what a server receives.
//
// Layout (all integers little-endian):
//   message  = tag:u8 body
//   bytes    = len:u32 byte*len
//   list(T)  = count:u32 T*count
//   AdvertiseKeys      (tag 0x01) = bytes mask_key, bytes encryption_key, bytes commitment,
//                                   bytes signature
//   ShareKeysResponse  (tag 0x02) = list(peer:u64 bytes ciphertext)
//   MaskedInput        (tag 0x03) = list(value:u64) weight:u64
//   UnmaskResponse     (tag 0x04) = list(owner:u64 bytes share) list(owner:u64 bytes share)
//   ShareKeysRequest   (tag 0x11) = list(id:u64 bytes mask_key bytes encryption_key)
//   MaskedInputRequest (tag 0x12) = list(peer:u64 bytes ciphertext)
//   UnmaskRequest      (tag 0x13) = list(id:u64) list(id:u64)
//   AbortRound         (tag 0x14) = bytes reason
// Parsing refuses (InvalidArgument) an unknown tag, a length or count that runs past the end,
// and trailing bytes (BAD_INPUTS row 3); it never allocates more than the input's size
// justifies. Serialize(Parse(b)) == b for every accepted b.

#include <cstdint>
#include <span>
#include <vector>

#include "sotto/base/statusor.h"
#include "sotto/secagg/messages.h"

namespace sotto::secagg {

std::vector<uint8_t> SerializeClientMessage(const ClientMessage& message);
StatusOr<ClientMessage> ParseClientMessage(std::span<const uint8_t> bytes);

std::vector<uint8_t> SerializeServerMessage(const ServerMessage& message);
StatusOr<ServerMessage> ParseServerMessage(std::span<const uint8_t> bytes);

}  // namespace sotto::secagg

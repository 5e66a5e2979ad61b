#pragma once

// Conversions between core/secagg's message structs (sotto/secagg/messages.h, config.h) and
// their protobuf messages (sotto/proto/sotto.proto), in both directions.
//
// ToProto (ours -> wire) never fails: the structs come from our own state machines.
// FromProto (wire -> ours) takes untrusted messages and checks what the structs cannot hold
// or what no valid message can carry, returning InvalidArgument (never aborting):
//   - every fixed-size byte field has its exact length: X25519 keys kX25519PublicKeyBytes,
//     the seed commitment kSeedCommitmentBytes, the signature empty or
//     kEd25519SignatureBytes, share ciphertexts kShareCiphertextBytes, revealed shares
//     kShamirShareBytes;
//   - lists of peers, shares and ids hold at most secagg::kMaxRoundClients entries;
//   - MaskedInput: element_bytes is 4 or 8 and the values are a whole number of elements;
//   - SecAggRoundConfig: known enums, ring_bits 32 or 64, a support that Support::Dense /
//     Support::Sparse accept, and ValidateRoundConfig.
// Protocol-level checks (key order, who is a neighbour, phase, duplicates, values below the
// ring's modulus) stay with the validators and state machines of core/secagg.
//
// Round trip: FromProto(ToProto(x)) == x for every struct x that our state machines produce.
//
// Secrets: the revealed shares of UnmaskResponse become crypto::SecretBytes on the way in; the
// proto message's copy is the caller's to clear (WipeSecrets) once it is no longer needed.
//
// Thread-safety: pure functions.

#include "sotto/base/status.h"
#include "sotto/base/statusor.h"
#include "sotto/proto/sotto.pb.h"
#include "sotto/secagg/config.h"
#include "sotto/secagg/messages.h"

namespace sotto::proto {

// ---- Client -> server ----
void ToProto(const secagg::AdvertiseKeys& in, AdvertiseKeys* out);
void ToProto(const secagg::ShareKeysResponse& in, ShareKeysResponse* out);
void ToProto(const secagg::MaskedInput& in, MaskedInput* out);
void ToProto(const secagg::UnmaskResponse& in, UnmaskResponse* out);
StatusOr<secagg::AdvertiseKeys> FromProto(const AdvertiseKeys& in);
StatusOr<secagg::ShareKeysResponse> FromProto(const ShareKeysResponse& in);
StatusOr<secagg::MaskedInput> FromProto(const MaskedInput& in);
StatusOr<secagg::UnmaskResponse> FromProto(const UnmaskResponse& in);

// ---- Server -> client ----
void ToProto(const secagg::ShareKeysRequest& in, ShareKeysRequest* out);
void ToProto(const secagg::MaskedInputRequest& in, MaskedInputRequest* out);
void ToProto(const secagg::UnmaskRequest& in, UnmaskRequest* out);
void ToProto(const secagg::AbortRound& in, AbortRound* out);
StatusOr<secagg::ShareKeysRequest> FromProto(const ShareKeysRequest& in);
StatusOr<secagg::MaskedInputRequest> FromProto(const MaskedInputRequest& in);
StatusOr<secagg::UnmaskRequest> FromProto(const UnmaskRequest& in);
StatusOr<secagg::AbortRound> FromProto(const AbortRound& in);

// ---- Round parameters ----
void ToProto(const secagg::RoundConfig& in, SecAggRoundConfig* out);
StatusOr<secagg::RoundConfig> FromProto(const SecAggRoundConfig& in);

// ---- Envelope bodies ----
// Sets the envelope's body (and phase) to the message; other envelope fields are untouched.
void ClientMessageToEnvelope(const secagg::ClientMessage& message, Envelope* envelope);
void ServerMessageToEnvelope(const secagg::ServerMessage& message, Envelope* envelope);
// The secure-aggregation message in the envelope's body. InvalidArgument when the body is not
// a client (resp. server) secure-aggregation message, or for the reasons above.
StatusOr<secagg::ClientMessage> ClientMessageFromEnvelope(const Envelope& envelope);
StatusOr<secagg::ServerMessage> ServerMessageFromEnvelope(const Envelope& envelope);

// Overwrites the revealed shares held in `envelope` (an UnmaskResponse body) with zeros before
// they are released; other bodies are left alone.
void WipeSecrets(Envelope* envelope);

}  // namespace sotto::proto

#include "sotto/proto/secagg_convert.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sotto/base/status_macros.h"
#include "sotto/crypto/fixed_point.h"
#include "sotto/crypto/key_agreement.h"
#include "sotto/crypto/secret_bytes.h"
#include "sotto/crypto/shamir.h"
#include "sotto/crypto/signature.h"

namespace sotto::proto {
namespace {

// Counts of peers, shares and ids: a round has at most kMaxRoundClients clients.
constexpr uint64_t kMaxListEntries = secagg::kMaxRoundClients;
constexpr size_t kSignatureBytes = crypto::kEd25519SignatureBytes;

std::string ToBytes(const std::vector<uint8_t>& bytes) {
  return std::string(bytes.begin(), bytes.end());
}

std::vector<uint8_t> FromBytes(const std::string& bytes) {
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

Status CheckLength(const std::string& bytes, size_t expected, const char* field) {
  if (bytes.size() != expected) {
    return InvalidArgumentError(std::string(field) + " has " + std::to_string(bytes.size()) +
                                " bytes, expected " + std::to_string(expected));
  }
  return OkStatus();
}

Status CheckCount(int count, const char* field) {
  if (count < 0 || static_cast<uint64_t>(count) > kMaxListEntries) {
    return InvalidArgumentError(std::string(field) + " has " + std::to_string(count) +
                                " entries, more than " + std::to_string(kMaxListEntries));
  }
  return OkStatus();
}

void FillShares(const std::vector<secagg::EncryptedShares>& in,
                google::protobuf::RepeatedPtrField<EncryptedShares>* out) {
  out->Clear();
  out->Reserve(static_cast<int>(in.size()));
  for (const secagg::EncryptedShares& share : in) {
    EncryptedShares* entry = out->Add();
    entry->set_peer_id(share.peer_id);
    entry->set_ciphertext(ToBytes(share.ciphertext));
  }
}

StatusOr<std::vector<secagg::EncryptedShares>> ReadShares(
    const google::protobuf::RepeatedPtrField<EncryptedShares>& in, const char* field) {
  RETURN_IF_ERROR(CheckCount(in.size(), field));
  std::vector<secagg::EncryptedShares> out;
  out.reserve(static_cast<size_t>(in.size()));
  for (const EncryptedShares& entry : in) {
    RETURN_IF_ERROR(
        CheckLength(entry.ciphertext(), secagg::kShareCiphertextBytes, "share ciphertext"));
    out.push_back({entry.peer_id(), FromBytes(entry.ciphertext())});
  }
  return out;
}

void FillRevealed(const std::vector<secagg::RevealedShare>& in,
                  google::protobuf::RepeatedPtrField<RevealedShare>* out) {
  out->Clear();
  out->Reserve(static_cast<int>(in.size()));
  for (const secagg::RevealedShare& share : in) {
    RevealedShare* entry = out->Add();
    entry->set_owner_id(share.owner_id);
    const auto bytes = share.value.bytes();
    entry->set_value(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
}

StatusOr<std::vector<secagg::RevealedShare>> ReadRevealed(
    const google::protobuf::RepeatedPtrField<RevealedShare>& in, const char* field) {
  RETURN_IF_ERROR(CheckCount(in.size(), field));
  std::vector<secagg::RevealedShare> out;
  out.reserve(static_cast<size_t>(in.size()));
  for (const RevealedShare& entry : in) {
    RETURN_IF_ERROR(CheckLength(entry.value(), crypto::kShamirShareBytes, "revealed share"));
    const auto* data = reinterpret_cast<const uint8_t*>(entry.value().data());
    out.push_back({entry.owner_id(), crypto::SecretBytes::CopyFrom({data, entry.value().size()})});
  }
  return out;
}

StatusOr<std::vector<uint64_t>> ReadIds(const google::protobuf::RepeatedField<uint64_t>& in,
                                        const char* field) {
  RETURN_IF_ERROR(CheckCount(in.size(), field));
  return std::vector<uint64_t>(in.begin(), in.end());
}

// Overwrites a string's bytes in a way the compiler may not elide.
void WipeString(std::string* s) {
  volatile char* p = s->data();
  for (size_t i = 0; i < s->size(); ++i) {
    p[i] = 0;
  }
}

uint64_t LoadLe(const uint8_t* p, size_t width) {
  uint64_t v = 0;
  for (size_t i = 0; i < width; ++i) {
    v |= static_cast<uint64_t>(p[i]) << (8 * i);
  }
  return v;
}

void StoreLe(uint64_t v, size_t width, std::string* out) {
  for (size_t i = 0; i < width; ++i) {
    out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
}

SupportPolicy PolicyToProto(secagg::SupportPolicy policy) {
  switch (policy) {
    case secagg::SupportPolicy::kDense:
      return SUPPORT_POLICY_DENSE;
    case secagg::SupportPolicy::kSharedRandom:
      return SUPPORT_POLICY_SHARED_RANDOM;
    case secagg::SupportPolicy::kGlobalTopK:
      return SUPPORT_POLICY_GLOBAL_TOP_K;
    case secagg::SupportPolicy::kUnionThreshold:
      return SUPPORT_POLICY_UNION_THRESHOLD;
  }
  return SUPPORT_POLICY_UNSPECIFIED;
}

StatusOr<secagg::SupportPolicy> PolicyFromProto(int policy) {
  switch (policy) {
    case SUPPORT_POLICY_DENSE:
      return secagg::SupportPolicy::kDense;
    case SUPPORT_POLICY_SHARED_RANDOM:
      return secagg::SupportPolicy::kSharedRandom;
    case SUPPORT_POLICY_GLOBAL_TOP_K:
      return secagg::SupportPolicy::kGlobalTopK;
    case SUPPORT_POLICY_UNION_THRESHOLD:
      return secagg::SupportPolicy::kUnionThreshold;
    default:
      return InvalidArgumentError("support_policy: unknown value " + std::to_string(policy));
  }
}

MaskIndexing IndexingToProto(secagg::MaskIndexing indexing) {
  switch (indexing) {
    case secagg::MaskIndexing::kCoordinate:
      return MASK_INDEXING_COORDINATE;
    case secagg::MaskIndexing::kSupportPosition:
      return MASK_INDEXING_SUPPORT_POSITION;
  }
  return MASK_INDEXING_UNSPECIFIED;
}

StatusOr<secagg::MaskIndexing> IndexingFromProto(int indexing) {
  switch (indexing) {
    case MASK_INDEXING_COORDINATE:
      return secagg::MaskIndexing::kCoordinate;
    case MASK_INDEXING_SUPPORT_POSITION:
      return secagg::MaskIndexing::kSupportPosition;
    default:
      return InvalidArgumentError("mask_indexing: unknown value " + std::to_string(indexing));
  }
}

}  // namespace

// ---- Client -> server ----

void ToProto(const secagg::AdvertiseKeys& in, AdvertiseKeys* out) {
  out->set_mask_public_key(ToBytes(in.mask_public_key));
  out->set_encryption_public_key(ToBytes(in.encryption_public_key));
  out->set_seed_commitment(ToBytes(in.seed_commitment));
  out->set_signature(ToBytes(in.signature));
}

StatusOr<secagg::AdvertiseKeys> FromProto(const AdvertiseKeys& in) {
  RETURN_IF_ERROR(
      CheckLength(in.mask_public_key(), crypto::kX25519PublicKeyBytes, "mask_public_key"));
  RETURN_IF_ERROR(CheckLength(in.encryption_public_key(), crypto::kX25519PublicKeyBytes,
                              "encryption_public_key"));
  RETURN_IF_ERROR(
      CheckLength(in.seed_commitment(), secagg::kSeedCommitmentBytes, "seed_commitment"));
  if (!in.signature().empty()) {
    RETURN_IF_ERROR(CheckLength(in.signature(), kSignatureBytes, "signature"));
  }
  secagg::AdvertiseKeys out;
  out.mask_public_key = FromBytes(in.mask_public_key());
  out.encryption_public_key = FromBytes(in.encryption_public_key());
  out.seed_commitment = FromBytes(in.seed_commitment());
  out.signature = FromBytes(in.signature());
  return out;
}

void ToProto(const secagg::ShareKeysResponse& in, ShareKeysResponse* out) {
  FillShares(in.shares, out->mutable_shares());
}

StatusOr<secagg::ShareKeysResponse> FromProto(const ShareKeysResponse& in) {
  secagg::ShareKeysResponse out;
  ASSIGN_OR_RETURN(out.shares, ReadShares(in.shares(), "ShareKeysResponse.shares"));
  return out;
}

void ToProto(const secagg::MaskedInput& in, MaskedInput* out) {
  bool fits32 = in.weight <= UINT32_MAX;
  for (uint64_t v : in.values) {
    fits32 = fits32 && v <= UINT32_MAX;
  }
  const size_t width = fits32 ? 4 : 8;
  std::string values;
  values.reserve(in.values.size() * width);
  for (uint64_t v : in.values) {
    StoreLe(v, width, &values);
  }
  out->set_element_bytes(static_cast<uint32_t>(width));
  out->set_values(std::move(values));
  out->set_weight(in.weight);
}

StatusOr<secagg::MaskedInput> FromProto(const MaskedInput& in) {
  const uint32_t width = in.element_bytes();
  if (width != 4 && width != 8) {
    return InvalidArgumentError("MaskedInput.element_bytes is " + std::to_string(width) +
                                ", expected 4 or 8");
  }
  if (in.values().size() % width != 0) {
    return InvalidArgumentError("MaskedInput.values has " + std::to_string(in.values().size()) +
                                " bytes, not a multiple of " + std::to_string(width));
  }
  secagg::MaskedInput out;
  const size_t count = in.values().size() / width;
  out.values.resize(count);
  const auto* data = reinterpret_cast<const uint8_t*>(in.values().data());
  for (size_t i = 0; i < count; ++i) {
    out.values[i] = LoadLe(data + i * width, width);
  }
  out.weight = in.weight();
  return out;
}

void ToProto(const secagg::UnmaskResponse& in, UnmaskResponse* out) {
  FillRevealed(in.self_mask_seed_shares, out->mutable_self_mask_seed_shares());
  FillRevealed(in.mask_key_shares, out->mutable_mask_key_shares());
}

StatusOr<secagg::UnmaskResponse> FromProto(const UnmaskResponse& in) {
  secagg::UnmaskResponse out;
  ASSIGN_OR_RETURN(out.self_mask_seed_shares,
                   ReadRevealed(in.self_mask_seed_shares(), "self_mask_seed_shares"));
  ASSIGN_OR_RETURN(out.mask_key_shares, ReadRevealed(in.mask_key_shares(), "mask_key_shares"));
  return out;
}

// ---- Server -> client ----

void ToProto(const secagg::ShareKeysRequest& in, ShareKeysRequest* out) {
  out->clear_peers();
  out->mutable_peers()->Reserve(static_cast<int>(in.peers.size()));
  for (const secagg::PeerKeys& peer : in.peers) {
    PeerKeys* entry = out->add_peers();
    entry->set_id(peer.id);
    entry->set_mask_public_key(ToBytes(peer.mask_public_key));
    entry->set_encryption_public_key(ToBytes(peer.encryption_public_key));
  }
}

StatusOr<secagg::ShareKeysRequest> FromProto(const ShareKeysRequest& in) {
  RETURN_IF_ERROR(CheckCount(in.peers_size(), "ShareKeysRequest.peers"));
  secagg::ShareKeysRequest out;
  out.peers.reserve(static_cast<size_t>(in.peers_size()));
  for (const PeerKeys& entry : in.peers()) {
    RETURN_IF_ERROR(CheckLength(entry.mask_public_key(), crypto::kX25519PublicKeyBytes,
                                "peer mask_public_key"));
    RETURN_IF_ERROR(CheckLength(entry.encryption_public_key(), crypto::kX25519PublicKeyBytes,
                                "peer encryption_public_key"));
    out.peers.push_back(
        {entry.id(), FromBytes(entry.mask_public_key()), FromBytes(entry.encryption_public_key())});
  }
  return out;
}

void ToProto(const secagg::MaskedInputRequest& in, MaskedInputRequest* out) {
  FillShares(in.shares, out->mutable_shares());
}

StatusOr<secagg::MaskedInputRequest> FromProto(const MaskedInputRequest& in) {
  secagg::MaskedInputRequest out;
  ASSIGN_OR_RETURN(out.shares, ReadShares(in.shares(), "MaskedInputRequest.shares"));
  return out;
}

void ToProto(const secagg::UnmaskRequest& in, UnmaskRequest* out) {
  out->mutable_alive()->Assign(in.alive.begin(), in.alive.end());
  out->mutable_dropped()->Assign(in.dropped.begin(), in.dropped.end());
}

StatusOr<secagg::UnmaskRequest> FromProto(const UnmaskRequest& in) {
  secagg::UnmaskRequest out;
  ASSIGN_OR_RETURN(out.alive, ReadIds(in.alive(), "UnmaskRequest.alive"));
  ASSIGN_OR_RETURN(out.dropped, ReadIds(in.dropped(), "UnmaskRequest.dropped"));
  return out;
}

void ToProto(const secagg::AbortRound& in, AbortRound* out) { out->set_reason(in.reason); }

StatusOr<secagg::AbortRound> FromProto(const AbortRound& in) {
  return secagg::AbortRound{in.reason()};
}

// ---- Round parameters ----

void ToProto(const secagg::RoundConfig& in, SecAggRoundConfig* out) {
  out->set_run_id(in.run_id);
  out->set_round_id(in.round_id);
  out->mutable_client_ids()->Assign(in.client_ids.begin(), in.client_ids.end());
  out->set_threshold(in.threshold);
  out->set_degree(in.degree);
  out->set_graph_seed(in.graph_seed);
  FixedPointConfig* fixed_point = out->mutable_fixed_point();
  fixed_point->set_clip(in.fixed_point.clip);
  fixed_point->set_scale(in.fixed_point.scale);
  fixed_point->set_max_clients(in.fixed_point.max_clients);
  fixed_point->set_ring_bits(static_cast<uint32_t>(in.fixed_point.ring));
  out->set_max_weight(in.max_weight);
  Support* support = out->mutable_support();
  support->set_dimension(in.support.dim());
  support->set_dense(in.support.is_dense());
  const auto indices = in.support.indices();
  support->mutable_indices()->Assign(indices.begin(), indices.end());
  out->set_support_policy(PolicyToProto(in.support_policy));
  out->set_mask_indexing(IndexingToProto(in.mask_indexing));
}

StatusOr<secagg::RoundConfig> FromProto(const SecAggRoundConfig& in) {
  secagg::RoundConfig out;
  out.run_id = in.run_id();
  out.round_id = in.round_id();
  RETURN_IF_ERROR(CheckCount(in.client_ids_size(), "SecAggRoundConfig.client_ids"));
  out.client_ids.assign(in.client_ids().begin(), in.client_ids().end());
  out.threshold = in.threshold();
  out.degree = in.degree();
  out.graph_seed = in.graph_seed();
  const FixedPointConfig& fixed_point = in.fixed_point();
  out.fixed_point.clip = fixed_point.clip();
  out.fixed_point.scale = fixed_point.scale();
  out.fixed_point.max_clients = fixed_point.max_clients();
  switch (fixed_point.ring_bits()) {
    case 32:
      out.fixed_point.ring = crypto::Ring::kRing32;
      break;
    case 64:
      out.fixed_point.ring = crypto::Ring::kRing64;
      break;
    default:
      return InvalidArgumentError("fixed_point.ring_bits is " +
                                  std::to_string(fixed_point.ring_bits()) + ", expected 32 or 64");
  }
  out.max_weight = in.max_weight();
  const Support& support = in.support();
  if (support.dense()) {
    if (support.indices_size() != 0) {
      return InvalidArgumentError("support: a dense support lists no indices");
    }
    ASSIGN_OR_RETURN(out.support, secagg::Support::Dense(support.dimension()));
  } else {
    std::vector<uint32_t> indices(support.indices().begin(), support.indices().end());
    ASSIGN_OR_RETURN(out.support, secagg::Support::Sparse(support.dimension(), std::move(indices)));
  }
  ASSIGN_OR_RETURN(out.support_policy, PolicyFromProto(in.support_policy()));
  ASSIGN_OR_RETURN(out.mask_indexing, IndexingFromProto(in.mask_indexing()));
  RETURN_IF_ERROR(secagg::ValidateRoundConfig(out));
  return out;
}

// ---- Envelope bodies ----

void ClientMessageToEnvelope(const secagg::ClientMessage& message, Envelope* envelope) {
  if (const auto* m = std::get_if<secagg::AdvertiseKeys>(&message)) {
    ToProto(*m, envelope->mutable_advertise_keys());
    envelope->set_phase(PHASE_ADVERTISE_KEYS);
  } else if (const auto* m = std::get_if<secagg::ShareKeysResponse>(&message)) {
    ToProto(*m, envelope->mutable_share_keys_response());
    envelope->set_phase(PHASE_SHARE_KEYS);
  } else if (const auto* m = std::get_if<secagg::MaskedInput>(&message)) {
    ToProto(*m, envelope->mutable_masked_input());
    envelope->set_phase(PHASE_MASKED_INPUT);
  } else if (const auto* m = std::get_if<secagg::UnmaskResponse>(&message)) {
    ToProto(*m, envelope->mutable_unmask_response());
    envelope->set_phase(PHASE_UNMASK);
  }
}

void ServerMessageToEnvelope(const secagg::ServerMessage& message, Envelope* envelope) {
  if (const auto* m = std::get_if<secagg::ShareKeysRequest>(&message)) {
    ToProto(*m, envelope->mutable_share_keys_request());
    envelope->set_phase(PHASE_SHARE_KEYS);
  } else if (const auto* m = std::get_if<secagg::MaskedInputRequest>(&message)) {
    ToProto(*m, envelope->mutable_masked_input_request());
    envelope->set_phase(PHASE_MASKED_INPUT);
  } else if (const auto* m = std::get_if<secagg::UnmaskRequest>(&message)) {
    ToProto(*m, envelope->mutable_unmask_request());
    envelope->set_phase(PHASE_UNMASK);
  } else if (const auto* m = std::get_if<secagg::AbortRound>(&message)) {
    ToProto(*m, envelope->mutable_abort_round());
    envelope->set_phase(PHASE_ROUND_END);
  }
}

StatusOr<secagg::ClientMessage> ClientMessageFromEnvelope(const Envelope& envelope) {
  switch (envelope.body_case()) {
    case Envelope::kAdvertiseKeys: {
      ASSIGN_OR_RETURN(auto message, FromProto(envelope.advertise_keys()));
      return secagg::ClientMessage(std::move(message));
    }
    case Envelope::kShareKeysResponse: {
      ASSIGN_OR_RETURN(auto message, FromProto(envelope.share_keys_response()));
      return secagg::ClientMessage(std::move(message));
    }
    case Envelope::kMaskedInput: {
      ASSIGN_OR_RETURN(auto message, FromProto(envelope.masked_input()));
      return secagg::ClientMessage(std::move(message));
    }
    case Envelope::kUnmaskResponse: {
      ASSIGN_OR_RETURN(auto message, FromProto(envelope.unmask_response()));
      return secagg::ClientMessage(std::move(message));
    }
    default:
      return InvalidArgumentError("envelope body " + std::to_string(envelope.body_case()) +
                                  " is not a client secure-aggregation message");
  }
}

StatusOr<secagg::ServerMessage> ServerMessageFromEnvelope(const Envelope& envelope) {
  switch (envelope.body_case()) {
    case Envelope::kShareKeysRequest: {
      ASSIGN_OR_RETURN(auto message, FromProto(envelope.share_keys_request()));
      return secagg::ServerMessage(std::move(message));
    }
    case Envelope::kMaskedInputRequest: {
      ASSIGN_OR_RETURN(auto message, FromProto(envelope.masked_input_request()));
      return secagg::ServerMessage(std::move(message));
    }
    case Envelope::kUnmaskRequest: {
      ASSIGN_OR_RETURN(auto message, FromProto(envelope.unmask_request()));
      return secagg::ServerMessage(std::move(message));
    }
    case Envelope::kAbortRound: {
      ASSIGN_OR_RETURN(auto message, FromProto(envelope.abort_round()));
      return secagg::ServerMessage(std::move(message));
    }
    default:
      return InvalidArgumentError("envelope body " + std::to_string(envelope.body_case()) +
                                  " is not a server secure-aggregation message");
  }
}

void WipeSecrets(Envelope* envelope) {
  if (!envelope->has_unmask_response()) {
    return;
  }
  UnmaskResponse* response = envelope->mutable_unmask_response();
  for (RevealedShare& share : *response->mutable_self_mask_seed_shares()) {
    WipeString(share.mutable_value());
  }
  for (RevealedShare& share : *response->mutable_mask_key_shares()) {
    WipeString(share.mutable_value());
  }
}

}  // namespace sotto::proto

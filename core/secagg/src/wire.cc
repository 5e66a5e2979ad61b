#include "sotto/secagg/wire.h"

#include <string>
#include <type_traits>
#include <utility>

#include "sotto/base/status_macros.h"

namespace sotto::secagg {
namespace {

enum Tag : uint8_t {
  kAdvertiseKeysTag = 0x01,
  kShareKeysResponseTag = 0x02,
  kMaskedInputTag = 0x03,
  kUnmaskResponseTag = 0x04,
  kShareKeysRequestTag = 0x11,
  kMaskedInputRequestTag = 0x12,
  kUnmaskRequestTag = 0x13,
  kAbortRoundTag = 0x14,
};

class Writer {
 public:
  void U8(uint8_t v) { out_.push_back(v); }
  void U32(uint32_t v) {
    for (int i = 0; i < 4; ++i) {
      out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
  }
  void U64(uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
    }
  }
  void Bytes(std::span<const uint8_t> bytes) {
    U32(static_cast<uint32_t>(bytes.size()));
    out_.insert(out_.end(), bytes.begin(), bytes.end());
  }
  void Count(size_t n) { U32(static_cast<uint32_t>(n)); }
  std::vector<uint8_t> Take() { return std::move(out_); }

 private:
  std::vector<uint8_t> out_;
};

class Reader {
 public:
  explicit Reader(std::span<const uint8_t> in) : in_(in) {}

  StatusOr<uint64_t> Fixed(int bytes) {
    if (in_.size() - pos_ < static_cast<size_t>(bytes)) {
      return InvalidArgumentError("wire: truncated at byte " + std::to_string(pos_));
    }
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) {
      v |= uint64_t{in_[pos_ + i]} << (8 * i);
    }
    pos_ += bytes;
    return v;
  }
  StatusOr<uint8_t> U8() {
    ASSIGN_OR_RETURN(uint64_t v, Fixed(1));
    return static_cast<uint8_t>(v);
  }
  StatusOr<uint64_t> U64() { return Fixed(8); }
  // A count of elements that each take at least `min_bytes`: refused when the rest of the input
  // cannot hold them, so a count never makes us allocate more than the input justifies.
  StatusOr<size_t> Count(size_t min_bytes) {
    ASSIGN_OR_RETURN(uint64_t n, Fixed(4));
    if (n > (in_.size() - pos_) / min_bytes) {
      return InvalidArgumentError("wire: count " + std::to_string(n) + " runs past the end");
    }
    return static_cast<size_t>(n);
  }
  StatusOr<std::vector<uint8_t>> Bytes() {
    ASSIGN_OR_RETURN(size_t n, Count(1));
    std::vector<uint8_t> out(in_.begin() + pos_, in_.begin() + pos_ + n);
    pos_ += n;
    return out;
  }
  Status End() const {
    if (pos_ != in_.size()) {
      return InvalidArgumentError("wire: " + std::to_string(in_.size() - pos_) + " trailing bytes");
    }
    return OkStatus();
  }

 private:
  std::span<const uint8_t> in_;
  size_t pos_ = 0;
};

void WriteEnvelopes(Writer& w, const std::vector<EncryptedShares>& shares) {
  w.Count(shares.size());
  for (const auto& s : shares) {
    w.U64(s.peer_id);
    w.Bytes(s.ciphertext);
  }
}

StatusOr<std::vector<EncryptedShares>> ReadEnvelopes(Reader& r) {
  ASSIGN_OR_RETURN(size_t n, r.Count(12));
  std::vector<EncryptedShares> out(n);
  for (auto& s : out) {
    ASSIGN_OR_RETURN(s.peer_id, r.U64());
    ASSIGN_OR_RETURN(s.ciphertext, r.Bytes());
  }
  return out;
}

void WriteShares(Writer& w, const std::vector<RevealedShare>& shares) {
  w.Count(shares.size());
  for (const auto& s : shares) {
    w.U64(s.owner_id);
    w.Bytes(s.value.bytes());
  }
}

StatusOr<std::vector<RevealedShare>> ReadShares(Reader& r) {
  ASSIGN_OR_RETURN(size_t n, r.Count(12));
  std::vector<RevealedShare> out(n);
  for (auto& s : out) {
    ASSIGN_OR_RETURN(s.owner_id, r.U64());
    ASSIGN_OR_RETURN(auto bytes, r.Bytes());
    s.value = crypto::SecretBytes::CopyFrom(bytes);
    std::fill(bytes.begin(), bytes.end(), 0);
  }
  return out;
}

void WriteIds(Writer& w, const std::vector<uint64_t>& ids) {
  w.Count(ids.size());
  for (uint64_t id : ids) {
    w.U64(id);
  }
}

StatusOr<std::vector<uint64_t>> ReadIds(Reader& r) {
  ASSIGN_OR_RETURN(size_t n, r.Count(8));
  std::vector<uint64_t> out(n);
  for (auto& id : out) {
    ASSIGN_OR_RETURN(id, r.U64());
  }
  return out;
}

}  // namespace

std::vector<uint8_t> SerializeClientMessage(const ClientMessage& message) {
  Writer w;
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, AdvertiseKeys>) {
          w.U8(kAdvertiseKeysTag);
          w.Bytes(m.mask_public_key);
          w.Bytes(m.encryption_public_key);
          w.Bytes(m.seed_commitment);
          w.Bytes(m.signature);
        } else if constexpr (std::is_same_v<T, ShareKeysResponse>) {
          w.U8(kShareKeysResponseTag);
          WriteEnvelopes(w, m.shares);
        } else if constexpr (std::is_same_v<T, MaskedInput>) {
          w.U8(kMaskedInputTag);
          WriteIds(w, m.values);
          w.U64(m.weight);
        } else {
          static_assert(std::is_same_v<T, UnmaskResponse>);
          w.U8(kUnmaskResponseTag);
          WriteShares(w, m.self_mask_seed_shares);
          WriteShares(w, m.mask_key_shares);
        }
      },
      message);
  return w.Take();
}

StatusOr<ClientMessage> ParseClientMessage(std::span<const uint8_t> bytes) {
  Reader r(bytes);
  ASSIGN_OR_RETURN(uint8_t tag, r.U8());
  switch (tag) {
    case kAdvertiseKeysTag: {
      AdvertiseKeys m;
      ASSIGN_OR_RETURN(m.mask_public_key, r.Bytes());
      ASSIGN_OR_RETURN(m.encryption_public_key, r.Bytes());
      ASSIGN_OR_RETURN(m.seed_commitment, r.Bytes());
      ASSIGN_OR_RETURN(m.signature, r.Bytes());
      RETURN_IF_ERROR(r.End());
      return ClientMessage(std::move(m));
    }
    case kShareKeysResponseTag: {
      ShareKeysResponse m;
      ASSIGN_OR_RETURN(m.shares, ReadEnvelopes(r));
      RETURN_IF_ERROR(r.End());
      return ClientMessage(std::move(m));
    }
    case kMaskedInputTag: {
      MaskedInput m;
      ASSIGN_OR_RETURN(m.values, ReadIds(r));
      ASSIGN_OR_RETURN(m.weight, r.U64());
      RETURN_IF_ERROR(r.End());
      return ClientMessage(std::move(m));
    }
    case kUnmaskResponseTag: {
      UnmaskResponse m;
      ASSIGN_OR_RETURN(m.self_mask_seed_shares, ReadShares(r));
      ASSIGN_OR_RETURN(m.mask_key_shares, ReadShares(r));
      RETURN_IF_ERROR(r.End());
      return ClientMessage(std::move(m));
    }
    default:
      return InvalidArgumentError("wire: unknown client message tag " + std::to_string(tag));
  }
}

std::vector<uint8_t> SerializeServerMessage(const ServerMessage& message) {
  Writer w;
  std::visit(
      [&](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, ShareKeysRequest>) {
          w.U8(kShareKeysRequestTag);
          w.Count(m.peers.size());
          for (const auto& p : m.peers) {
            w.U64(p.id);
            w.Bytes(p.mask_public_key);
            w.Bytes(p.encryption_public_key);
          }
        } else if constexpr (std::is_same_v<T, MaskedInputRequest>) {
          w.U8(kMaskedInputRequestTag);
          WriteEnvelopes(w, m.shares);
        } else if constexpr (std::is_same_v<T, UnmaskRequest>) {
          w.U8(kUnmaskRequestTag);
          WriteIds(w, m.alive);
          WriteIds(w, m.dropped);
        } else {
          static_assert(std::is_same_v<T, AbortRound>);
          w.U8(kAbortRoundTag);
          w.Bytes(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(m.reason.data()),
                                           m.reason.size()));
        }
      },
      message);
  return w.Take();
}

StatusOr<ServerMessage> ParseServerMessage(std::span<const uint8_t> bytes) {
  Reader r(bytes);
  ASSIGN_OR_RETURN(uint8_t tag, r.U8());
  switch (tag) {
    case kShareKeysRequestTag: {
      ShareKeysRequest m;
      ASSIGN_OR_RETURN(size_t n, r.Count(16));
      m.peers.resize(n);
      for (auto& p : m.peers) {
        ASSIGN_OR_RETURN(p.id, r.U64());
        ASSIGN_OR_RETURN(p.mask_public_key, r.Bytes());
        ASSIGN_OR_RETURN(p.encryption_public_key, r.Bytes());
      }
      RETURN_IF_ERROR(r.End());
      return ServerMessage(std::move(m));
    }
    case kMaskedInputRequestTag: {
      MaskedInputRequest m;
      ASSIGN_OR_RETURN(m.shares, ReadEnvelopes(r));
      RETURN_IF_ERROR(r.End());
      return ServerMessage(std::move(m));
    }
    case kUnmaskRequestTag: {
      UnmaskRequest m;
      ASSIGN_OR_RETURN(m.alive, ReadIds(r));
      ASSIGN_OR_RETURN(m.dropped, ReadIds(r));
      RETURN_IF_ERROR(r.End());
      return ServerMessage(std::move(m));
    }
    case kAbortRoundTag: {
      ASSIGN_OR_RETURN(auto reason, r.Bytes());
      RETURN_IF_ERROR(r.End());
      return ServerMessage(AbortRound{std::string(reason.begin(), reason.end())});
    }
    default:
      return InvalidArgumentError("wire: unknown server message tag " + std::to_string(tag));
  }
}

}  // namespace sotto::secagg

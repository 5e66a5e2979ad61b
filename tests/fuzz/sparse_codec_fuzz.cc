// Fuzz target for the sparse wire codec (sotto/core/compress/sparse_codec.h).
//
// Decodes arbitrary bytes with small limits. Every input must either be refused with
// InvalidArgument or decode to an update that re-encodes, with exactly the
// decoded format, to the identical bytes (the encoding is canonical), and whose decoded fields
// satisfy the documented contract. Anything else aborts.
//
// Built as a libFuzzer binary when SOTTO_FUZZ=ON with clang, and always as the corpus-replay
// test fuzz_sparse_codec_corpus (tests/fuzz/corpus_main.cc).

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "sotto/base/check.h"
#include "sotto/core/compress/sparse_codec.h"

namespace sotto::compress {
namespace {

// Decoding work is bounded by the message length (a bitmap must be d bits long, and Rice work
// by k and the bits present), so d may take its full range; k is capped to exercise the limit.
constexpr DecodeLimits kLimits{kMaxSparseDim, uint64_t{1} << 12};

void CheckRefusal(const Status& status) {
  SOTTO_CHECK(status.code() == StatusCode::kInvalidArgument) << status;
}

void CheckIndices(uint64_t dim, const std::vector<uint32_t>& indices) {
  for (size_t j = 0; j < indices.size(); ++j) {
    SOTTO_CHECK(indices[j] < dim);
    SOTTO_CHECK(j == 0 || indices[j - 1] < indices[j]);
  }
}

void FuzzOne(std::span<const uint8_t> bytes) {
  auto header = ParseSparseHeader(bytes, kLimits);
  if (!header.ok()) {
    CheckRefusal(header.status());
    return;
  }
  SOTTO_CHECK(header->dim <= kLimits.max_dim && header->k <= kLimits.max_k);
  if (IsRingCoding(header->format.value_coding)) {
    SOTTO_CHECK(!DecodeSparse(bytes, kLimits).ok());
    auto decoded = DecodeSparseRing(bytes, kLimits);
    if (!decoded.ok()) {
      CheckRefusal(decoded.status());
      return;
    }
    SOTTO_CHECK(decoded->indices.size() == header->k && decoded->values.size() == header->k);
    CheckIndices(decoded->dim, decoded->indices);
    auto again = EncodeSparseRing(decoded->dim, decoded->indices, decoded->values,
                                  EncodeOptions::Exactly(decoded->format));
    SOTTO_CHECK_OK(again.status());
    SOTTO_CHECK(std::equal(again->begin(), again->end(), bytes.begin(), bytes.end()))
        << "ring re-encoding differs";
  } else {
    SOTTO_CHECK(!DecodeSparseRing(bytes, kLimits).ok());
    auto decoded = DecodeSparse(bytes, kLimits);
    if (!decoded.ok()) {
      CheckRefusal(decoded.status());
      return;
    }
    SOTTO_CHECK(decoded->indices.size() == header->k && decoded->values.size() == header->k);
    CheckIndices(decoded->dim, decoded->indices);
    for (float v : decoded->values) {
      SOTTO_CHECK(std::isfinite(v));
    }
    auto again = EncodeSparse(decoded->dim, decoded->indices, decoded->values,
                              EncodeOptions::Exactly(decoded->format));
    SOTTO_CHECK_OK(again.status());
    SOTTO_CHECK(std::equal(again->begin(), again->end(), bytes.begin(), bytes.end()))
        << "float re-encoding differs";
    // The size the encoder predicts is the size it wrote.
    auto bits =
        MeasureSparse(decoded->dim, decoded->indices, EncodeOptions::Exactly(decoded->format));
    SOTTO_CHECK_OK(bits.status());
    SOTTO_CHECK(bits->bytes() == bytes.size());
  }
}

}  // namespace
}  // namespace sotto::compress

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sotto::compress::FuzzOne(std::span<const uint8_t>(data, size));
  return 0;
}

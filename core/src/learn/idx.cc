#include "sotto/core/learn/idx.h"

#include <algorithm>
#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "learn/gz_reader.h"
#include "sotto/base/status_macros.h"

namespace sotto::learn {
namespace {

using internal::GzReader;

constexpr uint32_t kImagesMagic = 0x00000803;
constexpr uint32_t kLabelsMagic = 0x00000801;

// The payload is read in blocks of this size into a buffer that grows as data arrives, so a
// small file that declares a huge (but allowed) payload fails on truncation after using
// memory in proportion to its real size, not to its claim.
constexpr size_t kReadBlock = size_t{1} << 24;

std::string Hex32(uint32_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "0x";
  for (int shift = 28; shift >= 0; shift -= 4) out += kDigits[(v >> shift) & 0xf];
  return out;
}

uint32_t BigEndian32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// Reads the magic and `N` dimensions of an IDX header. The magic is checked before the
// dimensions are read, so a file of the wrong kind is reported as such even when it is short.
template <size_t N>
StatusOr<std::array<uint32_t, N>> ReadHeader(GzReader& reader, uint32_t magic, const char* kind) {
  std::array<uint8_t, 4> magic_bytes;
  RETURN_IF_ERROR(reader.ReadExactly(magic_bytes, "header"));
  const uint32_t got_magic = BigEndian32(magic_bytes.data());
  if (got_magic != magic) {
    return InvalidArgumentError(reader.path() + ": wrong magic " + Hex32(got_magic) + " for an " +
                                kind + " file (expected " + Hex32(magic) + ")");
  }
  std::array<uint8_t, 4 * N> dim_bytes;
  RETURN_IF_ERROR(reader.ReadExactly(dim_bytes, "header dimensions"));
  std::array<uint32_t, N> dims;
  for (size_t i = 0; i < N; ++i) dims[i] = BigEndian32(dim_bytes.data() + 4 * i);
  return dims;
}

// Reads exactly `size` payload bytes, then insists that the file ends there.
StatusOr<std::vector<uint8_t>> ReadPayload(GzReader& reader, uint64_t size) {
  std::vector<uint8_t> data;
  while (data.size() < size) {
    const size_t old_size = data.size();
    const size_t block = static_cast<size_t>(std::min<uint64_t>(kReadBlock, size - old_size));
    data.resize(old_size + block);
    ASSIGN_OR_RETURN(const size_t got, reader.Read(std::span(data).subspan(old_size)));
    if (got < block) {
      return DataLossError(reader.path() + ": truncated payload: got " +
                           std::to_string(old_size + got) + " of " + std::to_string(size) +
                           " bytes");
    }
  }
  ASSIGN_OR_RETURN(const bool at_end, reader.AtEnd());
  if (!at_end) {
    return InvalidArgumentError(reader.path() + ": trailing bytes after the " +
                                std::to_string(size) + "-byte payload");
  }
  return data;
}

}  // namespace

StatusOr<Dataset> LoadIdx(const std::string& images_path, const std::string& labels_path,
                          int num_classes) {
  if (num_classes <= 0) {
    return InvalidArgumentError("num_classes must be > 0, got " + std::to_string(num_classes));
  }
  // Both headers first, so count mismatches and absurd sizes are found before any payload is
  // read.
  ASSIGN_OR_RETURN(GzReader images, GzReader::Open(images_path));
  ASSIGN_OR_RETURN(GzReader labels, GzReader::Open(labels_path));
  ASSIGN_OR_RETURN(const auto image_dims, ReadHeader<3>(images, kImagesMagic, "image"));
  ASSIGN_OR_RETURN(const auto label_dims, ReadHeader<1>(labels, kLabelsMagic, "label"));
  const uint64_t count = image_dims[0];
  const uint64_t rows = image_dims[1];
  const uint64_t cols = image_dims[2];
  if (count == 0 || rows == 0 || cols == 0) {
    return InvalidArgumentError(images_path + ": zero dimension in header (count " +
                                std::to_string(count) + ", rows " + std::to_string(rows) +
                                ", cols " + std::to_string(cols) + ")");
  }
  // rows * cols < 2^64 since each is < 2^32; dividing avoids overflowing the third factor.
  const uint64_t dim = rows * cols;
  if (dim > kMaxIdxPayloadBytes || count > kMaxIdxPayloadBytes / dim) {
    return ResourceExhaustedError(images_path + ": header declares " + std::to_string(count) +
                                  " images of " + std::to_string(rows) + "x" +
                                  std::to_string(cols) + ", more than the " +
                                  std::to_string(kMaxIdxPayloadBytes) + "-byte limit");
  }
  if (label_dims[0] != count) {
    return InvalidArgumentError(images_path + " holds " + std::to_string(count) + " images but " +
                                labels_path + " holds " + std::to_string(label_dims[0]) +
                                " labels");
  }

  ASSIGN_OR_RETURN(std::vector<uint8_t> label_bytes, ReadPayload(labels, count));
  for (size_t i = 0; i < label_bytes.size(); ++i) {
    if (label_bytes[i] >= num_classes) {
      return InvalidArgumentError(labels_path + ": label " + std::to_string(label_bytes[i]) +
                                  " of sample " + std::to_string(i) + " is outside [0, " +
                                  std::to_string(num_classes) + ")");
    }
  }
  ASSIGN_OR_RETURN(std::vector<uint8_t> pixels, ReadPayload(images, count * dim));

  Dataset data;
  data.num_samples = static_cast<size_t>(count);
  data.dim = static_cast<size_t>(dim);
  data.num_classes = num_classes;
  data.features.resize(pixels.size());
  for (size_t i = 0; i < pixels.size(); ++i) {
    data.features[i] = static_cast<float>(pixels[i]) / 255.0f;
  }
  data.labels.assign(label_bytes.begin(), label_bytes.end());
  return data;
}

StatusOr<TrainTest> LoadFashionMnist(const std::string& dir) {
  static constexpr const char* kFiles[4] = {
      "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
      "t10k-labels-idx1-ubyte.gz"};
  std::array<std::string, 4> paths;
  for (size_t i = 0; i < paths.size(); ++i) {
    paths[i] = dir + "/" + kFiles[i];
    // Probe every file first so a missing package is reported as such, with the fix.
    StatusOr<GzReader> probe = GzReader::Open(paths[i]);
    if (!probe.ok() && probe.status().code() == StatusCode::kNotFound) {
      return NotFoundError("Fashion-MNIST file " + paths[i] +
                           " not found; install the Debian package dataset-fashion-mnist "
                           "(sudo apt-get install dataset-fashion-mnist)");
    }
  }
  TrainTest out;
  ASSIGN_OR_RETURN(out.train, LoadIdx(paths[0], paths[1], 10));
  ASSIGN_OR_RETURN(out.test, LoadIdx(paths[2], paths[3], 10));
  if (out.train.dim != out.test.dim) {
    return InvalidArgumentError("Fashion-MNIST in " + dir + ": training images have " +
                                std::to_string(out.train.dim) + " pixels but test images " +
                                std::to_string(out.test.dim));
  }
  return out;
}

}  // namespace sotto::learn

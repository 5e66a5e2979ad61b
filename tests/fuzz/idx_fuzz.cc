// Fuzz target for the IDX loader (sotto/core/learn/idx.h), images and labels together.
//
// Input layout: two bytes (little-endian) give the length L of the images file; the next L
// bytes are the images file and the rest is the labels file (either may be gzip'd; the loader
// detects it). Both are written to temporary files and loaded. Every input must either be
// refused with InvalidArgument / DataLoss / ResourceExhausted, or load a dataset that passes
// Dataset::Validate(). Anything else aborts.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "sotto/base/check.h"
#include "sotto/core/learn/idx.h"

namespace {

std::string WriteTemp(const uint8_t* data, size_t size) {
  char path[] = "/tmp/sotto_idx_fuzz_XXXXXX";
  int fd = mkstemp(path);
  SOTTO_CHECK(fd >= 0);
  size_t done = 0;
  while (done < size) {
    ssize_t n = write(fd, data + done, size - done);
    SOTTO_CHECK(n > 0);
    done += static_cast<size_t>(n);
  }
  close(fd);
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sotto;
  if (size < 2) return 0;
  size_t images_len = data[0] | (static_cast<size_t>(data[1]) << 8);
  if (images_len > size - 2) images_len = size - 2;
  const std::string images = WriteTemp(data + 2, images_len);
  const std::string labels = WriteTemp(data + 2 + images_len, size - 2 - images_len);
  StatusOr<learn::Dataset> loaded = learn::LoadIdx(images, labels, 10);
  unlink(images.c_str());
  unlink(labels.c_str());
  if (!loaded.ok()) {
    const StatusCode code = loaded.status().code();
    SOTTO_CHECK(code == StatusCode::kInvalidArgument || code == StatusCode::kDataLoss ||
                code == StatusCode::kResourceExhausted)
        << loaded.status();
    return 0;
  }
  SOTTO_CHECK_OK(loaded->Validate());
  SOTTO_CHECK(loaded->num_classes == 10);
  return 0;
}

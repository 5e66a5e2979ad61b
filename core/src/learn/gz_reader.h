#pragma once

// GzReader: reads a file that is either gzip-compressed or plain, through zlib's gz* API
// (zlib reads a file without a gzip header as is). Private to sotto_core's loaders.
//
// Every failure is a Status whose message starts with the path:
//   NotFound           the file does not exist
//   PermissionDenied   it cannot be opened for reading
//   InvalidArgument    the path is a directory
//   DataLoss           a gzip stream that is corrupt or ends early (also a bad CRC trailer)
//   Unavailable        the operating system reported a read error
//
// A GzReader owns its zlib handle; it is movable, not copyable, and not thread-safe.

#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>

#include "sotto/base/status.h"
#include "sotto/base/statusor.h"

namespace sotto::learn::internal {

class GzReader {
 public:
  static StatusOr<GzReader> Open(const std::string& path);

  // Reads up to out.size() bytes into `out` and returns how many were read. Fewer than
  // out.size() means the end of the (decompressed) data was reached.
  StatusOr<size_t> Read(std::span<uint8_t> out);

  // Reads exactly out.size() bytes; DataLoss naming `what` when the data ends first.
  Status ReadExactly(std::span<uint8_t> out, const char* what);

  // True when no byte follows what has been read so far. Reads one byte to find out, so it
  // also makes zlib check the gzip trailer (CRC and length) of a stream read to its end.
  StatusOr<bool> AtEnd();

  const std::string& path() const { return path_; }

 private:
  struct Closer {
    void operator()(gzFile_s* file) const { gzclose(file); }
  };

  GzReader(std::string path, gzFile_s* file) : path_(std::move(path)), file_(file) {}

  std::string path_;
  std::unique_ptr<gzFile_s, Closer> file_;
};

// The whole (decompressed) content of `path` as a string.
StatusOr<std::string> ReadWholeFile(const std::string& path);

}  // namespace sotto::learn::internal

#include "learn/gz_reader.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <string>
#include <utility>

namespace sotto::learn::internal {
namespace {

// gzread takes an unsigned length and returns an int; stay well inside both.
constexpr size_t kMaxChunk = size_t{1} << 30;

}  // namespace

StatusOr<GzReader> GzReader::Open(const std::string& path) {
  struct stat info;
  if (::stat(path.c_str(), &info) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return NotFoundError(path + ": file not found");
    return UnavailableError(path + ": cannot stat: " + std::strerror(errno));
  }
  if (S_ISDIR(info.st_mode)) return InvalidArgumentError(path + ": is a directory, not a file");
  errno = 0;
  gzFile_s* file = gzopen(path.c_str(), "rb");
  if (file == nullptr) {
    const int err = errno;
    if (err == ENOENT) return NotFoundError(path + ": file not found");
    if (err == EACCES || err == EPERM) {
      return PermissionDeniedError(path + ": cannot open for reading: " + std::strerror(err));
    }
    if (err == 0) return ResourceExhaustedError(path + ": zlib could not allocate its state");
    return UnavailableError(path + ": cannot open: " + std::strerror(err));
  }
  return GzReader(path, file);
}

StatusOr<size_t> GzReader::Read(std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    const size_t want = std::min(out.size() - done, kMaxChunk);
    errno = 0;
    const int got = gzread(file_.get(), out.data() + done, static_cast<unsigned>(want));
    // gzread may return a partial count together with an error (a truncated stream), so the
    // error state is checked after every call, not only when it returns -1.
    int errnum = Z_OK;
    const char* message = gzerror(file_.get(), &errnum);
    if (errnum == Z_BUF_ERROR) {
      return DataLossError(path_ + ": gzip stream ends early (truncated file)");
    }
    if (errnum == Z_DATA_ERROR) {
      return DataLossError(path_ + ": corrupt gzip stream: " + message);
    }
    if (errnum == Z_MEM_ERROR) {
      return ResourceExhaustedError(path_ + ": zlib ran out of memory");
    }
    if (errnum == Z_ERRNO) {
      return UnavailableError(path_ + ": read error: " + std::strerror(errno));
    }
    if (errnum != Z_OK || got < 0) {
      return UnknownError(path_ + ": zlib error " + std::to_string(errnum) + ": " + message);
    }
    if (got == 0) break;
    done += static_cast<size_t>(got);
  }
  return done;
}

Status GzReader::ReadExactly(std::span<uint8_t> out, const char* what) {
  StatusOr<size_t> got = Read(out);
  if (!got.ok()) return got.status();
  if (*got != out.size()) {
    return DataLossError(path_ + ": truncated " + what + ": got " + std::to_string(*got) + " of " +
                         std::to_string(out.size()) + " bytes");
  }
  return OkStatus();
}

StatusOr<bool> GzReader::AtEnd() {
  uint8_t probe = 0;
  StatusOr<size_t> got = Read(std::span<uint8_t>(&probe, 1));
  if (!got.ok()) return got.status();
  return *got == 0;
}

StatusOr<std::string> ReadWholeFile(const std::string& path) {
  StatusOr<GzReader> reader = GzReader::Open(path);
  if (!reader.ok()) return reader.status();
  std::string text;
  constexpr size_t kBlock = size_t{1} << 20;
  for (;;) {
    const size_t old_size = text.size();
    text.resize(old_size + kBlock);
    StatusOr<size_t> got = reader->Read(
        std::span<uint8_t>(reinterpret_cast<uint8_t*>(text.data()) + old_size, kBlock));
    if (!got.ok()) return got.status();
    text.resize(old_size + *got);
    if (*got < kBlock) break;
  }
  return text;
}

}  // namespace sotto::learn::internal

#include "sotto/coordinator/checkpoint_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <utility>

#include "sotto/base/status_macros.h"
#include "sotto/crypto/hash.h"

namespace sotto::coordinator {
namespace {

constexpr char kMagic[8] = {'S', 'O', 'T', 'T', 'O', 'C', 'K', 'P'};
constexpr size_t kHeaderBytes = 8 + 4 + 8 + 8;
constexpr size_t kTrailerBytes = crypto::kBlake2b256Bytes;
constexpr std::string_view kPrefix = "ckpt-";
constexpr std::string_view kSuffix = ".sotto";

Status Errno(const std::string& what, const std::string& path) {
  return UnavailableError("checkpoint: " + what + " " + path + ": " + std::strerror(errno));
}

void PutU32(std::vector<uint8_t>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void PutU64(std::vector<uint8_t>& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
uint64_t GetLe(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t{p[i]} << (8 * i);
  return v;
}

crypto::Blake2b256Digest Checksum(std::span<const uint8_t> bytes) {
  crypto::Blake2b256Hasher hasher;
  hasher.Update(bytes);
  return hasher.Final();
}

// The round in "ckpt-<round>.sotto", or nullopt for any other name.
std::optional<uint64_t> RoundFromName(std::string_view name) {
  if (name.size() <= kPrefix.size() + kSuffix.size() || !name.starts_with(kPrefix) ||
      !name.ends_with(kSuffix)) {
    return std::nullopt;
  }
  const std::string_view digits =
      name.substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size());
  uint64_t round = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), round);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return round;
}

Status WriteAll(int fd, std::span<const uint8_t> bytes, const std::string& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("cannot write", path);
    }
    done += static_cast<size_t>(n);
  }
  return OkStatus();
}

Status FsyncPath(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open", path);
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return Errno("cannot fsync", path);
  return OkStatus();
}

}  // namespace

StatusOr<CheckpointStore> CheckpointStore::Open(std::string dir, int keep) {
  if (dir.empty()) return InvalidArgumentError("checkpoint: the directory name is empty");
  if (keep < 1) return InvalidArgumentError("checkpoint: keep must be at least 1");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return UnavailableError("checkpoint: cannot create directory " + dir + ": " + ec.message());
  }
  if (::access(dir.c_str(), W_OK | X_OK) != 0) return Errno("cannot write to directory", dir);
  return CheckpointStore(std::move(dir), keep);
}

std::string CheckpointStore::PathFor(uint64_t round) const {
  return dir_ + "/" + std::string(kPrefix) + std::to_string(round) + std::string(kSuffix);
}

StatusOr<std::vector<uint64_t>> CheckpointStore::ListRounds() const {
  std::vector<uint64_t> rounds;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    if (auto round = RoundFromName(entry.path().filename().string())) rounds.push_back(*round);
  }
  if (ec) return UnavailableError("checkpoint: cannot list " + dir_ + ": " + ec.message());
  std::sort(rounds.begin(), rounds.end());
  return rounds;
}

Status CheckpointStore::Save(uint64_t round, std::span<const uint8_t> payload) {
  ASSIGN_OR_RETURN(std::vector<uint64_t> rounds, ListRounds());
  if (!rounds.empty() && round <= rounds.back()) {
    return FailedPreconditionError("checkpoint: round " + std::to_string(round) +
                                   " is not after the newest saved round " +
                                   std::to_string(rounds.back()));
  }
  std::vector<uint8_t> bytes;
  bytes.reserve(kHeaderBytes + payload.size() + kTrailerBytes);
  bytes.insert(bytes.end(), std::begin(kMagic), std::end(kMagic));
  PutU32(bytes, kCheckpointVersion);
  PutU64(bytes, round);
  PutU64(bytes, payload.size());
  bytes.insert(bytes.end(), payload.begin(), payload.end());
  const crypto::Blake2b256Digest digest = Checksum(bytes);
  bytes.insert(bytes.end(), digest.begin(), digest.end());

  const std::string tmp = dir_ + "/.ckpt-" + std::to_string(round) + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot create", tmp);
  Status written = WriteAll(fd, bytes, tmp);
  if (written.ok() && ::fsync(fd) != 0) written = Errno("cannot fsync", tmp);
  if (::close(fd) != 0 && written.ok()) written = Errno("cannot close", tmp);
  if (!written.ok()) {
    ::unlink(tmp.c_str());
    return written;
  }
  const std::string path = PathFor(round);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = Errno("cannot rename to", path);
    ::unlink(tmp.c_str());
    return s;
  }
  RETURN_IF_ERROR(FsyncPath(dir_, O_RDONLY | O_DIRECTORY));

  // Retention: the newest `keep_` checkpoints, and no temporary files of earlier crashes.
  rounds.push_back(round);
  for (size_t i = 0; i + static_cast<size_t>(keep_) < rounds.size(); ++i) {
    ::unlink(PathFor(rounds[i]).c_str());
  }
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with(".ckpt-") && name.ends_with(".tmp")) ::unlink(entry.path().c_str());
  }
  return OkStatus();
}

StatusOr<CheckpointStore::Loaded> CheckpointStore::ReadFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("cannot open", path);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    Status s = Errno("cannot stat", path);
    ::close(fd);
    return s;
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  uint8_t header[kHeaderBytes];
  ssize_t got = size >= kHeaderBytes ? ::pread(fd, header, kHeaderBytes, 0) : -1;
  if (got != static_cast<ssize_t>(kHeaderBytes)) {
    ::close(fd);
    return DataLossError("checkpoint: " + path + " is truncated (" + std::to_string(size) +
                         " bytes, shorter than its header)");
  }
  if (std::memcmp(header, kMagic, sizeof(kMagic)) != 0) {
    ::close(fd);
    return DataLossError("checkpoint: " + path + " is not a sotto checkpoint (bad magic)");
  }
  const uint32_t version = static_cast<uint32_t>(GetLe(header + 8, 4));
  if (version != kCheckpointVersion) {
    ::close(fd);
    return FailedPreconditionError("checkpoint: " + path + " has version " +
                                   std::to_string(version) + "; this build reads version " +
                                   std::to_string(kCheckpointVersion));
  }
  Loaded loaded;
  loaded.path = path;
  loaded.round = GetLe(header + 12, 8);
  const uint64_t length = GetLe(header + 20, 8);
  // The claimed length must match the file before anything is allocated.
  if (length > size || size - length != kHeaderBytes + kTrailerBytes) {
    ::close(fd);
    return DataLossError("checkpoint: " + path + " claims a " + std::to_string(length) +
                         "-byte payload but is " + std::to_string(size) + " bytes long");
  }
  std::vector<uint8_t> bytes(size);
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, bytes.data() + done, size - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      Status s = n < 0 ? Errno("cannot read", path)
                       : DataLossError("checkpoint: " + path + " shrank while being read");
      ::close(fd);
      return s;
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  const crypto::Blake2b256Digest digest =
      Checksum(std::span<const uint8_t>(bytes).first(size - kTrailerBytes));
  if (std::memcmp(digest.data(), bytes.data() + size - kTrailerBytes, kTrailerBytes) != 0) {
    return DataLossError("checkpoint: " + path + " fails its checksum");
  }
  loaded.payload.assign(bytes.begin() + kHeaderBytes, bytes.end() - kTrailerBytes);
  return loaded;
}

StatusOr<std::optional<CheckpointStore::Loaded>> CheckpointStore::LoadLatest() const {
  ASSIGN_OR_RETURN(std::vector<uint64_t> rounds, ListRounds());
  std::vector<Skipped> skipped;
  for (auto it = rounds.rbegin(); it != rounds.rend(); ++it) {
    const std::string path = PathFor(*it);
    StatusOr<Loaded> loaded = ReadFile(path);
    if (loaded.ok() && loaded->round != *it) {
      loaded = DataLossError("checkpoint: " + path + " holds round " +
                             std::to_string(loaded->round) + ", not the round in its name");
    }
    if (!loaded.ok()) {
      skipped.push_back({path, loaded.status()});
      continue;
    }
    loaded->skipped = std::move(skipped);
    return std::optional<Loaded>(std::move(loaded).value());
  }
  if (skipped.empty()) return std::optional<Loaded>();
  std::string what = "checkpoint: no checkpoint in " + dir_ + " verifies:";
  for (const Skipped& s : skipped) what += " [" + s.status.ToString() + "]";
  return DataLossError(what);
}

}  // namespace sotto::coordinator

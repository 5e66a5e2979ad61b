#pragma once

// Helpers for the net tests: a temporary directory, a federation PKI written into it with
// sotto/net/certs.h (no checked-in keys), a blocking queue for values produced on a transport's
// thread, and envelope builders.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "sotto/base/check.h"
#include "sotto/base/clock.h"
#include "sotto/net/certs.h"
#include "sotto/proto/sotto.pb.h"

namespace sotto::net::testing {

// Generous guard against a hang; never a measured limit.
inline constexpr std::chrono::seconds kGuard{20};

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "sotto_net_XXXXXX").string();
    SOTTO_CHECK(mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Paths of one credential on disk.
struct CredentialFiles {
  std::string cert;
  std::string key;
};

// Two CAs ("federation" and "other"), a server certificate for localhost/127.0.0.1 and client
// certificates, all written to a TempDir.
class TestPki {
 public:
  TestPki()
      : federation_(Must(CertificateAuthority::Create("sotto test federation CA"))),
        other_(Must(CertificateAuthority::Create("some other CA"))) {
    Write(federation_.credential(), "ca");
    Write(other_.credential(), "other_ca");
    Write(Must(federation_.IssueServer({"localhost", "127.0.0.1"})), "server");
    Write(Must(other_.IssueServer({"localhost", "127.0.0.1"})), "other_server");
  }

  // A client certificate for `id` from the federation CA (or the other one), written once.
  CredentialFiles Client(const std::string& id, bool from_other_ca = false,
                         const CertificateOptions& options = {}) {
    const std::string name = (from_other_ca ? "other_" : "") + id;
    if (!std::filesystem::exists(dir_.File(name + ".pem"))) {
      const CertificateAuthority& ca = from_other_ca ? other_ : federation_;
      Write(Must(ca.IssueClient(id, options)), name);
    }
    return {dir_.File(name + ".pem"), dir_.File(name + ".key")};
  }

  std::string ca_file() const { return dir_.File("ca.pem"); }
  std::string other_ca_file() const { return dir_.File("other_ca.pem"); }
  CredentialFiles server() const { return {dir_.File("server.pem"), dir_.File("server.key")}; }
  CredentialFiles other_server() const {
    return {dir_.File("other_server.pem"), dir_.File("other_server.key")};
  }
  const TempDir& dir() const { return dir_; }
  const CertificateAuthority& federation() const { return federation_; }

 private:
  template <typename T>
  static T Must(StatusOr<T> value) {
    SOTTO_CHECK_OK(value.status());
    return *std::move(value);
  }
  void Write(const Credential& credential, const std::string& name) {
    SOTTO_CHECK_OK(credential.WriteFiles(dir_.File(name + ".pem"), dir_.File(name + ".key")));
  }

  TempDir dir_;
  CertificateAuthority federation_;
  CertificateAuthority other_;
};

// The real clock moved by a fixed offset (to issue certificates that are already expired).
class ShiftedClock final : public Clock {
 public:
  explicit ShiftedClock(Clock::Duration offset) : offset_(offset) {}
  TimePoint Now() const override { return Clock::Real()->Now() + offset_; }
  WallTime WallNow() const override { return Clock::Real()->WallNow() + offset_; }
  void SleepFor(Duration duration) override { Clock::Real()->SleepFor(duration); }

 private:
  Clock::Duration offset_;
};

// Values handed from a transport's thread to the test's.
template <typename T>
class BlockingQueue {
 public:
  void Push(T value) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      items_.push_back(std::move(value));
    }
    changed_.notify_all();
  }
  std::optional<T> Pop(std::chrono::nanoseconds timeout = kGuard) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!changed_.wait_for(lock, timeout, [this] { return !items_.empty(); })) {
      return std::nullopt;
    }
    T value = std::move(items_.front());
    items_.pop_front();
    return value;
  }
  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return items_.size();
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::deque<T> items_;
};

// Polls `condition` until it holds or the guard runs out; returns whether it held.
template <typename Condition>
bool WaitUntil(Condition condition, std::chrono::nanoseconds timeout = kGuard) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > end) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

inline proto::Envelope Heartbeat(uint64_t nonce, const std::string& sender = "") {
  proto::Envelope envelope;
  envelope.set_protocol_version(1);
  envelope.set_phase(proto::PHASE_CONTROL);
  envelope.set_sequence(nonce);
  envelope.set_sender_id(sender);
  envelope.mutable_heartbeat()->set_nonce(nonce);
  return envelope;
}

inline proto::Envelope Hello(const std::string& client_id) {
  proto::Envelope envelope;
  envelope.set_protocol_version(1);
  envelope.set_phase(proto::PHASE_HANDSHAKE);
  proto::Hello* hello = envelope.mutable_hello();
  hello->set_min_protocol_version(1);
  hello->set_max_protocol_version(1);
  hello->set_client_id(client_id);
  hello->mutable_capabilities()->set_has_gpu(false);
  hello->mutable_capabilities()->set_memory_budget_bytes(uint64_t{1} << 30);
  return envelope;
}

}  // namespace sotto::net::testing

#pragma once

// The TLS transport: sotto/net/transport.h over TCP with Boost.Asio and OpenSSL.
//
// Policy (BAD_INPUTS rows 1-3, 11, 23, 24):
//   - TLS 1.3 only, both ways (an older client fails the handshake). No session tickets, no
//     resumption: every connection proves its certificate.
//   - Mutual authentication against the federation CA only (the ca_file; never the system
//     store). The server requires a client certificate (SSL_VERIFY_PEER |
//     SSL_VERIFY_FAIL_IF_NO_PEER_CERT) with extendedKeyUsage clientAuth (when it has an EKU);
//     a client verifies the server certificate against the CA and the expected server name
//     (DNS name or IP address in its subjectAltName) and requires serverAuth.
//   - The client's identity is its certificate's subject CN (sotto/net/certs.h issues CN =
//     client id); a CN that is not a valid identity (ValidatePeerId) is refused. Every
//     received envelope is bound to the identity (sotto/net/envelope_codec.h).
//   - Deadlines (ConnectionOptions::deadlines): handshake (from TCP accept / start of Dial),
//     read (a whole frame from its first byte), write, idle, and the close_notify exchange.
//   - At most max_connections connections per listener, handshakes in progress included; one
//     more is accepted at the TCP level and closed at once (counted as refused_over_cap).
//   - Frame caps (ConnectionOptions::receive_caps) checked from the header before any payload
//     is buffered; bounded send queues.
// Refusals are counted in ListenerStats and logged (event "net_handshake_refused", ...).
//
// Note on TLS 1.3: a client finishes its side of the handshake before the server has checked
// the client certificate, so a client whose certificate is refused may see Dial succeed and
// then the connection close (on_closed with Unavailable naming the TLS alert). The server
// never hands such a connection to its AcceptHandler.
//
// Threading: see sotto/net/transport.h and sotto/net/event_loop.h. Listeners and dialers are
// created on an EventLoop and all their callbacks run on its thread.

#include <cstdint>
#include <memory>
#include <string>

#include "sotto/base/status.h"
#include "sotto/base/statusor.h"
#include "sotto/net/event_loop.h"
#include "sotto/net/transport.h"

namespace sotto::net {

// PEM files, as written by sotto/net/certs.h.
struct TlsCredentialFiles {
  std::string ca_file;    // the federation CA certificate: the only trust anchor
  std::string cert_file;  // this side's certificate
  std::string key_file;   // its private key; mode 0600 or stricter (PermissionDenied otherwise)
};

struct TlsServerOptions {
  std::string bind_address = "127.0.0.1";
  uint16_t port = 0;  // 0: a free port, see TlsListener::port()
  TlsCredentialFiles credentials;
  size_t max_connections = 1024;
  ConnectionOptions connection = ServerConnectionOptions();
};

struct TlsClientOptions {
  std::string host = "127.0.0.1";  // an IP address or a DNS name
  uint16_t port = 0;
  // The name the server certificate must carry; empty: `host`.
  std::string server_name;
  // cert_file and key_file may both be empty: the client then offers no certificate (and a
  // sotto server refuses it). ca_file is required.
  TlsCredentialFiles credentials;
  ConnectionOptions connection = ClientConnectionOptions();
};

class TlsListener final : public Listener {
 public:
  // Loads the credentials and binds (SO_REUSEADDR) and listens on the address, without
  // accepting yet. InvalidArgument / NotFound / PermissionDenied for bad credentials,
  // Unavailable when the address cannot be bound.
  static StatusOr<std::shared_ptr<TlsListener>> Create(EventLoop& loop,
                                                       const TlsServerOptions& options);
  // Shuts down (as Shutdown()).
  ~TlsListener() override;

  // The bound port (the chosen one when options.port was 0).
  uint16_t port() const;

  void Start(AcceptHandler on_accept) override;
  void Shutdown() override;
  ListenerStats stats() const override;

  // Use Create; Impl is private to core/net.
  struct Impl;
  explicit TlsListener(std::shared_ptr<Impl> impl);

 private:
  std::shared_ptr<Impl> impl_;
};

class TlsDialer final : public Dialer {
 public:
  // Loads the credentials. InvalidArgument / NotFound / PermissionDenied for bad ones or a
  // bad server name.
  static StatusOr<std::shared_ptr<TlsDialer>> Create(EventLoop& loop,
                                                     const TlsClientOptions& options);
  ~TlsDialer() override;

  // Resolves, connects and handshakes within options.connection.deadlines.handshake. The
  // connection's peer_id() is the verified server name.
  void Dial(DialHandler on_done) override;

  // Use Create; Impl is private to core/net.
  struct Impl;
  explicit TlsDialer(std::shared_ptr<Impl> impl);

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace sotto::net

#include "sotto/net/tls.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <exception>
#include <map>
#include <string>
#include <utility>

#include "openssl_util.h"
#include "sotto/base/logging.h"
#include "sotto/base/status_macros.h"
#include "tls_connection.h"

namespace sotto::net {
namespace {

using internal::OpenSslError;
using internal::TlsConnection;
namespace asio = boost::asio;

// After an accept error (e.g. out of file descriptors), wait this long before accepting again
// rather than spinning.
constexpr std::chrono::milliseconds kAcceptRetryDelay{50};

// The SSL_CTX of one side: TLS 1.3 only, the federation CA as the only trust anchor, peer
// verification (mandatory client certificates on the server), no tickets or resumption.
StatusOr<std::shared_ptr<asio::ssl::context>> MakeTlsContext(bool server,
                                                             const TlsCredentialFiles& files) {
  if (files.ca_file.empty()) {
    return InvalidArgumentError("TLS credentials: ca_file is required");
  }
  if (files.cert_file.empty() != files.key_file.empty()) {
    return InvalidArgumentError("TLS credentials: cert_file and key_file go together");
  }
  if (server && files.cert_file.empty()) {
    return InvalidArgumentError("TLS credentials: a server needs cert_file and key_file");
  }
  internal::SslCtxPtr ctx(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()));
  if (!ctx) {
    return OpenSslError(StatusCode::kInternal, "SSL_CTX_new");
  }
  SSL_CTX* c = ctx.get();
  if (SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION) != 1) {
    return OpenSslError(StatusCode::kInternal, "cannot restrict TLS to version 1.3");
  }
  SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
  if (server && SSL_CTX_set_num_tickets(c, 0) != 1) {
    return OpenSslError(StatusCode::kInternal, "SSL_CTX_set_num_tickets");
  }

  // Trust exactly the federation CA.
  ASSIGN_OR_RETURN(internal::X509Ptr ca, internal::ReadCertificateFile(files.ca_file));
  if (X509_check_ca(ca.get()) < 1) {
    return FailedPreconditionError(files.ca_file + " is not a CA certificate");
  }
  if (X509_STORE_add_cert(SSL_CTX_get_cert_store(c), ca.get()) != 1) {
    return OpenSslError(StatusCode::kInvalidArgument, files.ca_file + ": cannot trust it");
  }
  SSL_CTX_set_verify(
      c, server ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_verify_depth(c, 2);
  if (server) {
    // Tell clients which CA we accept (they pick their certificate by it).
    X509_NAME* name = X509_NAME_dup(X509_get_subject_name(ca.get()));
    STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
    if (name == nullptr || names == nullptr || sk_X509_NAME_push(names, name) == 0) {
      X509_NAME_free(name);
      sk_X509_NAME_free(names);
      return OpenSslError(StatusCode::kInternal, "client CA list");
    }
    SSL_CTX_set_client_CA_list(c, names);  // takes ownership
  }

  if (!files.cert_file.empty()) {
    ASSIGN_OR_RETURN(internal::EvpPkeyPtr key, internal::ReadPrivateKeyFile(files.key_file));
    if (SSL_CTX_use_certificate_chain_file(c, files.cert_file.c_str()) != 1) {
      return OpenSslError(StatusCode::kInvalidArgument,
                          files.cert_file + ": cannot use it as a certificate");
    }
    if (SSL_CTX_use_PrivateKey(c, key.get()) != 1 || SSL_CTX_check_private_key(c) != 1) {
      return OpenSslError(StatusCode::kInvalidArgument,
                          files.key_file + " is not the key of " + files.cert_file);
    }
  }
  try {
    return std::make_shared<asio::ssl::context>(ctx.release());
  } catch (const std::exception& e) {
    return InternalError(std::string("asio ssl context: ") + e.what());
  }
}

}  // namespace

// ---- Listener ----

struct TlsListener::Impl : std::enable_shared_from_this<TlsListener::Impl> {
  Impl(asio::io_context& io, std::shared_ptr<asio::ssl::context> context,
       const TlsServerOptions& server_options)
      : io(io), tls(std::move(context)), options(server_options), acceptor(io), retry_timer(io) {}

  void DoStart(AcceptHandler handler) {
    if (started || shut_down) {
      return;
    }
    started = true;
    on_accept = std::move(handler);
    DoAccept();
  }

  void DoAccept() {
    acceptor.async_accept([self = shared_from_this()](const boost::system::error_code& error,
                                                      asio::ip::tcp::socket socket) {
      self->OnAccept(error, std::move(socket));
    });
  }

  void OnAccept(const boost::system::error_code& error, asio::ip::tcp::socket socket) {
    if (shut_down) {
      return;
    }
    if (error) {
      if (error == asio::error::operation_aborted) {
        return;
      }
      SOTTO_LOG(kWarning, "net_accept_failed").With("error", error.message());
      retry_timer.expires_after(kAcceptRetryDelay);
      retry_timer.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
        if (!e && !self->shut_down) {
          self->DoAccept();
        }
      });
      return;
    }
    if (connections.size() >= options.max_connections) {
      // BAD_INPUTS row 23: refuse before spending a handshake on it.
      ++refused_over_cap;
      SOTTO_LOG(kInfo, "net_connection_refused")
          .With("reason", "max_connections")
          .With("max_connections", options.max_connections);
      boost::system::error_code ignored;
      socket.close(ignored);
      DoAccept();
      return;
    }
    const uint64_t id = next_id++;
    StatusOr<std::shared_ptr<TlsConnection>> created =
        TlsConnection::Create(io, tls, std::move(socket), /*server=*/true, options.connection, id);
    if (!created.ok()) {
      ++handshake_failures;
      SOTTO_LOG(kWarning, "net_connection_failed").With("status", created.status());
      DoAccept();
      return;
    }
    std::shared_ptr<TlsConnection> connection = *std::move(created);
    connections.emplace(id, connection);
    open.store(connections.size());
    std::weak_ptr<Impl> weak_self = weak_from_this();
    connection->set_on_finished([weak_self](uint64_t finished) {
      if (auto self = weak_self.lock()) {
        self->connections.erase(finished);
        self->open.store(self->connections.size());
      }
    });
    std::weak_ptr<TlsConnection> weak_connection = connection;
    connection->ServerHandshake([weak_self, weak_connection](const Status& status) {
      auto self = weak_self.lock();
      auto accepted_connection = weak_connection.lock();
      if (!self || !accepted_connection) {
        return;
      }
      self->OnHandshake(status, std::move(accepted_connection));
    });
    DoAccept();
  }

  void OnHandshake(const Status& status, std::shared_ptr<TlsConnection> connection) {
    if (!status.ok()) {
      if (status.code() == StatusCode::kDeadlineExceeded) {
        ++handshake_timeouts;
      } else if (status.code() == StatusCode::kUnauthenticated) {
        ++identity_refusals;
      } else {
        ++handshake_failures;
      }
      SOTTO_LOG(kInfo, "net_handshake_refused")
          .With("connection", connection->id())
          .With("status", status);
      return;
    }
    if (shut_down) {
      connection->Abort(CancelledError("listener shut down"));
      return;
    }
    ++accepted;
    if (on_accept) {
      on_accept(std::move(connection));
    }
  }

  void DoShutdown() {
    if (shut_down) {
      return;
    }
    shut_down = true;
    boost::system::error_code ignored;
    acceptor.close(ignored);
    retry_timer.cancel();
    // Copy: closing may remove entries from the table.
    std::map<uint64_t, std::shared_ptr<TlsConnection>> all = connections;
    for (auto& [id, connection] : all) {
      if (connection->handshake_done()) {
        connection->Close();
      } else {
        connection->Abort(CancelledError("listener shut down during the handshake"));
      }
    }
  }

  asio::io_context& io;
  std::shared_ptr<asio::ssl::context> tls;
  const TlsServerOptions options;
  asio::ip::tcp::acceptor acceptor;
  asio::steady_timer retry_timer;
  uint16_t port = 0;

  // Loop-thread state.
  AcceptHandler on_accept;
  bool started = false;
  bool shut_down = false;
  uint64_t next_id = 1;
  std::map<uint64_t, std::shared_ptr<TlsConnection>> connections;

  // Read by stats() from any thread.
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> open{0};
  std::atomic<uint64_t> refused_over_cap{0};
  std::atomic<uint64_t> handshake_failures{0};
  std::atomic<uint64_t> handshake_timeouts{0};
  std::atomic<uint64_t> identity_refusals{0};
};

StatusOr<std::shared_ptr<TlsListener>> TlsListener::Create(EventLoop& loop,
                                                           const TlsServerOptions& options) {
  if (options.max_connections == 0) {
    return InvalidArgumentError("max_connections must be at least 1");
  }
  RETURN_IF_ERROR(ValidateConnectionOptions(options.connection));
  ASSIGN_OR_RETURN(auto tls, MakeTlsContext(/*server=*/true, options.credentials));
  auto impl = std::make_shared<Impl>(loop.context(), std::move(tls), options);

  boost::system::error_code error;
  const asio::ip::address address = asio::ip::make_address(options.bind_address, error);
  if (error) {
    return InvalidArgumentError("bind_address \"" + options.bind_address +
                                "\" is not an IP address");
  }
  const asio::ip::tcp::endpoint endpoint(address, options.port);
  asio::ip::tcp::acceptor& acceptor = impl->acceptor;
  acceptor.open(endpoint.protocol(), error);
  if (!error) {
    acceptor.set_option(asio::socket_base::reuse_address(true), error);
  }
  if (!error) {
    acceptor.bind(endpoint, error);
  }
  if (!error) {
    acceptor.listen(asio::socket_base::max_listen_connections, error);
  }
  if (!error) {
    impl->port = acceptor.local_endpoint(error).port();
  }
  if (error) {
    return UnavailableError("cannot listen on " + options.bind_address + ":" +
                            std::to_string(options.port) + ": " + error.message());
  }
  return std::make_shared<TlsListener>(std::move(impl));
}

TlsListener::TlsListener(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

TlsListener::~TlsListener() { Shutdown(); }

uint16_t TlsListener::port() const { return impl_->port; }

void TlsListener::Start(AcceptHandler on_accept) {
  asio::post(impl_->io, [impl = impl_, on_accept = std::move(on_accept)]() mutable {
    impl->DoStart(std::move(on_accept));
  });
}

void TlsListener::Shutdown() {
  asio::post(impl_->io, [impl = impl_] { impl->DoShutdown(); });
}

ListenerStats TlsListener::stats() const {
  ListenerStats stats;
  stats.accepted = impl_->accepted.load();
  stats.open = impl_->open.load();
  stats.refused_over_cap = impl_->refused_over_cap.load();
  stats.handshake_failures = impl_->handshake_failures.load();
  stats.handshake_timeouts = impl_->handshake_timeouts.load();
  stats.identity_refusals = impl_->identity_refusals.load();
  return stats;
}

// ---- Dialer ----

struct TlsDialer::Impl {
  Impl(asio::io_context& io_context, std::shared_ptr<asio::ssl::context> context,
       const TlsClientOptions& client_options, std::string name)
      : io(io_context),
        tls(std::move(context)),
        options(client_options),
        server_name(std::move(name)) {}

  asio::io_context& io;
  std::shared_ptr<asio::ssl::context> tls;
  TlsClientOptions options;
  std::string server_name;
  std::atomic<uint64_t> next_id{1};
};

StatusOr<std::shared_ptr<TlsDialer>> TlsDialer::Create(EventLoop& loop,
                                                       const TlsClientOptions& options) {
  RETURN_IF_ERROR(ValidateConnectionOptions(options.connection));
  const std::string server_name = options.server_name.empty() ? options.host : options.server_name;
  if (server_name.empty()) {
    return InvalidArgumentError("TLS client: host (or server_name) is required");
  }
  ASSIGN_OR_RETURN(auto tls, MakeTlsContext(/*server=*/false, options.credentials));
  auto impl = std::make_shared<Impl>(loop.context(), std::move(tls), options, server_name);
  return std::make_shared<TlsDialer>(std::move(impl));
}

TlsDialer::TlsDialer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

TlsDialer::~TlsDialer() = default;

void TlsDialer::Dial(DialHandler on_done) {
  asio::post(impl_->io, [impl = impl_, on_done = std::move(on_done)]() mutable {
    const uint64_t id = impl->next_id.fetch_add(1);
    StatusOr<std::shared_ptr<TlsConnection>> created =
        TlsConnection::Create(impl->io, impl->tls, asio::ip::tcp::socket(impl->io),
                              /*server=*/false, impl->options.connection, id);
    if (!created.ok()) {
      on_done(created.status());
      return;
    }
    std::shared_ptr<TlsConnection> connection = *std::move(created);
    std::weak_ptr<TlsConnection> weak_connection = connection;
    connection->ClientConnect(
        impl->options.host, impl->options.port, impl->server_name,
        [weak_connection, on_done = std::move(on_done)](const Status& status) {
          if (!status.ok()) {
            on_done(status);
            return;
          }
          std::shared_ptr<TlsConnection> dialed = weak_connection.lock();
          if (!dialed) {
            on_done(UnavailableError("connection went away during the handshake"));
            return;
          }
          on_done(std::shared_ptr<Connection>(std::move(dialed)));
        });
  });
}

}  // namespace sotto::net

// The TLS transport (sotto/net/tls.h) over real sockets on 127.0.0.1, port 0, with
// certificates made on the fly (sotto/net/certs.h). Covers the handshake and an echo, and every
// refusal of BAD_INPUTS rows 1-3, 11, 23 and 24: no client certificate, a certificate from
// another CA, an expired one, a TLS 1.2 client, a server the client must not trust, an
// oversized frame, a truncated frame, a claim of another client's id, a slow handshake, a slow
// frame (in its header or its payload), an idle connection, a peer that stops reading, the
// connection cap; plus bounded send queues, graceful shutdown, payloads cut into records of
// every size, and SendEncoded (one body to several clients, checked by each receiver).
//
// The event loop runs on its own thread; the test thread waits on queues with a generous guard
// (net_test_util.h kGuard). Deadlines of 200 ms are protocol timeouts the tests provoke; the
// tests assert on the resulting status, never on how long anything took.

#include "sotto/net/tls.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <sys/stat.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "net_test_util.h"
#include "sotto/net/envelope_codec.h"
#include "sotto/net/event_loop.h"
#include "sotto/net/frame.h"
#include "sotto/net/inbox.h"

namespace sotto::net {
namespace {

namespace asio = boost::asio;
using testing::BlockingQueue;
using testing::CredentialFiles;
using testing::Heartbeat;
using testing::Hello;
using testing::kGuard;
using testing::TestPki;
using testing::WaitUntil;

constexpr std::chrono::milliseconds kShortDeadline{200};

std::vector<uint8_t> Header(MessageType type, uint32_t length) {
  std::vector<uint8_t> header(kFrameHeaderBytes);
  EncodeFrameHeader({type, length},
                    std::span<uint8_t, kFrameHeaderBytes>(header.data(), kFrameHeaderBytes));
  return header;
}

// A TLS client written directly against Asio and OpenSSL, to send what TlsDialer never would
// (old protocol versions, raw bytes, partial frames). Every operation runs a private
// io_context for at most kGuard.
class RawTlsClient {
 public:
  RawTlsClient(const std::string& ca_file, const CredentialFiles* credentials,
               int max_version = TLS1_3_VERSION)
      : context_(asio::ssl::context::tls_client) {
    SSL_CTX* ctx = context_.native_handle();
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, max_version);
    boost::system::error_code error;
    context_.load_verify_file(ca_file, error);
    EXPECT_FALSE(error) << error.message();
    context_.set_verify_mode(asio::ssl::verify_peer, error);
    if (credentials != nullptr) {
      context_.use_certificate_chain_file(credentials->cert, error);
      EXPECT_FALSE(error) << error.message();
      context_.use_private_key_file(credentials->key, asio::ssl::context::pem, error);
      EXPECT_FALSE(error) << error.message();
    }
    stream_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket>>(io_, context_);
  }

  boost::system::error_code Connect(uint16_t port) {
    boost::system::error_code result = asio::error::would_block;
    const asio::ip::tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
    stream_->lowest_layer().async_connect(endpoint, [&](const boost::system::error_code& error) {
      if (error) {
        result = error;
        return;
      }
      stream_->async_handshake(asio::ssl::stream_base::client,
                               [&](const boost::system::error_code& e) { result = e; });
    });
    Run();
    return result;
  }

  boost::system::error_code Write(const std::vector<uint8_t>& bytes) {
    boost::system::error_code result = asio::error::would_block;
    asio::async_write(*stream_, asio::buffer(bytes),
                      [&](const boost::system::error_code& e, size_t) { result = e; });
    Run();
    return result;
  }

  // Reads until the stream ends; returns why it ended.
  boost::system::error_code ReadUntilEnd() {
    boost::system::error_code result = asio::error::would_block;
    std::vector<uint8_t> buffer(4096);
    std::function<void()> read = [&] {
      stream_->async_read_some(asio::buffer(buffer),
                               [&](const boost::system::error_code& e, size_t) {
                                 if (e) {
                                   result = e;
                                 } else {
                                   read();
                                 }
                               });
    };
    read();
    Run();
    return result;
  }

  void CloseTcp() {
    boost::system::error_code ignored;
    stream_->lowest_layer().close(ignored);
  }

 private:
  void Run() {
    io_.restart();
    io_.run_for(kGuard);
  }

  asio::io_context io_;
  asio::ssl::context context_;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket>> stream_;
};

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = std::make_unique<TestPki>(); }
  static void TearDownTestSuite() { pki_.reset(); }

  void SetUp() override {
    loop_thread_ = std::thread([this] { loop_.Run(); });
  }

  void TearDown() override {
    loop_.Stop();
    loop_thread_.join();
  }

  static TlsServerOptions ServerOptions() {
    TlsServerOptions options;
    options.bind_address = "127.0.0.1";
    options.port = 0;
    options.credentials = {pki_->ca_file(), pki_->server().cert, pki_->server().key};
    return options;
  }

  // Starts a listener whose accepted connections go to accepted_, report messages to
  // server_got_ (echoing a Heartbeat back for each) and their end to server_closed_.
  std::shared_ptr<TlsListener> StartListener(const TlsServerOptions& options = ServerOptions()) {
    auto listener = TlsListener::Create(loop_, options);
    EXPECT_TRUE(listener.ok()) << listener.status();
    if (!listener.ok()) {
      return nullptr;
    }
    (*listener)->Start([this](std::shared_ptr<Connection> connection) {
      accepted_.Push(connection);
      std::weak_ptr<Connection> weak = connection;
      connection->Start({[this, weak](proto::Envelope envelope) {
                           const uint64_t nonce = envelope.has_update()
                                                      ? envelope.update().dense_fp32_le().size()
                                                      : envelope.heartbeat().nonce();
                           server_got_.Push(std::move(envelope));
                           if (auto self = weak.lock()) {
                             self->Send(Heartbeat(nonce)).IgnoreError();
                           }
                         },
                         [this](const Status& status) { server_closed_.Push(status); }});
    });
    listener_ = *listener;
    return *listener;
  }

  TlsClientOptions ClientOptions(const CredentialFiles& files) const {
    TlsClientOptions options;
    options.host = "127.0.0.1";
    options.port = listener_ ? listener_->port() : 0;
    options.server_name = "localhost";
    options.credentials = {pki_->ca_file(), files.cert, files.key};
    return options;
  }

  StatusOr<std::shared_ptr<Connection>> Dial(const TlsClientOptions& options) {
    auto dialer = TlsDialer::Create(loop_, options);
    if (!dialer.ok()) {
      return dialer.status();
    }
    auto promise = std::make_shared<std::promise<StatusOr<std::shared_ptr<Connection>>>>();
    auto future = promise->get_future();
    (*dialer)->Dial([promise](StatusOr<std::shared_ptr<Connection>> connection) {
      promise->set_value(std::move(connection));
    });
    if (future.wait_for(kGuard) != std::future_status::ready) {
      return InternalError("dial did not complete");
    }
    return future.get();
  }

  // Dials with `options` and expects the server to refuse the handshake: either the dial
  // fails, or (TLS 1.3: the client finishes first) the connection closes with an error. The
  // server counts a handshake failure and never accepts.
  void ExpectRefusedAtHandshake(const TlsClientOptions& options) {
    auto connection = Dial(options);
    if (connection.ok()) {
      auto inbox = Inbox::Create();
      (*connection)->Start(inbox->Callbacks());
      const std::optional<Status> closed = inbox->WaitClosed(kGuard);
      ASSERT_TRUE(closed.has_value());
      EXPECT_FALSE(closed->ok());
    } else {
      EXPECT_EQ(connection.status().code(), StatusCode::kUnavailable) << connection.status();
    }
    EXPECT_TRUE(WaitUntil([&] { return listener_->stats().handshake_failures == 1; }))
        << listener_->stats().handshake_failures;
    EXPECT_EQ(listener_->stats().accepted, 0u);
    EXPECT_EQ(accepted_.size(), 0u);
  }

  static std::unique_ptr<TestPki> pki_;
  EventLoop loop_;  // first: outlives every connection below
  std::thread loop_thread_;
  BlockingQueue<std::shared_ptr<Connection>> accepted_;
  BlockingQueue<proto::Envelope> server_got_;
  BlockingQueue<Status> server_closed_;
  std::shared_ptr<TlsListener> listener_;
};

std::unique_ptr<TestPki> TlsTest::pki_;

TEST_F(TlsTest, HandshakeAndEchoBindIdentities) {
  ASSERT_NE(StartListener(), nullptr);
  EXPECT_NE(listener_->port(), 0);
  auto client = Dial(ClientOptions(pki_->Client("alice")));
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_EQ((*client)->peer_id(), "localhost");
  auto inbox = Inbox::Create();
  (*client)->Start(inbox->Callbacks());

  auto server_side = accepted_.Pop();
  ASSERT_TRUE(server_side.has_value());
  EXPECT_EQ((*server_side)->peer_id(), "alice");

  ASSERT_TRUE((*client)->Send(Hello("alice")).ok());
  for (uint64_t i = 1; i <= 5; ++i) {
    ASSERT_TRUE((*client)->Send(Heartbeat(i)).ok());
  }
  proto::Envelope update;
  update.mutable_update()->set_dense_fp32_le(std::string(1 << 20, '\x7f'));  // many TLS records
  update.mutable_update()->set_weight(1.0);
  ASSERT_TRUE((*client)->Send(update).ok());

  for (uint64_t expected : {0ull, 1ull, 2ull, 3ull, 4ull, 5ull, 1ull << 20}) {
    auto got = server_got_.Pop();
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->sender_id(), "alice");
    auto reply = inbox->Receive(kGuard);
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->heartbeat().nonce(), expected);
    EXPECT_EQ(reply->sender_id(), "localhost");
  }
  EXPECT_EQ((*client)->stats().messages_sent, 7u);
  EXPECT_EQ(listener_->stats().accepted, 1u);
  EXPECT_EQ(listener_->stats().open, 1u);

  (*client)->Close();
  auto closed = server_closed_.Pop();
  ASSERT_TRUE(closed.has_value());
  EXPECT_TRUE(closed->ok()) << *closed;
  const auto client_closed = inbox->WaitClosed(kGuard);
  ASSERT_TRUE(client_closed.has_value());
  EXPECT_TRUE(client_closed->ok()) << *client_closed;
  EXPECT_TRUE(WaitUntil([&] { return listener_->stats().open == 0; }));
}

TEST_F(TlsTest, RefusesAClientWithoutCertificate) {
  ASSERT_NE(StartListener(), nullptr);
  ExpectRefusedAtHandshake(ClientOptions({"", ""}));
}

TEST_F(TlsTest, RefusesACertificateFromAnotherCa) {
  ASSERT_NE(StartListener(), nullptr);
  ExpectRefusedAtHandshake(ClientOptions(pki_->Client("alice", /*from_other_ca=*/true)));
}

TEST_F(TlsTest, RefusesAnExpiredCertificate) {
  ASSERT_NE(StartListener(), nullptr);
  testing::ShiftedClock ten_days_ago(-std::chrono::hours(240));
  CertificateOptions options;
  options.clock = &ten_days_ago;
  options.validity = std::chrono::hours(24);
  ExpectRefusedAtHandshake(ClientOptions(pki_->Client("expired", false, options)));
}

TEST_F(TlsTest, RefusesATls12Client) {
  ASSERT_NE(StartListener(), nullptr);
  const CredentialFiles alice = pki_->Client("alice");
  RawTlsClient client(pki_->ca_file(), &alice, TLS1_2_VERSION);
  const boost::system::error_code error = client.Connect(listener_->port());
  EXPECT_TRUE(error) << "a TLS 1.2 handshake succeeded";
  EXPECT_TRUE(WaitUntil([&] { return listener_->stats().handshake_failures == 1; }));
  EXPECT_EQ(listener_->stats().accepted, 0u);
}

TEST_F(TlsTest, ClientRefusesAServerFromAnotherCa) {
  TlsServerOptions options = ServerOptions();
  options.credentials = {pki_->other_ca_file(), pki_->other_server().cert,
                         pki_->other_server().key};
  ASSERT_NE(StartListener(options), nullptr);
  auto connection = Dial(ClientOptions(pki_->Client("alice")));
  EXPECT_EQ(connection.status().code(), StatusCode::kUnavailable) << connection.status();
  EXPECT_NE(connection.status().message().find("certificate verify failed"), std::string_view::npos)
      << connection.status();
}

TEST_F(TlsTest, ClientRefusesAServerWithAnotherName) {
  ASSERT_NE(StartListener(), nullptr);
  TlsClientOptions options = ClientOptions(pki_->Client("alice"));
  options.server_name = "coordinator.example.org";
  auto connection = Dial(options);
  EXPECT_EQ(connection.status().code(), StatusCode::kUnavailable) << connection.status();
  // By IP address, as the certificate also names 127.0.0.1.
  options.server_name = "127.0.0.1";
  auto by_ip = Dial(options);
  ASSERT_TRUE(by_ip.ok()) << by_ip.status();
  EXPECT_EQ((*by_ip)->peer_id(), "127.0.0.1");
}

TEST_F(TlsTest, OversizedFrameClosesWithResourceExhausted) {
  ASSERT_NE(StartListener(), nullptr);
  const CredentialFiles alice = pki_->Client("alice");
  RawTlsClient client(pki_->ca_file(), &alice);
  ASSERT_FALSE(client.Connect(listener_->port()));
  ASSERT_TRUE(accepted_.Pop().has_value());
  const uint32_t cap = FrameCaps::ClientToServer().Get(MessageType::kHello);
  ASSERT_FALSE(client.Write(Header(MessageType::kHello, cap + 1)));
  auto closed = server_closed_.Pop();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->code(), StatusCode::kResourceExhausted) << *closed;
  EXPECT_TRUE(client.ReadUntilEnd());  // the server hung up
  EXPECT_EQ(server_got_.size(), 0u);
}

TEST_F(TlsTest, HeaderClaiming4GiBClosesWithResourceExhausted) {
  ASSERT_NE(StartListener(), nullptr);
  const CredentialFiles alice = pki_->Client("alice");
  RawTlsClient client(pki_->ca_file(), &alice);
  ASSERT_FALSE(client.Connect(listener_->port()));
  ASSERT_FALSE(client.Write(Header(MessageType::kUpdate, 0xFFFFFFFFu)));
  auto closed = server_closed_.Pop();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->code(), StatusCode::kResourceExhausted) << *closed;
}

TEST_F(TlsTest, TruncatedFrameClosesWithUnavailable) {
  ASSERT_NE(StartListener(), nullptr);
  const CredentialFiles alice = pki_->Client("alice");
  RawTlsClient client(pki_->ca_file(), &alice);
  ASSERT_FALSE(client.Connect(listener_->port()));
  std::vector<uint8_t> partial = Header(MessageType::kUpdate, 100);
  partial.resize(partial.size() + 10, 0x08);
  ASSERT_FALSE(client.Write(partial));
  client.CloseTcp();  // mid-frame
  auto closed = server_closed_.Pop();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->code(), StatusCode::kUnavailable) << *closed;
  EXPECT_NE(closed->message().find("10 of 100"), std::string_view::npos) << *closed;
}

TEST_F(TlsTest, MalformedEnvelopeClosesWithInvalidArgument) {
  ASSERT_NE(StartListener(), nullptr);
  const CredentialFiles alice = pki_->Client("alice");
  RawTlsClient client(pki_->ca_file(), &alice);
  ASSERT_FALSE(client.Connect(listener_->port()));
  std::vector<uint8_t> frame = Header(MessageType::kHeartbeat, 2);
  frame.push_back(0xff);
  frame.push_back(0xff);
  ASSERT_FALSE(client.Write(frame));
  auto closed = server_closed_.Pop();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->code(), StatusCode::kInvalidArgument) << *closed;
}

TEST_F(TlsTest, EnvelopeClaimingAnotherClientClosesWithUnauthenticated) {
  ASSERT_NE(StartListener(), nullptr);
  auto client = Dial(ClientOptions(pki_->Client("alice")));
  ASSERT_TRUE(client.ok()) << client.status();
  auto inbox = Inbox::Create();
  (*client)->Start(inbox->Callbacks());
  ASSERT_TRUE((*client)->Send(Heartbeat(1, "bob")).ok());
  auto closed = server_closed_.Pop();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->code(), StatusCode::kUnauthenticated) << *closed;
  EXPECT_EQ(server_got_.size(), 0u);
  const auto client_closed = inbox->WaitClosed(kGuard);
  ASSERT_TRUE(client_closed.has_value());
}

TEST_F(TlsTest, HelloClaimingAnotherClientClosesWithUnauthenticated) {
  ASSERT_NE(StartListener(), nullptr);
  auto client = Dial(ClientOptions(pki_->Client("alice")));
  ASSERT_TRUE(client.ok()) << client.status();
  (*client)->Start({});
  ASSERT_TRUE((*client)->Send(Hello("bob")).ok());
  auto closed = server_closed_.Pop();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->code(), StatusCode::kUnauthenticated) << *closed;
  EXPECT_EQ(server_got_.size(), 0u);
}

// A RoundStart body of `floats` parameters, alone (as EncodedBody::Create takes it).
proto::Envelope RoundStartBody(size_t floats) {
  proto::Envelope body;
  body.mutable_round_start()->set_round(7);
  body.mutable_round_start()->mutable_parameters()->set_dimension(floats);
  std::string model(4 * floats, '\0');
  for (size_t i = 0; i < model.size(); ++i) {
    model[i] = static_cast<char>(i * 7 + (i >> 11));
  }
  body.mutable_round_start()->mutable_parameters()->set_fp32_le(std::move(model));
  return body;
}

TEST_F(TlsTest, SendEncodedBroadcastsOneBodyToSeveralClients) {
  ASSERT_NE(StartListener(), nullptr);
  const std::vector<std::string> ids = {"alice", "bob", "carol"};
  std::vector<std::shared_ptr<Connection>> clients;
  std::vector<std::shared_ptr<Inbox>> inboxes;
  std::vector<std::shared_ptr<Connection>> server_sides;
  for (const std::string& id : ids) {
    auto client = Dial(ClientOptions(pki_->Client(id)));
    ASSERT_TRUE(client.ok()) << client.status();
    inboxes.push_back(Inbox::Create());
    (*client)->Start(inboxes.back()->Callbacks());
    clients.push_back(*client);
    auto server_side = accepted_.Pop();
    ASSERT_TRUE(server_side.has_value());
    ASSERT_EQ((*server_side)->peer_id(), id);
    server_sides.push_back(*server_side);
  }
  // 1.5 MB: many TLS records, read straight into the decoder's pieces.
  const proto::Envelope body_only = RoundStartBody(375'000);
  auto body = EncodedBody::Create(body_only);
  ASSERT_TRUE(body.ok()) << body.status();
  for (int twice = 0; twice < 2; ++twice) {
    for (size_t i = 0; i < server_sides.size(); ++i) {
      proto::Envelope header;
      header.set_protocol_version(kProtocolVersion);
      header.set_run_id(42);
      header.set_round_id(7);
      header.set_sequence(1 + twice);
      ASSERT_TRUE(server_sides[i]->SendEncoded(header, *body).ok());
      if (i == 0) {
        // The same envelope through Send arrives the same.
        proto::Envelope whole = header;
        whole.MergeFrom(body_only);
        ASSERT_TRUE(server_sides[i]->Send(whole).ok());
      }
    }
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    const int expected_messages = i == 0 ? 4 : 2;
    for (int m = 0; m < expected_messages; ++m) {
      auto got = inboxes[i]->Receive(kGuard);
      ASSERT_TRUE(got.ok()) << got.status();
      proto::Envelope whole;
      whole.set_protocol_version(kProtocolVersion);
      whole.set_run_id(42);
      whole.set_round_id(7);
      whole.set_sequence(i == 0 ? 1 + m / 2 : 1 + m);
      whole.set_sender_id("localhost");
      whole.MergeFrom(body_only);
      EXPECT_EQ(got->SerializeAsString(), whole.SerializeAsString()) << ids[i] << " " << m;
    }
  }
  EXPECT_TRUE(WaitUntil([&] { return body->use_count() == 1; }));  // every write is done
  const ConnectionStats stats = server_sides[1]->stats();
  EXPECT_EQ(stats.messages_sent, 2u);
  EXPECT_EQ(stats.queued_bytes, 0u);
  EXPECT_EQ(stats.bytes_sent, clients[1]->stats().bytes_received);
}

TEST_F(TlsTest, SendEncodedIsCheckedByTheReceiver) {
  ASSERT_NE(StartListener(), nullptr);
  proto::Envelope heartbeat;
  heartbeat.mutable_heartbeat()->set_nonce(1);
  auto beat = EncodedBody::Create(heartbeat);
  ASSERT_TRUE(beat.ok());

  // An identity claim in the per-recipient header.
  auto alice = Dial(ClientOptions(pki_->Client("alice")));
  ASSERT_TRUE(alice.ok()) << alice.status();
  (*alice)->Start({});
  auto round_start = EncodedBody::Create(RoundStartBody(1));
  ASSERT_TRUE(round_start.ok());
  EXPECT_EQ((*alice)->SendEncoded(proto::Envelope(), *round_start).code(),
            StatusCode::kInvalidArgument);  // the server takes no RoundStart
  EXPECT_EQ((*alice)->SendEncoded(proto::Envelope(), nullptr).code(), StatusCode::kInvalidArgument);
  proto::Envelope claim;
  claim.set_sender_id("bob");
  ASSERT_TRUE((*alice)->SendEncoded(claim, *beat).ok());
  auto closed = server_closed_.Pop();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->code(), StatusCode::kUnauthenticated) << *closed;

  // A shared Hello that names someone else.
  auto carol = Dial(ClientOptions(pki_->Client("carol")));
  ASSERT_TRUE(carol.ok()) << carol.status();
  (*carol)->Start({});
  proto::Envelope hello = Hello("bob");
  hello.clear_protocol_version();
  hello.clear_phase();
  auto hello_body = EncodedBody::Create(hello);
  ASSERT_TRUE(hello_body.ok()) << hello_body.status();
  ASSERT_TRUE((*carol)->SendEncoded(proto::Envelope(), *hello_body).ok());
  closed = server_closed_.Pop();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->code(), StatusCode::kUnauthenticated) << *closed;
  EXPECT_EQ(server_got_.size(), 0u);
}

TEST_F(TlsTest, PayloadInManySmallRecordsArrivesWhole) {
  ASSERT_NE(StartListener(), nullptr);
  const CredentialFiles alice = pki_->Client("alice");
  RawTlsClient client(pki_->ca_file(), &alice);
  ASSERT_FALSE(client.Connect(listener_->port()));
  proto::Envelope update;
  update.mutable_update()->set_dense_fp32_le(std::string(200'000, '\x3c'));
  update.mutable_update()->set_weight(2.0);
  auto frame = EncodeEnvelopeFrame(update, FrameCaps::ClientToServer());
  ASSERT_TRUE(frame.ok()) << frame.status();
  // Records of 1 to ~5000 bytes: reads end anywhere in the header and the payload.
  size_t at = 0;
  for (size_t step = 1; at < frame->size(); step = step * 7 % 5003 + 1) {
    const size_t n = std::min(step, frame->size() - at);
    ASSERT_FALSE(client.Write({frame->begin() + at, frame->begin() + at + n}));
    at += n;
  }
  auto got = server_got_.Pop();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->update().dense_fp32_le(), update.update().dense_fp32_le());
  EXPECT_EQ(got->sender_id(), "alice");
}

TEST_F(TlsTest, SlowHandshakeHitsTheDeadline) {
  TlsServerOptions options = ServerOptions();
  options.connection.deadlines.handshake = kShortDeadline;
  ASSERT_NE(StartListener(options), nullptr);
  // A TCP connection that never starts TLS.
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  boost::system::error_code error;
  socket.connect({asio::ip::make_address("127.0.0.1"), listener_->port()}, error);
  ASSERT_FALSE(error) << error.message();
  EXPECT_TRUE(WaitUntil([&] { return listener_->stats().handshake_timeouts == 1; }));
  std::vector<uint8_t> buffer(16);
  socket.read_some(asio::buffer(buffer), error);  // the server closed it
  EXPECT_TRUE(error);
  EXPECT_EQ(listener_->stats().accepted, 0u);
  EXPECT_TRUE(WaitUntil([&] { return listener_->stats().open == 0; }));
}

TEST_F(TlsTest, SlowFrameHitsTheReadDeadline) {
  TlsServerOptions options = ServerOptions();
  options.connection.deadlines.read = kShortDeadline;
  ASSERT_NE(StartListener(options), nullptr);
  const CredentialFiles alice = pki_->Client("alice");
  RawTlsClient client(pki_->ca_file(), &alice);
  ASSERT_FALSE(client.Connect(listener_->port()));
  const std::vector<uint8_t> header = Header(MessageType::kHeartbeat, 4);
  ASSERT_FALSE(client.Write({header.begin(), header.begin() + 3}));  // and then nothing
  auto closed = server_closed_.Pop();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->code(), StatusCode::kDeadlineExceeded) << *closed;
  EXPECT_NE(closed->message().find("read deadline"), std::string_view::npos) << *closed;
}

TEST_F(TlsTest, StalledPayloadHitsTheReadDeadline) {
  // As above, but the frame stalls inside its payload (read straight into the decoder).
  TlsServerOptions options = ServerOptions();
  options.connection.deadlines.read = kShortDeadline;
  ASSERT_NE(StartListener(options), nullptr);
  const CredentialFiles alice = pki_->Client("alice");
  RawTlsClient client(pki_->ca_file(), &alice);
  ASSERT_FALSE(client.Connect(listener_->port()));
  std::vector<uint8_t> partial = Header(MessageType::kUpdate, 100'000);
  ASSERT_FALSE(client.Write(partial));
  ASSERT_FALSE(client.Write(std::vector<uint8_t>(30'000, 0x08)));  // and then nothing
  auto closed = server_closed_.Pop();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->code(), StatusCode::kDeadlineExceeded) << *closed;
  EXPECT_NE(closed->message().find("read deadline"), std::string_view::npos) << *closed;
}

TEST_F(TlsTest, IdleConnectionHitsTheIdleDeadline) {
  TlsServerOptions options = ServerOptions();
  options.connection.deadlines.idle = kShortDeadline;
  ASSERT_NE(StartListener(options), nullptr);
  auto client = Dial(ClientOptions(pki_->Client("alice")));
  ASSERT_TRUE(client.ok()) << client.status();
  auto inbox = Inbox::Create();
  (*client)->Start(inbox->Callbacks());
  auto closed = server_closed_.Pop();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->code(), StatusCode::kDeadlineExceeded) << *closed;
  EXPECT_NE(closed->message().find("idle"), std::string_view::npos) << *closed;
  EXPECT_TRUE(inbox->WaitClosed(kGuard).has_value());
}

TEST_F(TlsTest, PeerThatStopsReadingHitsTheWriteDeadline) {
  TlsServerOptions options = ServerOptions();
  options.connection.deadlines.write = kShortDeadline;
  ASSERT_NE(StartListener(options), nullptr);
  const CredentialFiles alice = pki_->Client("alice");
  RawTlsClient client(pki_->ca_file(), &alice);  // never reads
  ASSERT_FALSE(client.Connect(listener_->port()));
  auto server_side = accepted_.Pop();
  ASSERT_TRUE(server_side.has_value());
  // Far more than the loopback socket buffers hold.
  proto::Envelope big;
  big.mutable_round_start()->mutable_parameters()->set_fp32_le(std::string(4 << 20, '\1'));
  int queued = 0;
  for (int i = 0; i < 32; ++i) {
    // On a loaded machine the write deadline can close the connection before all 32 are
    // queued; a refused Send then just ends the loop (the close status is checked below).
    if (!(*server_side)->Send(big).ok()) break;
    ++queued;
  }
  EXPECT_GT(queued, 0);
  auto closed = server_closed_.Pop();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->code(), StatusCode::kDeadlineExceeded) << *closed;
  EXPECT_NE(closed->message().find("write deadline"), std::string_view::npos) << *closed;
  EXPECT_EQ((*server_side)->stats().queued_messages, 0u);  // the queue was released
}

TEST_F(TlsTest, ConnectionCapRefusesAndCounts) {
  TlsServerOptions options = ServerOptions();
  options.max_connections = 1;
  ASSERT_NE(StartListener(options), nullptr);
  auto alice = Dial(ClientOptions(pki_->Client("alice")));
  ASSERT_TRUE(alice.ok()) << alice.status();
  ASSERT_TRUE(accepted_.Pop().has_value());

  auto bob = Dial(ClientOptions(pki_->Client("bob")));
  EXPECT_FALSE(bob.ok()) << "a connection over the cap was accepted";
  EXPECT_EQ(bob.status().code(), StatusCode::kUnavailable) << bob.status();
  EXPECT_TRUE(WaitUntil([&] { return listener_->stats().refused_over_cap == 1; }));
  EXPECT_EQ(listener_->stats().accepted, 1u);

  // Room again once alice leaves.
  (*alice)->Close();
  ASSERT_TRUE(server_closed_.Pop().has_value());
  EXPECT_TRUE(WaitUntil([&] { return listener_->stats().open == 0; }));
  auto bob_again = Dial(ClientOptions(pki_->Client("bob")));
  EXPECT_TRUE(bob_again.ok()) << bob_again.status();
}

TEST_F(TlsTest, SendQueueIsBounded) {
  ASSERT_NE(StartListener(), nullptr);
  TlsClientOptions options = ClientOptions(pki_->Client("alice"));
  options.connection.max_queued_messages = 4;
  auto client = Dial(options);
  ASSERT_TRUE(client.ok()) << client.status();
  (*client)->Start({});
  // Hold the loop so that nothing is written while the queue fills.
  std::promise<void> release;
  std::promise<void> holding;
  loop_.Post([&] {
    holding.set_value();
    release.get_future().wait();
  });
  holding.get_future().wait();
  for (uint64_t i = 0; i < 4; ++i) {
    ASSERT_TRUE((*client)->Send(Heartbeat(i)).ok());
  }
  const Status full = (*client)->Send(Heartbeat(4));
  EXPECT_EQ(full.code(), StatusCode::kResourceExhausted) << full;
  EXPECT_EQ((*client)->stats().queued_messages, 4u);
  release.set_value();
  for (uint64_t i = 0; i < 4; ++i) {
    auto got = server_got_.Pop();
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->heartbeat().nonce(), i);
  }
  EXPECT_TRUE(WaitUntil([&] { return (*client)->stats().queued_messages == 0; }));
  EXPECT_TRUE((*client)->Send(Heartbeat(5)).ok());
}

TEST_F(TlsTest, GracefulShutdownDrainsQueuedMessages) {
  ASSERT_NE(StartListener(), nullptr);
  auto client = Dial(ClientOptions(pki_->Client("alice")));
  ASSERT_TRUE(client.ok()) << client.status();
  auto inbox = Inbox::Create();
  (*client)->Start(inbox->Callbacks());
  auto server_side = accepted_.Pop();
  ASSERT_TRUE(server_side.has_value());
  for (uint64_t i = 10; i < 13; ++i) {
    ASSERT_TRUE((*server_side)->Send(Heartbeat(i)).ok());
  }
  listener_->Shutdown();
  for (uint64_t i = 10; i < 13; ++i) {
    auto got = inbox->Receive(kGuard);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->heartbeat().nonce(), i);
  }
  const auto closed = inbox->WaitClosed(kGuard);
  ASSERT_TRUE(closed.has_value());
  EXPECT_TRUE(closed->ok()) << *closed;
  auto server_closed = server_closed_.Pop();
  ASSERT_TRUE(server_closed.has_value());
  EXPECT_TRUE(server_closed->ok()) << *server_closed;
  EXPECT_EQ((*server_side)->Send(Heartbeat(1)).code(), StatusCode::kFailedPrecondition);
  // Nobody listens any more.
  EXPECT_FALSE(Dial(ClientOptions(pki_->Client("alice"))).ok());
}

TEST_F(TlsTest, RefusesBadCredentialsAndAddresses) {
  // A private key readable by others.
  const std::string loose_key = pki_->dir().File("loose.key");
  std::filesystem::copy_file(pki_->server().key, loose_key,
                             std::filesystem::copy_options::overwrite_existing);
  ASSERT_EQ(chmod(loose_key.c_str(), 0644), 0);
  TlsServerOptions options = ServerOptions();
  options.credentials.key_file = loose_key;
  EXPECT_EQ(TlsListener::Create(loop_, options).status().code(), StatusCode::kPermissionDenied);

  options = ServerOptions();
  options.credentials.ca_file = pki_->dir().File("missing.pem");
  EXPECT_EQ(TlsListener::Create(loop_, options).status().code(), StatusCode::kNotFound);

  options = ServerOptions();
  options.credentials.ca_file = pki_->server().cert;  // not a CA
  EXPECT_EQ(TlsListener::Create(loop_, options).status().code(), StatusCode::kFailedPrecondition);

  options = ServerOptions();
  options.credentials.key_file = pki_->Client("alice").key;  // not the certificate's key
  EXPECT_EQ(TlsListener::Create(loop_, options).status().code(), StatusCode::kInvalidArgument);

  options = ServerOptions();
  options.bind_address = "not an address";
  EXPECT_EQ(TlsListener::Create(loop_, options).status().code(), StatusCode::kInvalidArgument);

  ASSERT_NE(StartListener(), nullptr);
  options = ServerOptions();
  options.port = listener_->port();  // taken
  EXPECT_EQ(TlsListener::Create(loop_, options).status().code(), StatusCode::kUnavailable);

  TlsClientOptions client = ClientOptions(pki_->Client("alice"));
  client.credentials.ca_file.clear();
  EXPECT_EQ(TlsDialer::Create(loop_, client).status().code(), StatusCode::kInvalidArgument);
  client = ClientOptions(pki_->Client("alice"));
  client.credentials.key_file.clear();
  EXPECT_EQ(TlsDialer::Create(loop_, client).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sotto::net

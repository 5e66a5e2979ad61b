// The in-memory transport (sotto/net/memory_transport.h): the transport contract of
// sotto/net/transport.h without sockets, deterministically, for Send and for SendEncoded
// (one body shared by many connections; the default implementation for wrappers).

#include "sotto/net/memory_transport.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "net_test_util.h"
#include "sotto/net/envelope_codec.h"
#include "sotto/net/frame.h"

namespace sotto::net {
namespace {

using testing::Heartbeat;
using testing::Hello;

// Everything a connection reported, in order.
struct Recorder {
  std::vector<proto::Envelope> messages;
  std::vector<Status> closes;

  ConnectionCallbacks Callbacks() {
    return {[this](proto::Envelope e) { messages.push_back(std::move(e)); },
            [this](const Status& s) { closes.push_back(s); }};
  }
};

class MemoryTransportTest : public ::testing::Test {
 protected:
  void SetUp() override { Listen({}); }

  void Listen(const MemoryListenerOptions& options) {
    auto listener = network_.Listen("coordinator:7443", "coordinator", options);
    ASSERT_TRUE(listener.ok()) << listener.status();
    listener_ = *listener;
    listener_->Start([this](std::shared_ptr<Connection> connection) {
      server_.push_back(connection);
      if (auto_start_) {
        connection->Start(server_events_.Callbacks());
      }
    });
  }

  // Dials as `client_id` and runs the network; the connection (started with client_events_)
  // or the dial error.
  StatusOr<std::shared_ptr<Connection>> Dial(
      const std::string& client_id, const ConnectionOptions& options = ClientConnectionOptions()) {
    auto dialer = network_.NewDialer("coordinator:7443", client_id, options);
    if (!dialer.ok()) {
      return dialer.status();
    }
    std::optional<StatusOr<std::shared_ptr<Connection>>> result;
    (*dialer)->Dial([&result](StatusOr<std::shared_ptr<Connection>> c) { result = std::move(c); });
    network_.RunUntilIdle();
    if (!result.has_value()) {
      return InternalError("dial did not complete");
    }
    if (result->ok()) {
      (**result)->Start(client_events_.Callbacks());
      network_.RunUntilIdle();
    }
    return *std::move(result);
  }

  MemoryNetwork network_;
  std::shared_ptr<Listener> listener_;
  std::vector<std::shared_ptr<Connection>> server_;
  bool auto_start_ = true;
  Recorder server_events_;
  Recorder client_events_;
};

TEST_F(MemoryTransportTest, EchoesWithAuthenticatedIdentities) {
  auto client = Dial("alice");
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_EQ(server_.size(), 1u);
  EXPECT_EQ(server_[0]->peer_id(), "alice");
  EXPECT_EQ((*client)->peer_id(), "coordinator");

  ASSERT_TRUE((*client)->Send(Hello("alice")).ok());
  for (uint64_t i = 1; i <= 3; ++i) {
    ASSERT_TRUE((*client)->Send(Heartbeat(i)).ok());
  }
  network_.RunUntilIdle();
  ASSERT_EQ(server_events_.messages.size(), 4u);
  for (const auto& message : server_events_.messages) {
    EXPECT_EQ(message.sender_id(), "alice");
  }
  EXPECT_EQ(server_events_.messages[3].heartbeat().nonce(), 3u);

  ASSERT_TRUE(server_[0]->Send(Heartbeat(99)).ok());
  network_.RunUntilIdle();
  ASSERT_EQ(client_events_.messages.size(), 1u);
  EXPECT_EQ(client_events_.messages[0].sender_id(), "coordinator");
  EXPECT_EQ(server_[0]->stats().messages_received, 4u);
  EXPECT_EQ((*client)->stats().messages_sent, 4u);
  EXPECT_TRUE(server_events_.closes.empty());
}

TEST_F(MemoryTransportTest, ClaimingAnotherClientIdClosesWithUnauthenticated) {
  auto client = Dial("alice");
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE((*client)->Send(Heartbeat(1, "bob")).ok());
  network_.RunUntilIdle();
  EXPECT_TRUE(server_events_.messages.empty());
  ASSERT_EQ(server_events_.closes.size(), 1u);
  EXPECT_EQ(server_events_.closes[0].code(), StatusCode::kUnauthenticated);
  ASSERT_EQ(client_events_.closes.size(), 1u);
  EXPECT_EQ(client_events_.closes[0].code(), StatusCode::kUnavailable);
  EXPECT_EQ((*client)->Send(Heartbeat(2)).code(), StatusCode::kFailedPrecondition);
}

TEST_F(MemoryTransportTest, HelloClaimingAnotherClientIdClosesWithUnauthenticated) {
  auto client = Dial("alice");
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE((*client)->Send(Hello("bob")).ok());
  network_.RunUntilIdle();
  EXPECT_TRUE(server_events_.messages.empty());
  ASSERT_EQ(server_events_.closes.size(), 1u);
  EXPECT_EQ(server_events_.closes[0].code(), StatusCode::kUnauthenticated);
}

TEST_F(MemoryTransportTest, OversizedFrameClosesWithResourceExhausted) {
  auto client = Dial("alice");
  ASSERT_TRUE(client.ok());
  const uint32_t over = FrameCaps::ClientToServer().Get(MessageType::kHello) + 1;
  std::vector<uint8_t> header(kFrameHeaderBytes);
  EncodeFrameHeader({MessageType::kHello, over},
                    std::span<uint8_t, kFrameHeaderBytes>(header.data(), kFrameHeaderBytes));
  ASSERT_TRUE(network_.SendRawForTesting(**client, header).ok());
  network_.RunUntilIdle();
  ASSERT_EQ(server_events_.closes.size(), 1u);
  EXPECT_EQ(server_events_.closes[0].code(), StatusCode::kResourceExhausted);
}

TEST_F(MemoryTransportTest, TruncatedFrameClosesWithUnavailable) {
  auto client = Dial("alice");
  ASSERT_TRUE(client.ok());
  auto frame = EncodeEnvelopeFrame(Hello("alice"), FrameCaps::ClientToServer());
  ASSERT_TRUE(frame.ok());
  frame->resize(frame->size() - 3);
  ASSERT_TRUE(network_.SendRawForTesting(**client, *frame).ok());
  network_.Disconnect(**client);
  network_.RunUntilIdle();
  EXPECT_TRUE(server_events_.messages.empty());
  ASSERT_EQ(server_events_.closes.size(), 1u);
  EXPECT_EQ(server_events_.closes[0].code(), StatusCode::kUnavailable);
  EXPECT_NE(server_events_.closes[0].message().find("inside a Hello frame"), std::string_view::npos)
      << server_events_.closes[0];
  ASSERT_EQ(client_events_.closes.size(), 1u);
  EXPECT_EQ(client_events_.closes[0].code(), StatusCode::kUnavailable);
}

TEST_F(MemoryTransportTest, MalformedFramesCloseWithInvalidArgument) {
  for (const std::vector<uint8_t>& raw :
       {std::vector<uint8_t>{0x47, 0x45, 0x54, 0x20, 0x2f, 0x20},     // "GET / "
        std::vector<uint8_t>{kFrameMagicVersion, 20, 1, 0, 0, 0, 0},  // RoundStart from a client
        std::vector<uint8_t>{kFrameMagicVersion, 18, 2, 0, 0, 0, 0xff, 0xff}}) {  // bad proto
    server_events_ = {};
    client_events_ = {};
    auto client = Dial("alice");
    ASSERT_TRUE(client.ok());
    ASSERT_TRUE(network_.SendRawForTesting(**client, raw).ok());
    network_.RunUntilIdle();
    ASSERT_EQ(server_events_.closes.size(), 1u);
    EXPECT_EQ(server_events_.closes[0].code(), StatusCode::kInvalidArgument)
        << server_events_.closes[0];
  }
}

TEST_F(MemoryTransportTest, SendRefusesWhatThePeerWouldRefuse) {
  auto client = Dial("alice");
  ASSERT_TRUE(client.ok());
  proto::Envelope round_start;
  round_start.mutable_round_start()->set_round(1);
  EXPECT_EQ((*client)->Send(round_start).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*client)->Send(proto::Envelope()).code(), StatusCode::kInvalidArgument);
  proto::Envelope big = Hello("alice");
  big.mutable_hello()->set_software_version(std::string(8000, 'x'));
  EXPECT_EQ((*client)->Send(big).code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE((*client)->is_open());
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

TEST_F(MemoryTransportTest, SendEncodedBroadcastsOneBodyToMany) {
  const std::vector<std::string> ids = {"alice", "bob", "carol"};
  std::vector<std::shared_ptr<Connection>> clients;
  for (const std::string& id : ids) {
    auto client = Dial(id);
    ASSERT_TRUE(client.ok());
    clients.push_back(*client);
  }
  ASSERT_EQ(server_.size(), ids.size());
  const proto::Envelope body_only = RoundStartBody(100'000);  // 400 KB: several pieces
  auto body = EncodedBody::Create(body_only);
  ASSERT_TRUE(body.ok()) << body.status();
  std::vector<std::string> expected;
  for (size_t i = 0; i < server_.size(); ++i) {
    proto::Envelope header;
    header.set_protocol_version(kProtocolVersion);
    header.set_run_id(42);
    header.set_round_id(7);
    header.set_phase(proto::PHASE_TRAIN);
    header.set_sequence(10 + i);
    ASSERT_TRUE(server_[i]->SendEncoded(header, *body).ok());
    EXPECT_EQ(server_[i]->stats().queued_bytes, EncodedFrameBytes(header, **body));
    proto::Envelope whole = header;
    whole.MergeFrom(body_only);
    whole.set_sender_id("coordinator");
    expected.push_back(whole.SerializeAsString());
  }
  network_.RunUntilIdle();
  ASSERT_EQ(client_events_.messages.size(), ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(client_events_.messages[i].SerializeAsString(), expected[i]) << i;
    EXPECT_EQ(server_[i]->stats().messages_sent, 1u);
    EXPECT_EQ(server_[i]->stats().queued_bytes, 0u);
  }
  EXPECT_EQ(body->use_count(), 1);  // delivered: no connection holds the body any more
  EXPECT_TRUE(client_events_.closes.empty());
}

TEST_F(MemoryTransportTest, SendEncodedIsCheckedLikeSend) {
  auto client = Dial("alice");
  ASSERT_TRUE(client.ok());
  proto::Envelope heartbeat;
  heartbeat.mutable_heartbeat()->set_nonce(1);
  auto beat = EncodedBody::Create(heartbeat);
  ASSERT_TRUE(beat.ok());
  // Refused by the sender: no body, a header with a body, a type or size the peer refuses.
  EXPECT_EQ((*client)->SendEncoded(proto::Envelope(), nullptr).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ((*client)->SendEncoded(Heartbeat(2), *beat).code(), StatusCode::kInvalidArgument);
  auto round_start = EncodedBody::Create(RoundStartBody(1));
  ASSERT_TRUE(round_start.ok());
  EXPECT_EQ((*client)->SendEncoded(proto::Envelope(), *round_start).code(),
            StatusCode::kInvalidArgument);  // a coordinator accepts no RoundStart
  proto::Envelope long_header;
  long_header.set_sender_id(std::string(2000, 'a'));  // Heartbeat's cap is 1 KiB
  EXPECT_EQ((*client)->SendEncoded(long_header, *beat).code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE((*client)->is_open());

  // Accepted as sent, then checked by the receiver: the identity claim is in the header.
  proto::Envelope own;
  own.set_sender_id("alice");
  ASSERT_TRUE((*client)->SendEncoded(own, *beat).ok());
  proto::Envelope claim;
  claim.set_sender_id("bob");
  ASSERT_TRUE((*client)->SendEncoded(claim, *beat).ok());
  network_.RunUntilIdle();
  ASSERT_EQ(server_events_.messages.size(), 1u);
  EXPECT_EQ(server_events_.messages[0].sender_id(), "alice");
  ASSERT_EQ(server_events_.closes.size(), 1u);
  EXPECT_EQ(server_events_.closes[0].code(), StatusCode::kUnauthenticated);
  EXPECT_EQ((*client)->SendEncoded(own, *beat).code(), StatusCode::kFailedPrecondition);
}

TEST_F(MemoryTransportTest, SendEncodedOfAHelloIsBoundToThePeer) {
  auto client = Dial("alice");
  ASSERT_TRUE(client.ok());
  proto::Envelope hello = Hello("bob");
  hello.clear_protocol_version();
  hello.clear_phase();
  auto body = EncodedBody::Create(hello);
  ASSERT_TRUE(body.ok()) << body.status();
  ASSERT_TRUE((*client)->SendEncoded(proto::Envelope(), *body).ok());
  network_.RunUntilIdle();
  EXPECT_TRUE(server_events_.messages.empty());
  ASSERT_EQ(server_events_.closes.size(), 1u);
  EXPECT_EQ(server_events_.closes[0].code(), StatusCode::kUnauthenticated);
}

// A Connection that only forwards Send: SendEncoded falls back to the default, which
// rebuilds the envelope.
class ForwardingConnection final : public Connection {
 public:
  explicit ForwardingConnection(std::shared_ptr<Connection> inner) : inner_(std::move(inner)) {}
  const std::string& peer_id() const override { return inner_->peer_id(); }
  uint64_t id() const override { return inner_->id(); }
  void Start(ConnectionCallbacks callbacks) override { inner_->Start(std::move(callbacks)); }
  Status Send(const proto::Envelope& envelope) override {
    ++sends;
    return inner_->Send(envelope);
  }
  void Close() override { inner_->Close(); }
  bool is_open() const override { return inner_->is_open(); }
  ConnectionStats stats() const override { return inner_->stats(); }
  int sends = 0;

 private:
  std::shared_ptr<Connection> inner_;
};

TEST_F(MemoryTransportTest, DefaultSendEncodedSendsTheWholeEnvelope) {
  auto client = Dial("alice");
  ASSERT_TRUE(client.ok());
  ForwardingConnection wrapper(server_[0]);
  const proto::Envelope body_only = RoundStartBody(1000);
  auto body = EncodedBody::Create(body_only);
  ASSERT_TRUE(body.ok());
  proto::Envelope header;
  header.set_sequence(3);
  header.set_round_id(7);
  ASSERT_TRUE(wrapper.SendEncoded(header, *body).ok());
  EXPECT_EQ(wrapper.sends, 1);
  EXPECT_EQ(wrapper.SendEncoded(Heartbeat(1), *body).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(wrapper.SendEncoded(header, nullptr).code(), StatusCode::kInvalidArgument);
  network_.RunUntilIdle();
  ASSERT_EQ(client_events_.messages.size(), 1u);
  proto::Envelope whole = header;
  whole.MergeFrom(body_only);
  whole.set_sender_id("coordinator");
  EXPECT_EQ(client_events_.messages[0].SerializeAsString(), whole.SerializeAsString());
}

TEST_F(MemoryTransportTest, SendQueueIsBounded) {
  auto_start_ = false;  // the server reads nothing yet
  ConnectionOptions options = ClientConnectionOptions();
  options.max_queued_messages = 3;
  auto client = Dial("alice", options);
  ASSERT_TRUE(client.ok());
  for (uint64_t i = 0; i < 3; ++i) {
    ASSERT_TRUE((*client)->Send(Heartbeat(i)).ok());
  }
  const Status full = (*client)->Send(Heartbeat(3));
  EXPECT_EQ(full.code(), StatusCode::kResourceExhausted) << full;
  EXPECT_EQ((*client)->stats().queued_messages, 3u);
  // Once the server reads, there is room again; nothing was lost or reordered.
  server_[0]->Start(server_events_.Callbacks());
  network_.RunUntilIdle();
  ASSERT_EQ(server_events_.messages.size(), 3u);
  EXPECT_EQ(server_events_.messages[2].heartbeat().nonce(), 2u);
  EXPECT_TRUE((*client)->Send(Heartbeat(4)).ok());
  EXPECT_EQ((*client)->stats().queued_messages, 1u);
}

TEST_F(MemoryTransportTest, ConnectionCapRefusesAndCounts) {
  listener_->Shutdown();
  network_.RunUntilIdle();
  auto listener =
      network_.Listen("coordinator:7443", "coordinator", {1, ServerConnectionOptions()});
  ASSERT_TRUE(listener.ok()) << listener.status();
  (*listener)->Start([this](std::shared_ptr<Connection> c) {
    server_.push_back(c);
    c->Start(server_events_.Callbacks());
  });
  auto first = Dial("alice");
  ASSERT_TRUE(first.ok());
  auto second = Dial("bob");
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ((*listener)->stats().refused_over_cap, 1u);
  EXPECT_EQ((*listener)->stats().open, 1u);
  // Room again once the first leaves.
  (*first)->Close();
  network_.RunUntilIdle();
  EXPECT_EQ((*listener)->stats().open, 0u);
  EXPECT_TRUE(Dial("bob").ok());
}

TEST_F(MemoryTransportTest, CloseDeliversWhatWasSentFirst) {
  auto client = Dial("alice");
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE((*client)->Send(Heartbeat(1)).ok());
  ASSERT_TRUE((*client)->Send(Heartbeat(2)).ok());
  (*client)->Close();
  (*client)->Close();  // idempotent
  EXPECT_FALSE((*client)->is_open());
  EXPECT_EQ((*client)->Send(Heartbeat(3)).code(), StatusCode::kFailedPrecondition);
  network_.RunUntilIdle();
  ASSERT_EQ(server_events_.messages.size(), 2u);
  ASSERT_EQ(server_events_.closes.size(), 1u);
  EXPECT_TRUE(server_events_.closes[0].ok()) << server_events_.closes[0];
  ASSERT_EQ(client_events_.closes.size(), 1u);
  EXPECT_TRUE(client_events_.closes[0].ok());
}

TEST_F(MemoryTransportTest, ShutdownClosesConnectionsAndRefusesDials) {
  auto client = Dial("alice");
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE(server_[0]->Send(Heartbeat(7)).ok());
  listener_->Shutdown();
  network_.RunUntilIdle();
  ASSERT_EQ(client_events_.messages.size(), 1u);  // drained before the close
  ASSERT_EQ(client_events_.closes.size(), 1u);
  EXPECT_TRUE(client_events_.closes[0].ok());
  EXPECT_EQ(Dial("bob").status().code(), StatusCode::kUnavailable);
}

TEST_F(MemoryTransportTest, MessagesWaitForStartAndAnEarlyCloseIsReportedAtStart) {
  auto_start_ = false;
  auto client = Dial("alice");
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE((*client)->Send(Heartbeat(1)).ok());
  network_.RunUntilIdle();
  EXPECT_TRUE(server_events_.messages.empty());
  server_[0]->Start(server_events_.Callbacks());
  network_.RunUntilIdle();
  EXPECT_EQ(server_events_.messages.size(), 1u);

  auto second = Dial("bob");
  ASSERT_TRUE(second.ok());
  server_[1]->Close();
  network_.RunUntilIdle();
  Recorder late;
  server_[1]->Start(late.Callbacks());
  network_.RunUntilIdle();
  ASSERT_EQ(late.closes.size(), 1u);
  EXPECT_TRUE(late.closes[0].ok());
}

TEST_F(MemoryTransportTest, RefusesBadSetups) {
  EXPECT_EQ(network_.Listen("coordinator:7443", "other").status().code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(network_.Listen("x", "bad id").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(network_.NewDialer("x", "").status().code(), StatusCode::kInvalidArgument);
  ConnectionOptions no_queue = ClientConnectionOptions();
  no_queue.max_queued_messages = 0;
  EXPECT_EQ(network_.NewDialer("x", "alice", no_queue).status().code(),
            StatusCode::kInvalidArgument);
  auto nowhere = network_.NewDialer("nowhere", "alice");
  ASSERT_TRUE(nowhere.ok());
  std::optional<Status> result;
  (*nowhere)->Dial([&](StatusOr<std::shared_ptr<Connection>> c) { result = c.status(); });
  network_.RunUntilIdle();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->code(), StatusCode::kUnavailable);
}

// The same calls give the same callbacks in the same order.
std::vector<std::string> RunScenario() {
  std::vector<std::string> log;
  MemoryNetwork network;
  auto listener = network.Listen("c", "coordinator");
  SOTTO_CHECK_OK(listener.status());
  std::vector<std::shared_ptr<Connection>> accepted;
  (*listener)->Start([&](std::shared_ptr<Connection> c) {
    accepted.push_back(c);
    log.push_back("accept " + c->peer_id());
    std::weak_ptr<Connection> weak = c;
    c->Start({[&log, weak](proto::Envelope e) {
                log.push_back("server got " + std::to_string(e.heartbeat().nonce()) + " from " +
                              e.sender_id());
                if (auto c = weak.lock()) {
                  SOTTO_CHECK_OK(c->Send(Heartbeat(e.heartbeat().nonce() + 100)));
                }
              },
              [&log](const Status& s) { log.push_back("server closed " + s.ToString()); }});
  });
  std::vector<std::shared_ptr<Connection>> clients;
  for (const char* id : {"alice", "bob", "carol"}) {
    auto dialer = network.NewDialer("c", id);
    SOTTO_CHECK_OK(dialer.status());
    (*dialer)->Dial([&, id = std::string(id)](StatusOr<std::shared_ptr<Connection>> c) {
      SOTTO_CHECK_OK(c.status());
      clients.push_back(*c);
      (*c)->Start({[&log, id](proto::Envelope e) {
                     log.push_back(id + " got " + std::to_string(e.heartbeat().nonce()));
                   },
                   [&log, id](const Status& s) { log.push_back(id + " closed " + s.ToString()); }});
      for (uint64_t i = 0; i < 3; ++i) {
        SOTTO_CHECK_OK((*c)->Send(Heartbeat(i)));
      }
    });
  }
  network.RunUntilIdle();
  clients[1]->Close();
  network.RunUntilIdle();
  (*listener)->Shutdown();
  network.RunUntilIdle();
  return log;
}

TEST(MemoryTransportDeterminismTest, SameCallsSameEvents) {
  const auto first = RunScenario();
  const auto second = RunScenario();
  EXPECT_EQ(first, second);
  EXPECT_GT(first.size(), 20u);
}

}  // namespace
}  // namespace sotto::net

// Tests of sotto/coordinator/http_server.h over real sockets on 127.0.0.1 (port 0): GET and HEAD
// of a route, 404 / 405 / 431, a silent client closed at its deadline, the connection cap, and
// Stop closing everything.

#include "sotto/coordinator/http_server.h"

#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <string>
#include <thread>

namespace sotto::coordinator {
namespace {

using tcp = boost::asio::ip::tcp;

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(HttpServerOptions options = {}) {
    auto server = HttpServer::Start(
        io_, options, {{"/metrics", [] {
                          return HttpResponse{200, "text/plain; version=0.0.4", "sotto_up 1\n"};
                        }}});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(server).value();
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (server_) {
      boost::asio::post(io_, [this] { server_->Stop(); });
    }
    if (thread_.joinable()) thread_.join();
  }

  tcp::socket Connect() {
    tcp::socket socket(client_io_);
    socket.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), server_->port()));
    return socket;
  }
  // Sends `request` and reads until the server closes.
  std::string Exchange(const std::string& request) {
    tcp::socket socket = Connect();
    boost::asio::write(socket, boost::asio::buffer(request));
    return ReadToEof(socket);
  }
  static std::string ReadToEof(tcp::socket& socket) {
    std::string reply;
    boost::system::error_code ec;
    boost::asio::read(socket, boost::asio::dynamic_buffer(reply), ec);  // until EOF
    return reply;
  }

  boost::asio::io_context io_;
  boost::asio::io_context client_io_;
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

TEST_F(HttpServerTest, ServesARoute) {
  StartServer();
  const std::string reply = Exchange("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << reply;
  EXPECT_NE(reply.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << reply;
  EXPECT_NE(reply.find("\r\n\r\nsotto_up 1\n"), std::string::npos) << reply;
  const std::string head = Exchange("HEAD /metrics?x=1 HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << head;
  EXPECT_EQ(head.find("sotto_up"), std::string::npos) << head;
}

TEST_F(HttpServerTest, RefusesWhatItDoesNotServe) {
  StartServer();
  EXPECT_EQ(Exchange("GET /nope HTTP/1.1\r\nHost: x\r\n\r\n").rfind("HTTP/1.1 404", 0), 0u);
  EXPECT_EQ(Exchange("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
                .rfind("HTTP/1.1 405", 0),
            0u);
  const std::string huge =
      "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Long: " + std::string(20000, 'a') + "\r\n\r\n";
  EXPECT_EQ(Exchange(huge).rfind("HTTP/1.1 431", 0), 0u);
  // Not HTTP at all: closed without an answer.
  EXPECT_EQ(Exchange("\x01\x02\x03 garbage\r\n\r\n"), "");
}

TEST_F(HttpServerTest, SilentClientIsClosedAtItsDeadline) {
  HttpServerOptions options;
  options.read_deadline = std::chrono::milliseconds(100);
  StartServer(options);
  tcp::socket socket = Connect();
  EXPECT_EQ(ReadToEof(socket), "");  // the server gives up and closes
}

TEST_F(HttpServerTest, ConnectionsPastTheCapAreClosed) {
  HttpServerOptions options;
  options.max_connections = 1;
  options.read_deadline = std::chrono::milliseconds(60000);
  StartServer(options);
  tcp::socket idle = Connect();
  // Until the server has accepted the idle connection a second one may still be served; once it
  // has, every further connection is refused at the cap.
  bool refused = false;
  for (int attempt = 0; attempt < 1000 && !refused; ++attempt) {
    refused = Exchange("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").empty();
  }
  EXPECT_TRUE(refused) << "no connection was refused at the cap of 1";
  EXPECT_GE(server_->rejected_connections(), 1u);
  boost::asio::write(idle, boost::asio::buffer(std::string("GET /metrics HTTP/1.1\r\n\r\n")));
  EXPECT_EQ(ReadToEof(idle).rfind("HTTP/1.1 200 OK", 0), 0u);
}

TEST_F(HttpServerTest, StopClosesOpenConnections) {
  StartServer();
  tcp::socket idle = Connect();
  boost::asio::post(io_, [this] { server_->Stop(); });
  EXPECT_EQ(ReadToEof(idle), "");
}

TEST(HttpServerStartTest, RefusesBadArguments) {
  boost::asio::io_context io;
  HttpServerOptions options;
  options.host = "not an address";
  EXPECT_EQ(HttpServer::Start(io, options, {{"/", [] { return HttpResponse{}; }}}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(HttpServer::Start(io, {}, {}).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sotto::coordinator

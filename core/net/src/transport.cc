#include "sotto/net/transport.h"

#include <google/protobuf/io/coded_stream.h>

namespace sotto::net {

Status Connection::SendEncoded(const proto::Envelope& header,
                               std::shared_ptr<const EncodedBody> body) {
  if (body == nullptr) {
    return InvalidArgumentError("no EncodedBody");
  }
  if (header.body_case() != proto::Envelope::BODY_NOT_SET) {
    return InvalidArgumentError("the header sent with an EncodedBody has a body of its own");
  }
  proto::Envelope envelope = header;
  google::protobuf::io::CodedInputStream input(body->bytes().data(),
                                               static_cast<int>(body->size()));
  if (!envelope.MergeFromCodedStream(&input)) {
    return InternalError("cannot rebuild the envelope from its EncodedBody");
  }
  return Send(envelope);
}

Status ValidateConnectionOptions(const ConnectionOptions& options) {
  if (options.max_queued_messages == 0) {
    return InvalidArgumentError("max_queued_messages must be at least 1");
  }
  if (options.max_queued_bytes == 0) {
    return InvalidArgumentError("max_queued_bytes must be at least 1");
  }
  const Deadlines& d = options.deadlines;
  if (d.handshake.count() <= 0) {
    return InvalidArgumentError("deadlines.handshake must be positive");
  }
  if (d.read.count() <= 0) {
    return InvalidArgumentError("deadlines.read must be positive");
  }
  if (d.write.count() <= 0) {
    return InvalidArgumentError("deadlines.write must be positive");
  }
  if (d.shutdown.count() <= 0) {
    return InvalidArgumentError("deadlines.shutdown must be positive");
  }
  if (d.idle.count() < 0) {
    return InvalidArgumentError("deadlines.idle must not be negative");
  }
  return OkStatus();
}

ConnectionOptions ServerConnectionOptions() {
  ConnectionOptions options;
  options.receive_caps = FrameCaps::ClientToServer();
  options.send_caps = FrameCaps::ServerToClient();
  return options;
}

ConnectionOptions ClientConnectionOptions() {
  ConnectionOptions options;
  options.receive_caps = FrameCaps::ServerToClient();
  options.send_caps = FrameCaps::ClientToServer();
  return options;
}

}  // namespace sotto::net

#pragma once

// Reading protobuf messages from untrusted bytes and from configuration files.
//
// sotto's parsers are strict: a field this schema does not know, at any depth, is an error
// rather than something silently carried along (BAD_INPUTS rows 3 and 25). Protocol evolution
// goes through the protocol version negotiated in Hello/Welcome (sotto/proto/sotto.proto), so
// a strict parser never meets a legitimate unknown field.
//
//   proto::Envelope envelope;
//   RETURN_IF_ERROR(proto::ParseStrict(payload, &envelope));
//
//   proto::FederationConfig config;
//   RETURN_IF_ERROR(proto::ParseJson(text, &config));   // InvalidArgument naming the field
//
// Every function is thread-safe (it touches only its arguments) and never aborts on its input.
// Protobuf's own log lines about malformed input (e.g. a string that is not UTF-8) are
// suppressed while ParseStrict and ParseJson run, so untrusted bytes cannot flood the log
// (protobuf's LogSilencer is process-wide: another thread's protobuf warnings in that window
// are dropped too).

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "sotto/base/status.h"

namespace google::protobuf {
class Message;
}  // namespace google::protobuf

namespace sotto::proto {

// Parses `bytes` (untrusted) into `message`, replacing its contents. InvalidArgument when the
// bytes are not a valid serialization of the message type (including invalid UTF-8 in a
// string field and nesting deeper than protobuf's recursion limit), or when they hold a field
// unknown to the schema. `message` is unspecified after an error.
Status ParseStrict(std::span<const uint8_t> bytes, google::protobuf::Message* message);

// OK, or InvalidArgument naming the path of the first unknown field found, e.g.
// "unknown field 99 in sotto.proto.Envelope.hello".
Status CheckNoUnknownFields(const google::protobuf::Message& message);

// Parses proto3 JSON (field names in lowerCamelCase or as written in the .proto) into
// `message`. InvalidArgument, with the parser's message naming the field, for unknown fields,
// wrong value types and syntax errors.
Status ParseJson(std::string_view json, google::protobuf::Message* message);

// `message` as JSON (lowerCamelCase names, fields with default values omitted), for logs and
// for writing example configs. Internal if the message cannot be printed.
Status PrintJson(const google::protobuf::Message& message, std::string* json);

// The deterministic serialization of `message` (the input of checksums and fingerprints).
std::string SerializeDeterministic(const google::protobuf::Message& message);

}  // namespace sotto::proto

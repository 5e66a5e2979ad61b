#include "sotto/proto/parse.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/message.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/unknown_field_set.h>
#include <google/protobuf/util/json_util.h>

#include <climits>
#include <string>
#include <vector>

namespace sotto::proto {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

Status FindUnknownFields(const Message& message, const std::string& path) {
  const Reflection* reflection = message.GetReflection();
  const google::protobuf::UnknownFieldSet& unknown = reflection->GetUnknownFields(message);
  if (!unknown.empty()) {
    return InvalidArgumentError("unknown field " + std::to_string(unknown.field(0).number()) +
                                " in " + path);
  }
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      continue;
    }
    const std::string field_path = path + "." + field->name();
    if (field->is_repeated()) {
      const int count = reflection->FieldSize(message, field);
      for (int i = 0; i < count; ++i) {
        Status status = FindUnknownFields(reflection->GetRepeatedMessage(message, field, i),
                                          field_path + "[" + std::to_string(i) + "]");
        if (!status.ok()) {
          return status;
        }
      }
    } else {
      Status status = FindUnknownFields(reflection->GetMessage(message, field), field_path);
      if (!status.ok()) {
        return status;
      }
    }
  }
  return OkStatus();
}

}  // namespace

Status ParseStrict(std::span<const uint8_t> bytes, Message* message) {
  if (bytes.size() > static_cast<size_t>(INT_MAX)) {
    return InvalidArgumentError("message of " + std::to_string(bytes.size()) +
                                " bytes is larger than protobuf can parse");
  }
  // Untrusted bytes must not reach the log: protobuf logs an ERROR line for each string field
  // that is not UTF-8, which a peer could use to flood it. The Status says what went wrong.
  const google::protobuf::LogSilencer silence_protobuf_logging;
  if (!message->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return InvalidArgumentError("malformed " + message->GetTypeName() + " (" +
                                std::to_string(bytes.size()) + " bytes)");
  }
  return CheckNoUnknownFields(*message);
}

Status CheckNoUnknownFields(const Message& message) {
  return FindUnknownFields(message, message.GetTypeName());
}

Status ParseJson(std::string_view json, Message* message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  options.case_insensitive_enum_parsing = false;
  const google::protobuf::LogSilencer silence_protobuf_logging;  // errors come back as Status
  const auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), message, options);
  if (!status.ok()) {
    const auto text = status.message();
    return InvalidArgumentError(message->GetTypeName() +
                                " JSON: " + std::string(text.data(), text.size()));
  }
  return OkStatus();
}

Status PrintJson(const Message& message, std::string* json) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  json->clear();
  const auto status = google::protobuf::util::MessageToJsonString(message, json, options);
  if (!status.ok()) {
    const auto text = status.message();
    return InternalError("cannot print " + message.GetTypeName() +
                         " as JSON: " + std::string(text.data(), text.size()));
  }
  return OkStatus();
}

std::string SerializeDeterministic(const Message& message) {
  std::string out;
  {
    // The streams give back their unused buffer space when destroyed: close them first.
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return out;
}

}  // namespace sotto::proto

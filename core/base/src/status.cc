#include "sotto/base/status.h"

#include <cstdio>
#include <cstdlib>

#include "sotto/base/statusor.h"

namespace sotto {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "OK";
    case StatusCode::kCancelled:
      return "CANCELLED";
    case StatusCode::kUnknown:
      return "UNKNOWN";
    case StatusCode::kInvalidArgument:
      return "INVALID_ARGUMENT";
    case StatusCode::kDeadlineExceeded:
      return "DEADLINE_EXCEEDED";
    case StatusCode::kNotFound:
      return "NOT_FOUND";
    case StatusCode::kAlreadyExists:
      return "ALREADY_EXISTS";
    case StatusCode::kPermissionDenied:
      return "PERMISSION_DENIED";
    case StatusCode::kResourceExhausted:
      return "RESOURCE_EXHAUSTED";
    case StatusCode::kFailedPrecondition:
      return "FAILED_PRECONDITION";
    case StatusCode::kAborted:
      return "ABORTED";
    case StatusCode::kOutOfRange:
      return "OUT_OF_RANGE";
    case StatusCode::kUnimplemented:
      return "UNIMPLEMENTED";
    case StatusCode::kInternal:
      return "INTERNAL";
    case StatusCode::kUnavailable:
      return "UNAVAILABLE";
    case StatusCode::kDataLoss:
      return "DATA_LOSS";
    case StatusCode::kUnauthenticated:
      return "UNAUTHENTICATED";
  }
  return "UNKNOWN_CODE";
}

Status::Status(StatusCode code, std::string_view message) {
  if (code != StatusCode::kOk) {
    rep_ = std::make_unique<Rep>(Rep{code, std::string(message)});
  }
}

Status::Status(const Status& other)
    : rep_(other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr) {}

Status& Status::operator=(const Status& other) {
  if (this != &other) {
    rep_ = other.rep_ ? std::make_unique<Rep>(*other.rep_) : nullptr;
  }
  return *this;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(StatusCodeName(code()));
  if (!rep_->message.empty()) {
    out += ": ";
    out += rep_->message;
  }
  return out;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return Status();
  std::string message(context);
  if (!rep_->message.empty()) {
    message += ": ";
    message += rep_->message;
  }
  return Status(code(), message);
}

std::ostream& operator<<(std::ostream& os, const Status& status) { return os << status.ToString(); }

#define SOTTO_DEFINE_ERROR(Name, Code) \
  Status Name(std::string_view message) { return Status(StatusCode::Code, message); }
SOTTO_DEFINE_ERROR(CancelledError, kCancelled)
SOTTO_DEFINE_ERROR(UnknownError, kUnknown)
SOTTO_DEFINE_ERROR(InvalidArgumentError, kInvalidArgument)
SOTTO_DEFINE_ERROR(DeadlineExceededError, kDeadlineExceeded)
SOTTO_DEFINE_ERROR(NotFoundError, kNotFound)
SOTTO_DEFINE_ERROR(AlreadyExistsError, kAlreadyExists)
SOTTO_DEFINE_ERROR(PermissionDeniedError, kPermissionDenied)
SOTTO_DEFINE_ERROR(ResourceExhaustedError, kResourceExhausted)
SOTTO_DEFINE_ERROR(FailedPreconditionError, kFailedPrecondition)
SOTTO_DEFINE_ERROR(AbortedError, kAborted)
SOTTO_DEFINE_ERROR(OutOfRangeError, kOutOfRange)
SOTTO_DEFINE_ERROR(UnimplementedError, kUnimplemented)
SOTTO_DEFINE_ERROR(InternalError, kInternal)
SOTTO_DEFINE_ERROR(UnavailableError, kUnavailable)
SOTTO_DEFINE_ERROR(DataLossError, kDataLoss)
SOTTO_DEFINE_ERROR(UnauthenticatedError, kUnauthenticated)
#undef SOTTO_DEFINE_ERROR

namespace internal {

void StatusOrValueOfError(const Status& status) {
  std::fprintf(stderr, "sotto: value() called on a StatusOr holding %s\n",
               status.ToString().c_str());
  std::abort();
}

void StatusOrMadeFromOk() {
  std::fprintf(stderr, "sotto: StatusOr constructed from an OK Status\n");
  std::abort();
}

}  // namespace internal
}  // namespace sotto

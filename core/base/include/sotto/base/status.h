#pragma once

// Status: the result of an operation that can fail, with abseil's codes and semantics.
//
// Every fallible sotto function returns a Status or a StatusOr<T> (sotto/base/statusor.h);
// no exception crosses a target boundary. Choose the code by what the caller should do next:
//   kInvalidArgument     malformed input (bad bytes, bad config value)
//   kFailedPrecondition  right request, wrong state or phase
//   kPermissionDenied    the caller is known but not allowed
//   kUnauthenticated     the caller's identity does not check out
//   kResourceExhausted   too big, too many
//   kDeadlineExceeded    a timeout
//   kAborted             retry the whole round / transaction
//   kUnavailable         retry the call
//   kDataLoss            stored or reconstructed data is corrupt
//   kNotFound            a named thing (file, client) does not exist
//   kInternal            one of our own invariants broke
//
// Status is a small value type (an OK status holds no allocation) and is thread-compatible.

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

namespace sotto {

enum class StatusCode : int {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

// "INVALID_ARGUMENT" etc., as abseil spells them.
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  // An OK status.
  Status() = default;
  // A status with `code` and `message`. A kOk code ignores the message.
  Status(StatusCode code, std::string_view message);

  Status(const Status& other);
  Status& operator=(const Status& other);
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;

  bool ok() const { return rep_ == nullptr; }
  StatusCode code() const { return rep_ ? rep_->code : StatusCode::kOk; }
  std::string_view message() const { return rep_ ? std::string_view(rep_->message) : ""; }

  // "OK" or "INVALID_ARGUMENT: message".
  std::string ToString() const;

  // Returns a copy whose message is `context + ": " + message()`; OK stays OK. Used to add
  // where an error happened (a file name, a field) as it travels up.
  Status WithContext(std::string_view context) const;

  // Marks a status as deliberately ignored.
  void IgnoreError() const {}

  friend bool operator==(const Status& a, const Status& b) {
    return a.code() == b.code() && a.message() == b.message();
  }

 private:
  struct Rep {
    StatusCode code;
    std::string message;
  };
  std::unique_ptr<Rep> rep_;
};

std::ostream& operator<<(std::ostream& os, const Status& status);

inline Status OkStatus() { return Status(); }

Status CancelledError(std::string_view message);
Status UnknownError(std::string_view message);
Status InvalidArgumentError(std::string_view message);
Status DeadlineExceededError(std::string_view message);
Status NotFoundError(std::string_view message);
Status AlreadyExistsError(std::string_view message);
Status PermissionDeniedError(std::string_view message);
Status ResourceExhaustedError(std::string_view message);
Status FailedPreconditionError(std::string_view message);
Status AbortedError(std::string_view message);
Status OutOfRangeError(std::string_view message);
Status UnimplementedError(std::string_view message);
Status InternalError(std::string_view message);
Status UnavailableError(std::string_view message);
Status DataLossError(std::string_view message);
Status UnauthenticatedError(std::string_view message);

}  // namespace sotto

#pragma once

// StatusOr<T>: either a value of type T or a non-OK Status explaining why there is none.
//
//   StatusOr<Dataset> data = LoadIdx(path);
//   if (!data.ok()) return data.status();
//   Use(*data);
//
// Accessing the value of a non-OK StatusOr is a programming error and aborts with the status
// in the message (it is our invariant, never a reaction to untrusted input).

#include <cstdlib>
#include <type_traits>
#include <utility>
#include <variant>

#include "sotto/base/status.h"

namespace sotto {
namespace internal {
[[noreturn]] void StatusOrValueOfError(const Status& status);
[[noreturn]] void StatusOrMadeFromOk();
}  // namespace internal

template <typename T>
class [[nodiscard]] StatusOr {
  static_assert(!std::is_same_v<std::remove_cv_t<T>, Status>, "StatusOr<Status> is not allowed");

 public:
  // A non-OK status. Constructing from an OK status is a programming error.
  StatusOr(const Status& status) : data_(status) { CheckNotOk(); }        // NOLINT
  StatusOr(Status&& status) : data_(std::move(status)) { CheckNotOk(); }  // NOLINT

  // A value.
  StatusOr(const T& value) : data_(value) {}        // NOLINT
  StatusOr(T&& value) : data_(std::move(value)) {}  // NOLINT
  template <typename U,
            typename = std::enable_if_t<
                std::is_constructible_v<T, U&&> && !std::is_same_v<std::decay_t<U>, StatusOr<T>> &&
                !std::is_same_v<std::decay_t<U>, Status> && !std::is_same_v<std::decay_t<U>, T>>>
  StatusOr(U&& value) : data_(std::in_place_index<1>, std::forward<U>(value)) {}  // NOLINT

  StatusOr(const StatusOr&) = default;
  StatusOr(StatusOr&&) noexcept = default;
  StatusOr& operator=(const StatusOr&) = default;
  StatusOr& operator=(StatusOr&&) noexcept = default;

  bool ok() const { return data_.index() == 1; }

  // OK when a value is held.
  Status status() const& { return ok() ? OkStatus() : std::get<0>(data_); }
  Status status() && { return ok() ? OkStatus() : std::move(std::get<0>(data_)); }

  const T& value() const& {
    EnsureOk();
    return std::get<1>(data_);
  }
  T& value() & {
    EnsureOk();
    return std::get<1>(data_);
  }
  T&& value() && {
    EnsureOk();
    return std::get<1>(std::move(data_));
  }

  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  template <typename U>
  T value_or(U&& fallback) const& {
    return ok() ? std::get<1>(data_) : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  void CheckNotOk() const {
    if (std::get<0>(data_).ok()) internal::StatusOrMadeFromOk();
  }
  void EnsureOk() const {
    if (!ok()) internal::StatusOrValueOfError(std::get<0>(data_));
  }

  std::variant<Status, T> data_;
};

}  // namespace sotto

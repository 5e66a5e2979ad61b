#pragma once

// Early-return helpers for Status and StatusOr.
//
//   RETURN_IF_ERROR(file.Read(buf));
//   ASSIGN_OR_RETURN(Dataset data, LoadIdx(path));
//   ASSIGN_OR_RETURN(auto model, Mlp::Create(cfg));

#include <utility>

#include "sotto/base/status.h"
#include "sotto/base/statusor.h"

namespace sotto::internal {
inline Status AsStatus(const Status& s) { return s; }
inline Status AsStatus(Status&& s) { return std::move(s); }
template <typename T>
Status AsStatus(const StatusOr<T>& s) {
  return s.status();
}
}  // namespace sotto::internal

#define SOTTO_STATUS_CONCAT_INNER(a, b) a##b
#define SOTTO_STATUS_CONCAT(a, b) SOTTO_STATUS_CONCAT_INNER(a, b)

// Evaluates `expr` (a Status) and returns it from the enclosing function when not OK.
#define RETURN_IF_ERROR(expr)                                                     \
  do {                                                                            \
    ::sotto::Status sotto_status_macro_value = ::sotto::internal::AsStatus(expr); \
    if (!sotto_status_macro_value.ok()) return sotto_status_macro_value;          \
  } while (false)

// Evaluates `rexpr` (a StatusOr<T>); on error returns its status, otherwise moves the value
// into `lhs`, which may be a declaration.
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  SOTTO_ASSIGN_OR_RETURN_IMPL(SOTTO_STATUS_CONCAT(sotto_statusor_, __LINE__), lhs, rexpr)

#define SOTTO_ASSIGN_OR_RETURN_IMPL(statusor, lhs, rexpr)  \
  auto statusor = (rexpr);                                 \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

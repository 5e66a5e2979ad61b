#pragma once

// Checks for our own invariants. A failed check prints the condition, the place and an
// optional streamed message, then aborts. Never use a check on untrusted input (bytes from the
// network, files, configs): validate those and return a Status instead.
//
//   SOTTO_CHECK(k <= d) << "k=" << k << " d=" << d;
//   SOTTO_CHECK_OK(status);
//   SOTTO_DCHECK(i < n);   // compiled out in NDEBUG builds

#include <sstream>
#include <string_view>

#include "sotto/base/status.h"

namespace sotto::internal {

class CheckFailure {
 public:
  CheckFailure(const char* file, int line, std::string_view condition);
  [[noreturn]] ~CheckFailure();
  CheckFailure(const CheckFailure&) = delete;
  CheckFailure& operator=(const CheckFailure&) = delete;
  std::ostream& stream() { return stream_; }

 private:
  std::ostringstream stream_;
};

// Lets `cond ? (void)0 : Voidify() & stream << ...` type-check.
struct CheckVoidify {
  void operator&(std::ostream&) {}
};

}  // namespace sotto::internal

#define SOTTO_CHECK(cond)                      \
  (cond) ? (void)0                             \
         : ::sotto::internal::CheckVoidify() & \
               ::sotto::internal::CheckFailure(__FILE__, __LINE__, #cond).stream()

#define SOTTO_CHECK_OK(expr)                                                       \
  do {                                                                             \
    const ::sotto::Status sotto_check_status = (expr);                             \
    if (!sotto_check_status.ok()) {                                                \
      ::sotto::internal::CheckFailure(__FILE__, __LINE__, #expr " is OK").stream() \
          << sotto_check_status;                                                   \
    }                                                                              \
  } while (false)

#ifdef NDEBUG
#define SOTTO_DCHECK(cond) \
  while (false) SOTTO_CHECK(cond)
#else
#define SOTTO_DCHECK(cond) SOTTO_CHECK(cond)
#endif

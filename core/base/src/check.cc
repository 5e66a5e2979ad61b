#include "sotto/base/check.h"

#include <cstdio>
#include <cstdlib>

namespace sotto::internal {

CheckFailure::CheckFailure(const char* file, int line, std::string_view condition) {
  stream_ << file << ":" << line << ": check failed: " << condition << " ";
}

CheckFailure::~CheckFailure() {
  std::string text = stream_.str();
  std::fprintf(stderr, "sotto: %s\n", text.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace sotto::internal

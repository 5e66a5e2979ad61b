#pragma once

// Writing a file so that readers see either the old contents or the whole new contents: the
// bytes go to a temporary file in the same directory (PATH.tmp.PID), which is fsynced and
// renamed over PATH. Used for the coordinator's --port-file (a test or script polls for it)
// and --model-out.
//
// Thread-safety: thread-safe for distinct paths.

#include <string>
#include <string_view>

#include "sotto/base/status.h"

namespace sotto::cli {

// Unavailable (naming the file and the OS error) when any step fails; the temporary file is
// removed then. PermissionDenied when the directory cannot be written.
Status WriteFileAtomically(const std::string& path, std::string_view bytes);

}  // namespace sotto::cli

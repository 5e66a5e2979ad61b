#pragma once

// Whole-file reads and writes for state that must survive a crash.
//
// WriteFileAtomically(path, bytes): readers (and a process restarted after a crash or a power
// loss) see either the old contents or the whole new contents. The bytes go to a temporary file
// in the same directory (PATH.tmp.PID), which is fsynced and renamed over PATH; then the
// directory is fsynced, so that the rename itself is durable. Used for the coordinator's
// --port-file and --model-out and for the client's state file.
//
// ReadFileLimited(path, max_bytes): the contents of a regular file of at most max_bytes, read
// without trusting its size (a file that grows while read is still capped).
//
// Errors name the file and the OS error: NotFound (no such file), PermissionDenied,
// InvalidArgument (a directory), ResourceExhausted (over max_bytes), Unavailable (any other
// I/O failure; a failed write removes its temporary file and leaves PATH as it was).
//
// Thread-safety: thread-safe for distinct paths.

#include <cstddef>
#include <string>
#include <string_view>

#include "sotto/base/status.h"
#include "sotto/base/statusor.h"

namespace sotto {

// `mode`: the new file's permission bits (before the umask), e.g. 0600 for private state.
Status WriteFileAtomically(const std::string& path, std::string_view bytes, unsigned mode = 0644);

StatusOr<std::string> ReadFileLimited(const std::string& path, size_t max_bytes);

}  // namespace sotto

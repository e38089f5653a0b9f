// Reports and checkpoints are written so that a crash never leaves a half-written file behind:
// write a temporary file beside the target, fsync it, rename it over the target, fsync the folder.
#pragma once

#include <string>
#include <string_view>

namespace chaos {

struct AtomicWriteResult {
  bool ok = false;
  std::string error;  // empty when ok; otherwise names the path and the failing step
};

// Replaces `path` with `contents` atomically. On failure the previous file (if any) is untouched and
// the temporary file is removed.
AtomicWriteResult write_file_atomically(const std::string& path, std::string_view contents);

}  // namespace chaos

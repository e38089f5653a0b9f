// Checkpoints let a service restart from its last good state. Each save writes a new version
// atomically (temporary file, fsync, rename, fsync of the folder, via chaos::write_file_atomically)
// with a header carrying the payload size and CRC-32; restore walks versions newest first, reports any
// that fail verification as corrupt, and returns the newest good one. Old versions are pruned, except
// the newest one that verifies, which is kept however many corrupt versions follow it.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "environment.h"
#include "error.h"

namespace chaos::resilience {

// CRC-32 (IEEE 802.3, as zlib's crc32).
uint32_t crc32(std::string_view data);

struct CheckpointConfig {
  std::string directory;  // created if missing
  std::string name;       // file prefix and event `name`; letters, digits, '-', '_', '.'
  // Versions kept on disk after each save (>= 1): the newest `keep`, plus the newest version that
  // verifies when it is older than those.
  uint32_t keep = 5;
};

struct Checkpoint {
  uint64_t version = 0;
  std::string data;
};

class CheckpointManager {
 public:
  // Throws std::invalid_argument for a bad name or an empty directory.
  CheckpointManager(CheckpointConfig config, Environment env = {});

  // Writes the next version (newest on disk + 1), publishes checkpoint.saved, then prunes. Returns the
  // version written.
  Result<uint64_t> save(std::string_view data);
  // The newest version that verifies; each corrupt one on the way is reported (checkpoint.corrupt).
  std::optional<Checkpoint> restore();
  // Reads and verifies one version; the error names what is wrong.
  Result<Checkpoint> load(uint64_t version) const;
  // Versions on disk, ascending (verified or not).
  std::vector<uint64_t> versions() const;
  std::string path_of(uint64_t version) const;

 private:
  void prune_locked();
  const CheckpointConfig config_;
  const Environment env_;
  mutable std::mutex mu_;
};

}  // namespace chaos::resilience

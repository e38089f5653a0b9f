// Turns lines of a process's stdout (or an events file) into timeline events, per docs/EVENTS.md.
// Lines that are not a JSON object with a string "type" are not events (ordinary log output).
#pragma once

#include "common/clock.h"
#include "expect/timeline.h"

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chaos::runner {

// `origin` is scenario t=0 on the monotonic clock; `received` stamps events that carry no ts_us.
std::optional<expect::TimelineEvent> parse_event_line(std::string_view line, const std::string& source,
                                                      TimePoint origin, TimePoint received);

// A mock's or the gateway's ready line: {"event":"ready","port":N,...}; nullopt otherwise.
std::optional<nlohmann::json> parse_ready_line(std::string_view line);

// Follows a file another process appends JSON lines to (system_under_test.events "file"), the way
// `tail -F` does, but polled by the caller so it needs no thread or inotify of its own:
//  - the file may not exist yet: read_new_lines() returns nothing until it appears;
//  - only complete ('\n'-terminated) lines are returned; a partial last line waits for its newline;
//  - a file truncated or replaced (new inode) is read again from its beginning;
//  - memory is bounded: each call reads at most kMaxReadBytes, and a line longer than kMaxLineBytes is
//    dropped (counted in dropped_lines()) instead of growing the buffer without limit.
// Not thread-safe: one owner calls it.
class EventFileTailer {
 public:
  static constexpr size_t kMaxLineBytes = 1 << 20;
  static constexpr size_t kMaxReadBytes = 4 << 20;

  // `start_offset` skips bytes already in the file (e.g. left by an earlier run) if it is the same
  // file (`start_inode`, 0 = any) when first opened.
  explicit EventFileTailer(std::string path, uint64_t start_offset = 0, ino_t start_inode = 0);
  ~EventFileTailer();
  EventFileTailer(const EventFileTailer&) = delete;
  EventFileTailer& operator=(const EventFileTailer&) = delete;

  // New complete lines since the last call (without their '\n'), in file order.
  std::vector<std::string> read_new_lines();
  // What read_new_lines() could not finish: a trailing line without its newline, once the writer is
  // known to be done (the scenario's end). Empty if there is none.
  std::string take_partial_line();

  const std::string& path() const { return path_; }
  bool seen_file() const { return seen_; }
  uint64_t dropped_lines() const { return dropped_; }

  // The size and inode of `path` now (0, 0 if it does not exist): what a later tailer should skip.
  static std::pair<uint64_t, ino_t> current_end(const std::string& path);

 private:
  void reopen_if_replaced();

  std::string path_;
  int fd_ = -1;
  ino_t inode_ = 0;
  uint64_t offset_ = 0;
  uint64_t skip_offset_;
  ino_t skip_inode_;
  std::string partial_;
  bool discarding_ = false;  // inside a line longer than kMaxLineBytes: drop up to its newline
  bool seen_ = false;
  uint64_t dropped_ = 0;
};

}  // namespace chaos::runner

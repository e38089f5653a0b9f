#include "runner/event_stream.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace chaos::runner {

std::optional<expect::TimelineEvent> parse_event_line(std::string_view line, const std::string& source,
                                                      TimePoint origin, TimePoint received) {
  if (line.empty() || line.front() != '{') return std::nullopt;
  auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  auto type = j.find("type");
  if (type == j.end() || !type->is_string()) return std::nullopt;
  expect::TimelineEvent e;
  e.source = source;
  e.type = type->get<std::string>();
  auto ts = j.find("ts_us");
  if (ts != j.end() && ts->is_number()) {
    double ts_us = ts->get<double>();
    e.t_ms = (ts_us - static_cast<double>(to_us(origin))) / 1000.0;
  } else {
    e.t_ms = to_ms(received - origin);
  }
  e.data = std::move(j);
  return e;
}

std::optional<nlohmann::json> parse_ready_line(std::string_view line) {
  if (line.empty() || line.front() != '{') return std::nullopt;
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  auto ev = j.find("event");
  if (ev == j.end() || !ev->is_string() || ev->get<std::string>() != "ready") return std::nullopt;
  return j;
}

// ---------------------------------------------------------------------------------------------
EventFileTailer::EventFileTailer(std::string path, uint64_t start_offset, ino_t start_inode)
    : path_(std::move(path)), skip_offset_(start_offset), skip_inode_(start_inode) {}

EventFileTailer::~EventFileTailer() {
  if (fd_ >= 0) ::close(fd_);
}

std::pair<uint64_t, ino_t> EventFileTailer::current_end(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return {0, 0};
  return {static_cast<uint64_t>(st.st_size), st.st_ino};
}

void EventFileTailer::reopen_if_replaced() {
  struct stat by_path {};
  bool exists = ::stat(path_.c_str(), &by_path) == 0;
  if (fd_ >= 0) {
    struct stat open_one {};
    bool same = exists && ::fstat(fd_, &open_one) == 0 && open_one.st_ino == by_path.st_ino &&
                open_one.st_dev == by_path.st_dev;
    if (same) {
      // Truncated under us (e.g. `> file` by the writer): start over at its beginning.
      if (static_cast<uint64_t>(by_path.st_size) < offset_) {
        offset_ = 0;
        partial_.clear();
        discarding_ = false;
      }
      return;
    }
    // Replaced or removed: finish nothing more from the old one; a new file starts from 0.
    ::close(fd_);
    fd_ = -1;
    partial_.clear();
    discarding_ = false;
  }
  if (!exists || !S_ISREG(by_path.st_mode)) return;
  int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;  // e.g. created but not yet readable: try again on the next call
  fd_ = fd;
  seen_ = true;
  inode_ = by_path.st_ino;
  offset_ = 0;
  if (skip_offset_ > 0 && (skip_inode_ == 0 || skip_inode_ == inode_) &&
      skip_offset_ <= static_cast<uint64_t>(by_path.st_size))
    offset_ = skip_offset_;
  skip_offset_ = 0;  // only the first file opened can hold an earlier run's lines
}

std::vector<std::string> EventFileTailer::read_new_lines() {
  std::vector<std::string> lines;
  reopen_if_replaced();
  if (fd_ < 0) return lines;
  char buf[64 * 1024];
  size_t total = 0;
  while (total < kMaxReadBytes) {
    ssize_t n = ::pread(fd_, buf, sizeof buf, static_cast<off_t>(offset_));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    offset_ += static_cast<uint64_t>(n);
    total += static_cast<size_t>(n);
    size_t begin = 0;
    for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
      if (buf[i] != '\n') continue;
      if (discarding_) {
        discarding_ = false;
      } else {
        partial_.append(buf + begin, i - begin);
        if (!partial_.empty() && partial_.back() == '\r') partial_.pop_back();
        lines.push_back(std::move(partial_));
      }
      partial_.clear();
      begin = i + 1;
    }
    if (!discarding_) {
      partial_.append(buf + begin, static_cast<size_t>(n) - begin);
      if (partial_.size() > kMaxLineBytes) {
        ++dropped_;
        partial_.clear();
        discarding_ = true;
      }
    }
  }
  return lines;
}

std::string EventFileTailer::take_partial_line() {
  std::string out = discarding_ ? std::string() : std::move(partial_);
  partial_.clear();
  discarding_ = false;
  return out;
}

}  // namespace chaos::runner

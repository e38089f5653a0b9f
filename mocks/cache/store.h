// The cache's data: an in-memory string keyspace with millisecond expiry (lazy: checked on access;
// an expired key never read again stays until FLUSHALL, harmless in a test mock). Single-threaded.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace chaos::mocks {

class Store {
 public:
  using Ms = int64_t;  // milliseconds on the monotonic clock
  static Ms now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  const std::string* get(const std::string& key, Ms now);
  void set(const std::string& key, std::string_view value, std::optional<Ms> expire_at, bool keep_ttl, Ms now);
  bool exists(const std::string& key, Ms now) { return get(key, now) != nullptr; }
  bool del(const std::string& key, Ms now);
  // Sets an absolute expiry; false if the key does not exist.
  bool expire_at(const std::string& key, Ms at, Ms now);
  // -2 no key, -1 no expiry, else remaining ms.
  Ms pttl(const std::string& key, Ms now);
  std::string* mutable_value(const std::string& key, Ms now);
  void flush() { map_.clear(); }
  size_t size() const { return map_.size(); }
  size_t expiring() const;

 private:
  struct Entry {
    std::string value;
    Ms expire_at = 0;  // 0 = never
  };
  Entry* find(const std::string& key, Ms now);
  std::unordered_map<std::string, Entry> map_;
};

}  // namespace chaos::mocks

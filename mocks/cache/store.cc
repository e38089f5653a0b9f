// Keyspace operations with lazy expiry.
#include "cache/store.h"

namespace chaos::mocks {

Store::Entry* Store::find(const std::string& key, Ms now) {
  auto it = map_.find(key);
  if (it == map_.end()) return nullptr;
  if (it->second.expire_at != 0 && it->second.expire_at <= now) {
    map_.erase(it);
    return nullptr;
  }
  return &it->second;
}

const std::string* Store::get(const std::string& key, Ms now) {
  Entry* e = find(key, now);
  return e ? &e->value : nullptr;
}

std::string* Store::mutable_value(const std::string& key, Ms now) {
  Entry* e = find(key, now);
  return e ? &e->value : nullptr;
}

void Store::set(const std::string& key, std::string_view value, std::optional<Ms> expire_at, bool keep_ttl, Ms now) {
  auto [it, inserted] = map_.try_emplace(key);
  Entry& e = it->second;
  if (!inserted && e.expire_at != 0 && e.expire_at <= now) e.expire_at = 0;  // expired: a fresh key
  e.value.assign(value);
  if (expire_at) {
    e.expire_at = *expire_at;
  } else if (!keep_ttl) {
    e.expire_at = 0;
  }
}

bool Store::del(const std::string& key, Ms now) {
  if (!find(key, now)) return false;
  map_.erase(key);
  return true;
}

bool Store::expire_at(const std::string& key, Ms at, Ms now) {
  Entry* e = find(key, now);
  if (!e) return false;
  if (at <= now) {
    map_.erase(key);
  } else {
    e->expire_at = at;
  }
  return true;
}

Store::Ms Store::pttl(const std::string& key, Ms now) {
  Entry* e = find(key, now);
  if (!e) return -2;
  if (e->expire_at == 0) return -1;
  return e->expire_at - now;
}

size_t Store::expiring() const {
  size_t n = 0;
  for (const auto& [k, e] : map_) n += e.expire_at != 0;
  return n;
}

}  // namespace chaos::mocks

// Scripted stand-ins for the three dependency clients: each operation answers from a queue of
// results (then from a default), and counts its calls, so tests can say exactly what the gateway
// asked for and what it was told.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "gateway/clients.h"

namespace chaos::gateway::testing {

template <class T>
class Script {
 public:
  explicit Script(resilience::Result<T> fallback) : default_(std::move(fallback)) {}
  void push(resilience::Result<T> r) {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(r));
  }
  void set_default(resilience::Result<T> r) {
    std::lock_guard<std::mutex> lock(mu_);
    default_ = std::move(r);
  }
  resilience::Result<T> next() {
    std::lock_guard<std::mutex> lock(mu_);
    ++calls_;
    if (queue_.empty()) return default_;
    auto r = std::move(queue_.front());
    queue_.pop_front();
    return r;
  }
  int calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

 private:
  mutable std::mutex mu_;
  std::deque<resilience::Result<T>> queue_;
  resilience::Result<T> default_;
  int calls_ = 0;
};

struct FakeDependencyBase {
  Script<std::string> checks{std::string("ok")};
  Script<std::string> heals{std::string("reconnected")};
  std::function<void()> before_check;  // e.g. advance a manual clock to make the check slow
  std::function<void(bool)> after_heal;  // told whether the heal succeeded
  std::vector<size_t> prewarms;          // the n of each prewarm(); answers min(n, open_on_prewarm)
  size_t open_on_prewarm = SIZE_MAX;
  size_t prewarm(size_t n) {
    prewarms.push_back(n);
    return n < open_on_prewarm ? n : open_on_prewarm;
  }
};

class FakeCache final : public CacheClient {
 public:
  Script<std::optional<std::string>> gets{std::optional<std::string>()};
  Script<Unit> sets{Unit{}};
  FakeDependencyBase dep;
  std::vector<std::pair<std::string, std::string>> written;
  std::vector<std::string> keys;

  Result<std::optional<std::string>> get(const std::string& key, const Deadline&) override {
    keys.push_back(key);
    return gets.next();
  }
  Result<Unit> set(const std::string& key, const std::string& value, const Deadline&) override {
    written.emplace_back(key, value);
    return sets.next();
  }
  Result<std::string> check(const Deadline&) override {
    if (dep.before_check) dep.before_check();
    return dep.checks.next();
  }
  Result<std::string> heal(const Deadline&) override { return dep.heals.next(); }
  size_t prewarm(size_t n, const Deadline&) override { return dep.prewarm(n); }
};

class FakeDb final : public DbClient {
 public:
  Script<std::optional<std::string>> queries{std::optional<std::string>()};
  Script<Unit> execs{Unit{}};
  FakeDependencyBase dep;
  std::vector<std::string> sql;

  Result<std::optional<std::string>> query_value(const std::string& s, const Deadline&) override {
    sql.push_back(s);
    return queries.next();
  }
  Result<Unit> exec(const std::string& s, const Deadline&) override {
    sql.push_back(s);
    return execs.next();
  }
  Result<std::string> check(const Deadline&) override {
    if (dep.before_check) dep.before_check();
    return dep.checks.next();
  }
  Result<std::string> heal(const Deadline&) override {
    auto r = dep.heals.next();
    if (dep.after_heal) dep.after_heal(r.ok());
    return r;
  }
  size_t prewarm(size_t n, const Deadline&) override { return dep.prewarm(n); }
};

class FakeRpc final : public RpcClient {
 public:
  Script<nlohmann::json> calls{nlohmann::json{{"tier", "gold"}}};
  FakeDependencyBase dep;
  std::vector<nlohmann::json> params;

  Result<nlohmann::json> call(const std::string& method, const nlohmann::json& p, const Deadline&) override {
    params.push_back({{"method", method}, {"params", p}});
    return calls.next();
  }
  Result<std::string> check(const Deadline&) override {
    if (dep.before_check) dep.before_check();
    return dep.checks.next();
  }
  Result<std::string> heal(const Deadline&) override { return dep.heals.next(); }
};

}  // namespace chaos::gateway::testing

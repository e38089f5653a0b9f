// Named instances, one per guarded dependency, shared by everyone who asks for the same name (as
// resilience4j's registries). Creation takes the registry's default config unless one is given.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "environment.h"

namespace chaos::resilience {

template <class T, class Config>
class Registry {
 public:
  explicit Registry(Environment env = {}, Config defaults = {})
      : env_(env), defaults_(std::move(defaults)) {}

  // The instance called `name`, created with `config` (or the defaults) the first time. A config given
  // for a name that already exists is ignored: the first creator wins.
  std::shared_ptr<T> get(const std::string& name, std::optional<Config> config = std::nullopt) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = items_.find(name);
    if (it != items_.end()) return it->second;
    auto item = std::make_shared<T>(name, config ? std::move(*config) : defaults_, env_);
    items_.emplace(name, item);
    return item;
  }
  std::shared_ptr<T> find(const std::string& name) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = items_.find(name);
    return it == items_.end() ? nullptr : it->second;
  }
  std::vector<std::string> names() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> out;
    for (const auto& [n, _] : items_) out.push_back(n);
    return out;
  }
  bool remove(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    return items_.erase(name) > 0;
  }
  const Environment& environment() const { return env_; }

 private:
  Environment env_;
  Config defaults_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<T>> items_;
};

}  // namespace chaos::resilience

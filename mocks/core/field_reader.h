// Fault specs arrive as JSON from the control API. They are validated once, here, at the edge: every
// field is read through a FieldReader that checks its type and range, and any field nobody read is
// rejected, so a typo ("latncy_ms") is a 400 naming the field instead of a silently ignored setting.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>

namespace chaos::mocks {

// A spec was rejected; what() names the field and what was expected.
class FaultSpecError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class FieldReader {
 public:
  // Throws FaultSpecError unless `obj` is a JSON object.
  explicit FieldReader(const nlohmann::json& obj);

  std::optional<double> number(std::string_view key, double min, double max);
  std::optional<int64_t> integer(std::string_view key, int64_t min, int64_t max);
  std::optional<bool> boolean(std::string_view key);
  std::optional<std::string> string(std::string_view key, size_t max_len);
  std::optional<std::string> one_of(std::string_view key, std::initializer_list<std::string_view> allowed);
  bool has(std::string_view key) const;

  // Throws FaultSpecError naming the first field that no read above consumed.
  void finish(std::string_view what) const;

 private:
  const nlohmann::json* field(std::string_view key);
  const nlohmann::json& obj_;
  std::set<std::string, std::less<>> read_;
};

}  // namespace chaos::mocks

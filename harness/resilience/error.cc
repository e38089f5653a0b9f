// Error category names as the event stream spells them.
#include "error.h"

#include <array>

namespace chaos::resilience {
namespace {
constexpr std::array<std::string_view, 10> kNames = {
    "TIMEOUT",      "NETWORK", "SERVER_ERROR", "RATE_LIMIT",    "CLIENT_ERROR",
    "VALIDATION",   "UNKNOWN", "CIRCUIT_OPEN", "BULKHEAD_FULL", "SHED"};
}  // namespace

std::string_view to_string(ErrorCategory c) { return kNames[static_cast<size_t>(c)]; }

std::optional<ErrorCategory> error_category_from_string(std::string_view s) {
  for (size_t i = 0; i < kNames.size(); ++i)
    if (kNames[i] == s) return static_cast<ErrorCategory>(i);
  return std::nullopt;
}

std::string describe(const Error& e) {
  std::string out(to_string(e.category));
  if (!e.message.empty()) out += ": " + e.message;
  return out;
}

}  // namespace chaos::resilience

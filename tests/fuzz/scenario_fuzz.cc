// libFuzzer target: scenario parsing and validation must survive any input without crashing,
// leaking, hanging or tripping a sanitizer, and must either accept it or explain why not.
#include "scenario/parser.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto result = chaos::scenario::parse_scenario_text(text, "fuzz.json");
  // Exactly one of: a scenario, or at least one error with a message.
  if (result.ok() == !result.errors.empty()) std::abort();
  for (const auto& e : result.errors)
    if (e.message.empty()) std::abort();
  if (!result.ok()) (void)chaos::scenario::format_errors(result.errors);
  return 0;
}

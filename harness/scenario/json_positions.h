// nlohmann_json 3.11 does not record where a value sits in the text, but every scenario error must
// name file:line:col. This tiny scanner walks the (already parsed) JSON text once and maps each
// value's JSON pointer to its byte offset (and each member's key offset), so the validator can point
// at the offending value. It is total: on malformed text it records what it saw and stops, it never
// reads out of bounds and never recurses deeper than kMaxDepth.
#pragma once

#include "scenario/model.h"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace chaos::scenario {

class JsonPositions {
 public:
  static constexpr int kMaxDepth = 128;

  explicit JsonPositions(std::string_view text);

  // Offsets by RFC 6901 JSON pointer ("" = root, "/faults/2/fault/type").
  std::optional<size_t> value_offset(const std::string& pointer) const;
  std::optional<size_t> key_offset(const std::string& pointer) const;
  // 1-based line and column (column in UTF-8 code points) of a byte offset.
  SourcePos pos(size_t offset) const;

  struct Duplicate {
    std::string pointer;  // of the repeated member
    size_t offset;        // of its second key
    size_t first_offset;  // of its first key
  };
  const std::vector<Duplicate>& duplicates() const { return duplicates_; }
  // Set when nesting exceeds kMaxDepth: offset of the first too-deep bracket.
  std::optional<size_t> too_deep() const { return too_deep_; }

  static std::string escape_token(const std::string& key);  // "~" -> "~0", "/" -> "~1"

 private:
  void skip_ws();
  bool value(const std::string& ptr, int depth);
  bool string_token(std::string* decoded);
  std::string_view text_;
  size_t i_ = 0;
  std::unordered_map<std::string, size_t> values_, keys_;
  std::vector<Duplicate> duplicates_;
  std::vector<size_t> line_starts_;
  std::optional<size_t> too_deep_;
};

// Nesting depth check that runs before nlohmann parses anything, on any bytes: returns the offset of
// the first bracket deeper than max_depth (outside strings), if any.
std::optional<size_t> find_excessive_nesting(std::string_view text, int max_depth);

}  // namespace chaos::scenario

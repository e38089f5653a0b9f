// The position index is what turns validator errors into file:line:col; these tests pin it down on
// nesting, escapes, duplicates, UTF-8 columns and malformed input.
#include "scenario/json_positions.h"

#include <gtest/gtest.h>

using chaos::scenario::find_excessive_nesting;
using chaos::scenario::JsonPositions;

namespace {

std::pair<int, int> at(const JsonPositions& p, const std::string& ptr) {
  auto off = p.value_offset(ptr);
  if (!off) return {-1, -1};
  auto sp = p.pos(*off);
  return {sp.line, sp.col};
}

TEST(JsonPositions, MapsNestedObjectsAndArraysToLineAndColumn) {
  std::string text = "{\n  \"a\": 1,\n  \"b\": [true, {\"c\": \"x\"}],\n  \"d\": {\"e\": null}\n}";
  JsonPositions p(text);
  EXPECT_EQ(at(p, ""), std::make_pair(1, 1));
  EXPECT_EQ(at(p, "/a"), std::make_pair(2, 8));
  EXPECT_EQ(at(p, "/b"), std::make_pair(3, 8));
  EXPECT_EQ(at(p, "/b/0"), std::make_pair(3, 9));
  EXPECT_EQ(at(p, "/b/1/c"), std::make_pair(3, 21));
  EXPECT_EQ(at(p, "/d/e"), std::make_pair(4, 14));
  auto k = p.key_offset("/d/e");
  ASSERT_TRUE(k);
  EXPECT_EQ(p.pos(*k).col, 9);
  EXPECT_FALSE(p.value_offset("/missing"));
}

TEST(JsonPositions, DecodesEscapedKeysAndEscapesPointerTokens) {
  std::string text = R"({"a\u0062": 1, "x/y": 2, "t~": 3})";
  JsonPositions p(text);
  EXPECT_EQ(at(p, "/ab"), std::make_pair(1, 13));
  EXPECT_EQ(at(p, "/x~1y"), std::make_pair(1, 23));
  EXPECT_EQ(at(p, "/t~0"), std::make_pair(1, 32));
}

TEST(JsonPositions, CountsColumnsInCharactersNotBytes) {
  std::string text = "{\"d\": \"\xC3\xA9\xC3\xA9\", \"n\": 5}";  // two 2-byte characters
  JsonPositions p(text);
  EXPECT_EQ(at(p, "/n"), std::make_pair(1, 18));
}

TEST(JsonPositions, ReportsDuplicateKeysAndKeepsTheLastValue) {
  std::string text = "{\"a\": 1,\n \"a\": 2}";
  JsonPositions p(text);
  ASSERT_EQ(p.duplicates().size(), 1u);
  EXPECT_EQ(p.duplicates()[0].pointer, "/a");
  EXPECT_EQ(p.pos(p.duplicates()[0].offset).line, 2);
  EXPECT_EQ(p.pos(p.duplicates()[0].first_offset).line, 1);
  EXPECT_EQ(at(p, "/a"), std::make_pair(2, 7));
}

TEST(JsonPositions, SurvivesMalformedAndTruncatedInput) {
  for (std::string bad : {"", "{", "{\"a\"", "{\"a\": [1, 2", "\"unterminated", "{\"a\":}", "[[[[", "}}}", "{\"a\\"}) {
    JsonPositions p(bad);
    (void)p.pos(bad.size() + 10);  // out of range offsets are clamped
  }
  SUCCEED();
}

TEST(JsonPositions, StopsAtTheDepthLimit) {
  std::string deep(JsonPositions::kMaxDepth + 5, '[');
  deep += std::string(JsonPositions::kMaxDepth + 5, ']');
  JsonPositions p(deep);
  ASSERT_TRUE(p.too_deep());
  EXPECT_EQ(*p.too_deep(), static_cast<size_t>(JsonPositions::kMaxDepth));
}

TEST(FindExcessiveNesting, IgnoresBracketsInsideStrings) {
  std::string s = "{\"a\": \"[[[[[[[[[[\\\"[[[[[\"}";
  EXPECT_FALSE(find_excessive_nesting(s, 3));
  EXPECT_EQ(find_excessive_nesting("[[[[", 3), std::optional<size_t>(3));
}

}  // namespace

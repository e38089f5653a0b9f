// Escaping is the report's security boundary: these pin down exactly what it turns into what.
#include "report/text.h"

#include <gtest/gtest.h>

namespace chaos::report {
namespace {

TEST(MarkupEscape, EscapesTheFiveMarkupCharacters) {
  EXPECT_EQ(markup_escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
}

TEST(MarkupEscape, MakesControlCharactersVisibleAndKeepsTabsAndNewlines) {
  EXPECT_EQ(markup_escape(std::string("a\x01" "b\x1b[31m\tc\nd\x7f", 13)), "a\\x01b\\x1b[31m\tc\nd\\x7f");
}

TEST(MarkupEscape, EncodesWhitespaceAsReferencesInsideAttributes) {
  EXPECT_EQ(markup_escape("a\tb\nc\rd", false), "a&#9;b&#10;c&#13;d");
}

TEST(MarkupEscape, ReplacesInvalidUtf8AndKeepsValidMultibyteText) {
  EXPECT_EQ(markup_escape("caf\xc3\xa9 \xe2\x86\x92"), "caf\xc3\xa9 \xe2\x86\x92");
  EXPECT_EQ(markup_escape("x\xffy"), "x\xEF\xBF\xBDy");
  EXPECT_EQ(markup_escape("\xc3\x28"), "\xEF\xBF\xBD(");          // truncated sequence
  EXPECT_EQ(markup_escape("\xc0\xaf"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong '/'
  EXPECT_EQ(markup_escape("\xed\xa0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(markup_escape("\xef\xbf\xbe"), "\xEF\xBF\xBD");       // U+FFFE is no XML character
  EXPECT_EQ(markup_escape(std::string("a\0b", 3)), "a\\x00b");
}

TEST(ValidUtf8, LeavesMarkupAloneButRepairsEncoding) {
  EXPECT_EQ(valid_utf8("<b>\xff"), "<b>\xEF\xBF\xBD");
}

TEST(HumanDuration, PicksAReadableUnit) {
  EXPECT_EQ(human_duration(850), "850 ms");
  EXPECT_EQ(human_duration(1.5), "1.50 ms");
  EXPECT_EQ(human_duration(12500), "12.50 s");
  EXPECT_EQ(human_duration(125000), "2 min 5 s");
  EXPECT_EQ(human_duration(std::numeric_limits<double>::quiet_NaN()), "-");
}

TEST(Iso8601, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(iso8601_utc(1714566896789), "2024-05-01T12:34:56.789Z");
  EXPECT_EQ(iso8601_utc(0), "");
}

TEST(ExitStatusText, NamesSignalsAndCodes) {
  EXPECT_EQ(exit_status_text(0, std::nullopt), "exited 0");
  EXPECT_EQ(exit_status_text(std::nullopt, 9), "killed by signal 9 (SIGKILL)");
  EXPECT_EQ(exit_status_text(std::nullopt, std::nullopt), "no exit status (still running?)");
}

}  // namespace
}  // namespace chaos::report

namespace chaos::report {
namespace {

TEST(AbnormalExit, NonZeroCodesAndSignalsOtherThanSigtermNeedAttention) {
  EXPECT_FALSE(abnormal_exit(0, std::nullopt));
  EXPECT_FALSE(abnormal_exit(std::nullopt, 15));
  EXPECT_FALSE(abnormal_exit(std::nullopt, std::nullopt));
  EXPECT_TRUE(abnormal_exit(3, std::nullopt));
  EXPECT_TRUE(abnormal_exit(std::nullopt, 9));
  EXPECT_TRUE(abnormal_exit(std::nullopt, 11));
}

}  // namespace
}  // namespace chaos::report

namespace chaos::report {
namespace {

TEST(Ellipsize, CutsByCharactersNotBytes) {
  EXPECT_EQ(ellipsize("short", 10), "short");
  EXPECT_EQ(ellipsize("exactly10!", 10), "exactly10!");
  EXPECT_EQ(ellipsize("abcdefghijk", 5), "abcd\xE2\x80\xA6");
  EXPECT_EQ(ellipsize("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", 3), "\xC3\xA9\xC3\xA9\xE2\x80\xA6");
  EXPECT_EQ(ellipsize("ab\xff", 5), "ab\xEF\xBF\xBD");
}

}  // namespace
}  // namespace chaos::report

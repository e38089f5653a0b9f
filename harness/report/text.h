// Text helpers shared by the report writers. Every value that reaches a report came from a scenario
// file, a process log or the system under test, so none of it is trusted: markup escaping also repairs
// invalid UTF-8 and makes control characters visible, because either would make XML ill-formed and
// could hide or forge content in HTML.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chaos::report {

// Returns `s` with every invalid UTF-8 sequence replaced by U+FFFD.
std::string valid_utf8(std::string_view s);

// At most `max_chars` code points of `s` (repaired to valid UTF-8), ending in "…" when it was cut.
std::string ellipsize(std::string_view s, size_t max_chars);

// Escapes for HTML text and attribute values, and for XML 1.0 text and attribute values alike:
// & < > " ' become entities; invalid UTF-8 becomes U+FFFD; control characters other than tab and
// newline (and CR, DEL, U+FFFE/U+FFFF) become the visible text "\xNN" (ANSI colour codes in logs
// stay readable as "\x1b[31m"). With `keep_newlines` false, tab/newline/CR become "&#9;" "&#10;"
// "&#13;" so that XML attribute values keep them (attribute normalisation would turn them to spaces).
std::string markup_escape(std::string_view s, bool keep_newlines = true);

// "850 ms", "12.5 s", "2 min 5 s": for people, not for parsing.
std::string human_duration(double ms);

// Fixed-point number with `decimals` digits; non-finite values become "-".
std::string fixed(double v, int decimals);

// 0.1234 -> "12.3%"; non-finite -> "-".
std::string percent(double fraction);

// Unix milliseconds -> "2024-05-01T12:34:56.789Z"; 0 or negative -> "" (unknown).
std::string iso8601_utc(double unix_ms);

// "exited 0", "exited 3", "killed by signal 9 (SIGKILL)", "no exit status (still running?)".
std::string exit_status_text(const std::optional<int>& exit_code, const std::optional<int>& signal);

// True when a process ended in a way worth a reader's attention: a non-zero exit code, or a signal
// other than SIGTERM (the harness stops services with SIGTERM at the end of every scenario).
bool abnormal_exit(const std::optional<int>& exit_code, const std::optional<int>& signal);

}  // namespace chaos::report

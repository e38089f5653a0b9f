// Escaping and formatting shared by the HTML and JUnit writers (see text.h for why it is strict).
#include "report/text.h"

#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace chaos::report {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the valid UTF-8 sequence starting at s[i] and its code point, or 0 if invalid.
size_t utf8_sequence(std::string_view s, size_t i, uint32_t& cp) {
  auto b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) {
    cp = b;
    return 1;
  }
  size_t len;
  uint32_t min;
  if ((b & 0xE0) == 0xC0) {
    len = 2, cp = b & 0x1F, min = 0x80;
  } else if ((b & 0xF0) == 0xE0) {
    len = 3, cp = b & 0x0F, min = 0x800;
  } else if ((b & 0xF8) == 0xF0) {
    len = 4, cp = b & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (size_t k = 1; k < len; ++k) {
    auto c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (c & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are not valid UTF-8.
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

void append_hex_escape(std::string& out, unsigned v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02x", v & 0xFFu);
  out += buf;
}

}  // namespace

std::string valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    uint32_t cp;
    size_t n = utf8_sequence(s, i, cp);
    if (n == 0) {
      out += kReplacement;
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string ellipsize(std::string_view s, size_t max_chars) {
  std::string v = valid_utf8(s);
  size_t chars = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    if ((static_cast<unsigned char>(v[i]) & 0xC0) == 0x80) continue;  // continuation byte
    if (++chars > max_chars) {
      // Cut before the character that does not fit, leaving room for the ellipsis itself.
      size_t cut = i;
      if (max_chars > 0) {
        do {
          --cut;
        } while (cut > 0 && (static_cast<unsigned char>(v[cut]) & 0xC0) == 0x80);
      }
      return v.substr(0, cut) + "\xE2\x80\xA6";
    }
  }
  return v;
}

std::string markup_escape(std::string_view s, bool keep_newlines) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (size_t i = 0; i < s.size();) {
    uint32_t cp;
    size_t n = utf8_sequence(s, i, cp);
    if (n == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    switch (cp) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      case '\t': out += keep_newlines ? "\t" : "&#9;"; break;
      case '\n': out += keep_newlines ? "\n" : "&#10;"; break;
      case '\r': out += keep_newlines ? "" : "&#13;"; break;
      default:
        if (cp < 0x20 || cp == 0x7F) {
          append_hex_escape(out, cp);
        } else if (cp == 0xFFFE || cp == 0xFFFF) {
          out += kReplacement;  // not characters in XML 1.0
        } else {
          out.append(s.substr(i, n));
        }
    }
    i += n;
  }
  return out;
}

std::string human_duration(double ms) {
  if (!std::isfinite(ms)) return "-";
  char buf[64];
  double a = std::fabs(ms);
  if (a < 1000) {
    std::snprintf(buf, sizeof buf, a < 10 ? "%.2f ms" : "%.0f ms", ms);
  } else if (a < 60000) {
    std::snprintf(buf, sizeof buf, "%.2f s", ms / 1000);
  } else {
    long long total_s = static_cast<long long>(std::llround(ms / 1000));
    std::snprintf(buf, sizeof buf, "%lld min %lld s", total_s / 60, total_s % 60);
  }
  return buf;
}

std::string fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string percent(double fraction) {
  if (!std::isfinite(fraction)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f%%", fraction * 100);
  return buf;
}

std::string iso8601_utc(double unix_ms) {
  if (!std::isfinite(unix_ms) || unix_ms <= 0) return "";
  auto total_ms = static_cast<long long>(std::llround(unix_ms));
  std::time_t secs = static_cast<std::time_t>(total_ms / 1000);
  std::tm tm{};
  if (!gmtime_r(&secs, &tm)) return "";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, total_ms % 1000);
  return buf;
}

std::string exit_status_text(const std::optional<int>& exit_code, const std::optional<int>& signal) {
  if (signal) {
    const char* name = sigabbrev_np(*signal);
    std::string text = "killed by signal " + std::to_string(*signal);
    if (name) text += std::string(" (SIG") + name + ")";
    return text;
  }
  if (exit_code) return "exited " + std::to_string(*exit_code);
  return "no exit status (still running?)";
}

bool abnormal_exit(const std::optional<int>& exit_code, const std::optional<int>& signal) {
  if (signal) return *signal != SIGTERM;
  return exit_code.has_value() && *exit_code != 0;
}

}  // namespace chaos::report

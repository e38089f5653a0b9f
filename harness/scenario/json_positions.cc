// See json_positions.h.
#include "scenario/json_positions.h"

#include <nlohmann/json.hpp>

namespace chaos::scenario {

JsonPositions::JsonPositions(std::string_view text) : text_(text) {
  line_starts_.push_back(0);
  for (size_t k = 0; k < text.size(); ++k)
    if (text[k] == '\n') line_starts_.push_back(k + 1);
  skip_ws();
  value("", 0);
}

std::string JsonPositions::escape_token(const std::string& key) {
  std::string out;
  out.reserve(key.size());
  for (char c : key) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

std::optional<size_t> JsonPositions::value_offset(const std::string& p) const {
  auto it = values_.find(p);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::optional<size_t> JsonPositions::key_offset(const std::string& p) const {
  auto it = keys_.find(p);
  if (it == keys_.end()) return std::nullopt;
  return it->second;
}

SourcePos JsonPositions::pos(size_t offset) const {
  if (offset > text_.size()) offset = text_.size();
  size_t lo = 0, hi = line_starts_.size();
  while (hi - lo > 1) {  // last line start <= offset
    size_t mid = (lo + hi) / 2;
    if (line_starts_[mid] <= offset) lo = mid;
    else hi = mid;
  }
  int col = 1;
  for (size_t k = line_starts_[lo]; k < offset; ++k)
    if ((static_cast<unsigned char>(text_[k]) & 0xC0) != 0x80) ++col;
  return SourcePos{static_cast<int>(lo) + 1, col};
}

void JsonPositions::skip_ws() {
  while (i_ < text_.size() &&
         (text_[i_] == ' ' || text_[i_] == '\t' || text_[i_] == '\n' || text_[i_] == '\r'))
    ++i_;
}

bool JsonPositions::string_token(std::string* decoded) {
  if (i_ >= text_.size() || text_[i_] != '"') return false;
  size_t start = i_++;
  bool escaped = false;
  while (i_ < text_.size() && text_[i_] != '"') {
    if (text_[i_] == '\\') {
      escaped = true;
      ++i_;
    }
    ++i_;
  }
  if (i_ >= text_.size()) return false;
  ++i_;  // closing quote
  if (decoded) {
    std::string_view raw = text_.substr(start, i_ - start);
    if (!escaped) {
      decoded->assign(raw.substr(1, raw.size() - 2));
    } else {
      auto j = nlohmann::json::parse(raw, nullptr, /*allow_exceptions=*/false);
      if (j.is_string()) *decoded = j.get<std::string>();
      else decoded->assign(raw.substr(1, raw.size() - 2));
    }
  }
  return true;
}

bool JsonPositions::value(const std::string& ptr, int depth) {
  if (i_ >= text_.size()) return false;
  values_.emplace(ptr, i_);
  char c = text_[i_];
  if (c == '{' || c == '[') {
    if (depth >= kMaxDepth) {
      if (!too_deep_) too_deep_ = i_;
      return false;
    }
  }
  if (c == '{') {
    ++i_;
    std::unordered_map<std::string, size_t> seen;
    skip_ws();
    if (i_ < text_.size() && text_[i_] == '}') { ++i_; return true; }
    for (;;) {
      skip_ws();
      size_t key_at = i_;
      std::string key;
      if (!string_token(&key)) return false;
      std::string child = ptr + "/" + escape_token(key);
      auto [it, fresh] = seen.emplace(key, key_at);
      if (!fresh) duplicates_.push_back({child, key_at, it->second});
      keys_[child] = key_at;
      skip_ws();
      if (i_ >= text_.size() || text_[i_] != ':') return false;
      ++i_;
      skip_ws();
      // nlohmann keeps the last duplicate; so do we.
      values_.erase(child);
      if (!value(child, depth + 1)) return false;
      skip_ws();
      if (i_ < text_.size() && text_[i_] == ',') { ++i_; continue; }
      if (i_ < text_.size() && text_[i_] == '}') { ++i_; return true; }
      return false;
    }
  }
  if (c == '[') {
    ++i_;
    skip_ws();
    if (i_ < text_.size() && text_[i_] == ']') { ++i_; return true; }
    for (size_t n = 0;; ++n) {
      skip_ws();
      if (!value(ptr + "/" + std::to_string(n), depth + 1)) return false;
      skip_ws();
      if (i_ < text_.size() && text_[i_] == ',') { ++i_; continue; }
      if (i_ < text_.size() && text_[i_] == ']') { ++i_; return true; }
      return false;
    }
  }
  if (c == '"') return string_token(nullptr);
  // number, true, false, null: consume the literal's characters
  size_t start = i_;
  while (i_ < text_.size()) {
    char d = text_[i_];
    if ((d >= '0' && d <= '9') || (d >= 'a' && d <= 'z') || d == '-' || d == '+' || d == '.' ||
        d == 'E')
      ++i_;
    else
      break;
  }
  return i_ > start;
}

std::optional<size_t> find_excessive_nesting(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t k = 0; k < text.size(); ++k) {
    char c = text[k];
    if (in_string) {
      if (c == '\\') ++k;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') {
      if (++depth > max_depth) return k;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return std::nullopt;
}

}  // namespace chaos::scenario

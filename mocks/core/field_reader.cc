// Typed, range-checked reads of a JSON object, with unknown-field detection.
#include "core/field_reader.h"

#include <cmath>

namespace chaos::mocks {
namespace {

std::string quote_key(std::string_view key) { return "'" + std::string(key) + "'"; }

std::string fmt(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  std::string s = std::to_string(v);
  while (!s.empty() && s.back() == '0') s.pop_back();
  return s;
}

}  // namespace

FieldReader::FieldReader(const nlohmann::json& obj) : obj_(obj) {
  if (!obj_.is_object()) throw FaultSpecError("fault must be a JSON object, got " + std::string(obj_.type_name()));
}

const nlohmann::json* FieldReader::field(std::string_view key) {
  auto it = obj_.find(std::string(key));
  if (it == obj_.end()) return nullptr;
  read_.emplace(key);
  if (it->is_null()) return nullptr;  // null means "not given"
  return &*it;
}

bool FieldReader::has(std::string_view key) const {
  auto it = obj_.find(std::string(key));
  return it != obj_.end() && !it->is_null();
}

std::optional<double> FieldReader::number(std::string_view key, double min, double max) {
  const nlohmann::json* v = field(key);
  if (!v) return std::nullopt;
  if (!v->is_number()) {
    throw FaultSpecError("field " + quote_key(key) + " must be a number in [" + fmt(min) + ", " + fmt(max) + "], got " +
                         v->type_name());
  }
  double d = v->get<double>();
  if (!std::isfinite(d) || d < min || d > max) {
    throw FaultSpecError("field " + quote_key(key) + " must be in [" + fmt(min) + ", " + fmt(max) + "], got " + v->dump());
  }
  return d;
}

std::optional<int64_t> FieldReader::integer(std::string_view key, int64_t min, int64_t max) {
  const nlohmann::json* v = field(key);
  if (!v) return std::nullopt;
  bool integral = v->is_number_integer() || (v->is_number_float() && std::floor(v->get<double>()) == v->get<double>() &&
                                             std::fabs(v->get<double>()) < 9e15);
  if (!integral) {
    throw FaultSpecError("field " + quote_key(key) + " must be an integer in [" + std::to_string(min) + ", " +
                         std::to_string(max) + "], got " + v->dump());
  }
  int64_t i = v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)
                  ? INT64_MAX
                  : (v->is_number_float() ? static_cast<int64_t>(v->get<double>()) : v->get<int64_t>());
  if (i < min || i > max) {
    throw FaultSpecError("field " + quote_key(key) + " must be in [" + std::to_string(min) + ", " + std::to_string(max) +
                         "], got " + v->dump());
  }
  return i;
}

std::optional<bool> FieldReader::boolean(std::string_view key) {
  const nlohmann::json* v = field(key);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) throw FaultSpecError("field " + quote_key(key) + " must be true or false, got " + v->dump());
  return v->get<bool>();
}

std::optional<std::string> FieldReader::string(std::string_view key, size_t max_len) {
  const nlohmann::json* v = field(key);
  if (!v) return std::nullopt;
  if (!v->is_string()) throw FaultSpecError("field " + quote_key(key) + " must be a string, got " + v->type_name());
  std::string s = v->get<std::string>();
  if (s.size() > max_len) {
    throw FaultSpecError("field " + quote_key(key) + " must be at most " + std::to_string(max_len) + " characters, got " +
                         std::to_string(s.size()));
  }
  return s;
}

std::optional<std::string> FieldReader::one_of(std::string_view key, std::initializer_list<std::string_view> allowed) {
  const nlohmann::json* v = field(key);
  if (!v) return std::nullopt;
  std::string list;
  for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string("\"") + std::string(a) + "\"";
  if (v->is_string()) {
    for (auto a : allowed)
      if (v->get<std::string>() == a) return std::string(a);
  }
  throw FaultSpecError("field " + quote_key(key) + " must be one of " + list + ", got " + v->dump());
}

void FieldReader::finish(std::string_view what) const {
  for (auto it = obj_.begin(); it != obj_.end(); ++it) {
    if (!read_.count(it.key())) {
      throw FaultSpecError("unknown field " + quote_key(it.key()) + " for " + std::string(what));
    }
  }
}

}  // namespace chaos::mocks

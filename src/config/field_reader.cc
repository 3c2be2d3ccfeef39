#include "config/field_reader.h"

#include <charconv>

#include "config/decode.h"

namespace portico::config {

namespace {

bool isIdentifierKey(std::string_view key) {
  if (key.empty()) return false;
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool allDigits(std::string_view s, bool (*pred)(char)) {
  if (s.empty()) return false;
  for (char c : s)
    if (!pred(c)) return false;
  return true;
}

bool isDec(char c) { return c >= '0' && c <= '9'; }
bool isOct(char c) { return c >= '0' && c <= '7'; }
bool isHex(char c) { return isDec(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool isCoreFloat(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  size_t intDigits = 0, fracDigits = 0;
  while (i < s.size() && isDec(s[i]))
    ++i, ++intDigits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && isDec(s[i]))
      ++i, ++fracDigits;
    if (intDigits == 0 && fracDigits == 0) return false;
  } else if (intDigits == 0) {
    return false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    size_t expDigits = 0;
    while (i < s.size() && isDec(s[i]))
      ++i, ++expDigits;
    if (expDigits == 0) return false;
  }
  return i == s.size();
}

}  // namespace

std::string joinPath(std::string_view parent, std::string_view key) {
  std::string out(parent);
  if (isIdentifierKey(key)) {
    if (!out.empty()) out.push_back('.');
    out.append(key);
  } else {
    out.append("[");
    out.append(jsonQuote(key));
    out.append("]");
  }
  return out;
}

std::string indexPath(std::string_view parent, size_t index) {
  std::string out(parent);
  out.append("[");
  out.append(std::to_string(index));
  out.append("]");
  return out;
}

Value::Type resolvePlainScalar(std::string_view s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return Value::Type::Null;
  if (s == "true" || s == "True" || s == "TRUE" || s == "false" || s == "False" || s == "FALSE")
    return Value::Type::Bool;
  std::string_view body = s;
  if (body[0] == '-' || body[0] == '+') body.remove_prefix(1);
  if (allDigits(body, isDec)) return Value::Type::Number;
  if (s.size() > 2 && s[0] == '0' && s[1] == 'o' && allDigits(s.substr(2), isOct))
    return Value::Type::Number;
  if (s.size() > 2 && s[0] == '0' && s[1] == 'x' && allDigits(s.substr(2), isHex))
    return Value::Type::Number;
  if (isCoreFloat(s)) return Value::Type::Number;
  if (body == ".inf" || body == ".Inf" || body == ".INF") return Value::Type::Number;
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return Value::Type::Number;
  return Value::Type::String;
}

bool readStringValue(const Value& v, std::string_view path, Errors& errors, std::string& out) {
  if (v.type != Value::Type::String) {
    errors.add(path, std::string("expected a string, got ") + typeName(v.type));
    return false;
  }
  out = v.scalar;
  return true;
}

bool readBoolValue(const Value& v, std::string_view path, Errors& errors, bool& out) {
  if (v.type != Value::Type::Bool) {
    errors.add(path, std::string("expected a boolean, got ") + typeName(v.type));
    return false;
  }
  out = v.scalar[0] == 't' || v.scalar[0] == 'T';
  return true;
}

bool readIntValue(const Value& v, std::string_view path, Errors& errors, int64_t min, int64_t max,
                  int64_t& out) {
  if (v.type != Value::Type::Number) {
    errors.add(path, std::string("expected a number, got ") + typeName(v.type));
    return false;
  }
  std::string_view text = v.scalar;
  if (!text.empty() && text[0] == '+') text.remove_prefix(1);
  int64_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  bool inRange = ec == std::errc() && end == text.data() + text.size() && n >= min && n <= max;
  if (!inRange) {
    bool integral = ec == std::errc::result_out_of_range ||
                    (ec == std::errc() && end == text.data() + text.size());
    if (!integral) {
      errors.add(path, "expected an integer, got " + v.scalar);
    } else {
      errors.add(path, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                           ", got " + v.scalar);
    }
    return false;
  }
  out = n;
  return true;
}

MapReader::MapReader(const Value& value, std::string path, Errors& errors)
    : value_(nullptr), path_(std::move(path)), errors_(errors) {
  if (value.isMap()) {
    value_ = &value;
    used_.assign(value.map.size(), false);
  } else if (!value.isNull()) {
    errors_.add(path_, std::string("expected a map, got ") + typeName(value.type));
    finished_ = true;  // nothing to report about a value we could not read
  }
}

MapReader::~MapReader() { finish(); }

bool MapReader::has(std::string_view key) const {
  const Value* v = value_ ? value_->find(key) : nullptr;
  return v && !v->isNull();
}

size_t MapReader::presentCount() const {
  if (!value_) return 0;
  size_t n = 0;
  for (const auto& entry : value_->map)
    if (!entry.second.isNull()) ++n;
  return n;
}

const Value* MapReader::take(std::string_view key) {
  if (!value_) return nullptr;
  for (size_t i = 0; i < value_->map.size(); ++i) {
    if (value_->map[i].first == key) {
      used_[i] = true;
      const Value& v = value_->map[i].second;
      return v.isNull() ? nullptr : &v;
    }
  }
  return nullptr;
}

bool MapReader::readString(std::string_view key, std::string& out) {
  const Value* v = take(key);
  return v && readStringValue(*v, pathOf(key), errors_, out);
}

bool MapReader::readBool(std::string_view key, bool& out) {
  const Value* v = take(key);
  return v && readBoolValue(*v, pathOf(key), errors_, out);
}

bool MapReader::readInt(std::string_view key, int64_t min, int64_t max, int64_t& out) {
  const Value* v = take(key);
  return v && readIntValue(*v, pathOf(key), errors_, min, max, out);
}

bool MapReader::readDurationMs(std::string_view key, int64_t& outMs) {
  const Value* v = take(key);
  if (!v) return false;
  if (v->type != Value::Type::String) {
    errors_.add(pathOf(key), std::string("expected a duration string such as \"15s\", got ") +
                                 typeName(v->type));
    return false;
  }
  if (!parseDurationMs(v->scalar, outMs)) {
    errors_.add(pathOf(key), "invalid duration " + jsonQuote(v->scalar) +
                                 ": expected e.g. \"15s\", \"1.5s\", \"250ms\" or \"1m30s\"");
    return false;
  }
  return true;
}

bool MapReader::readStringList(std::string_view key, std::vector<std::string>& out) {
  const Value* v = take(key);
  if (!v) return false;
  std::string path = pathOf(key);
  if (!v->isList()) {
    errors_.add(path, std::string("expected a list, got ") + typeName(v->type));
    return false;
  }
  bool ok = true;
  std::vector<std::string> items;
  for (size_t i = 0; i < v->list.size(); ++i) {
    std::string s;
    if (readStringValue(v->list[i], indexPath(path, i), errors_, s))
      items.push_back(std::move(s));
    else
      ok = false;
  }
  if (ok) out = std::move(items);
  return ok;
}

bool MapReader::readStringMap(std::string_view key,
                              std::vector<std::pair<std::string, std::string>>& out) {
  const Value* v = take(key);
  if (!v) return false;
  std::string path = pathOf(key);
  if (!v->isMap()) {
    errors_.add(path, std::string("expected a map, got ") + typeName(v->type));
    return false;
  }
  bool ok = true;
  std::vector<std::pair<std::string, std::string>> items;
  for (const auto& [k, item] : v->map) {
    std::string s;
    if (readStringValue(item, joinPath(path, k), errors_, s))
      items.emplace_back(k, std::move(s));
    else
      ok = false;
  }
  if (ok) out = std::move(items);
  return ok;
}

bool MapReader::requireString(std::string_view key, std::string& out) {
  if (!has(key)) {
    take(key);
    errors_.add(pathOf(key), "required");
    return false;
  }
  std::string s;
  if (!readString(key, s)) return false;
  if (s.empty()) {
    errors_.add(pathOf(key), "required");
    return false;
  }
  out = std::move(s);
  return true;
}

void MapReader::finish() {
  if (finished_) return;
  finished_ = true;
  if (!value_) return;
  for (size_t i = 0; i < value_->map.size(); ++i) {
    if (used_[i] || value_->map[i].second.isNull()) continue;
    errors_.add(pathOf(value_->map[i].first), "field not supported by Portico yet");
  }
}

}  // namespace portico::config

// toYaml / toJson / jsonQuote: hand-written emitters, so that output is stable (the file store
// writes it, the admin API serves it) and re-reads through parseYaml as the same Value.
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "config/decode.h"
#include "config/field_reader.h"

namespace portico::config {

namespace {

void appendEscaped(std::string& out, std::string_view s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
    case '"': out.append("\\\""); break;
    case '\\': out.append("\\\\"); break;
    case '\n': out.append("\\n"); break;
    case '\r': out.append("\\r"); break;
    case '\t': out.append("\\t"); break;
    case '\b': out.append("\\b"); break;
    case '\f': out.append("\\f"); break;
    default:
      // DEL is legal raw in JSON but not printable in YAML; escape it for both.
      if (c < 0x20 || c == 0x7f) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out.append(buf);
      } else {
        out.push_back(static_cast<char>(c));
      }
    }
  }
  out.push_back('"');
}

bool isAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// Whether `s` can be written as a plain YAML scalar and still read back as this same string.
// Deliberately conservative: anything unusual is double-quoted.
bool plainSafe(std::string_view s) {
  if (s.empty() || resolvePlainScalar(s) != Value::Type::String) return false;
  // YAML 1.1 readers (Go's yaml.v2, kubectl) take these as booleans.
  for (const char* word : {"yes", "no", "on", "off", "y", "n"})
    if (equalsIgnoreCase(s, word)) return false;
  if (!(isAlnum(s[0]) || s[0] == '/' || s[0] == '_')) return false;
  if (s.back() == ' ' || s.back() == ':') return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (isAlnum(c)) continue;
    if (!std::strchr(" _./-+@=:~^$%;()", c) || c == '\0') return false;
    char next = i + 1 < s.size() ? s[i + 1] : '\0';
    if (c == ':' && next == ' ') return false;
    if (c == ' ' && next == '#') return false;
  }
  return true;
}

void appendYamlString(std::string& out, std::string_view s) {
  if (plainSafe(s))
    out.append(s);
  else
    appendEscaped(out, s);
}

void appendYamlScalar(std::string& out, const Value& v) {
  switch (v.type) {
  case Value::Type::Null: out.append("null"); break;
  case Value::Type::Bool:
  case Value::Type::Number:
    // As written, when it still reads back as the same type; otherwise keep the text.
    if (resolvePlainScalar(v.scalar) == v.type)
      out.append(v.scalar);
    else
      appendEscaped(out, v.scalar);
    break;
  case Value::Type::String: appendYamlString(out, v.scalar); break;
  case Value::Type::List: out.append("[]"); break;
  case Value::Type::Map: out.append("{}"); break;
  }
}

bool isBlock(const Value& v) {
  return (v.isMap() && !v.map.empty()) || (v.isList() && !v.list.empty());
}

// Emits a non-empty map or list in block style at `indent`. When `continuation` is set, the
// first line's indentation (a "- " of the enclosing list) is already written.
void emitBlock(std::string& out, const Value& v, size_t indent, bool continuation) {
  bool first = true;
  if (v.isMap()) {
    for (const auto& [key, item] : v.map) {
      if (!(first && continuation)) out.append(indent, ' ');
      first = false;
      std::string keyText;
      appendYamlString(keyText, key);
      // YAML limits implicit keys to 1024 characters; a longer one takes the explicit "? " form.
      bool explicitKey = keyText.size() > 1000;
      if (explicitKey) {
        out.append("? ");
        out.append(keyText);
        out.push_back('\n');
        out.append(indent, ' ');
      } else {
        out.append(keyText);
      }
      out.push_back(':');
      if (item.isMap() && isBlock(item)) {
        out.push_back('\n');
        emitBlock(out, item, indent + 2, false);
      } else if (item.isList() && isBlock(item)) {
        out.push_back('\n');
        // Kubernetes style: "- " at the key's column (indented under an explicit key).
        emitBlock(out, item, explicitKey ? indent + 2 : indent, false);
      } else {
        out.push_back(' ');
        appendYamlScalar(out, item);
        out.push_back('\n');
      }
    }
    return;
  }
  for (const auto& item : v.list) {
    if (!(first && continuation)) out.append(indent, ' ');
    first = false;
    out.append("- ");
    if (isBlock(item)) {
      emitBlock(out, item, indent + 2, true);
    } else {
      appendYamlScalar(out, item);
      out.push_back('\n');
    }
  }
}

bool isJsonNumber(std::string_view s) {
  size_t i = 0;
  auto digit = [&](size_t k) { return k < s.size() && s[k] >= '0' && s[k] <= '9'; };
  if (i < s.size() && s[i] == '-') ++i;
  if (!digit(i)) return false;
  if (s[i] == '0') {
    ++i;
  } else {
    while (digit(i))
      ++i;
  }
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (!digit(i)) return false;
    while (digit(i))
      ++i;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (!digit(i)) return false;
    while (digit(i))
      ++i;
  }
  return i == s.size();
}

// YAML numbers JSON cannot spell as written ("+1", "0x1F", "0o17", "1.", ".5"): normalized.
// Infinity and NaN have no JSON form and are emitted as strings.
void appendJsonNumber(std::string& out, const std::string& s) {
  if (isJsonNumber(s)) {
    out.append(s);
    return;
  }
  std::string_view body = s;
  bool negative = false;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  int base = 0;
  if (body.size() > 2 && body[0] == '0' && body[1] == 'x') base = 16;
  if (body.size() > 2 && body[0] == '0' && body[1] == 'o') base = 8;
  if (base != 0) {
    std::string digits(body.substr(2));
    errno = 0;
    char* end = nullptr;
    unsigned long long n = std::strtoull(digits.c_str(), &end, base);
    if (errno == 0 && *end == '\0') {
      if (negative && n != 0) out.push_back('-');
      out.append(std::to_string(n));
      return;
    }
  } else {
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    if (end && *end == '\0' && std::isfinite(d)) {
      char buf[40];
      std::snprintf(buf, sizeof buf, "%.17g", d);
      out.append(buf);
      return;
    }
  }
  appendEscaped(out, s);
}

void emitJson(std::string& out, const Value& v) {
  switch (v.type) {
  case Value::Type::Null: out.append("null"); break;
  case Value::Type::Bool:
    out.append(!v.scalar.empty() && (v.scalar[0] == 't' || v.scalar[0] == 'T') ? "true" : "false");
    break;
  case Value::Type::Number: appendJsonNumber(out, v.scalar); break;
  case Value::Type::String: appendEscaped(out, v.scalar); break;
  case Value::Type::List:
    out.push_back('[');
    for (size_t i = 0; i < v.list.size(); ++i) {
      if (i) out.push_back(',');
      emitJson(out, v.list[i]);
    }
    out.push_back(']');
    break;
  case Value::Type::Map:
    out.push_back('{');
    for (size_t i = 0; i < v.map.size(); ++i) {
      if (i) out.push_back(',');
      appendEscaped(out, v.map[i].first);
      out.push_back(':');
      emitJson(out, v.map[i].second);
    }
    out.push_back('}');
    break;
  }
}

}  // namespace

std::string toYaml(const Value& v) {
  std::string out;
  if (isBlock(v)) {
    emitBlock(out, v, 0, false);
  } else {
    appendYamlScalar(out, v);
    out.push_back('\n');
  }
  return out;
}

std::string toJson(const Value& v) {
  std::string out;
  emitJson(out, v);
  return out;
}

std::string jsonQuote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  appendEscaped(out, s);
  return out;
}

}  // namespace portico::config

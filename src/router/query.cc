#include "router/query.h"

namespace portico::router {

namespace {
inline int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Decodes the byte at `raw[*i]` and advances `*i` past it (past "%XX" when it is an escape).
inline char nextDecoded(std::string_view raw, size_t* i) {
  char c = raw[*i];
  if (c == '%' && *i + 2 < raw.size()) {
    int hi = hexValue(raw[*i + 1]);
    int lo = hexValue(raw[*i + 2]);
    if (hi >= 0 && lo >= 0) {
      *i += 3;
      return static_cast<char>(hi * 16 + lo);
    }
  }
  ++*i;
  return c;
}
}  // namespace

std::string_view DecodeBuffer::decode(std::string_view in) {
  if (in.find('%') == std::string_view::npos) return in;
  // Decoding never lengthens a string, so in.size() bytes are always enough.
  char* out = inline_;
  if (in.size() > kInline) {
    heap_.resize(in.size());
    out = heap_.data();
  }
  size_t n = 0;
  for (size_t i = 0; i < in.size();) out[n++] = nextDecoded(in, &i);
  return {out, n};
}

bool decodedEquals(std::string_view raw, std::string_view decoded) {
  if (raw.size() < decoded.size()) return false;  // decoding only shortens
  size_t i = 0, j = 0;
  while (i < raw.size()) {
    if (j == decoded.size() || nextDecoded(raw, &i) != decoded[j]) return false;
    ++j;
  }
  return j == decoded.size();
}

bool QueryItems::next(std::string_view& name, std::string_view& value) {
  while (!rest_.empty()) {
    size_t amp = rest_.find('&');
    std::string_view item = rest_.substr(0, amp);
    rest_ = amp == std::string_view::npos ? std::string_view() : rest_.substr(amp + 1);
    if (item.empty()) continue;
    size_t eq = item.find('=');
    name = item.substr(0, eq);
    value = eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
    return true;
  }
  return false;
}

bool findQueryParameter(std::string_view query, std::string_view name, DecodeBuffer& scratch,
                        std::string_view* value) {
  QueryItems items(query);
  std::string_view rawName, rawValue;
  while (items.next(rawName, rawValue)) {
    if (!decodedEquals(rawName, name)) continue;
    *value = scratch.decode(rawValue);
    return true;
  }
  return false;
}

}  // namespace portico::router

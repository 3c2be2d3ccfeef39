#include "observability/json_text.h"

#include <array>
#include <charconv>

namespace portico::observability {

namespace {

constexpr uint8_t kEscape = 1, kNonAscii = 2;
constexpr std::array<uint8_t, 256> kClass = [] {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[c] = kEscape;
  t['"'] = t['\\'] = kEscape;
  for (int c = 0x80; c < 0x100; ++c) t[c] = kNonAscii;
  return t;
}();

constexpr char kHex[] = "0123456789abcdef";

void appendEscapedAscii(std::string& out, unsigned char c) {
  switch (c) {
  case '"': out += "\\\""; return;
  case '\\': out += "\\\\"; return;
  case '\b': out += "\\b"; return;
  case '\t': out += "\\t"; return;
  case '\n': out += "\\n"; return;
  case '\f': out += "\\f"; return;
  case '\r': out += "\\r"; return;
  default: {
    const char u[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 15]};
    out.append(u, 6);
  }
  }
}

/// The length of the well-formed UTF-8 sequence at the start of `s` (s[0] >= 0x80), or 0 when
/// it is not one; then `bad` is how many bytes the replacement covers: the lead byte alone, or
/// the lead and the continuation bytes that were valid before the first one that was not (the
/// "maximal subpart" nlohmann's decoder also stops at, the next byte is examined afresh).
size_t utf8Sequence(std::string_view s, size_t& bad) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  size_t len = 0;
  unsigned char lo = 0x80, hi = 0xbf;  // the range of the second byte
  if (b0 >= 0xc2 && b0 <= 0xdf) len = 2;
  else if (b0 >= 0xe0 && b0 <= 0xef) {
    len = 3;
    if (b0 == 0xe0) lo = 0xa0;        // no overlong forms
    else if (b0 == 0xed) hi = 0x9f;   // no surrogates
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    len = 4;
    if (b0 == 0xf0) lo = 0x90;
    else if (b0 == 0xf4) hi = 0x8f;   // nothing above U+10FFFF
  }
  bad = 1;
  if (len == 0) return 0;
  for (size_t i = 1; i < len; ++i) {
    if (i >= s.size()) {
      bad = i;  // cut short by the end of the string: one replacement for what there is
      return 0;
    }
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xbf)) {
      bad = i;
      return 0;
    }
  }
  return len;
}

}  // namespace

size_t firstJsonSpecial(std::string_view s, bool nonAscii) {
  const uint8_t mask = nonAscii ? (kEscape | kNonAscii) : kEscape;
  size_t i = 0;
  while (i < s.size() && !(kClass[static_cast<unsigned char>(s[i])] & mask)) ++i;
  return i;
}

void appendJsonString(std::string& out, std::string_view s) {
  out += '"';
  appendJsonEscaped(out, s);
  out += '"';
}

void appendJsonEscaped(std::string& out, std::string_view s) {
  for (;;) {
    // Runs of plain bytes are copied at once; most values (ids, methods, hosts) are one run.
    size_t run = firstJsonSpecial(s, true);
    out.append(s.data(), run);
    s.remove_prefix(run);
    if (s.empty()) break;
    const auto c = static_cast<unsigned char>(s[0]);
    if (c < 0x80) {
      appendEscapedAscii(out, c);
      s.remove_prefix(1);
      continue;
    }
    size_t bad = 0;
    size_t len = utf8Sequence(s, bad);
    if (len) {
      out.append(s.data(), len);
      s.remove_prefix(len);
    } else {
      out += "\xef\xbf\xbd";
      s.remove_prefix(bad);
    }
  }
}

void appendDecimal(std::string& out, uint64_t v) {
  char buf[20];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, static_cast<size_t>(r.ptr - buf));
}

void appendDecimal(std::string& out, int64_t v) {
  char buf[20];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, static_cast<size_t>(r.ptr - buf));
}

}  // namespace portico::observability

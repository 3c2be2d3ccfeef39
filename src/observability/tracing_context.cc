#include "observability/tracing_context.h"

#include <cstring>

namespace portico::observability {

namespace {


/// Lowercase hex only: W3C and B3 both define ids as lower-hex, so "ABC" is malformed.
int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/// Exactly 16 lower-hex digits.
bool parseHex64(std::string_view s, uint64_t& out) {
  if (s.size() != 16) return false;
  uint64_t v = 0;
  for (char c : s) {
    int d = hexDigit(c);
    if (d < 0) return false;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  out = v;
  return true;
}

/// A trace id of 32 digits, or (`allow64`, B3) 16; never all zeros.
bool parseTraceId(std::string_view s, bool allow64, IncomingContext& out) {
  uint64_t hi = 0, lo = 0;
  if (s.size() == 32) {
    if (!parseHex64(s.substr(0, 16), hi) || !parseHex64(s.substr(16), lo)) return false;
    out.traceId64 = false;
  } else if (allow64 && s.size() == 16) {
    if (!parseHex64(s, lo)) return false;
    out.traceId64 = true;
  } else {
    return false;
  }
  if (hi == 0 && lo == 0) return false;
  out.traceHi = hi;
  out.traceLo = lo;
  return true;
}

bool parseSpanId(std::string_view s, uint64_t& out) { return parseHex64(s, out) && out != 0; }

/// The B3 sampling state: "0", "1", "d".
bool parseB3Sampling(std::string_view s, IncomingContext& out) {
  if (s == "1") out.sampling = SamplingDecision::Accept;
  else if (s == "0") out.sampling = SamplingDecision::Deny;
  else if (s == "d") {
    out.sampling = SamplingDecision::Accept;
    out.debug = true;
  } else {
    return false;
  }
  return true;
}

/// The one value of a header that must appear at most once; null when absent or repeated
/// (`repeated` tells which).
const std::string* single(const http::HeaderMap& headers, std::string_view name, bool& repeated) {
  const std::string* found = nullptr;
  for (const http::HeaderEntry& h : headers) {
    if (h.name != name) continue;
    if (found) {
      repeated = true;
      return nullptr;
    }
    found = &h.value;
  }
  return found;
}

}  // namespace

const char* toString(TraceFormat f) {
  switch (f) {
  case TraceFormat::W3C: return "w3c";
  case TraceFormat::B3Single: return "b3";
  case TraceFormat::B3Multi: return "b3multi";
  }
  return "w3c";
}

namespace {

/// The 8 lowercase hex digits of `x`, most significant first, as the bytes of a word: each
/// nibble is spread into its own byte, then turned into '0'-'9' / 'a'-'f' in all bytes at once
/// (about 20 instructions where a digit loop takes about 100).
uint64_t hex8(uint32_t x) {
  uint64_t y = x;
  y = (y | (y << 16)) & 0x0000ffff0000ffffULL;
  y = (y | (y << 8)) & 0x00ff00ff00ff00ffULL;
  y = (y | (y << 4)) & 0x0f0f0f0f0f0f0f0fULL;  // byte i holds nibble i (least significant first)
  y = __builtin_bswap64(y);                      // most significant first in memory (little endian)
  const uint64_t letters = ((y + 0x0606060606060606ULL) >> 4) & 0x0101010101010101ULL;  // nibble > 9
  return y + 0x3030303030303030ULL + letters * ('a' - '0' - 10);
}

}  // namespace

void hex16(uint64_t v, char* out) {
  static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "hex8 lays digits out little-endian");
  const uint64_t hi = hex8(static_cast<uint32_t>(v >> 32)), lo = hex8(static_cast<uint32_t>(v));
  memcpy(out, &hi, 8);
  memcpy(out + 8, &lo, 8);
}

bool parseTraceparent(std::string_view v, IncomingContext& out) {
  // version "-" trace-id(32) "-" parent-id(16) "-" flags(2); a later version may append
  // "-" and more fields, which we may not interpret (W3C Trace Context §3.2.4).
  if (v.size() < 55) return false;
  int v0 = hexDigit(v[0]), v1 = hexDigit(v[1]);
  if (v0 < 0 || v1 < 0) return false;
  int version = v0 * 16 + v1;
  if (version == 0xff) return false;
  if (version == 0 && v.size() != 55) return false;
  if (v.size() > 55 && v[55] != '-') return false;
  if (v[2] != '-' || v[35] != '-' || v[52] != '-') return false;
  IncomingContext c;
  if (!parseTraceId(v.substr(3, 32), false, c)) return false;
  if (!parseSpanId(v.substr(36, 16), c.spanId)) return false;
  int f0 = hexDigit(v[53]), f1 = hexDigit(v[54]);
  if (f0 < 0 || f1 < 0) return false;
  c.sampling = (f1 & 1) ? SamplingDecision::Accept : SamplingDecision::Deny;
  c.hasIds = true;
  c.format = TraceFormat::W3C;
  out = c;
  return true;
}

bool parseB3Single(std::string_view v, IncomingContext& out) {
  IncomingContext c;
  c.format = TraceFormat::B3Single;
  if (v.size() == 1) {  // sampling only: "0", "1" or "d"
    if (!parseB3Sampling(v, c)) return false;
    out = c;
    return true;
  }
  // {trace}-{span}[-{sampling}[-{parent}]]
  size_t d1 = v.find('-');
  if (d1 == std::string_view::npos) return false;
  if (!parseTraceId(v.substr(0, d1), true, c)) return false;
  std::string_view rest = v.substr(d1 + 1);
  size_t d2 = rest.find('-');
  if (!parseSpanId(rest.substr(0, d2), c.spanId)) return false;
  if (d2 != std::string_view::npos) {
    rest = rest.substr(d2 + 1);
    size_t d3 = rest.find('-');
    if (!parseB3Sampling(rest.substr(0, d3), c)) return false;
    uint64_t parent = 0;
    if (d3 != std::string_view::npos && !parseSpanId(rest.substr(d3 + 1), parent)) return false;
  }
  c.hasIds = true;
  out = c;
  return true;
}

bool parseB3Multi(const std::string* traceId, const std::string* spanId,
                  const std::string* parentSpanId, const std::string* sampled,
                  const std::string* flags, IncomingContext& out) {
  IncomingContext c;
  c.format = TraceFormat::B3Multi;
  if (flags && *flags == "1") {
    c.debug = true;
    c.sampling = SamplingDecision::Accept;
  } else if (sampled) {
    // "true"/"false" predate the B3 spec; it asks readers to accept them.
    if (*sampled == "1" || *sampled == "true") c.sampling = SamplingDecision::Accept;
    else if (*sampled == "0" || *sampled == "false") c.sampling = SamplingDecision::Deny;
    else return false;
  }
  if (!traceId && !spanId) {
    if (c.sampling == SamplingDecision::Defer) return false;  // nothing at all
    out = c;  // a sampling decision without ids
    return true;
  }
  if (!traceId || !spanId) return false;
  if (!parseTraceId(*traceId, true, c) || !parseSpanId(*spanId, c.spanId)) return false;
  uint64_t parent = 0;
  if (parentSpanId && !parseSpanId(*parentSpanId, parent)) return false;
  c.hasIds = true;
  out = c;
  return true;
}

IncomingContext parseIncoming(const http::HeaderMap& headers) {
  // One pass to see which families are present (most requests carry none).
  bool anyW3C = false, anyB3 = false, anyB3Multi = false;
  for (const http::HeaderEntry& h : headers) {
    const std::string& n = h.name;
    if (n.empty()) continue;
    if (n[0] == 't' && n == "traceparent") anyW3C = true;
    else if (n[0] == 'b' && n == "b3") anyB3 = true;
    else if (n[0] == 'x' && n.starts_with("x-b3-")) anyB3Multi = true;
  }
  IncomingContext c;
  bool repeated = false;
  if (anyW3C) {
    const std::string* tp = single(headers, "traceparent", repeated);
    if (tp && parseTraceparent(*tp, c)) return c;
  }
  if (anyB3) {
    repeated = false;
    const std::string* b3 = single(headers, "b3", repeated);
    if (b3 && parseB3Single(*b3, c)) return c;
  }
  if (anyB3Multi) {
    bool r1 = false, r2 = false, r3 = false, r4 = false, r5 = false;
    const std::string* t = single(headers, "x-b3-traceid", r1);
    const std::string* s = single(headers, "x-b3-spanid", r2);
    const std::string* p = single(headers, "x-b3-parentspanid", r3);
    const std::string* smp = single(headers, "x-b3-sampled", r4);
    const std::string* f = single(headers, "x-b3-flags", r5);
    if (!(r1 || r2 || r3 || r4 || r5) && parseB3Multi(t, s, p, smp, f, c)) return c;
  }
  return IncomingContext{};
}

void appendTraceHeaders(Buffer& out, const TraceContext& ctx, uint64_t spanId, uint64_t parentId) {
  // Every request that is traced, sampled or not, carries these upstream: written in place,
  // one reserve for all lines (the longest, B3 multi with a parent, is 132 bytes).
  char* const start = out.reserve(160);
  char* p = start;
  auto put = [&p](std::string_view s) {
    memcpy(p, s.data(), s.size());
    p += s.size();
  };
  auto id = [&p](uint64_t v) {
    hex16(v, p);
    p += 16;
  };
  // A B3 caller's 64-bit trace id stays 64-bit (its peers may not take 128-bit ids).
  auto traceId = [&] {
    if (!(ctx.traceId64 && ctx.traceHi == 0 && ctx.format != TraceFormat::W3C)) id(ctx.traceHi);
    id(ctx.traceLo);
  };
  switch (ctx.format) {
  case TraceFormat::W3C:
    put("traceparent: 00-");
    traceId();
    *p++ = '-';
    id(spanId);
    put(ctx.sampled ? "-01\r\n" : "-00\r\n");
    break;
  case TraceFormat::B3Single:
    put("b3: ");
    traceId();
    *p++ = '-';
    id(spanId);
    put(ctx.debug ? "-d" : ctx.sampled ? "-1" : "-0");
    if (parentId) {
      *p++ = '-';
      id(parentId);
    }
    put("\r\n");
    break;
  case TraceFormat::B3Multi:
    put("x-b3-traceid: ");
    traceId();
    put("\r\nx-b3-spanid: ");
    id(spanId);
    put("\r\n");
    if (parentId) {
      put("x-b3-parentspanid: ");
      id(parentId);
      put("\r\n");
    }
    // Debug implies an accept decision: B3 sends x-b3-flags instead of x-b3-sampled.
    put(ctx.debug ? "x-b3-flags: 1\r\n" : ctx.sampled ? "x-b3-sampled: 1\r\n" : "x-b3-sampled: 0\r\n");
    break;
  }
  out.commit(static_cast<size_t>(p - start));
}

}  // namespace portico::observability

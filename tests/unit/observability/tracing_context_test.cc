// Trace context headers: W3C traceparent and B3 (single and multi) parsing — valid inputs,
// every kind of malformed input (ignored: the request then starts a new root) — and the
// headers written for the upstream request.
#include <gtest/gtest.h>

#include <string>

#include "observability/tracing_context.h"

namespace portico::observability {
namespace {

constexpr const char* kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr const char* kSpan = "00f067aa0ba902b7";

std::string traceparent(std::string_view trace = kTrace, std::string_view span = kSpan,
                        std::string_view flags = "01", std::string_view version = "00") {
  return std::string(version) + "-" + std::string(trace) + "-" + std::string(span) + "-" + std::string(flags);
}

IncomingContext parse(std::initializer_list<std::pair<const char*, std::string>> headers) {
  http::HeaderMap map;
  for (const auto& [n, v] : headers) map.add(n, v);
  return parseIncoming(map);
}

TEST(TracingContext, ParsesW3CTraceparent) {
  IncomingContext c;
  ASSERT_TRUE(parseTraceparent(traceparent(), c));
  EXPECT_TRUE(c.hasIds);
  EXPECT_EQ(c.format, TraceFormat::W3C);
  EXPECT_EQ(c.traceHi, 0x4bf92f3577b34da6ULL);
  EXPECT_EQ(c.traceLo, 0xa3ce929d0e0e4736ULL);
  EXPECT_EQ(c.spanId, 0x00f067aa0ba902b7ULL);
  EXPECT_EQ(c.sampling, SamplingDecision::Accept);
  ASSERT_TRUE(parseTraceparent(traceparent(kTrace, kSpan, "00"), c));
  EXPECT_EQ(c.sampling, SamplingDecision::Deny);
  // Only bit 0 means sampled; other flag bits are kept out of the decision.
  ASSERT_TRUE(parseTraceparent(traceparent(kTrace, kSpan, "03"), c));
  EXPECT_EQ(c.sampling, SamplingDecision::Accept);
}

TEST(TracingContext, AcceptsLaterW3CVersionsWithMoreFields) {
  IncomingContext c;
  EXPECT_TRUE(parseTraceparent(traceparent(kTrace, kSpan, "01", "01"), c));
  EXPECT_TRUE(parseTraceparent(traceparent(kTrace, kSpan, "01", "cc") + "-what-comes-next", c));
  // Version 00 has exactly four fields; a longer later version needs a '-' after the flags.
  EXPECT_FALSE(parseTraceparent(traceparent() + "-extra", c));
  EXPECT_FALSE(parseTraceparent(traceparent(kTrace, kSpan, "01", "01") + "x", c));
}

TEST(TracingContext, RejectsMalformedTraceparent) {
  IncomingContext c;
  const std::string bad[] = {
      "",
      traceparent().substr(0, 54),                                       // too short
      traceparent(std::string(kTrace).substr(0, 31) + "", kSpan),       // 31-digit trace id
      traceparent(std::string(kTrace) + "0", kSpan),                    // 33-digit trace id
      traceparent(kTrace, "00f067aa0ba902b"),                           // 15-digit span id
      traceparent("00000000000000000000000000000000", kSpan),           // all-zero trace id
      traceparent(kTrace, "0000000000000000"),                          // all-zero span id
      traceparent("4BF92F3577B34DA6A3CE929D0E0E4736", kSpan),           // uppercase
      traceparent(kTrace, "00F067AA0BA902B7"),                          // uppercase span
      traceparent(kTrace, kSpan, "0A"),                                 // uppercase flags
      traceparent("4bf92f3577b34da6a3ce929d0e0e473g", kSpan),           // not hex
      traceparent(kTrace, kSpan, "0x"),                                 // bad flags
      traceparent(kTrace, kSpan, "01", "ff"),                           // forbidden version
      traceparent(kTrace, kSpan, "01", "0g"),                           // bad version
      std::string("00_") + kTrace + "-" + kSpan + "-01",                // wrong separator
      std::string("00-") + kTrace + "-" + kSpan + "_01",
  };
  for (const std::string& v : bad) EXPECT_FALSE(parseTraceparent(v, c)) << v;
}

TEST(TracingContext, ParsesB3Single) {
  IncomingContext c;
  ASSERT_TRUE(parseB3Single(std::string(kTrace) + "-" + kSpan + "-1-" + "05e3ac9a4f6e3b90", c));
  EXPECT_TRUE(c.hasIds);
  EXPECT_EQ(c.format, TraceFormat::B3Single);
  EXPECT_EQ(c.sampling, SamplingDecision::Accept);
  EXPECT_FALSE(c.traceId64);
  ASSERT_TRUE(parseB3Single(std::string("a3ce929d0e0e4736-") + kSpan, c));
  EXPECT_TRUE(c.traceId64);
  EXPECT_EQ(c.traceHi, 0u);
  EXPECT_EQ(c.traceLo, 0xa3ce929d0e0e4736ULL);
  EXPECT_EQ(c.sampling, SamplingDecision::Defer);
  ASSERT_TRUE(parseB3Single(std::string(kTrace) + "-" + kSpan + "-d", c));
  EXPECT_TRUE(c.debug);
  EXPECT_EQ(c.sampling, SamplingDecision::Accept);
  ASSERT_TRUE(parseB3Single(std::string(kTrace) + "-" + kSpan + "-0", c));
  EXPECT_EQ(c.sampling, SamplingDecision::Deny);
  // Sampling only: a decision, no ids.
  ASSERT_TRUE(parseB3Single("0", c));
  EXPECT_FALSE(c.hasIds);
  EXPECT_EQ(c.sampling, SamplingDecision::Deny);
}

TEST(TracingContext, RejectsMalformedB3Single) {
  IncomingContext c;
  const std::string t(kTrace), s(kSpan);
  const std::string bad[] = {
      "", "2", "x", t, t + "-", t + "-" + s + "-", t + "-" + s + "-2", t + "-" + s + "-1-",
      t + "-" + s + "-1-123", t.substr(0, 20) + "-" + s, t + "-" + s.substr(0, 15),
      "00000000000000000000000000000000-" + s, t + "-0000000000000000",
      "4BF92F3577B34DA6A3CE929D0E0E4736-" + s, t + "-00F067AA0BA902B7",
      t + "-" + s + "-1-0000000000000000", t + "-" + s + "-1-05e3ac9a4f6e3b9z"};
  for (const std::string& v : bad) EXPECT_FALSE(parseB3Single(v, c)) << v;
}

TEST(TracingContext, ParsesB3Multi) {
  IncomingContext c;
  std::string t = kTrace, s = kSpan, p = "05e3ac9a4f6e3b90", one = "1", zero = "0", yes = "true";
  ASSERT_TRUE(parseB3Multi(&t, &s, &p, &one, nullptr, c));
  EXPECT_EQ(c.format, TraceFormat::B3Multi);
  EXPECT_EQ(c.sampling, SamplingDecision::Accept);
  ASSERT_TRUE(parseB3Multi(&t, &s, nullptr, nullptr, nullptr, c));
  EXPECT_EQ(c.sampling, SamplingDecision::Defer);
  ASSERT_TRUE(parseB3Multi(&t, &s, nullptr, &yes, nullptr, c));  // legacy "true"
  EXPECT_EQ(c.sampling, SamplingDecision::Accept);
  ASSERT_TRUE(parseB3Multi(&t, &s, nullptr, &zero, &one, c));  // debug wins
  EXPECT_TRUE(c.debug);
  EXPECT_EQ(c.sampling, SamplingDecision::Accept);
  ASSERT_TRUE(parseB3Multi(nullptr, nullptr, nullptr, &zero, nullptr, c));  // decision only
  EXPECT_FALSE(c.hasIds);
  EXPECT_EQ(c.sampling, SamplingDecision::Deny);

  std::string upper = "4BF92F3577B34DA6A3CE929D0E0E4736", zeros = "0000000000000000", maybe = "2";
  EXPECT_FALSE(parseB3Multi(&t, nullptr, nullptr, &one, nullptr, c));  // span id missing
  EXPECT_FALSE(parseB3Multi(nullptr, &s, nullptr, nullptr, nullptr, c));
  EXPECT_FALSE(parseB3Multi(&upper, &s, nullptr, nullptr, nullptr, c));
  EXPECT_FALSE(parseB3Multi(&t, &zeros, nullptr, nullptr, nullptr, c));
  EXPECT_FALSE(parseB3Multi(&t, &s, &zeros, nullptr, nullptr, c));
  EXPECT_FALSE(parseB3Multi(&t, &s, nullptr, &maybe, nullptr, c));
  EXPECT_FALSE(parseB3Multi(nullptr, nullptr, nullptr, nullptr, nullptr, c));
}

TEST(TracingContext, IncomingPrecedenceAndMalformedFallBack) {
  // Nothing: a new root (hasIds false), W3C by default, sampling left to us.
  IncomingContext c = parse({{"host", "x"}});
  EXPECT_FALSE(c.hasIds);
  EXPECT_EQ(c.format, TraceFormat::W3C);
  EXPECT_EQ(c.sampling, SamplingDecision::Defer);
  // W3C wins over B3 when both are valid.
  c = parse({{"b3", std::string("a3ce929d0e0e4736-") + kSpan}, {"traceparent", traceparent()}});
  EXPECT_EQ(c.format, TraceFormat::W3C);
  // A malformed traceparent falls back to a valid b3 …
  c = parse({{"traceparent", "garbage"}, {"b3", std::string(kTrace) + "-" + kSpan + "-1"}});
  EXPECT_EQ(c.format, TraceFormat::B3Single);
  EXPECT_TRUE(c.hasIds);
  // … and, alone, is ignored: a new root, not an error.
  c = parse({{"traceparent", traceparent("00000000000000000000000000000000")}});
  EXPECT_FALSE(c.hasIds);
  EXPECT_EQ(c.sampling, SamplingDecision::Defer);
  // Two traceparent headers are invalid (W3C §3.2).
  c = parse({{"traceparent", traceparent()}, {"traceparent", traceparent()}});
  EXPECT_FALSE(c.hasIds);
  // B3 multi.
  c = parse({{"x-b3-traceid", kTrace}, {"x-b3-spanid", kSpan}, {"x-b3-sampled", "0"}});
  EXPECT_EQ(c.format, TraceFormat::B3Multi);
  EXPECT_TRUE(c.hasIds);
  EXPECT_EQ(c.sampling, SamplingDecision::Deny);
  c = parse({{"x-b3-traceid", "abc"}, {"x-b3-spanid", kSpan}, {"x-b3-sampled", "1"}});
  EXPECT_FALSE(c.hasIds);
  EXPECT_EQ(c.sampling, SamplingDecision::Defer);  // a malformed set is ignored as a whole
}

TEST(TracingContext, TraceHeaderNames) {
  EXPECT_TRUE(isTraceHeader("traceparent", false));
  EXPECT_TRUE(isTraceHeader("tracestate", false));
  EXPECT_FALSE(isTraceHeader("tracestate", true));
  EXPECT_TRUE(isTraceHeader("b3", false));
  EXPECT_TRUE(isTraceHeader("x-b3-traceid", true));
  EXPECT_TRUE(isTraceHeader("x-b3-sampled", true));
  EXPECT_FALSE(isTraceHeader("x-b3", false));
  EXPECT_FALSE(isTraceHeader("b33", false));
  EXPECT_FALSE(isTraceHeader("x-request-id", false));
  EXPECT_FALSE(isTraceHeader("", false));
}

TEST(TracingContext, WritesEachFormat) {
  TraceContext ctx;
  ctx.traceHi = 0x4bf92f3577b34da6ULL;
  ctx.traceLo = 0xa3ce929d0e0e4736ULL;
  ctx.sampled = true;
  Buffer out;
  appendTraceHeaders(out, ctx, 0x1122334455667788ULL, 0x0102030405060708ULL);
  EXPECT_EQ(out.view(), "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-1122334455667788-01\r\n");
  ctx.sampled = false;
  out.clear();
  appendTraceHeaders(out, ctx, 0x1122334455667788ULL, 0);
  EXPECT_EQ(out.view(), "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-1122334455667788-00\r\n");

  ctx.format = TraceFormat::B3Single;
  ctx.sampled = true;
  out.clear();
  appendTraceHeaders(out, ctx, 0x1122334455667788ULL, 0x0102030405060708ULL);
  EXPECT_EQ(out.view(), "b3: 4bf92f3577b34da6a3ce929d0e0e4736-1122334455667788-1-0102030405060708\r\n");
  ctx.debug = true;
  ctx.traceHi = 0;
  ctx.traceId64 = true;  // a 64-bit B3 id stays 64-bit
  out.clear();
  appendTraceHeaders(out, ctx, 0x1122334455667788ULL, 0);
  EXPECT_EQ(out.view(), "b3: a3ce929d0e0e4736-1122334455667788-d\r\n");

  ctx.format = TraceFormat::B3Multi;
  ctx.debug = false;
  ctx.sampled = false;
  out.clear();
  appendTraceHeaders(out, ctx, 0x1122334455667788ULL, 0x0102030405060708ULL);
  EXPECT_EQ(out.view(),
            "x-b3-traceid: a3ce929d0e0e4736\r\nx-b3-spanid: 1122334455667788\r\n"
            "x-b3-parentspanid: 0102030405060708\r\nx-b3-sampled: 0\r\n");
  ctx.debug = true;
  out.clear();
  appendTraceHeaders(out, ctx, 0x1122334455667788ULL, 0);
  EXPECT_EQ(out.view(),
            "x-b3-traceid: a3ce929d0e0e4736\r\nx-b3-spanid: 1122334455667788\r\nx-b3-flags: 1\r\n");
}

TEST(TracingContext, RoundTripsThroughItsOwnParser) {
  TraceContext ctx;
  ctx.traceHi = 1;
  ctx.traceLo = 2;
  ctx.sampled = true;
  for (TraceFormat f : {TraceFormat::W3C, TraceFormat::B3Single, TraceFormat::B3Multi}) {
    ctx.format = f;
    Buffer out;
    appendTraceHeaders(out, ctx, 0xabcdef, 0x1234);
    http::HeaderMap map;
    std::string_view text = out.view();
    while (!text.empty()) {
      size_t colon = text.find(": "), eol = text.find("\r\n");
      map.add(text.substr(0, colon), text.substr(colon + 2, eol - colon - 2));
      text.remove_prefix(eol + 2);
    }
    IncomingContext in = parseIncoming(map);
    EXPECT_TRUE(in.hasIds) << toString(f);
    EXPECT_EQ(in.format, f);
    EXPECT_EQ(in.traceHi, 1u);
    EXPECT_EQ(in.traceLo, 2u);
    EXPECT_EQ(in.spanId, 0xabcdefu);
    EXPECT_EQ(in.sampling, SamplingDecision::Accept);
  }
}

TEST(TracingContext, Hex16MatchesAPlainDigitLoop) {
  uint64_t v = 0x0123456789abcdefULL;
  for (int i = 0; i < 10000; ++i) {
    v = v * 6364136223846793005ULL + 1442695040888963407ULL;
    for (uint64_t x : {v, uint64_t{0}, ~uint64_t{0}, v >> (i % 64)}) {
      char got[16], want[16];
      hex16(x, got);
      for (int d = 0; d < 16; ++d) want[d] = "0123456789abcdef"[(x >> (60 - 4 * d)) & 15];
      ASSERT_EQ(std::string_view(got, 16), std::string_view(want, 16)) << x;
    }
  }
}

}  // namespace
}  // namespace portico::observability

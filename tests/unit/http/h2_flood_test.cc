// Floods against H2ServerSession with hand-built frames (RFC 9113 §4): each ends in a GOAWAY
// with ENHANCE_YOUR_CALM, counted per second from an injected clock.
#include <gtest/gtest.h>

#include "h2_test_util.h"

namespace portico::http {
namespace {

using namespace h2test;

struct FloodServer {
  MonoMs now = 1000;
  ServerApp app;
  H2ServerSession session;
  Buffer out;
  explicit FloodServer(H2Limits limits = {}) : session(app, limits, [this] { return now; }) {
    app.session = &session;
  }
  bool feed(const std::string& bytes) {
    bool ok = session.receive(bytes.data(), bytes.size());
    session.produceOutput(out);
    return ok;
  }
  std::optional<uint32_t> goaway() const { return goawayCode(out.view()); }
};

std::string repeat(const std::string& unit, int n) {
  std::string s;
  s.reserve(unit.size() * n);
  for (int i = 0; i < n; ++i) s += unit;
  return s;
}

// `flood` after the preface must end the connection with GOAWAY(ENHANCE_YOUR_CALM).
void expectCalm(const std::string& flood, H2Limits limits = {}) {
  FloodServer s(limits);
  EXPECT_FALSE(s.feed(preface() + flood));
  EXPECT_EQ(s.goaway(), kH2EnhanceYourCalm);
  EXPECT_TRUE(s.session.wantsClose());
}

const std::string kPingFrame = frame(kPing, 0, 0, std::string(8, 'p'));

TEST(H2Flood, TenThousandPings) {
  FloodServer s;
  EXPECT_FALSE(s.feed(preface() + repeat(kPingFrame, 10000)));
  EXPECT_EQ(s.goaway(), kH2EnhanceYourCalm);
  EXPECT_TRUE(s.session.wantsClose());
  // At most the allowed number of PING ACKs went out before the GOAWAY.
  size_t acks = 0;
  for (const Frame& f : parseFrames(s.out.view())) acks += f.type == kPing;
  EXPECT_LE(acks, 1000u);
}

TEST(H2Flood, PingsBelowTheRateAreFine) {
  FloodServer s;
  EXPECT_TRUE(s.feed(preface()));
  for (int second = 0; second < 5; ++second) {
    EXPECT_TRUE(s.feed(repeat(kPingFrame, 900))) << "second " << second;
    s.now += 1000;
  }
  EXPECT_FALSE(s.goaway().has_value());
  EXPECT_FALSE(s.session.wantsClose());
}

TEST(H2Flood, SettingsFlood) {
  expectCalm(repeat(frame(kSettings, 0, 0, std::string("\x00\x03\x00\x00\x00\x64", 6)), 5000));
}

TEST(H2Flood, RapidReset) {
  FloodServer s;
  s.app.respondOnEnd = false;
  std::string in = preface();
  for (uint32_t id = 1; id < 2 * 1000; id += 2) in += getHeaders(id) + rstStream(id, kH2Cancel);
  EXPECT_FALSE(s.feed(in));
  EXPECT_EQ(s.goaway(), kH2EnhanceYourCalm);
  // Streams the app saw before the cut were each closed once with the client's code.
  EXPECT_GE(s.app.closedCount, 200);
  for (auto& [id, r] : s.app.reqs)
    if (r.closed) {
      EXPECT_EQ(r.closeCode, kH2Cancel);
    }
}

TEST(H2Flood, ResetsSpreadOverTimeAreFine) {
  FloodServer s;
  s.app.respondOnEnd = false;
  EXPECT_TRUE(s.feed(preface()));
  uint32_t id = 1;
  for (int second = 0; second < 3; ++second) {
    std::string in;
    for (int i = 0; i < 150; ++i, id += 2) in += getHeaders(id) + rstStream(id, kH2Cancel);
    EXPECT_TRUE(s.feed(in));
    s.now += 1000;
  }
  EXPECT_FALSE(s.goaway().has_value());
  EXPECT_EQ(s.app.closedCount, 450);
}

TEST(H2Flood, ClientCausedStreamErrorsCountAsResets) {
  // "MadeYouReset": malformed requests make the server reset streams for the client.
  FloodServer s;
  std::string bad = hpack({{":method", "GET"}, {":scheme", "http"}, {":authority", "a"}});
  std::string in = preface();
  for (uint32_t id = 1; id < 2 * 1000; id += 2)
    in += frame(kHeaders, kEndHeaders | kEndStream, id, bad);
  EXPECT_FALSE(s.feed(in));
  EXPECT_EQ(s.goaway(), kH2EnhanceYourCalm);
}

// A request head on stream 1 with `flags` (no END_HEADERS: CONTINUATION frames follow).
std::string openStream(uint8_t flags, std::string_view method = "GET") {
  return frame(kHeaders, flags, 1,
               hpack({{":method", std::string(method)}, {":scheme", "http"}, {":authority", "a"},
                      {":path", "/"}}));
}

TEST(H2Flood, EmptyDataFrames) {
  expectCalm(openStream(kEndHeaders, "POST") + repeat(frame(kData, 0, 1, {}), 5000));
}

TEST(H2Flood, ContinuationFlood) {
  // nghttp2 caps CONTINUATION frames per header block (8); past that the connection ends.
  expectCalm(openStream(0) + repeat(frame(kContinuation, 0, 1, hpack({{"x-c", "v"}})), 50));
}

TEST(H2Flood, EmptyContinuationFlood) {
  H2Limits l;
  l.maxControlFramesPerSecond = 5;
  expectCalm(openStream(0) + repeat(frame(kContinuation, 0, 1, {}), 7), l);
}

TEST(H2Flood, PriorityFlood) {
  expectCalm(repeat(frame(kPriority, 0, 3, std::string("\x00\x00\x00\x01\x10", 5)), 3000));
}

TEST(H2Flood, GarbageAfterPrefaceIsAConnectionError) {
  FloodServer s;
  std::string in = preface() + frame(kData, 0, 0, "x");  // DATA on stream 0
  s.feed(in);
  EXPECT_EQ(s.goaway(), kH2ProtocolError);
  EXPECT_TRUE(s.session.wantsClose());
}

}  // namespace
}  // namespace portico::http

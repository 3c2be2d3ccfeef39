// H2ClientSession talking to H2ServerSession in memory (both on nghttp2, real peers of each
// other), plus hand-built frames for requests a well-behaved client would never send.
#include <gtest/gtest.h>

#include "h2_test_util.h"

namespace portico::http {
namespace {

using namespace h2test;

struct Pair {
  ServerApp sapp;
  ClientApp capp;
  H2ServerSession server;
  H2ClientSession client;
  explicit Pair(H2Limits serverLimits = {}, H2Limits clientLimits = {})
      : server(sapp, serverLimits), client(capp, clientLimits) {
    sapp.session = &server;
    capp.session = &client;
  }
  std::string pump() { return h2test::pump(client, server); }
};

std::vector<H2Field> request(std::string_view method, std::string_view path) {
  return {{":method", method}, {":scheme", "http"}, {":authority", "api.test"}, {":path", path}};
}

TEST(H2Session, Get) {
  Pair p;
  auto h = request("GET", "/hello");
  h.push_back({"accept", "*/*"});
  h.push_back({"connection", "keep-alive"});  // dropped on the way out
  int32_t id = p.client.submitRequest(h, true);
  ASSERT_EQ(id, 1);
  p.pump();
  auto& r = p.sapp.reqs[id];
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.scheme, "http");
  EXPECT_EQ(r.authority, "api.test");
  EXPECT_EQ(r.path, "/hello");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "accept");
  EXPECT_TRUE(r.headEnd);
  EXPECT_TRUE(r.ended);
  EXPECT_TRUE(r.closed);
  EXPECT_EQ(r.closeCode, 0u);
  auto& resp = p.capp.resps[id];
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.body, "hello");
  ASSERT_EQ(resp.headers.size(), 1u);  // connection: close was dropped
  EXPECT_EQ(resp.headers[0].first, "content-type");
  EXPECT_TRUE(resp.ended);
  EXPECT_TRUE(resp.closed);
  EXPECT_EQ(resp.closeCode, 0u);
  EXPECT_EQ(p.server.activeStreams(), 0u);
  EXPECT_EQ(p.client.activeStreams(), 0u);
  EXPECT_FALSE(p.server.wantsClose());
}

TEST(H2Session, PostOneMebibyteFollowsConsumed) {
  Pair p;
  p.sapp.autoConsume = false;  // the "upstream" is stalled
  std::string body(1 << 20, '\0');
  for (size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
  auto h = request("POST", "/upload");
  std::string len = std::to_string(body.size());
  h.push_back({"content-length", len});
  int32_t id = p.client.submitRequest(h, false);
  p.client.sendData(id, body.data(), body.size(), true);
  p.pump();
  auto& r = p.sapp.reqs[id];
  EXPECT_EQ(r.contentLength, body.size());
  // Without consumed() the client stops at the stream window we advertised.
  EXPECT_EQ(r.body.size(), H2Limits{}.initialStreamWindow);
  EXPECT_FALSE(r.ended);
  EXPECT_EQ(p.client.queuedBytes(id), body.size() - r.body.size());
  // The app forwards what it has, then consumes as it goes.
  p.sapp.autoConsume = true;
  p.server.consumed(id, r.body.size());
  p.pump();
  EXPECT_EQ(r.body.size(), body.size());
  EXPECT_TRUE(r.body == body);
  EXPECT_TRUE(r.ended);
  EXPECT_EQ(p.client.queuedBytes(id), 0u);
  EXPECT_EQ(p.capp.resps[id].drained, 1);  // the queue fell below the low mark once
  EXPECT_TRUE(p.capp.resps[id].closed);
  // A second large upload on the same connection: the connection window was given back.
  int32_t id2 = p.client.submitRequest(h, false);
  p.client.sendData(id2, body.data(), body.size(), true);
  p.pump();
  EXPECT_EQ(p.sapp.reqs[id2].body.size(), body.size());
}

TEST(H2Session, UnconsumedBytesOfClosedStreamsReturnToTheConnection) {
  H2Limits small;
  small.initialStreamWindow = 64 * 1024;
  small.connectionWindow = 100 * 1024;
  Pair p(small);
  p.sapp.autoConsume = false;
  p.sapp.respondOnEnd = false;
  std::string body(64 * 1024, 'x');
  // Two streams each fill their window; the connection window (100K) runs out.
  int32_t a = p.client.submitRequest(request("POST", "/a"), false);
  p.client.sendData(a, body.data(), body.size(), false);
  p.pump();
  int32_t b = p.client.submitRequest(request("POST", "/b"), false);
  p.client.sendData(b, body.data(), body.size(), true);
  p.pump();
  EXPECT_EQ(p.sapp.reqs[b].body.size(), 100u * 1024 - 64 * 1024);
  // The app drops stream a without consuming: the codec credits its bytes on close.
  p.server.resetStream(a, kH2Cancel);
  p.pump();
  EXPECT_TRUE(p.sapp.reqs[a].closed);
  EXPECT_EQ(p.sapp.reqs[a].closeCode, kH2Cancel);
  EXPECT_EQ(p.capp.resps[a].closeCode, kH2Cancel);
  p.server.consumed(b, p.sapp.reqs[b].body.size());
  p.pump();
  EXPECT_EQ(p.sapp.reqs[b].body.size(), body.size());
  EXPECT_TRUE(p.sapp.reqs[b].ended);
}

TEST(H2Session, TrailersBothWays) {
  Pair p;
  p.sapp.responseBody = "payload";
  p.sapp.responseTrailers = {{"grpc-status", "0"}, {"grpc-message", "ok"}};
  auto h = request("POST", "/pkg.Svc/Method");
  h.push_back({"te", "trailers"});
  h.push_back({"content-type", "application/grpc"});
  int32_t id = p.client.submitRequest(h, false);
  p.client.sendData(id, "abc", 3, false);
  H2Field t[] = {{"x-checksum", "42"}};
  p.client.sendTrailers(id, t);
  p.pump();
  auto& r = p.sapp.reqs[id];
  EXPECT_EQ(r.body, "abc");
  ASSERT_EQ(r.trailers.size(), 1u);
  EXPECT_EQ(r.trailers[0], (std::pair<std::string, std::string>{"x-checksum", "42"}));
  EXPECT_TRUE(r.ended);
  auto& resp = p.capp.resps[id];
  EXPECT_EQ(resp.body, "payload");
  ASSERT_EQ(resp.trailers.size(), 2u);
  EXPECT_EQ(resp.trailers[0].first, "grpc-status");
  EXPECT_EQ(resp.trailers[0].second, "0");
  EXPECT_TRUE(resp.ended);
  EXPECT_TRUE(resp.closed);
  EXPECT_EQ(resp.closeCode, 0u);
}

TEST(H2Session, ClientResetMidStream) {
  Pair p;
  p.sapp.respondOnEnd = false;
  int32_t id = p.client.submitRequest(request("POST", "/x"), false);
  p.client.sendData(id, "part", 4, false);
  p.pump();
  EXPECT_EQ(p.sapp.reqs[id].body, "part");
  p.client.resetStream(id, kH2Cancel);
  p.client.sendData(id, "more", 4, false);  // no-op after the reset
  p.pump();
  auto& r = p.sapp.reqs[id];
  EXPECT_FALSE(r.ended);
  EXPECT_TRUE(r.closed);
  EXPECT_EQ(r.closeCode, kH2Cancel);
  EXPECT_TRUE(p.capp.resps[id].closed);
  EXPECT_EQ(p.server.activeStreams(), 0u);
  // Calls on the closed stream are harmless no-ops.
  p.server.submitResponse(id, 200, {}, true);
  p.server.sendData(id, "x", 1, true);
  p.server.consumed(id, 100);
  EXPECT_EQ(p.server.queuedBytes(id), 0u);
  EXPECT_TRUE(p.pump().empty());
}

TEST(H2Session, ServerResetMidResponse) {
  Pair p;
  p.sapp.respondOnEnd = false;
  int32_t id = p.client.submitRequest(request("GET", "/stream"), true);
  p.pump();
  p.server.submitResponse(id, 200, {}, false);
  p.server.sendData(id, "first", 5, false);
  p.pump();
  EXPECT_EQ(p.capp.resps[id].body, "first");
  p.server.resetStream(id, kH2InternalError);
  p.pump();
  EXPECT_FALSE(p.capp.resps[id].ended);
  EXPECT_EQ(p.capp.resps[id].closeCode, kH2InternalError);
  EXPECT_EQ(p.sapp.reqs[id].closeCode, kH2InternalError);
}

TEST(H2Session, ResponseBeforeRequestBodyStopsTheUpload) {
  Pair p;
  p.sapp.respondOnEnd = false;
  int32_t id = p.client.submitRequest(request("POST", "/early"), false);
  p.client.sendData(id, "a", 1, false);
  p.pump();
  p.server.submitResponse(id, 413, {}, true);
  std::string out = p.pump();
  EXPECT_EQ(resets(out)[id], kH2NoError);
  EXPECT_EQ(p.capp.resps[id].status, 413);
  EXPECT_TRUE(p.capp.resps[id].ended);
  EXPECT_TRUE(p.sapp.reqs[id].closed);
  EXPECT_EQ(p.sapp.reqs[id].closeCode, kH2NoError);
}

TEST(H2Session, InformationalHeadsAreSkippedByTheClient) {
  Pair p;
  p.sapp.respondOnEnd = false;
  int32_t id = p.client.submitRequest(request("GET", "/"), true);
  p.pump();
  H2Field link[] = {{"link", "</style.css>; rel=preload"}};
  p.server.submitResponse(id, 103, link, false);
  p.server.submitResponse(id, 204, {}, true);
  p.pump();
  EXPECT_EQ(p.capp.resps[id].status, 204);
  EXPECT_TRUE(p.capp.resps[id].headers.empty());
  EXPECT_TRUE(p.capp.resps[id].headEnd);
}

TEST(H2Session, ConcurrentStreamLimit) {
  H2Limits two;
  two.maxConcurrentStreams = 2;
  Pair p(two);
  p.sapp.respondOnEnd = false;
  p.pump();  // SETTINGS exchanged
  int32_t a = p.client.submitRequest(request("GET", "/a"), true);
  int32_t b = p.client.submitRequest(request("GET", "/b"), true);
  EXPECT_GT(a, 0);
  EXPECT_GT(b, 0);
  EXPECT_FALSE(p.client.canOpenStream());
  EXPECT_EQ(p.client.submitRequest(request("GET", "/c"), true), -1);
  p.pump();
  p.server.submitResponse(a, 200, {}, true);
  p.pump();
  EXPECT_TRUE(p.client.canOpenStream());
  int32_t c = p.client.submitRequest(request("GET", "/c"), true);
  EXPECT_GT(c, b);
  p.pump();
  EXPECT_EQ(p.sapp.reqs[c].path, "/c");
}

TEST(H2Session, ServerRefusesStreamsBeyondItsLimit) {
  // A client that ignores SETTINGS_MAX_CONCURRENT_STREAMS gets the excess streams refused.
  H2Limits one;
  one.maxConcurrentStreams = 1;
  ServerApp app;
  app.respondOnEnd = false;
  H2ServerSession s(app, one);
  app.session = &s;
  Buffer out;
  s.produceOutput(out);
  std::string in = preface() + frame(kSettings, kAck, 0, {}) + getHeaders(1) + getHeaders(3);
  EXPECT_TRUE(s.receive(in.data(), in.size()));
  out.clear();
  s.produceOutput(out);
  EXPECT_TRUE(app.reqs.count(1));
  EXPECT_FALSE(app.reqs.count(3));
  // nghttp2 treats a stream beyond the acknowledged limit as a connection error.
  EXPECT_FALSE(resets(out.view()).count(3));
  EXPECT_EQ(goawayCode(out.view()), kH2ProtocolError);
  EXPECT_TRUE(s.wantsClose());
}

TEST(H2Session, GracefulShutdown) {
  Pair p;
  p.sapp.respondOnEnd = false;
  int32_t id = p.client.submitRequest(request("GET", "/slow"), true);
  p.pump();
  p.server.shutdown();
  std::string out = p.pump();
  // Notice (last id 2^31-1), then the final GOAWAY after the PING round trip names stream 1.
  std::vector<uint32_t> lastIds;
  for (const Frame& f : parseFrames(out))
    if (f.type == kGoaway) lastIds.push_back(be32(f.payload, 0) & 0x7fffffff);
  ASSERT_EQ(lastIds.size(), 2u);
  EXPECT_EQ(lastIds[0], 0x7fffffffu);
  EXPECT_EQ(lastIds[1], 1u);
  EXPECT_TRUE(p.client.goingAway());
  ASSERT_TRUE(p.capp.goaway.has_value());
  EXPECT_EQ(*p.capp.goaway, 1);
  EXPECT_EQ(p.client.submitRequest(request("GET", "/late"), true), -1);
  EXPECT_FALSE(p.server.wantsClose());  // stream 1 still runs
  p.server.submitResponse(id, 200, {}, false);
  p.server.sendData(id, "done", 4, true);
  p.pump();
  EXPECT_EQ(p.capp.resps[id].body, "done");
  EXPECT_TRUE(p.capp.resps[id].closed);
  EXPECT_TRUE(p.server.wantsClose());
}

TEST(H2Session, HeaderListTooLargeGets431) {
  H2Limits small;
  small.maxHeaderListBytes = 1024;
  Pair p(small);
  auto h = request("GET", "/");
  std::string big(2000, 'v');
  h.push_back({"x-big", big});
  int32_t id = p.client.submitRequest(h, true);
  p.pump();
  EXPECT_FALSE(p.sapp.reqs.count(id));  // the app never saw it
  EXPECT_EQ(p.capp.resps[id].status, 431);
  EXPECT_TRUE(p.capp.resps[id].closed);
  EXPECT_EQ(p.server.activeStreams(), 0u);
}

TEST(H2Session, TooManyHeadersGets431) {
  Pair p;
  auto h = request("POST", "/");
  std::vector<std::string> names;
  for (int i = 0; i < 120; ++i) names.push_back("x-h" + std::to_string(i));
  for (auto& n : names) h.push_back({n, "v"});
  int32_t id = p.client.submitRequest(h, false);
  p.client.sendData(id, "body", 4, true);
  p.pump();
  EXPECT_FALSE(p.sapp.reqs.count(id));
  EXPECT_EQ(p.capp.resps[id].status, 431);
  // The connection stays usable.
  int32_t next = p.client.submitRequest(request("GET", "/ok"), true);
  p.pump();
  EXPECT_EQ(p.capp.resps[next].status, 200);
}

TEST(H2Session, CookieCrumbsAreJoined) {
  Pair p;
  auto h = request("GET", "/");
  h.push_back({"cookie", "a=1"});
  h.push_back({"x-other", "y"});
  h.push_back({"cookie", "b=2"});
  int32_t id = p.client.submitRequest(h, true);
  p.pump();
  auto& hs = p.sapp.reqs[id].headers;
  ASSERT_EQ(hs.size(), 2u);
  EXPECT_EQ(hs[1], (std::pair<std::string, std::string>{"cookie", "a=1; b=2"}));
}

// Requests only a broken or hostile client sends, built by hand: each gets RST_STREAM
// PROTOCOL_ERROR, the app never hears of it, the connection lives on.
TEST(H2Session, InvalidRequestHeadsAreStreamErrors) {
  std::vector<std::vector<std::pair<std::string, std::string>>> bad = {
      {{":method", "GET"}, {":scheme", "http"}, {":authority", "a"}},                   // no :path
      {{":scheme", "http"}, {":authority", "a"}, {":path", "/"}},                      // no :method
      {{":method", "GET"}, {":authority", "a"}, {":path", "/"}},                       // no :scheme
      {{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {":path", "/x"},
       {":authority", "a"}},                                                           // twice
      {{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {":authority", "a"},
       {":foo", "x"}},                                                                 // unknown
      {{":method", "GET"}, {":scheme", "http"}, {"x", "1"}, {":path", "/"},
       {":authority", "a"}},                                                           // order
      {{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {":authority", "a"},
       {"connection", "keep-alive"}},
      {{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {":authority", "a"},
       {"transfer-encoding", "chunked"}},
      {{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {":authority", "a"},
       {"te", "gzip"}},
      {{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {":authority", "a"},
       {"X-Upper", "1"}},
      {{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {":authority", "a"},
       {"host", "b"}},                                                                 // mismatch
      {{":method", "GET"}, {":scheme", "http"}, {":path", ""}, {":authority", "a"}},   // empty
      {{":method", "CONNECT"}, {":scheme", "http"}, {":path", "/"}, {":authority", "a:1"}},
  };
  ServerApp app;
  H2ServerSession s(app);
  app.session = &s;
  std::string in = preface();
  uint32_t id = 1;
  for (auto& fields : bad) {
    in += frame(kHeaders, kEndHeaders | kEndStream, id, hpack(fields));
    id += 2;
  }
  in += getHeaders(id);  // a valid one after them
  EXPECT_TRUE(s.receive(in.data(), in.size()));
  Buffer out;
  s.produceOutput(out);
  auto r = resets(out.view());
  for (uint32_t i = 1; i < id; i += 2) {
    EXPECT_EQ(r.count(i), 1u) << "stream " << i;
    if (r.count(i)) {
      EXPECT_EQ(r[i], kH2ProtocolError) << "stream " << i;
    }
    EXPECT_FALSE(app.reqs.count(static_cast<int32_t>(i))) << "stream " << i;
  }
  EXPECT_FALSE(goawayCode(out.view()).has_value());
  ASSERT_TRUE(app.reqs.count(static_cast<int32_t>(id)));
  EXPECT_TRUE(app.reqs[static_cast<int32_t>(id)].ended);
}

TEST(H2Session, ValidConnectAndHostFallback) {
  ServerApp app;
  app.respondOnEnd = false;
  H2ServerSession s(app);
  app.session = &s;
  std::string in = preface() +
                   frame(kHeaders, kEndHeaders, 1,
                         hpack({{":method", "CONNECT"}, {":authority", "backend:443"}})) +
                   frame(kHeaders, kEndHeaders | kEndStream, 3,
                         hpack({{":method", "GET"}, {":scheme", "https"}, {":path", "/p?q"},
                                {"host", "from-host"}}));
  EXPECT_TRUE(s.receive(in.data(), in.size()));
  EXPECT_EQ(app.reqs[1].method, "CONNECT");
  EXPECT_EQ(app.reqs[1].authority, "backend:443");
  EXPECT_EQ(app.reqs[3].authority, "from-host");
  EXPECT_EQ(app.reqs[3].path, "/p?q");
}

TEST(H2Session, BadPrefaceEndsTheConnection) {
  ServerApp app;
  H2ServerSession s(app);
  app.session = &s;
  std::string in = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  EXPECT_FALSE(s.receive(in.data(), in.size()));
  Buffer out;
  s.produceOutput(out);
  EXPECT_EQ(goawayCode(out.view()), kH2ProtocolError);
  EXPECT_TRUE(s.wantsClose());
  EXPECT_FALSE(s.receive(in.data(), in.size()));
}

TEST(H2Session, ContentLengthMismatchIsAStreamError) {
  ServerApp app;
  H2ServerSession s(app);
  app.session = &s;
  std::string in = preface() +
                   frame(kHeaders, kEndHeaders, 1,
                         hpack({{":method", "POST"}, {":scheme", "http"}, {":authority", "a"},
                                {":path", "/"}, {"content-length", "10"}})) +
                   frame(kData, kEndStream, 1, "abc");
  EXPECT_TRUE(s.receive(in.data(), in.size()));
  Buffer out;
  s.produceOutput(out);
  EXPECT_EQ(resets(out.view())[1], kH2ProtocolError);
  EXPECT_FALSE(app.reqs[1].ended);
  EXPECT_TRUE(app.reqs[1].closed);
  EXPECT_EQ(app.reqs[1].closeCode, kH2ProtocolError);
}

TEST(H2Session, LooksLikePreface) {
  EXPECT_TRUE(H2ServerSession::looksLikePreface("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
  EXPECT_TRUE(H2ServerSession::looksLikePreface("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\x12\x04"));
  EXPECT_TRUE(H2ServerSession::looksLikePreface("PRI * HT"));
  EXPECT_TRUE(H2ServerSession::looksLikePreface("P"));
  EXPECT_FALSE(H2ServerSession::looksLikePreface(""));
  EXPECT_FALSE(H2ServerSession::looksLikePreface("GET / HTTP/1.1\r\n"));
  EXPECT_FALSE(H2ServerSession::looksLikePreface("PRI * HTTP/1.1\r\n"));
  EXPECT_FALSE(H2ServerSession::looksLikePreface("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\r"));
}

}  // namespace
}  // namespace portico::http

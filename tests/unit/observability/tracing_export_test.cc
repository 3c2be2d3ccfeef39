// Span export: collector URLs, the Zipkin v2 and OTLP JSON encodings (parsed back), the POST
// client against a real local socket, and the tracer's bounded rings and drop counters.
#include <gtest/gtest.h>

#include <atomic>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "observability/access_log_format.h"
#include "observability/tracing_tracer.h"

namespace portico::observability {
namespace {

using nlohmann::json;

Span sampleSpan(SpanKind kind) {
  Span s;
  s.traceHi = 0x4bf92f3577b34da6ULL;
  s.traceLo = 0xa3ce929d0e0e4736ULL;
  s.id = 0x1122334455667788ULL;
  s.parentId = kind == SpanKind::Client ? 0x0102030405060708ULL : 0;
  s.kind = kind;
  s.startUnixUs = 1700000000000000;
  s.durationUs = 1500;
  s.status = 503;
  s.attempt = 2;
  s.method.set("GET");
  s.path.set("/a\"b\xff");  // a quote and invalid UTF-8 must still give valid JSON
  s.host.set("example.com");
  s.route.set("r1");
  s.virtualService.set("default.gloo-system");
  s.upstream.set("echo.gloo-system");
  s.upstreamHost.set("127.0.0.1:8080");
  s.peer.set("10.0.0.1");
  return s;
}

TEST(TracingExport, ParsesCollectorUrls) {
  auto u = parseCollectorUrl("http://127.0.0.1:9411", "/api/v2/spans");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 9411);
  EXPECT_EQ(u->path, "/api/v2/spans");
  u = parseCollectorUrl("http://collector/custom/path", "/v1/traces");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->port, 80);
  EXPECT_EQ(u->path, "/custom/path");
  u = parseCollectorUrl("http://[::1]:4318/", "/v1/traces");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->path, "/v1/traces");
  EXPECT_EQ(u->hostHeader, "[::1]:4318");
  for (const char* bad : {"https://x:1", "ftp://x", "127.0.0.1:9411", "http://", "http://x:0",
                          "http://x:65536", "http://x:abc", "http://x:", "http://[::1", "http://a b/"})
    EXPECT_FALSE(parseCollectorUrl(bad, "/").ok()) << bad;
}

TEST(TracingExport, ZipkinJson) {
  Span spans[2] = {sampleSpan(SpanKind::Server), sampleSpan(SpanKind::Client)};
  spans[1].error = SpanError::ConnectFailure;
  json j = json::parse(encodeZipkin(spans, 2, "portico"));
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(j[0]["id"], "1122334455667788");
  EXPECT_FALSE(j[0].contains("parentId"));
  EXPECT_EQ(j[0]["kind"], "SERVER");
  EXPECT_EQ(j[0]["timestamp"], 1700000000000000);
  EXPECT_EQ(j[0]["duration"], 1500);
  EXPECT_EQ(j[0]["localEndpoint"]["serviceName"], "portico");
  EXPECT_EQ(j[0]["remoteEndpoint"]["ipv4"], "10.0.0.1");
  EXPECT_EQ(j[0]["tags"]["http.status_code"], "503");
  EXPECT_EQ(j[0]["tags"]["portico.route"], "r1");
  EXPECT_EQ(j[0]["tags"]["error"], "503");
  EXPECT_EQ(j[1]["kind"], "CLIENT");
  EXPECT_EQ(j[1]["parentId"], "0102030405060708");
  EXPECT_EQ(j[1]["tags"]["portico.attempt"], "2");
  EXPECT_EQ(j[1]["tags"]["error"], "connect_failure");
  EXPECT_EQ(j[1]["remoteEndpoint"]["port"], 8080);
  EXPECT_EQ(j[1]["remoteEndpoint"]["serviceName"], "echo.gloo-system");
  // A caller's 64-bit B3 trace id is reported as it was received.
  spans[0].traceHi = 0;
  spans[0].traceId64 = true;
  j = json::parse(encodeZipkin(spans, 1, "portico"));
  EXPECT_EQ(j[0]["traceId"], "a3ce929d0e0e4736");
}

TEST(TracingExport, OtlpJson) {
  Span spans[2] = {sampleSpan(SpanKind::Server), sampleSpan(SpanKind::Client)};
  spans[0].status = 200;
  json j = json::parse(encodeOtlp(spans, 2, "portico"));
  const json& rs = j["resourceSpans"][0];
  EXPECT_EQ(rs["resource"]["attributes"][0]["key"], "service.name");
  EXPECT_EQ(rs["resource"]["attributes"][0]["value"]["stringValue"], "portico");
  const json& list = rs["scopeSpans"][0]["spans"];
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(list[0]["spanId"], "1122334455667788");
  EXPECT_EQ(list[0]["kind"], 2);
  EXPECT_EQ(list[0]["startTimeUnixNano"], "1700000000000000000");
  EXPECT_EQ(list[0]["endTimeUnixNano"], "1700000000001500000");
  EXPECT_FALSE(list[0].contains("status"));
  EXPECT_EQ(list[1]["kind"], 3);
  EXPECT_EQ(list[1]["parentSpanId"], "0102030405060708");
  EXPECT_EQ(list[1]["status"]["code"], 2);
  bool resend = false;
  for (const json& a : list[1]["attributes"])
    if (a["key"] == "http.request.resend_count") resend = a["value"]["intValue"] == "1";
  EXPECT_TRUE(resend);
}

/// The encoders write JSON by hand: parsing a batch and dumping it again with nlohmann (keys
/// sorted, no spaces, invalid UTF-8 replaced) must give the same bytes, for every field variant.
TEST(TracingExport, EncodingsAreCanonicalJson) {
  std::vector<Span> spans;
  for (SpanKind kind : {SpanKind::Server, SpanKind::Client}) {
    Span s = sampleSpan(kind);
    spans.push_back(s);
    s.debug = true;
    s.status = 0;
    s.attempt = 1;
    s.responseFlags = kNoRouteFound | kUpstreamRetryLimitExceeded;
    s.error = SpanError::Timeout;
    s.method.set("");
    s.route.set("");
    s.upstream.set("");
    s.path.set("");
    s.peer.set("::1");
    s.upstreamHost.set("[2001:db8::1]:8443");
    s.host.set("h\x01\t\n\"\\\x7f\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xe2\x82");  // controls, UTF-8, a cut one
    spans.push_back(s);
    s.durationUs = 0;
    s.traceHi = 0;
    s.traceId64 = true;
    s.parentId = 0;
    s.upstreamHost.set("backend.local:80");
    s.peer.set("");
    s.method.set("\xed\xa0\x80\xc0\xaf\xf4\x90\x80\x80\xe0\x80");  // surrogate, overlong, too high
    spans.push_back(s);
  }
  for (const std::string& text : {encodeZipkin(spans.data(), spans.size(), "svc \"q\""),
                                  encodeOtlp(spans.data(), spans.size(), "svc"),
                                  encodeZipkin(spans.data(), 0, "portico")}) {
    json j = json::parse(text);
    EXPECT_EQ(j.dump(-1, ' ', false, json::error_handler_t::replace), text);
  }
}

/// The JSON strings the encoders write are the bytes nlohmann writes, invalid UTF-8 included.
TEST(TracingExport, StringsEscapeLikeNlohmann) {
  uint64_t seed = 0x9e3779b97f4a7c15ULL;
  auto next = [&seed] {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
  };
  const unsigned char interesting[] = {0x00, 0x08, 0x1f, '"', '\\', 'a', 0x7f, 0x80, 0x8f, 0x90,
                                       0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec,
                                       0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff};
  for (int round = 0; round < 20000; ++round) {
    std::string s(1 + next() % 8, ' ');
    for (char& c : s) c = static_cast<char>(interesting[next() % sizeof(interesting)]);
    Span span = sampleSpan(SpanKind::Server);
    span.host.set(s);
    std::string text = encodeZipkin(&span, 1, "portico");
    json expected = json(s);
    std::string want = "\"http.host\":" + expected.dump(-1, ' ', false, json::error_handler_t::replace);
    ASSERT_NE(text.find(want), std::string::npos) << ::testing::PrintToString(s) << " in " << text;
  }
}

/// A one-connection HTTP server answering each request with `status` (and keeping the
/// connection); records the bodies.
struct TinyCollector {
  int listenFd = -1;
  uint16_t port = 0;
  int status;
  std::atomic<int> requests{0};
  std::string lastRequest;
  std::thread thread;
  explicit TinyCollector(int answer) : status(answer) {
    listenFd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listenFd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    socklen_t len = sizeof(a);
    getsockname(listenFd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    ::listen(listenFd, 4);
    thread = std::thread([this] {
      int fd = ::accept(listenFd, nullptr, nullptr);
      if (fd < 0) return;
      std::string buf;
      char chunk[4096];
      for (;;) {
        size_t end = buf.find("\r\n\r\n");
        if (end != std::string::npos) {
          size_t cl = buf.find("content-length: ");
          size_t length = cl == std::string::npos ? 0 : std::stoul(buf.substr(cl + 16));
          if (buf.size() >= end + 4 + length) {
            lastRequest = buf.substr(0, end + 4 + length);
            buf.erase(0, end + 4 + length);
            std::string answer = "HTTP/1.1 " + std::to_string(status) + " X\r\ncontent-length: 0\r\n\r\n";
            ++requests;  // before answering: the client checks it once answered
            (void)::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
            continue;
          }
        }
        ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
        if (n <= 0) break;
        buf.append(chunk, static_cast<size_t>(n));
      }
      ::close(fd);
    });
  }
  ~TinyCollector() {
    ::shutdown(listenFd, SHUT_RDWR);
    ::close(listenFd);
    thread.join();
  }
};

TEST(TracingExport, PostsAndKeepsTheConnection) {
  TinyCollector collector(202);
  auto url = parseCollectorUrl("http://127.0.0.1:" + std::to_string(collector.port), "/api/v2/spans");
  ASSERT_TRUE(url.ok());
  CollectorClient client(*url);
  EXPECT_TRUE(client.post("application/json", "[]", 2000).ok());
  EXPECT_TRUE(client.post("application/json", "[1]", 2000).ok());  // same connection (one accept)
  EXPECT_EQ(collector.requests.load(), 2);
  EXPECT_NE(collector.lastRequest.find("POST /api/v2/spans HTTP/1.1\r\n"), std::string::npos);
  EXPECT_NE(collector.lastRequest.find("\r\n\r\n[1]"), std::string::npos);
}

TEST(TracingExport, Non2xxIsAnError) {
  TinyCollector collector(500);
  auto url = parseCollectorUrl("http://127.0.0.1:" + std::to_string(collector.port), "/v1/traces");
  CollectorClient client(*url);
  Status s = client.post("application/json", "{}", 2000);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("500"), std::string::npos);
}

TEST(TracingExport, RingDropsWhenFullAndDeadCollectorCounts) {
  // A port nobody listens on.
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  uint16_t port = ntohs(a.sin_port);
  ::close(fd);

  Tracer t;
  TracerOptions o;
  o.zipkin = *parseCollectorUrl("http://127.0.0.1:" + std::to_string(port), "/api/v2/spans");
  o.ringSpans = 4;
  t.configure(2, o);
  ASSERT_TRUE(t.enabled());
  for (int i = 0; i < 6; ++i) {
    Span* s = t.claim(1);
    if (s) {
      s->id = static_cast<uint64_t>(i + 1);
      t.commit(1);
    }
  }
  TracerCounters c = t.counters();
  EXPECT_EQ(c.sampled, 6u);
  EXPECT_EQ(c.bufferFull, 2u);
  t.flush();  // refused at once: the 4 queued spans are dropped, the ring is free again
  c = t.counters();
  EXPECT_EQ(c.exportFailed[0], 4u);
  EXPECT_EQ(c.exported[0], 0u);
  EXPECT_NE(t.claim(1), nullptr);

  std::string body = "x 1\n# EOF\n";
  // Only the process tracer is rendered; with it off nothing is added.
  appendTracingMetrics(body, true);
  EXPECT_EQ(body, "x 1\n# EOF\n");
}

TEST(TracingExport, TracerWithoutCollectorIsOff) {
  Tracer t;
  t.configure(2, TracerOptions{});
  EXPECT_FALSE(t.enabled());
}

}  // namespace
}  // namespace portico::observability

// StatsdSink: lines (plain and DogStatsD), counter deltas between flushes, datagrams received by
// a real UDP socket.
#include <gtest/gtest.h>

#include <algorithm>
#include <sys/socket.h>
#include <unistd.h>

#include "observability/statsd_sink.h"

namespace portico::observability {
namespace {

struct UdpListener {
  int fd = -1;
  net::Address address;
  UdpListener() {
    fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    auto a = net::Address::parse("127.0.0.1:0");
    EXPECT_EQ(::bind(fd, a->sockaddrPtr(), a->length()), 0);
    address = net::localAddress(fd);
    timeval tv{2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~UdpListener() { ::close(fd); }
  std::string receive() {
    char buf[2048];
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  }
};

bool has(const std::vector<std::string>& lines, const std::string& line) {
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

TEST(StatsdSinkTest, PlainNamesAndDeltas) {
  MetricsRegistry r(2);
  uint32_t route = r.routeId("default.gloo-system", "echo");
  uint32_t up = r.upstreamId("web.gloo-system");
  UdpListener udp;
  StatsdOptions o;
  o.address = udp.address;
  auto sink = StatsdSink::create(o, r);
  ASSERT_TRUE(sink.ok()) << sink.error();

  r.worker(0).downstream.requests[methodIndex("GET")][1].add(3);
  r.worker(1).downstream.requests[methodIndex("GET")][1].add(2);
  r.worker(0).routes[route].requests[1].add(5);
  r.worker(0).routes[route].latency.recordUs(2000);
  r.worker(1).routes[route].latency.recordUs(4000);
  r.worker(1).upstreams[up].connectionsOpened.add(2);
  r.worker(1).upstreams[up].idleEntered.add(1);
  auto lines = (*sink)->collect();
  EXPECT_TRUE(has(lines, "portico.downstream.requests.GET.2xx:5|c"));
  EXPECT_TRUE(has(lines, "portico.route.requests.default_gloo-system.echo.2xx:5|c"));
  EXPECT_TRUE(has(lines, "portico.route.request_duration.default_gloo-system.echo:3.000|ms"));
  EXPECT_TRUE(has(lines, "portico.upstream.connections.web_gloo-system.active:1|g"));
  EXPECT_TRUE(has(lines, "portico.upstream.connections.web_gloo-system.idle:1|g"));
  EXPECT_FALSE(has(lines, "portico.downstream.requests.POST.2xx:0|c"));  // no zero counters

  // The next flush sends what changed since: a delta, and no timer without new samples.
  r.worker(1).downstream.requests[methodIndex("GET")][1].add(1);
  lines = (*sink)->collect();
  EXPECT_TRUE(has(lines, "portico.downstream.requests.GET.2xx:1|c"));
  EXPECT_FALSE(has(lines, "portico.route.requests.default_gloo-system.echo.2xx:5|c"));
  for (const auto& l : lines) EXPECT_EQ(l.find("request_duration"), std::string::npos) << l;

  // flush() sends datagrams the listener receives.
  r.worker(0).downstream.connectionsOpened.add(4);
  (*sink)->flush();
  std::string datagram = udp.receive();
  EXPECT_NE(datagram.find("portico.downstream.connections:4|c"), std::string::npos) << datagram;
  EXPECT_LE(datagram.size(), StatsdSink::kMaxDatagram);
}

TEST(StatsdSinkTest, DogStatsdTags) {
  MetricsRegistry r(1);
  uint32_t up = r.upstreamId("web.gloo-system");
  UdpListener udp;
  StatsdOptions o;
  o.address = udp.address;
  o.dogstatsd = true;
  auto sink = StatsdSink::create(o, r);
  ASSERT_TRUE(sink.ok());
  r.worker(0).upstreams[up].error(UpstreamError::ConnectFailure);
  r.worker(0).downstream.requests[methodIndex("BREW")][4].add(1);
  auto lines = (*sink)->collect();
  EXPECT_TRUE(has(lines, "portico.upstream.errors:1|c|#upstream:web.gloo-system,type:connect_failure"));
  EXPECT_TRUE(has(lines, "portico.downstream.requests:1|c|#method:other,code_class:5xx"));
}

TEST(StatsdSinkTest, ManyLinesSplitIntoDatagrams) {
  MetricsRegistry r(1);
  UdpListener udp;
  StatsdOptions o;
  o.address = udp.address;
  auto sink = StatsdSink::create(o, r);
  ASSERT_TRUE(sink.ok());
  for (int i = 0; i < 100; ++i) {
    uint32_t id = r.upstreamId("upstream-number-" + std::to_string(i) + ".gloo-system");
    r.worker(0).upstreams[id].requests.add(1);
  }
  (*sink)->flush();
  size_t datagrams = 0, requests = 0;
  for (std::string d = udp.receive(); !d.empty(); d = datagrams < 50 ? udp.receive() : "") {
    ++datagrams;
    EXPECT_LE(d.size(), StatsdSink::kMaxDatagram);
    for (size_t p = d.find(".requests."); p != std::string::npos; p = d.find(".requests.", p + 1)) ++requests;
    if (requests >= 100) break;
  }
  EXPECT_GT(datagrams, 1u);
  EXPECT_EQ(requests, 100u);
}

}  // namespace
}  // namespace portico::observability

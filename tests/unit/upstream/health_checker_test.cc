// Active health checks against real local sockets: an HTTP server answering 200/503, a closed
// port, a server that never answers, and a TCP server for send/receive payloads; thresholds,
// reloads and clean start/stop.
#include "upstream/health_checker.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <thread>

#include "upstream/load_balancer.h"

namespace portico::upstream {
namespace {

/// A blocking one-connection-at-a-time TCP server on 127.0.0.1:<ephemeral> running `handle`
/// for each accepted connection on its own thread.
class TestServer {
public:
  explicit TestServer(std::function<void(int fd)> handle) : handle_(std::move(handle)) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
    EXPECT_EQ(listen(fd_, 64), 0);
    socklen_t len = sizeof(sa);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~TestServer() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }

private:
  void run() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 10) <= 0) continue;
      int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      ++accepted_;
      handle_(c);
      close(c);
    }
  }

  std::function<void(int)> handle_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

/// Reads until `marker` was seen or the peer closed (1 s at most).
std::string readUntil(int fd, std::string_view marker) {
  std::string got;
  char buf[1024];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (got.find(marker) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

void writeAll(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = write(fd, s.data(), s.size());
    if (n <= 0) return;
    s.remove_prefix(static_cast<size_t>(n));
  }
}

/// Polls `cond` every 2 ms for up to 5 s.
bool waitFor(const std::function<bool()>& cond) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return cond();
}

config::HealthCheck fastCheck(config::HealthCheck::Type type) {
  config::HealthCheck c;
  c.type = type;
  c.intervalMs = 50;
  c.timeoutMs = 500;
  c.initialJitterMs = 1;
  c.unhealthyThreshold = 2;
  c.healthyThreshold = 2;
  return c;
}

/// One host "checked.default/127.0.0.1:<port>" with `check`.
struct CheckedHost {
  CheckedHost(HostHealthRegistry& registry, uint16_t port, const config::HealthCheck& check) {
    cluster.name = "checked.default";
    Host h;
    h.address = net::Address::fromIp("127.0.0.1", port).value();
    h.key = h.address.toString();
    cluster.hosts.push_back(h);
    cluster.healthChecks.push_back(check);
    data = buildClusterLbData(cluster, registry);
  }
  std::vector<HealthCheckTarget> targets() const { return healthCheckTargets(cluster, *data); }
  HostHealth& health() const { return *data->health[0]; }

  Cluster cluster;
  std::shared_ptr<const ClusterLbData> data;
};

uint16_t closedPort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  socklen_t len = sizeof(sa);
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  close(fd);  // nobody listens there now: connects are refused
  return ntohs(sa.sin_port);
}

TEST(HealthCheckerHttp, TransitionsAfterThresholds) {
  std::atomic<int> status{200};
  std::mutex requestMutex;
  std::string lastRequest;
  TestServer server([&](int fd) {
    std::string req = readUntil(fd, "\r\n\r\n");
    {
      std::lock_guard<std::mutex> lock(requestMutex);
      lastRequest = req;
    }
    writeAll(fd, "HTTP/1.1 " + std::to_string(status.load()) +
                     " X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
  });
  HostHealthRegistry registry(1);
  config::HealthCheck check = fastCheck(config::HealthCheck::Type::Http);
  check.httpPath = "/healthz";
  CheckedHost host(registry, server.port(), check);
  auto checker = HealthChecker::create(1).value();
  checker->update(host.targets());
  ASSERT_TRUE(checker->start().ok());
  HostHealth& h = host.health();

  ASSERT_TRUE(waitFor([&] { return h.counters().hcChecks >= 2; }));
  EXPECT_TRUE(h.healthCheckHealthy());
  EXPECT_EQ(h.counters().hcFailures, 0u);
  {
    std::lock_guard<std::mutex> lock(requestMutex);
    EXPECT_EQ(lastRequest.rfind("GET /healthz HTTP/1.1\r\n", 0), 0u) << lastRequest;
    EXPECT_NE(lastRequest.find("\r\nHost: 127.0.0.1:" + std::to_string(server.port()) + "\r\n"),
              std::string::npos);
    EXPECT_NE(lastRequest.find("\r\nUser-Agent: portico-health-check\r\n"), std::string::npos);
    EXPECT_NE(lastRequest.find("\r\nConnection: close\r\n"), std::string::npos);
  }

  // 503: one failure is not enough (threshold 2), the second one is.
  status = 503;
  ASSERT_TRUE(waitFor([&] { return h.counters().hcFailures >= 1; }));
  EXPECT_TRUE(h.healthCheckHealthy());
  ASSERT_TRUE(waitFor([&] { return !h.healthCheckHealthy(); }));
  auto c = h.counters();
  EXPECT_GE(c.hcConsecutiveFailures, 2u);
  EXPECT_EQ(c.lastHcFailure, "status 503");
  EXPECT_FALSE(h.available(monotonicMs()));

  // Back to 200: healthy again only after two successes.
  uint64_t checksBefore = h.counters().hcChecks;
  status = 200;
  ASSERT_TRUE(waitFor([&] {
    auto now = h.counters();
    return now.hcChecks > checksBefore + 1 && now.hcConsecutiveFailures == 0;
  }));
  ASSERT_TRUE(waitFor([&] { return h.healthCheckHealthy(); }));
  checker->stop();
}

TEST(HealthCheckerHttp, ExpectedStatusesAndMalformedAnswers) {
  std::atomic<int> mode{0};
  TestServer server([&](int fd) {
    readUntil(fd, "\r\n\r\n");
    if (mode == 0)
      writeAll(fd, "HTTP/1.1 204 No Content\r\n\r\n");
    else
      writeAll(fd, "garbage\r\n\r\n");
  });
  HostHealthRegistry registry(1);
  config::HealthCheck check = fastCheck(config::HealthCheck::Type::Http);
  check.expectedStatuses = {{200, 300}};
  check.unhealthyThreshold = 1;
  CheckedHost host(registry, server.port(), check);
  auto checker = HealthChecker::create(2).value();
  checker->update(host.targets());
  ASSERT_TRUE(checker->start().ok());
  ASSERT_TRUE(waitFor([&] { return host.health().counters().hcChecks >= 2; }));
  EXPECT_TRUE(host.health().healthCheckHealthy());  // 204 ∈ [200, 300)
  mode = 1;
  ASSERT_TRUE(waitFor([&] { return !host.health().healthCheckHealthy(); }));
  EXPECT_EQ(host.health().counters().lastHcFailure.rfind("malformed response", 0), 0u);
}

TEST(HealthCheckerHttp, RefusedConnectionIsAFailure) {
  HostHealthRegistry registry(1);
  CheckedHost host(registry, closedPort(), fastCheck(config::HealthCheck::Type::Http));
  auto checker = HealthChecker::create(3).value();
  ASSERT_TRUE(checker->start().ok());
  checker->update(host.targets());  // after start works too
  ASSERT_TRUE(waitFor([&] { return !host.health().healthCheckHealthy(); }));
  auto c = host.health().counters();
  EXPECT_GE(c.hcFailures, 2u);
  EXPECT_NE(c.lastHcFailure.find("refused"), std::string::npos) << c.lastHcFailure;
}

TEST(HealthCheckerHttp, SilentServerTimesOut) {
  // A listening socket that never accepts: the kernel completes the handshake, nobody answers.
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
  ASSERT_EQ(listen(fd, 16), 0);
  socklen_t len = sizeof(sa);
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);

  HostHealthRegistry registry(1);
  config::HealthCheck check = fastCheck(config::HealthCheck::Type::Http);
  check.timeoutMs = 60;
  check.unhealthyThreshold = 1;
  CheckedHost host(registry, ntohs(sa.sin_port), check);
  auto checker = HealthChecker::create(4).value();
  checker->update(host.targets());
  ASSERT_TRUE(checker->start().ok());
  auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(waitFor([&] { return !host.health().healthCheckHealthy(); }));
  EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(55));
  EXPECT_EQ(host.health().counters().lastHcFailure, "timeout");
  checker.reset();
  close(fd);
}

TEST(HealthCheckerTcp, SendAndReceivePayloadsInOrder) {
  TestServer server([&](int fd) {
    if (readUntil(fd, "PING").find("PING") == std::string::npos) return;
    writeAll(fd, "xxPO");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    writeAll(fd, "yyNGzz");  // the payloads arrive split and surrounded by other bytes
  });
  HostHealthRegistry registry(1);
  config::HealthCheck good = fastCheck(config::HealthCheck::Type::Tcp);
  good.tcpSend = "PING";
  good.tcpReceive = {"PO", "NG"};
  config::HealthCheck wrongOrder = good;
  wrongOrder.tcpReceive = {"NG", "PO"};
  wrongOrder.unhealthyThreshold = 1;

  Cluster cluster;
  cluster.name = "tcp.default";
  Host h;
  h.address = net::Address::fromIp("127.0.0.1", server.port()).value();
  h.key = h.address.toString();
  cluster.hosts.push_back(h);
  cluster.healthChecks = {good};
  auto data = buildClusterLbData(cluster, registry);
  auto checker = HealthChecker::create(5).value();
  checker->update(healthCheckTargets(cluster, *data));
  ASSERT_TRUE(checker->start().ok());
  HostHealth& health = *data->health[0];
  ASSERT_TRUE(waitFor([&] { return health.counters().hcChecks >= 3; }));
  EXPECT_EQ(health.counters().hcFailures, 0u) << health.counters().lastHcFailure;
  EXPECT_TRUE(health.healthCheckHealthy());

  // A second check on the same host that expects the payloads in the other order fails, and
  // any failing check makes the host unhealthy.
  cluster.healthChecks = {good, wrongOrder};
  auto data2 = buildClusterLbData(cluster, registry, data.get());
  ASSERT_EQ(data2->health[0].get(), &health);
  checker->update(healthCheckTargets(cluster, *data2));
  ASSERT_TRUE(waitFor([&] { return !health.healthCheckHealthy(); }));
  EXPECT_EQ(health.counters().lastHcFailure, "connection closed before the expected payload");
  EXPECT_TRUE(health.checkVerdict(0));
  EXPECT_FALSE(health.checkVerdict(1));
  EXPECT_EQ(checker->targetCount(), 2u);

  // Removing the failing check clears its verdict: the host is healthy again at once.
  cluster.healthChecks = {good};
  checker->update(healthCheckTargets(cluster, *data2));
  ASSERT_TRUE(waitFor([&] { return health.healthCheckHealthy(); }));
  EXPECT_EQ(checker->targetCount(), 1u);
}

TEST(HealthCheckerTcp, ConnectOnly) {
  TestServer server([](int) {});
  HostHealthRegistry registry(1);
  CheckedHost host(registry, server.port(), fastCheck(config::HealthCheck::Type::Tcp));
  auto checker = HealthChecker::create(6).value();
  checker->update(host.targets());
  ASSERT_TRUE(checker->start().ok());
  ASSERT_TRUE(waitFor([&] { return host.health().counters().hcChecks >= 2; }));
  EXPECT_EQ(host.health().counters().hcFailures, 0u);
  EXPECT_GE(server.accepted(), 1);
}

TEST(HealthCheckerReload, UnchangedTargetsKeepTheirCounts) {
  HostHealthRegistry registry(1);
  config::HealthCheck check = fastCheck(config::HealthCheck::Type::Http);
  check.unhealthyThreshold = 3;
  CheckedHost host(registry, closedPort(), check);
  auto checker = HealthChecker::create(7).value();
  checker->update(host.targets());
  ASSERT_TRUE(checker->start().ok());
  HostHealth& h = host.health();
  ASSERT_TRUE(waitFor([&] { return h.counters().hcFailures >= 1; }));
  // A reload with the same targets between failure 1 and 3 must not restart the count: the
  // host still goes unhealthy after 3 consecutive failures in total (not 3 after the reload).
  checker->update(host.targets());
  ASSERT_TRUE(waitFor([&] { return !h.healthCheckHealthy(); }));
  EXPECT_EQ(h.counters().hcConsecutiveFailures, 3u);
  // A reload that changes the check keeps the verdict (unhealthy) but restarts the counts.
  check.intervalMs = 40;
  CheckedHost changed(registry, host.cluster.hosts[0].address.port(), check);
  ASSERT_EQ(&changed.health(), &h);
  checker->update(changed.targets());
  ASSERT_TRUE(waitFor([&] { return h.counters().hcConsecutiveFailures == 1; }));
  EXPECT_FALSE(h.healthCheckHealthy());
  checker->update({});
  ASSERT_TRUE(waitFor([&] { return checker->targetCount() == 0; }));
  EXPECT_TRUE(h.healthCheckHealthy());  // no check left to hold it down
}

TEST(HealthCheckerLifecycle, StopWithChecksInFlight) {
  // Many targets against a silent server: stop() while probes are connected and waiting.
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
  ASSERT_EQ(listen(fd, 128), 0);
  socklen_t len = sizeof(sa);
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  HostHealthRegistry registry(1);
  Cluster cluster;
  cluster.name = "many.default";
  for (int i = 0; i < 20; ++i) {
    Host h;
    h.address = net::Address::fromIp("127.0.0.1", ntohs(sa.sin_port)).value();
    h.key = "silent-" + std::to_string(i);
    cluster.hosts.push_back(h);
  }
  config::HealthCheck check = fastCheck(config::HealthCheck::Type::Http);
  check.timeoutMs = 10000;
  cluster.healthChecks = {check};
  auto data = buildClusterLbData(cluster, registry);
  for (int round = 0; round < 3; ++round) {
    auto checker = HealthChecker::create().value();
    ASSERT_TRUE(checker->start().ok());
    checker->update(healthCheckTargets(cluster, *data));
    ASSERT_TRUE(waitFor([&] { return checker->targetCount() == 20; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    checker->stop();
    checker->stop();  // idempotent
  }
  close(fd);
}

}  // namespace
}  // namespace portico::upstream

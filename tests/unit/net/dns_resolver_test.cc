// DnsResolver: /etc/hosts names, failures and retries, re-resolution on TTL expiry against a
// small in-test DNS responder, and against a real dnsmasq when it is installed.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <fcntl.h>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <mutex>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "net/dns_resolver.h"

extern char** environ;

namespace portico::net {
namespace {

using Strings = std::vector<std::string>;

Strings toStrings(const std::vector<Address>& addresses) {
  Strings out;
  for (const Address& a : addresses) out.push_back(a.toString());
  return out;
}

bool contains(const Strings& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Records onChange calls; the test thread waits on them.
class Changes {
public:
  DnsResolver::Callback callback() {
    return [this](const std::string&, const std::vector<Address>& addresses) {
      std::lock_guard<std::mutex> lock(mutex_);
      calls_.push_back(toStrings(addresses));
      cv_.notify_all();
    };
  }
  /// Waits until the calls number at least `n`; returns the n-th (1-based) or nullopt.
  std::optional<Strings> waitForCall(size_t n, int timeoutMs = 5000) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (!cv_.wait_for(lock, std::chrono::milliseconds(timeoutMs),
                      [&] { return calls_.size() >= n; }))
      return std::nullopt;
    return calls_[n - 1];
  }
  size_t count() {
    std::lock_guard<std::mutex> lock(mutex_);
    return calls_.size();
  }

private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Strings> calls_;
};

bool waitUntil(const std::function<bool()>& pred, int timeoutMs) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

// A minimal authoritative DNS responder (RFC 1035) on 127.0.0.1:<ephemeral>/udp for one name:
// A (and optionally AAAA) with a fixed TTL; other names get NXDOMAIN. The answer can be changed,
// dropped (no response: the client times out) or turned into SERVFAIL between queries.
class FakeDnsServer {
public:
  enum class Mode { Answer, Drop, ServFail };

  explicit FakeDnsServer(std::string name) : name_(std::move(name)) {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sa);
    if (fd_ < 0 || bind(fd_, reinterpret_cast<sockaddr*>(&sa), len) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&sa), &len) != 0)
      ADD_FAILURE() << "cannot bind the fake DNS server";
    port_ = ntohs(sa.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeDnsServer() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }

  std::string serversCsv() const { return "127.0.0.1:" + std::to_string(port_); }
  void setV4(const std::string& ip) { set(ip, v4_, AF_INET); }
  void setV6(const std::string& ip) { set(ip, v6_, AF_INET6); }
  void setMode(Mode mode) {
    std::lock_guard<std::mutex> lock(mutex_);
    mode_ = mode;
  }
  int aQueries() const { return aQueries_; }

private:
  void set(const std::string& ip, std::string& slot, int family) {
    unsigned char buf[16];
    ASSERT_EQ(inet_pton(family, ip.c_str(), buf), 1);
    std::lock_guard<std::mutex> lock(mutex_);
    slot.assign(reinterpret_cast<char*>(buf), family == AF_INET ? 4 : 16);
  }

  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      unsigned char q[512];
      sockaddr_storage from{};
      socklen_t fromLen = sizeof(from);
      ssize_t n = recvfrom(fd_, q, sizeof(q), 0, reinterpret_cast<sockaddr*>(&from), &fromLen);
      if (n < 12) continue;
      std::string reply = respond(q, static_cast<size_t>(n));
      if (!reply.empty())
        sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&from), fromLen);
    }
  }

  // Returns the response datagram, or "" to stay silent.
  std::string respond(const unsigned char* q, size_t n) {
    size_t pos = 12;
    std::string name;
    while (pos < n && q[pos] != 0) {
      size_t len = q[pos++];
      if (pos + len > n) return "";
      if (!name.empty()) name += '.';
      for (size_t i = 0; i < len; ++i) name += static_cast<char>(tolower(q[pos + i]));
      pos += len;
    }
    if (pos + 5 > n) return "";
    pos += 1;  // root label
    uint16_t qtype = static_cast<uint16_t>(q[pos] << 8 | q[pos + 1]);
    pos += 4;  // QTYPE, QCLASS
    if (qtype == 1) ++aQueries_;

    std::lock_guard<std::mutex> lock(mutex_);
    if (mode_ == Mode::Drop) return "";
    int rcode = 0;
    std::string rdata;
    if (mode_ == Mode::ServFail) rcode = 2;
    else if (name != name_) rcode = 3;  // NXDOMAIN
    else if (qtype == 1) rdata = v4_;
    else if (qtype == 28) rdata = v6_;
    uint16_t answers = rdata.empty() ? 0 : 1;

    std::string r;
    auto u16 = [&r](unsigned v) {
      r.push_back(static_cast<char>(v >> 8));
      r.push_back(static_cast<char>(v & 0xff));
    };
    u16(static_cast<unsigned>(q[0] << 8 | q[1]));                  // ID
    u16(0x8000u | 0x0400u | (q[2] & 0x01u) << 8 | 0x0080u | rcode);  // QR AA RD(copied) RA
    u16(1);
    u16(answers);
    u16(0);
    u16(0);
    r.append(reinterpret_cast<const char*>(q + 12), pos - 12);  // the question
    if (answers) {
      u16(0xc00c);  // pointer to the question's name
      u16(qtype);
      u16(1);  // IN
      u16(0);
      u16(1);  // TTL: 1 s
      u16(static_cast<unsigned>(rdata.size()));
      r += rdata;
    }
    return r;
  }

  std::string name_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> aQueries_{0};
  std::mutex mutex_;
  Mode mode_ = Mode::Answer;
  std::string v4_, v6_;  // raw address bytes; empty = no record of that type
  std::thread thread_;
};

// Fast failure handling so that tests take a fraction of a second per retry.
DnsResolverOptions fakeServerOptions(const FakeDnsServer& server) {
  DnsResolverOptions o;
  o.servers = server.serversCsv();
  o.queryTimeoutMs = 100;
  o.tries = 1;
  o.retryInitialMs = 50;
  o.retryMaxMs = 200;
  return o;
}

TEST(DnsResolver, ResolvesLocalhostFromHostsFile) {
  Changes changes;
  auto resolver = DnsResolver::create().value();
  resolver->watch("localhost", 8080, changes.callback());
  auto first = changes.waitForCall(1);
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(contains(*first, "127.0.0.1:8080"));
  EXPECT_EQ(first->front(), "127.0.0.1:8080");  // IPv4 first
  for (const std::string& a : *first) EXPECT_TRUE(a == "127.0.0.1:8080" || a == "[::1]:8080") << a;

  auto cached = resolver->cached("localhost", 9090);
  ASSERT_TRUE(cached.has_value());
  EXPECT_EQ(cached->front().toString(), "127.0.0.1:9090");
  EXPECT_FALSE(resolver->cached("not-watched.invalid", 1).has_value());
}

TEST(DnsResolver, HostsFileAnswersAreReResolvedWithTheDefaultTtl) {
  Changes changes;
  auto resolver = DnsResolver::create().value();
  resolver->setDefaultTtlForTest(50);
  resolver->watch("localhost", 80, changes.callback());
  ASSERT_TRUE(changes.waitForCall(1).has_value());
  EXPECT_TRUE(waitUntil([&] { return resolver->attemptsForTest("localhost") >= 4; }, 3000));
  EXPECT_EQ(changes.count(), 1u);  // same answer: no new call
  EXPECT_EQ(resolver->failuresForTest("localhost"), 0u);
}

TEST(DnsResolver, ResolveOnce) {
  auto resolver = DnsResolver::create().value();
  auto local = resolver->resolveOnce("localhost", 443, 5000);
  ASSERT_TRUE(local.ok()) << local.error();
  EXPECT_EQ(local->front().toString(), "127.0.0.1:443");
  auto numeric = resolver->resolveOnce("::1", 443, 5000);
  ASSERT_TRUE(numeric.ok()) << numeric.error();
  EXPECT_EQ(toStrings(*numeric), Strings{"[::1]:443"});
}

TEST(DnsResolver, NumericHostIsReportedOnceWithoutResolving) {
  Changes changes;
  auto resolver = DnsResolver::create().value();
  resolver->watch("10.9.8.7", 81, changes.callback());
  auto first = changes.waitForCall(1);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(*first, Strings{"10.9.8.7:81"});
  EXPECT_EQ(resolver->attemptsForTest("10.9.8.7"), 0u);
}

TEST(DnsResolver, InvalidNameFailsAndRetries) {
  FakeDnsServer server("known.portico.test");
  Changes changes;
  auto resolver = DnsResolver::create(fakeServerOptions(server)).value();
  const std::string name = "no-such-host.invalid";
  resolver->watch(name, 80, changes.callback());
  EXPECT_TRUE(waitUntil([&] { return resolver->failuresForTest(name) >= 3; }, 5000));
  EXPECT_EQ(changes.count(), 0u);
  EXPECT_FALSE(resolver->cached(name, 80).has_value());

  auto once = resolver->resolveOnce(name, 80, 5000);
  ASSERT_FALSE(once.ok());
  EXPECT_NE(once.error().find(name), std::string::npos) << once.error();
}

TEST(DnsResolver, ReResolvesWhenTheTtlExpires) {
  FakeDnsServer server("svc.portico.test");
  server.setV4("10.0.0.1");
  Changes changes;
  auto resolver = DnsResolver::create(fakeServerOptions(server)).value();
  resolver->watch("svc.portico.test", 8080, changes.callback());
  auto first = changes.waitForCall(1);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(*first, Strings{"10.0.0.1:8080"});
  auto firstAt = std::chrono::steady_clock::now();
  int queriesAtFirst = server.aQueries();

  server.setV4("10.0.0.2");
  auto second = changes.waitForCall(2);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(*second, Strings{"10.0.0.2:8080"});
  auto elapsed = std::chrono::steady_clock::now() - firstAt;
  // The record says 1 s: not re-asked before that, and not much later either.
  EXPECT_GE(elapsed, std::chrono::milliseconds(900));
  EXPECT_LE(elapsed, std::chrono::milliseconds(2500));
  EXPECT_LE(server.aQueries() - queriesAtFirst, 2);  // one query per TTL, no busy re-asking
  EXPECT_EQ(toStrings(*resolver->cached("svc.portico.test", 8080)), Strings{"10.0.0.2:8080"});
}

TEST(DnsResolver, OrdersIpv4FirstAndReportsBothFamilies) {
  FakeDnsServer server("dual.portico.test");
  server.setV6("fd00::5");
  server.setV4("10.0.0.5");
  Changes changes;
  auto resolver = DnsResolver::create(fakeServerOptions(server)).value();
  resolver->watch("dual.portico.test", 80, changes.callback());
  auto first = changes.waitForCall(1);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(*first, (Strings{"10.0.0.5:80", "[fd00::5]:80"}));
}

TEST(DnsResolver, KeepsTheLastGoodAnswerWhileTheServerFails) {
  FakeDnsServer server("svc.portico.test");
  server.setV4("10.0.0.1");
  Changes changes;
  auto resolver = DnsResolver::create(fakeServerOptions(server)).value();
  resolver->watch("svc.portico.test", 80, changes.callback());
  ASSERT_TRUE(changes.waitForCall(1).has_value());

  server.setMode(FakeDnsServer::Mode::Drop);  // timeouts
  EXPECT_TRUE(waitUntil([&] { return resolver->failuresForTest("svc.portico.test") >= 2; }, 5000));
  server.setMode(FakeDnsServer::Mode::ServFail);
  uint64_t failures = resolver->failuresForTest("svc.portico.test");
  EXPECT_TRUE(
      waitUntil([&] { return resolver->failuresForTest("svc.portico.test") >= failures + 2; },
                5000));
  EXPECT_EQ(changes.count(), 1u);
  EXPECT_EQ(toStrings(*resolver->cached("svc.portico.test", 80)), Strings{"10.0.0.1:80"});

  server.setV4("10.0.0.3");
  server.setMode(FakeDnsServer::Mode::Answer);
  auto recovered = changes.waitForCall(2);
  ASSERT_TRUE(recovered.has_value());
  EXPECT_EQ(*recovered, Strings{"10.0.0.3:80"});
}

TEST(DnsResolver, SecondWatcherGetsTheCurrentAnswerWithItsPort) {
  FakeDnsServer server("svc.portico.test");
  server.setV4("10.0.0.1");
  Changes a, b;
  auto resolver = DnsResolver::create(fakeServerOptions(server)).value();
  resolver->watch("svc.portico.test", 80, a.callback());
  ASSERT_TRUE(a.waitForCall(1).has_value());
  resolver->watch("svc.portico.test", 443, b.callback());
  auto got = b.waitForCall(1);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, Strings{"10.0.0.1:443"});
  EXPECT_EQ(a.count(), 1u);
}

TEST(DnsResolver, UnwatchStopsResolving) {
  FakeDnsServer server("svc.portico.test");
  server.setV4("10.0.0.1");
  Changes changes;
  auto resolver = DnsResolver::create(fakeServerOptions(server)).value();
  resolver->watch("svc.portico.test", 80, changes.callback());
  ASSERT_TRUE(changes.waitForCall(1).has_value());
  resolver->unwatch("svc.portico.test");
  EXPECT_FALSE(resolver->cached("svc.portico.test", 80).has_value());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let the unwatch land
  int queries = server.aQueries();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // > TTL
  EXPECT_EQ(server.aQueries(), queries);
  EXPECT_EQ(changes.count(), 1u);
}

TEST(DnsResolver, ResolveOnceTimesOutAndStopEndsEverything) {
  FakeDnsServer server("svc.portico.test");
  server.setMode(FakeDnsServer::Mode::Drop);
  DnsResolverOptions options = fakeServerOptions(server);
  options.queryTimeoutMs = 2000;
  auto resolver = DnsResolver::create(options).value();
  auto once = resolver->resolveOnce("svc.portico.test", 80, 100);
  ASSERT_FALSE(once.ok());
  EXPECT_NE(once.error().find("no answer within 100 ms"), std::string::npos) << once.error();

  Changes changes;
  resolver->watch("svc.portico.test", 80, changes.callback());  // stays in flight
  resolver->stop();
  resolver->stop();  // idempotent
  auto after = resolver->resolveOnce("localhost", 80, 100);
  ASSERT_FALSE(after.ok());
  EXPECT_NE(after.error().find("stopped"), std::string::npos) << after.error();
  resolver->watch("localhost", 80, changes.callback());  // ignored once stopped
  EXPECT_EQ(changes.count(), 0u);
}

// ---- against a real DNS server ------------------------------------------------------------------

constexpr const char* kDnsmasq = "/usr/sbin/dnsmasq";

/// A loopback port free for both UDP and TCP (dnsmasq binds both): under parallel tests a port
/// free for UDP may be a TCP connection's local port.
uint16_t freeDnsPort() {
  for (int attempt = 0; attempt < 20; ++attempt) {
    int udp = socket(AF_INET, SOCK_DGRAM, 0);
    int tcp = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(sa);
    int one = 1;
    setsockopt(tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));  // as dnsmasq does
    bool ok = bind(udp, reinterpret_cast<sockaddr*>(&sa), len) == 0 &&
              getsockname(udp, reinterpret_cast<sockaddr*>(&sa), &len) == 0 &&
              bind(tcp, reinterpret_cast<sockaddr*>(&sa), len) == 0;
    close(udp);
    close(tcp);
    if (ok) return ntohs(sa.sin_port);
  }
  return 0;
}

// dnsmasq serving a hosts file with a 1 s TTL; SIGHUP makes it re-read the file.
class Dnsmasq {
public:
  Dnsmasq() {
    char tmpl[] = "/tmp/portico-dnsmasq-XXXXXX";
    dir_ = mkdtemp(tmpl);
    chmod(dir_.c_str(), 0755);  // dnsmasq re-reads the file as "nobody" after dropping root
    hosts_ = dir_ + "/hosts";
  }
  ~Dnsmasq() {
    stop();
    for (const char* f : {"/hosts", "/stderr", "/log"}) unlink((dir_ + f).c_str());
    rmdir(dir_.c_str());
  }

  void writeHosts(const std::string& line) {
    std::string tmp = hosts_ + ".tmp";
    std::ofstream(tmp) << line << "\n";
    chmod(tmp.c_str(), 0644);
    rename(tmp.c_str(), hosts_.c_str());
  }
  void reload() { kill(pid_, SIGHUP); }

  /// Starts dnsmasq on a free port; false when it exits (e.g. the port got taken).
  bool start() {
    port_ = freeDnsPort();
    std::vector<std::string> args = {kDnsmasq,
                                     "--keep-in-foreground",
                                     "--conf-file=/dev/null",
                                     "--port=" + std::to_string(port_),
                                     "--listen-address=127.0.0.1",
                                     "--bind-interfaces",
                                     "--no-resolv",
                                     "--no-hosts",
                                     "--addn-hosts=" + hosts_,
                                     "--local-ttl=1",
                                     "--pid-file=",
                                     "--log-facility=" + dir_ + "/log"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t io;
    posix_spawn_file_actions_init(&io);
    posix_spawn_file_actions_addopen(&io, 2, (dir_ + "/stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    int rc = posix_spawn(&pid_, kDnsmasq, &io, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&io);
    if (rc != 0) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    int status;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    return true;
  }
  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  std::string serversCsv() const { return "127.0.0.1:" + std::to_string(port_); }
  /// What dnsmasq said on stderr (why it exited).
  std::string stderrText() const {
    std::ifstream in(dir_ + "/stderr");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

private:
  std::string dir_, hosts_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

TEST(DnsResolver, DnsmasqHostsChangeIsPickedUpAfterTheTtl) {
  if (access(kDnsmasq, X_OK) != 0)
    GTEST_SKIP() << kDnsmasq << " not found: install dnsmasq-base (scripts/install-deps.sh)";
  Dnsmasq dnsmasq;
  dnsmasq.writeHosts("10.20.0.1 api.dnsmasq.test");
  bool started = false;
  for (int attempt = 0; attempt < 5 && !started; ++attempt) started = dnsmasq.start();
  ASSERT_TRUE(started) << "dnsmasq did not start: " << dnsmasq.stderrText();

  DnsResolverOptions options;
  options.servers = dnsmasq.serversCsv();
  options.queryTimeoutMs = 200;
  options.retryInitialMs = 50;
  options.retryMaxMs = 200;
  auto resolver = DnsResolver::create(options).value();
  // dnsmasq may need a moment before it answers.
  ASSERT_TRUE(waitUntil([&] { return resolver->resolveOnce("api.dnsmasq.test", 80, 500).ok(); },
                        5000));

  Changes changes;
  resolver->watch("api.dnsmasq.test", 80, changes.callback());
  auto first = changes.waitForCall(1);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(*first, Strings{"10.20.0.1:80"});

  dnsmasq.writeHosts("10.20.0.2 api.dnsmasq.test");
  dnsmasq.reload();
  auto second = changes.waitForCall(2);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(*second, Strings{"10.20.0.2:80"});
}

}  // namespace
}  // namespace portico::net

#include "upstream/health_checker.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <unordered_set>

#include "common/buffer.h"
#include "common/log.h"
#include "http/h1_parser.h"
#include "net/tls_transport.h"
#include "upstream/load_balancer.h"

namespace portico::upstream {
namespace {

/// A TCP check reads at most this much while looking for its payloads.
constexpr size_t kMaxTcpReceiveBytes = 64 * 1024;

bool sameCheck(const config::HealthCheck& a, const config::HealthCheck& b) {
  return a.type == b.type && a.timeoutMs == b.timeoutMs && a.intervalMs == b.intervalMs &&
         a.intervalJitterMs == b.intervalJitterMs &&
         a.intervalJitterPercent == b.intervalJitterPercent &&
         a.initialJitterMs == b.initialJitterMs && a.unhealthyThreshold == b.unhealthyThreshold &&
         a.healthyThreshold == b.healthyThreshold && a.httpPath == b.httpPath &&
         a.httpHost == b.httpHost && a.expectedStatuses == b.expectedStatuses &&
         a.tcpSend == b.tcpSend && a.tcpReceive == b.tcpReceive;
}

bool sameTarget(const HealthCheckTarget& a, const HealthCheckTarget& b) {
  return a.address.toString() == b.address.toString() && a.hostname == b.hostname &&
         a.health == b.health && a.tls == b.tls && a.sni == b.sni && sameCheck(a.check, b.check);
}

std::string sessionKey(const HealthCheckTarget& t) {
  return t.cluster + '\n' + t.hostKey + '\n' + std::to_string(t.checkIndex);
}

bool statusExpected(const config::HealthCheck& check, int status) {
  if (check.expectedStatuses.empty()) return status == 200;
  for (const auto& [start, end] : check.expectedStatuses)
    if (status >= static_cast<int>(start) && status < static_cast<int>(end)) return true;
  return false;
}

/// Envoy's TCP matching: every payload must appear in the bytes read, each after the previous.
bool payloadsSeen(std::string_view received, const std::vector<std::string>& payloads) {
  size_t from = 0;
  for (const std::string& p : payloads) {
    size_t at = received.find(p, from);
    if (at == std::string_view::npos) return false;
    from = at + p.size();
  }
  return true;
}

}  // namespace

std::vector<HealthCheckTarget> healthCheckTargets(const Cluster& cluster,
                                                  const ClusterLbData& data) {
  std::vector<HealthCheckTarget> out;
  std::unordered_set<std::string> seen;
  for (size_t h = 0; h < cluster.hosts.size() && h < data.health.size(); ++h) {
    const Host& host = cluster.hosts[h];
    if (!seen.insert(host.key).second) continue;
    for (size_t c = 0; c < cluster.healthChecks.size() && c < 32; ++c) {
      HealthCheckTarget t;
      t.cluster = cluster.name;
      t.hostKey = host.key;
      t.address = host.address;
      t.hostname = host.hostname;
      t.checkIndex = static_cast<uint32_t>(c);
      t.check = cluster.healthChecks[c];
      t.health = data.health[h];
      if (cluster.tls) {
        t.tls = cluster.tls->context;
        t.sni = cluster.tls->sniFor(host.key);
      }
      out.push_back(std::move(t));
    }
  }
  return out;
}

// ---- Probe: one check in flight -----------------------------------------------------------------

/// One connection of one check. Deleted through the loop's deferred deletion, so an event
/// already queued for it after it finished finds it alive (and ignores it).
class HealthChecker::Probe final : public net::EventHandler,
                                   public net::Deferred,
                                   public http::H1ParserCallbacks {
public:
  Probe(HealthChecker::Session& session, net::EventLoop& loop, const HealthCheckTarget& target)
      : session_(&session),
        loop_(loop),
        target_(target),
        timeout_(loop, [this] { complete(false, "timeout"); }),
        parser_(http::H1Parser::Type::Response, *this) {}

  ~Probe() override { closeFd(); }

  void start();
  /// The session goes away: finish silently.
  void abandon() {
    session_ = nullptr;
    closeFd();
    timeout_.cancel();
    done_ = true;
  }

  // net::EventHandler
  void onEvents(uint32_t events) override;
  // http::H1ParserCallbacks
  http::ParserAction onHeadersComplete() override {
    status_ = parser_.statusCode();
    return http::ParserAction::Pause;  // the status is all a check needs
  }
  http::ParserAction onBody(const char*, size_t) override { return http::ParserAction::Continue; }
  http::ParserAction onMessageComplete() override { return http::ParserAction::Continue; }

private:
  void onConnected();
  void flushOut();
  void readAll();
  void onData(const char* data, size_t len);
  void onEof();
  void complete(bool ok, std::string reason);
  void closeFd() {
    tls_.reset();
    if (fd_ >= 0) {
      loop_.remove(fd_);
      ::close(fd_);
      fd_ = -1;
    }
  }

  HealthChecker::Session* session_;
  net::EventLoop& loop_;
  const HealthCheckTarget& target_;  // owned by the session, which outlives an active probe
  net::Timer timeout_;
  http::H1Parser parser_;
  Buffer out_;
  std::string received_;  // TCP checks with receive payloads
  int fd_ = -1;
  std::unique_ptr<net::TlsTransport> tls_;  // TLS upstreams
  int status_ = 0;
  bool connected_ = false;
  bool handshaking_ = false;
  bool done_ = false;
};

// ---- Session: one target's schedule and thresholds ----------------------------------------------

class HealthChecker::Session {
public:
  Session(HealthChecker& owner, HealthCheckTarget target)
      : owner_(owner),
        target_(std::move(target)),
        timer_(*owner.loop_, [this] { runCheck(); }),
        healthy_(target_.health->checkVerdict(target_.checkIndex)) {}

  ~Session() { dropProbe(); }

  const HealthCheckTarget& target() const { return target_; }

  void scheduleFirst() {
    const config::HealthCheck& c = target_.check;
    timer_.arm(c.initialJitterMs > 0 ? owner_.randomBelow(c.initialJitterMs + 1)
                                     : owner_.randomBelow(interval()));
  }

  /// The probe finished (it is deferred-deleted by us); record and schedule the next one.
  void onProbeDone(bool ok, std::string reason) {
    dropProbe();
    const config::HealthCheck& c = target_.check;
    if (ok) {
      ++successes_;
      failures_ = 0;
    } else {
      ++failures_;
      successes_ = 0;
    }
    // Counters first, verdict second: whoever sees the new verdict also sees why.
    target_.health->recordCheck(ok, failures_, reason);
    if (ok && !healthy_ && successes_ >= std::max<uint32_t>(c.healthyThreshold, 1))
      setHealthy(true, {});
    else if (!ok && healthy_ && failures_ >= std::max<uint32_t>(c.unhealthyThreshold, 1))
      setHealthy(false, reason);
    int64_t next = interval();
    if (c.intervalJitterMs > 0) next += owner_.randomBelow(c.intervalJitterMs);
    if (c.intervalJitterPercent > 0)
      next += owner_.randomBelow(interval() * c.intervalJitterPercent / 100);
    timer_.arm(next);
  }

private:
  int64_t interval() const { return std::max<int64_t>(target_.check.intervalMs, 1); }

  void runCheck() {
    probe_ = std::make_unique<Probe>(*this, *owner_.loop_, target_);
    probe_->start();  // may complete at once (onProbeDone re-arms timer_: allowed in its callback)
  }

  void dropProbe() {
    if (!probe_) return;
    probe_->abandon();
    owner_.loop_->deferDelete(std::move(probe_));
  }

  void setHealthy(bool healthy, const std::string& reason) {
    healthy_ = healthy;
    target_.health->setCheckVerdict(target_.checkIndex, healthy);
    if (healthy)
      LOG_INFO("health check: %s host %s is healthy again", target_.cluster.c_str(),
               target_.hostKey.c_str());
    else
      LOG_WARN("health check: %s host %s is unhealthy (%s)", target_.cluster.c_str(),
               target_.hostKey.c_str(), reason.c_str());
  }

  HealthChecker& owner_;
  HealthCheckTarget target_;
  net::Timer timer_;
  std::unique_ptr<Probe> probe_;
  bool healthy_;
  uint32_t successes_ = 0;
  uint32_t failures_ = 0;
};

// ---- Probe implementation -----------------------------------------------------------------------

void HealthChecker::Probe::start() {
  auto fd = net::connectTcp(target_.address);
  if (!fd.ok()) {
    complete(false, fd.error());
    return;
  }
  fd_ = *fd;
  Status s = loop_.add(fd_, EPOLLIN | EPOLLOUT | EPOLLRDHUP, this);
  if (!s.ok()) {
    complete(false, s.message());
    return;
  }
  timeout_.arm(std::max<int64_t>(target_.check.timeoutMs, 1));
}

void HealthChecker::Probe::onEvents(uint32_t events) {
  if (done_) return;
  if (!connected_) {
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
    if (err != 0) {
      complete(false, std::string("connect: ") + strerror(err));
      return;
    }
    if (!handshaking_) {
      if (!(events & EPOLLOUT)) return;  // still connecting
      if (target_.tls) {
        tls_ = net::TlsTransport::connect(target_.tls, fd_, target_.sni, nullptr);
        if (!tls_) {
          complete(false, "cannot create a TLS session");
          return;
        }
        handshaking_ = true;
      }
    }
    if (handshaking_) {
      int r = tls_->handshake();
      if (r == 0) return;
      if (r < 0) {
        complete(false, "TLS handshake: " + tls_->lastError());
        return;
      }
      handshaking_ = false;
    }
    connected_ = true;
    onConnected();
    if (done_) return;
  } else if ((events & EPOLLOUT) || (tls_ && (events & EPOLLIN) && tls_->writeWantsRead())) {
    flushOut();
    if (done_) return;
  }
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) || (tls_ && tls_->readWantsWrite()))
    readAll();
}

void HealthChecker::Probe::onConnected() {
  const config::HealthCheck& c = target_.check;
  if (c.type == config::HealthCheck::Type::Http) {
    const std::string& host = !c.httpHost.empty()         ? c.httpHost
                              : !target_.hostname.empty() ? target_.hostname
                                                          : target_.hostKey;
    out_.append("GET ");
    out_.append(c.httpPath.empty() ? std::string_view("/") : std::string_view(c.httpPath));
    out_.append(" HTTP/1.1\r\nHost: ");
    out_.append(host);
    out_.append("\r\nUser-Agent: portico-health-check\r\nConnection: close\r\n\r\n");
  } else {
    if (c.tcpSend.empty() && c.tcpReceive.empty()) {
      complete(true, {});  // a plain TCP check: connecting is the check
      return;
    }
    out_.append(c.tcpSend);
  }
  flushOut();
}

void HealthChecker::Probe::flushOut() {
  while (!out_.empty()) {
    ssize_t n = tls_ ? tls_->write(out_.data(), out_.size())
                     : ::send(fd_, out_.data(), out_.size(), MSG_NOSIGNAL);
    if (n > 0) {
      out_.consume(static_cast<size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      complete(false, std::string("send: ") + strerror(errno));
      return;
    }
  }
  const config::HealthCheck& c = target_.check;
  if (c.type == config::HealthCheck::Type::Tcp && c.tcpReceive.empty())
    complete(true, {});  // sent, nothing to wait for
}

void HealthChecker::Probe::readAll() {
  char buf[4096];
  while (!done_) {
    ssize_t n = tls_ ? tls_->read(buf, sizeof(buf)) : ::recv(fd_, buf, sizeof(buf), 0);
    if (n > 0) {
      onData(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      onEof();
      return;
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      return;
    } else if (tls_ && errno == EPROTO) {
      complete(false, "TLS: " + tls_->lastError());
      return;
    } else if (errno != EINTR) {
      complete(false, std::string("recv: ") + strerror(errno));
      return;
    }
  }
}

void HealthChecker::Probe::onData(const char* data, size_t len) {
  const config::HealthCheck& c = target_.check;
  if (c.type == config::HealthCheck::Type::Http) {
    auto r = parser_.execute(data, len);
    if (r.error) {
      complete(false, std::string("malformed response: ") + parser_.errorReason());
    } else if (status_ != 0) {
      bool ok = statusExpected(c, status_);
      complete(ok, ok ? std::string() : "status " + std::to_string(status_));
    }
    return;
  }
  received_.append(data, len);
  if (payloadsSeen(received_, c.tcpReceive))
    complete(true, {});
  else if (received_.size() > kMaxTcpReceiveBytes)
    complete(false, "response did not contain the expected payload");
}

void HealthChecker::Probe::onEof() {
  if (target_.check.type == config::HealthCheck::Type::Http)
    complete(false, "connection closed before the response status");
  else
    complete(false, "connection closed before the expected payload");
}

void HealthChecker::Probe::complete(bool ok, std::string reason) {
  if (done_) return;
  done_ = true;
  closeFd();
  timeout_.cancel();
  HealthChecker::Session* s = session_;
  session_ = nullptr;
  if (s) s->onProbeDone(ok, std::move(reason));  // defers this probe's deletion
}

// ---- HealthChecker ------------------------------------------------------------------------------

Result<std::unique_ptr<HealthChecker>> HealthChecker::create(uint64_t seed) {
  auto loop = net::EventLoop::create();
  if (!loop.ok()) return loop.status();
  if (seed == 0)
    seed = (static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
  return std::unique_ptr<HealthChecker>(new HealthChecker(std::move(*loop), seed));
}

HealthChecker::HealthChecker(std::unique_ptr<net::EventLoop> loop, uint64_t seed)
    : loop_(std::move(loop)), rng_(seed) {}

HealthChecker::~HealthChecker() {
  stop();
  sessions_.clear();  // the thread is gone: safe from here
}

Status HealthChecker::start() {
  if (started_) return Status::error("health checker already started");
  started_ = true;
  thread_ = std::thread([this] { loop_->run(); });
  return {};
}

void HealthChecker::stop() {
  if (thread_.joinable()) {
    loop_->stop();
    thread_.join();
  }
}

void HealthChecker::update(std::vector<HealthCheckTarget> targets) {
  // std::function needs a copyable callable: carry the vector in a shared_ptr.
  auto shared = std::make_shared<std::vector<HealthCheckTarget>>(std::move(targets));
  loop_->post([this, shared] { apply(std::move(*shared)); });
}

void HealthChecker::apply(std::vector<HealthCheckTarget> targets) {
  std::unordered_map<std::string, std::unique_ptr<Session>> next;
  for (HealthCheckTarget& t : targets) {
    if (!t.health) continue;
    std::string key = sessionKey(t);
    if (next.count(key)) continue;  // a host listed twice is checked once
    auto old = sessions_.find(key);
    if (old != sessions_.end() && sameTarget(old->second->target(), t)) {
      next.emplace(std::move(key), std::move(old->second));
      sessions_.erase(old);
      continue;
    }
    // New or changed: fresh counts; the verdict stays in HostHealth and is inherited.
    auto session = std::make_unique<Session>(*this, std::move(t));
    session->scheduleFirst();
    if (old != sessions_.end()) sessions_.erase(old);
    next.emplace(std::move(key), std::move(session));
  }
  // Checks that no longer exist must not hold their host unhealthy.
  for (auto& [key, session] : sessions_)
    session->target().health->setCheckVerdict(session->target().checkIndex, true);
  sessions_ = std::move(next);
  targetCount_.store(sessions_.size(), std::memory_order_relaxed);
}

int64_t HealthChecker::randomBelow(int64_t bound) {
  if (bound <= 0) return 0;
  return static_cast<int64_t>(rng_() % static_cast<uint64_t>(bound));
}

}  // namespace portico::upstream

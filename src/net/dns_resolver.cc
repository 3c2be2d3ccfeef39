#include "net/dns_resolver.h"

#include <ares.h>
#include <algorithm>
#include <climits>
#include <cstring>
#include <future>
#include <mutex>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <thread>
#include <unordered_map>

#include "common/log.h"
#include "net/event_loop.h"

namespace portico::net {

namespace {

using AddressList = std::vector<Address>;
using ResultPromise = std::promise<Result<AddressList>>;

// Bounds the extra reads after an edge-triggered event (see processSocket()).
constexpr int kMaxDrainRounds = 64;

std::once_flag aresLibraryOnce;
int aresLibraryStatus = ARES_SUCCESS;

// Sort and equality key of an IP: family rank (IPv4 first), then the address bytes.
std::string ipKey(const Address& a) {
  std::string key;
  if (a.family() == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(a.sockaddrPtr());
    key.push_back('\0');
    key.append(reinterpret_cast<const char*>(&v4->sin_addr), sizeof(v4->sin_addr));
  } else {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(a.sockaddrPtr());
    key.push_back('\1');
    key.append(reinterpret_cast<const char*>(&v6->sin6_addr), sizeof(v6->sin6_addr));
    key.append(reinterpret_cast<const char*>(&v6->sin6_scope_id), sizeof(v6->sin6_scope_id));
  }
  return key;
}

void sortUnique(AddressList& ips) {
  std::sort(ips.begin(), ips.end(),
            [](const Address& a, const Address& b) { return ipKey(a) < ipKey(b); });
  ips.erase(std::unique(ips.begin(), ips.end(),
                        [](const Address& a, const Address& b) { return ipKey(a) == ipKey(b); }),
            ips.end());
}

bool sameIps(const AddressList& a, const AddressList& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (ipKey(a[i]) != ipKey(b[i])) return false;
  return true;
}

AddressList withPort(const AddressList& ips, uint16_t port) {
  AddressList out;
  out.reserve(ips.size());
  for (const Address& ip : ips) {
    sockaddr_storage ss{};
    std::memcpy(&ss, ip.sockaddrPtr(), ip.length());
    if (ss.ss_family == AF_INET) reinterpret_cast<sockaddr_in*>(&ss)->sin_port = htons(port);
    else reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port = htons(port);
    out.push_back(Address::fromSockaddr(reinterpret_cast<const sockaddr*>(&ss), ip.length()));
  }
  return out;
}

std::string joinIps(const AddressList& ips) {
  std::string out;
  for (const Address& ip : ips) {
    if (!out.empty()) out += ", ";
    out += ip.ipString();
  }
  return out;
}

}  // namespace

struct DnsResolver::Impl {
  // One c-ares socket registered with the loop. Deleted through the loop (Deferred) because
  // c-ares closes sockets from inside ares_process_fd(), i.e. inside this handler's onEvents().
  class SocketHandler : public EventHandler, public Deferred {
  public:
    SocketHandler(Impl& impl, int fd, uint32_t events) : impl_(impl), fd_(fd), events_(events) {}
    void onEvents(uint32_t events) override {
      if (!closed_) impl_.processSocket(this, events);
    }
    Impl& impl_;
    int fd_;
    uint32_t events_;  // EPOLLIN/EPOLLOUT as c-ares asked
    bool closed_ = false;
  };

  struct Subscriber {
    uint16_t port;
    Callback onChange;
  };

  // A watched hostname; lives on the loop thread only.
  struct Watch {
    std::string hostname;
    uint64_t id = 0;
    std::vector<Subscriber> subscribers;
    AddressList ips;  // last good answer, port 0
    bool haveAnswer = false;
    MonoMs backoffMs = 0;  // 0 after a success
    std::unique_ptr<Timer> timer;
  };

  // One ares_getaddrinfo() in flight: for a watch (watchId) or for resolveOnce() (promise).
  struct Query {
    Impl* impl;
    std::string hostname;
    uint64_t watchId = 0;
    uint16_t port = 0;
    std::shared_ptr<ResultPromise> promise;
  };

  // What other threads read (cached(), test counters).
  struct CacheEntry {
    AddressList ips;
    bool haveAnswer = false;
    uint64_t attempts = 0;
    uint64_t failures = 0;
  };

  explicit Impl(DnsResolverOptions options) : options_(std::move(options)) {}

  // ---- any thread ----

  // Runs `fn` on the loop thread; false once stop() began.
  bool post(std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!running_) return false;
    loop_->post(std::move(fn));
    return true;
  }

  // ---- loop thread ----

  static void onSocketState(void* data, ares_socket_t fd, int readable, int writable) {
    static_cast<Impl*>(data)->socketState(fd, readable != 0, writable != 0);
  }

  void socketState(int fd, bool readable, bool writable) {
    auto it = sockets_.find(fd);
    if (!readable && !writable) {
      if (it == sockets_.end()) return;
      loop_->remove(fd);
      it->second->closed_ = true;
      loop_->deferDelete(std::move(it->second));
      sockets_.erase(it);
      return;
    }
    uint32_t events = (readable ? EPOLLIN : 0u) | (writable ? EPOLLOUT : 0u);
    if (it == sockets_.end()) {
      auto handler = std::make_unique<SocketHandler>(*this, fd, events);
      Status s = loop_->add(fd, events, handler.get());
      if (!s.ok()) {
        // c-ares times the query out; nothing else to do.
        LOG_WARN("dns: cannot watch resolver socket %d: %s", fd, s.message().c_str());
        return;
      }
      sockets_.emplace(fd, std::move(handler));
    } else if (it->second->events_ != events) {
      // EPOLL_CTL_MOD re-checks readiness, so a socket already writable reports it again.
      it->second->events_ = events;
      Status s = loop_->modify(fd, events, it->second.get());
      if (!s.ok()) LOG_WARN("dns: cannot update resolver socket %d: %s", fd, s.message().c_str());
    }
  }

  void processSocket(SocketHandler* handler, uint32_t events) {
    int fd = handler->fd_;
    bool failed = (events & (EPOLLERR | EPOLLHUP)) != 0;
    ares_socket_t readFd = (failed || (events & (EPOLLIN | EPOLLRDHUP))) ? fd : ARES_SOCKET_BAD;
    ares_socket_t writeFd = (failed || (events & EPOLLOUT)) ? fd : ARES_SOCKET_BAD;
    ares_process_fd(channel_, readFd, writeFd);
    // The loop is edge-triggered but c-ares may leave data behind (a TCP answer is read one
    // piece per call; a UDP read loop stops at a datagram from a foreign address). Ask the
    // socket, without waiting, whether more is there, until c-ares has taken it all.
    for (int round = 0; round < kMaxDrainRounds; ++round) {
      auto it = sockets_.find(fd);
      if (it == sockets_.end() || it->second.get() != handler) break;  // closed (or fd reused)
      if (!(handler->events_ & EPOLLIN)) break;
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 0) <= 0 || !(p.revents & (POLLIN | POLLERR | POLLHUP))) break;
      ares_process_fd(channel_, fd, ARES_SOCKET_BAD);
    }
    rearmAresTimer();
  }

  // c-ares keeps its own deadlines (per-try timeouts); one loop timer follows the nearest.
  void rearmAresTimer() {
    timeval tv{};
    timeval* next = ares_timeout(channel_, nullptr, &tv);
    if (next == nullptr) {
      aresTimer_->cancel();
      return;
    }
    // Round up so that the timer never fires before c-ares considers the deadline reached.
    MonoMs ms = static_cast<MonoMs>(next->tv_sec) * 1000 + (next->tv_usec + 999) / 1000 + 1;
    aresTimer_->arm(ms);
  }

  void onAresTimer() {
    ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    rearmAresTimer();
  }

  void startQuery(std::unique_ptr<Query> query) {
    ares_addrinfo_hints hints{};
    hints.ai_family = AF_UNSPEC;
    // We order addresses ourselves (IPv4 first) so that equal answers compare equal; c-ares'
    // RFC 6724 sort would also open a probe socket per address.
    hints.ai_flags = ARES_AI_NOSORT;
    std::string name = query->hostname;
    // The callback may run before ares_getaddrinfo() returns (/etc/hosts, immediate errors).
    ares_getaddrinfo(channel_, name.c_str(), nullptr, &hints, &Impl::onAddrInfo,
                     query.release());
    rearmAresTimer();
  }

  static void onAddrInfo(void* arg, int status, int /*timeouts*/, ares_addrinfo* info) {
    std::unique_ptr<Query> query(static_cast<Query*>(arg));
    Impl& impl = *query->impl;
    AddressList ips;
    int ttl = INT_MAX;
    if (status == ARES_SUCCESS && info != nullptr) {
      for (ares_addrinfo_node* n = info->nodes; n != nullptr; n = n->ai_next) {
        if (n->ai_family != AF_INET && n->ai_family != AF_INET6) continue;
        ips.push_back(Address::fromSockaddr(n->ai_addr, n->ai_addrlen));
        ttl = std::min(ttl, n->ai_ttl);
      }
      for (ares_addrinfo_cname* c = info->cnames; c != nullptr; c = c->next)
        ttl = std::min(ttl, c->ttl);
    }
    if (info != nullptr) ares_freeaddrinfo(info);
    sortUnique(ips);

    Result<AddressList> result = ips;
    if (status != ARES_SUCCESS || ips.empty()) {
      const char* why = status != ARES_SUCCESS ? ares_strerror(status) : "no IPv4/IPv6 address";
      result = Status::error("resolving \"" + query->hostname + "\": " + why);
    }
    if (query->promise) {
      if (result.ok()) result = withPort(result.value(), query->port);
      query->promise->set_value(std::move(result));
      return;
    }
    // The channel is being destroyed (stop()): leave the watches alone.
    if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) return;
    impl.onWatchResult(query->hostname, query->watchId, result, ttl == INT_MAX ? 0 : ttl);
  }

  void resolveWatch(Watch& w) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++cache_[w.hostname].attempts;
    }
    auto query = std::make_unique<Query>();
    query->impl = this;
    query->hostname = w.hostname;
    query->watchId = w.id;
    startQuery(std::move(query));
  }

  void onWatchResult(const std::string& hostname, uint64_t watchId,
                     const Result<AddressList>& result, int ttlSeconds) {
    auto it = watches_.find(hostname);
    if (it == watches_.end() || it->second->id != watchId) return;  // unwatched meanwhile
    Watch& w = *it->second;
    if (!result.ok()) {
      bool first = w.backoffMs == 0;
      w.backoffMs =
          first ? options_.retryInitialMs : std::min(w.backoffMs * 2, options_.retryMaxMs);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        ++cache_[hostname].failures;
      }
      // Warn when a name starts failing; repeats while it keeps failing are debug noise.
      if (first) {
        LOG_WARN("dns: %s; %s, retrying in %lld ms", result.error().c_str(),
                 w.haveAnswer ? "keeping the last answer" : "no answer yet",
                 static_cast<long long>(w.backoffMs));
      } else {
        LOG_DEBUG("dns: %s; retrying in %lld ms", result.error().c_str(),
                  static_cast<long long>(w.backoffMs));
      }
      w.timer->arm(w.backoffMs);
      return;
    }
    w.backoffMs = 0;
    MonoMs delayMs = ttlSeconds <= 0 ? options_.defaultTtlMs
                                     : std::clamp(static_cast<MonoMs>(ttlSeconds) * 1000,
                                                  options_.minTtlMs, options_.maxTtlMs);
    w.timer->arm(delayMs);
    if (w.haveAnswer && sameIps(w.ips, result.value())) return;
    w.ips = result.value();
    w.haveAnswer = true;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      CacheEntry& entry = cache_[hostname];
      entry.ips = w.ips;
      entry.haveAnswer = true;
    }
    LOG_DEBUG("dns: %s -> %s (next resolution in %lld ms)", hostname.c_str(),
              joinIps(w.ips).c_str(), static_cast<long long>(delayMs));
    // Callbacks cannot change watches_ synchronously (watch/unwatch post), so iterating is safe.
    for (const Subscriber& s : w.subscribers) s.onChange(hostname, withPort(w.ips, s.port));
  }

  void addWatch(const std::string& hostname, uint16_t port, Callback onChange) {
    auto& slot = watches_[hostname];
    if (slot) {
      slot->subscribers.push_back({port, std::move(onChange)});
      if (slot->haveAnswer) slot->subscribers.back().onChange(hostname, withPort(slot->ips, port));
      return;
    }
    slot = std::make_unique<Watch>();
    Watch* w = slot.get();
    w->hostname = hostname;
    w->id = nextWatchId_++;
    w->subscribers.push_back({port, std::move(onChange)});
    w->timer = std::make_unique<Timer>(*loop_, [this, w] { resolveWatch(*w); });
    {
      std::lock_guard<std::mutex> lock(mutex_);
      cache_[hostname] = CacheEntry{};
    }
    // A numeric IP needs no resolver and never changes.
    if (auto ip = Address::fromIp(hostname, 0); ip.ok()) {
      onWatchResult(hostname, w->id, AddressList{ip.value()}, 0);
      w->timer->cancel();
      return;
    }
    resolveWatch(*w);
  }

  void removeWatch(const std::string& hostname) {
    watches_.erase(hostname);
    std::lock_guard<std::mutex> lock(mutex_);
    cache_.erase(hostname);
  }

  DnsResolverOptions options_;  // loop thread after create()
  std::unique_ptr<EventLoop> loop_;
  ares_channel channel_ = nullptr;
  std::unique_ptr<Timer> aresTimer_;
  std::unordered_map<int, std::unique_ptr<SocketHandler>> sockets_;
  std::unordered_map<std::string, std::unique_ptr<Watch>> watches_;
  uint64_t nextWatchId_ = 1;
  std::thread thread_;
  std::thread::id threadId_;

  std::mutex stopMutex_;  // serializes stop() so that every caller returns after the join
  mutable std::mutex mutex_;
  bool running_ = false;                                // guarded by mutex_
  std::unordered_map<std::string, CacheEntry> cache_;  // guarded by mutex_
};

// ---- DnsResolver --------------------------------------------------------------------------------

Result<std::unique_ptr<DnsResolver>> DnsResolver::create(DnsResolverOptions options) {
  std::call_once(aresLibraryOnce, [] { aresLibraryStatus = ares_library_init(ARES_LIB_INIT_ALL); });
  if (aresLibraryStatus != ARES_SUCCESS)
    return Status::error(std::string("c-ares: ") + ares_strerror(aresLibraryStatus));

  auto impl = std::make_unique<Impl>(std::move(options));
  auto loop = EventLoop::create();
  if (!loop.ok()) return loop.status();
  impl->loop_ = std::move(loop.value());

  ares_options opts{};
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_LOOKUPS;
  opts.sock_state_cb = &Impl::onSocketState;
  opts.sock_state_cb_data = impl.get();
  opts.timeout = impl->options_.queryTimeoutMs;
  opts.tries = impl->options_.tries;
  char lookups[] = "fb";  // /etc/hosts, then DNS; c-ares copies it
  opts.lookups = lookups;
  int rc = ares_init_options(&impl->channel_, &opts, mask);
  if (rc != ARES_SUCCESS) return Status::error(std::string("c-ares init: ") + ares_strerror(rc));
  if (!impl->options_.servers.empty()) {
    rc = ares_set_servers_ports_csv(impl->channel_, impl->options_.servers.c_str());
    if (rc != ARES_SUCCESS) {
      ares_destroy(impl->channel_);
      return Status::error("DNS servers \"" + impl->options_.servers +
                           "\": " + ares_strerror(rc));
    }
  }
  Impl* raw = impl.get();
  impl->aresTimer_ = std::make_unique<Timer>(*impl->loop_, [raw] { raw->onAresTimer(); });
  impl->running_ = true;
  impl->thread_ = std::thread([raw] {
    pthread_setname_np(pthread_self(), "portico-dns");
    raw->loop_->run();
  });
  impl->threadId_ = impl->thread_.get_id();
  return std::unique_ptr<DnsResolver>(new DnsResolver(std::move(impl)));
}

DnsResolver::DnsResolver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

DnsResolver::~DnsResolver() { stop(); }

void DnsResolver::stop() {
  if (std::this_thread::get_id() == impl_->threadId_) {
    // From a callback: joining would wait for ourselves. A caller bug; refuse loudly.
    LOG_ERROR("dns: DnsResolver::stop() called from an onChange callback; ignored");
    return;
  }
  std::lock_guard<std::mutex> stopLock(impl_->stopMutex_);
  {
    std::lock_guard<std::mutex> lock(impl_->mutex_);
    if (!impl_->running_) return;
    impl_->running_ = false;
  }
  impl_->loop_->stop();
  impl_->thread_.join();
  // The loop thread is gone: this thread owns everything now. Destroying the channel fails the
  // queries in flight with ARES_EDESTRUCTION (resolveOnce() callers get an error) and closes
  // its sockets through onSocketState().
  ares_destroy(impl_->channel_);
  impl_->channel_ = nullptr;
  impl_->watches_.clear();
  impl_->aresTimer_.reset();
  impl_->sockets_.clear();
}

void DnsResolver::watch(const std::string& hostname, uint16_t port, Callback onChange) {
  Impl* impl = impl_.get();
  impl->post([impl, hostname, port, cb = std::move(onChange)]() mutable {
    impl->addWatch(hostname, port, std::move(cb));
  });
}

void DnsResolver::unwatch(const std::string& hostname) {
  Impl* impl = impl_.get();
  {
    std::lock_guard<std::mutex> lock(impl->mutex_);
    impl->cache_.erase(hostname);
  }
  impl->post([impl, hostname] { impl->removeWatch(hostname); });
}

std::optional<std::vector<Address>> DnsResolver::cached(const std::string& hostname,
                                                        uint16_t port) const {
  std::lock_guard<std::mutex> lock(impl_->mutex_);
  auto it = impl_->cache_.find(hostname);
  if (it == impl_->cache_.end() || !it->second.haveAnswer) return std::nullopt;
  return withPort(it->second.ips, port);
}

Result<std::vector<Address>> DnsResolver::resolveOnce(const std::string& hostname, uint16_t port,
                                                      int timeoutMs) {
  if (std::this_thread::get_id() == impl_->threadId_)
    return Status::error("resolving \"" + hostname + "\": resolveOnce() called on the resolver "
                         "thread (it would wait for itself)");
  if (auto ip = Address::fromIp(hostname, port); ip.ok()) return AddressList{ip.value()};
  auto promise = std::make_shared<ResultPromise>();
  auto future = promise->get_future();
  Impl* impl = impl_.get();
  bool posted = impl->post([impl, hostname, port, promise] {
    auto query = std::make_unique<Impl::Query>();
    query->impl = impl;
    query->hostname = hostname;
    query->port = port;
    query->promise = promise;
    impl->startQuery(std::move(query));
  });
  if (!posted) return Status::error("resolving \"" + hostname + "\": the resolver is stopped");
  if (future.wait_for(std::chrono::milliseconds(timeoutMs)) != std::future_status::ready)
    return Status::error("resolving \"" + hostname + "\": no answer within " +
                         std::to_string(timeoutMs) + " ms");
  return future.get();
}

void DnsResolver::setDefaultTtlForTest(MonoMs ttlMs) {
  Impl* impl = impl_.get();
  impl->post([impl, ttlMs] { impl->options_.defaultTtlMs = ttlMs; });
}

void DnsResolver::setRetryBackoffForTest(MonoMs initialMs, MonoMs maxMs) {
  Impl* impl = impl_.get();
  impl->post([impl, initialMs, maxMs] {
    impl->options_.retryInitialMs = initialMs;
    impl->options_.retryMaxMs = maxMs;
  });
}

uint64_t DnsResolver::attemptsForTest(const std::string& hostname) const {
  std::lock_guard<std::mutex> lock(impl_->mutex_);
  auto it = impl_->cache_.find(hostname);
  return it == impl_->cache_.end() ? 0 : it->second.attempts;
}

uint64_t DnsResolver::failuresForTest(const std::string& hostname) const {
  std::lock_guard<std::mutex> lock(impl_->mutex_);
  auto it = impl_->cache_.find(hostname);
  return it == impl_->cache_.end() ? 0 : it->second.failures;
}

}  // namespace portico::net

#include "gateway/worker.h"

#include <cstring>
#include <pthread.h>

#include "common/log.h"
#include "gateway/downstream_connection.h"
#include "gateway/host_pool.h"
#include "gateway/listener.h"
#include "observability/observability.h"
#include "observability/tracing_tracer.h"
#include "upstream/load_balancer.h"
#include "upstream/outlier_detector.h"

namespace portico::gateway {

namespace {
uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
}  // namespace

WorkerSnapshot::WorkerSnapshot() = default;
WorkerSnapshot::~WorkerSnapshot() = default;

Worker::Worker(size_t index, SnapshotHolder& holder, WorkerSettings settings)
    : index_(index), holder_(holder), settings_(settings), scratch_(64 * 1024) {
  uint64_t seed = static_cast<uint64_t>(monotonicMs()) ^ (reinterpret_cast<uintptr_t>(this) << 16) ^
                  (index * 0x1234567ULL);
  rng_[0] = splitmix64(seed);
  rng_[1] = splitmix64(seed);
  observability::MetricsRegistry& metrics = observability::instance().metrics();
  if (index < metrics.workers()) stats_ = &metrics.worker(index);
  observability::Tracer& tracer = observability::tracer();
  if (tracer.enabled() && index < tracer.workers()) tracer_ = &tracer;
}

Worker::~Worker() {
  join();
  // Order matters: connections (and the upstream connections they hold) go before the pools.
  for (DownstreamConnection* c : std::vector<DownstreamConnection*>(connections_.begin(),
                                                                  connections_.end()))
    c->abortNow();
  listeners_.clear();
  pools_.clear();
  if (current_) {
    delete current_;
    current_ = nullptr;
  }
  loop_.reset();
}

Status Worker::start() {
  auto loop = net::EventLoop::create(settings_.ioEngine);
  if (!loop.ok()) return Status::error("--io-engine: " + loop.status().message());
  loop_ = std::move(*loop);
  loop_->setIterationHook([this] {
    if (holder_.version() != adoptedVersion_) adoptSnapshot();
  });
  adoptSnapshot();
  thread_ = std::thread([this] { run(); });
  return {};
}

void Worker::run() {
  char name[16];
  snprintf(name, sizeof(name), "portico-w%zu", index_);
  pthread_setname_np(pthread_self(), name);
  loop_->run();
}

void Worker::notifySnapshot() {
  if (loop_) loop_->post([] {});  // the iteration hook notices the new version
}

void Worker::stop() {
  if (loop_) loop_->stop();
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::drain() {
  loop_->post([this] {
    if (draining_) return;
    draining_ = true;
    for (auto& l : listeners_) l->stopAccepting(true);
    for (DownstreamConnection* c : std::vector<DownstreamConnection*>(connections_.begin(),
                                                                    connections_.end()))
      c->beginDrain();
    drainTimer_ = std::make_unique<net::Timer>(*loop_, [this] {
      LOG_WARN("worker %zu: drain timeout with %zu connections open", index_,
               connections_.size());
      for (DownstreamConnection* c : std::vector<DownstreamConnection*>(connections_.begin(),
                                                                      connections_.end()))
        c->abortNow();
      loop_->stop();
    });
    drainTimer_->arm(settings_.drainTimeoutMs);
    maybeFinishDrain();
  });
}

void Worker::maybeFinishDrain() {
  if (draining_ && connections_.empty()) loop_->stop();
}

void Worker::addConnection(DownstreamConnection* c) {
  connections_.insert(c);
  if (settings_.maxConnections && connections_.size() >= settings_.maxConnections &&
      !acceptPaused_)
    pauseAccepting();
}

void Worker::removeConnection(DownstreamConnection* c) {
  connections_.erase(c);
  if (acceptPaused_ && connections_.size() < settings_.maxConnections) resumeAccepting();
  maybeFinishDrain();
}

void Worker::pauseAccepting() {
  acceptPaused_ = true;
  if (stats_) stats_->downstream.acceptPauses.add();
  LOG_DEBUG("worker %zu: %zu connections, not accepting until one closes", index_,
            connections_.size());
  for (auto& l : listeners_) l->pause();
}

void Worker::resumeAccepting() {
  acceptPaused_ = false;
  if (draining_) return;  // the drain closed the sockets
  for (auto& l : listeners_) l->resume();
}

void Worker::releaseSnapshot(WorkerSnapshot* s) {
  if (--s->refs == 0 && s != current_) deleteSnapshot(s);
}

void Worker::deleteSnapshot(WorkerSnapshot* s) {
  for (auto& pools : s->pools)
    for (HostPool* p : pools) p->unref();
  delete s;
}

void Worker::prunePools() {
  // Hosts that left the config (DNS answers, ports, removed upstreams) must not pile up: a pool
  // no snapshot lists and no exchange uses goes, with its idle connections. One still busy (a
  // shadow request, an HTTP/2 connection winding down) is looked at again on the next change.
  std::erase_if(pools_, [](const auto& kv) { return kv.second->unused(); });
}

HostPool* Worker::poolFor(const upstream::Host& host) {
  auto it = pools_.find(host.key);
  if (it != pools_.end()) return it->second.get();
  auto pool = std::make_unique<HostPool>(*this, host.address, host.key);
  HostPool* p = pool.get();
  pools_.emplace(host.key, std::move(pool));
  return p;
}

void Worker::adoptSnapshot() {
  adoptedVersion_ = holder_.version();
  SnapshotConstSharedPtr snap = holder_.load();
  auto* ws = new WorkerSnapshot();
  ws->snapshot = snap;
  ws->refs = 1;  // held as current
  if (snap) {
    ws->pools.resize(snap->clusters.size());
    ws->cursors.assign(snap->clusters.size(), static_cast<uint32_t>(index_));
    ws->balancers.resize(snap->clusters.size());
    ws->recorders.resize(snap->clusters.size());
    ws->upstreamStats.assign(snap->clusters.size(), nullptr);
    if (stats_ && snap->stats) {
      for (size_t i = 0; i < snap->clusters.size() && i < snap->stats->clusters.size(); ++i) {
        uint32_t id = snap->stats->clusters[i];
        if (id != observability::kNoStatsId) ws->upstreamStats[i] = &stats_->upstreams[id];
      }
    }
    for (size_t i = 0; i < snap->clusters.size(); ++i) {
      const upstream::Cluster& cluster = *snap->clusters[i];
      for (const upstream::Host& h : cluster.hosts) {
        HostPool* pool = poolFor(h);
        pool->ref();
        ws->pools[i].push_back(pool);
      }
      if (!cluster.lbData) continue;
      ws->balancers[i] = upstream::createLoadBalancer(cluster, *cluster.lbData);
      if (cluster.outlierDetection)
        ws->recorders[i] = std::make_unique<upstream::OutlierRecorder>(
            *cluster.lbData, *cluster.outlierDetection, index_, settings_.outlierDetector);
    }
  }

  // Listeners: keep the ones whose socket set survives, start new ones, stop removed ones.
  std::vector<std::shared_ptr<ListenerHandler>> next;
  if (snap && !draining_) {
    for (size_t i = 0; i < snap->listeners.size(); ++i) {
      const Listener& l = snap->listeners[i];
      if (!l.sockets) continue;
      std::shared_ptr<ListenerHandler> handler;
      for (auto& existing : listeners_)
        if (existing->sockets() == l.sockets.get()) handler = existing;
      if (!handler) {
        handler = std::make_shared<ListenerHandler>(*this, l.sockets);
        Status s = handler->start();
        if (!s.ok()) {
          LOG_ERROR("worker %zu: listener %s: %s", index_, l.address.toString().c_str(),
                    s.message().c_str());
          continue;
        }
      }
      if (acceptPaused_) handler->pause();  // a listener added while at --max-connections
      handler->setListenerIndex(static_cast<int>(i));
      handler->setTls(l.tls);
      next.push_back(handler);
    }
  }
  for (auto& old : listeners_) {
    bool kept = false;
    for (auto& n : next) kept |= n == old;
    if (!kept) {
      // Close this worker's socket too: a bound socket nobody accepts on would queue clients.
      old->stopAccepting(true);
      old->setListenerIndex(-1);
      old->setTls(nullptr);
    }
  }
  listeners_ = std::move(next);

  WorkerSnapshot* previous = current_;
  current_ = ws;
  if (previous) releaseSnapshot(previous);
  prunePools();
}

namespace {
/// "00".."ff": one two-byte copy per byte of an id.
struct HexPairs {
  char pair[256][2];
  constexpr HexPairs() : pair() {
    constexpr char kHex[] = "0123456789abcdef";
    for (int i = 0; i < 256; ++i) {
      pair[i][0] = kHex[i >> 4];
      pair[i][1] = kHex[i & 15];
    }
  }
};
constexpr HexPairs kHexPairs;
}  // namespace

void Worker::newRequestId(char* out) {
  // A UUIDv4 from 128 random bits: bytes 0-7 are `a`'s, 8-15 `c`'s, least significant first.
  uint64_t a = random(), c = random();
  a = (a & ~(uint64_t{0xf0} << 48)) | (uint64_t{0x40} << 48);  // byte 6: version 4
  c = (c & ~uint64_t{0xc0}) | uint64_t{0x80};                  // byte 8: RFC 4122 variant
  char* p = out;
  auto put = [&p](uint64_t byte) {
    memcpy(p, kHexPairs.pair[byte & 0xff], 2);
    p += 2;
  };
  for (int i = 0; i < 4; ++i) put(a >> (8 * i));
  *p++ = '-';
  put(a >> 32);
  put(a >> 40);
  *p++ = '-';
  put(a >> 48);
  put(a >> 56);
  *p++ = '-';
  put(c);
  put(c >> 8);
  *p++ = '-';
  for (int i = 2; i < 8; ++i) put(c >> (8 * i));
}

}  // namespace portico::gateway

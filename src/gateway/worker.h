// Worker: one thread, one epoll loop, its listeners, downstream connections and upstream pools.
// Adopts new snapshots between events; in-flight requests keep the snapshot they started with.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/buffer.h"
#include "gateway/snapshot.h"
#include "net/event_loop.h"

namespace portico::observability {
class Tracer;
struct UpstreamStats;
struct WorkerStats;
}  // namespace portico::observability
namespace portico::upstream {
class LoadBalancer;
class OutlierDetector;
class OutlierRecorder;
}  // namespace portico::upstream

namespace portico::gateway {

class DownstreamConnection;
class HostPool;
class ListenerHandler;

/// Data-plane settings fixed at start-up (flags).
struct WorkerSettings {
  int64_t idleTimeoutMs = 60000;         ///< downstream keep-alive / header read idleness
  int64_t requestHeadersTimeoutMs = 10000;  ///< a request head must arrive whole within this
  int64_t upstreamIdleTimeoutMs = 30000;  ///< pooled upstream connection idleness
  int64_t drainTimeoutMs = 15000;        ///< SIGTERM: how long in-flight requests may finish
  uint64_t maxRequestBodyBytes = 0;      ///< 0 = unlimited (bodies are streamed)
  size_t maxRequestHeaderBytes = 60 * 1024;  ///< request line + headers; more is answered 431
  size_t maxRequestHeaders = 100;             ///< header fields; more is answered 431
  uint32_t maxConcurrentStreams = 100;        ///< per HTTP/2 connection (SETTINGS)
  /// Open client connections per worker; at this many the worker stops accepting until one
  /// closes (other workers' SO_REUSEPORT sockets keep accepting). 0 = no limit.
  size_t maxConnections = 10000;
  size_t highWatermark = 1 << 20;  ///< pause the other side above this many queued bytes
  size_t lowWatermark = 256 << 10;
  net::IoEngine ioEngine = net::IoEngine::Epoll;  ///< --io-engine
  /// Where workers report hosts whose failure streak reached the threshold (the controller's;
  /// null: outlier detection only counts).
  upstream::OutlierDetector* outlierDetector = nullptr;
};

/// A snapshot as one worker uses it: per-cluster host pools and balancer cursors, and a
/// worker-local reference count (streams hold it without touching shared atomics).
struct WorkerSnapshot {
  WorkerSnapshot();
  ~WorkerSnapshot();
  SnapshotConstSharedPtr snapshot;
  std::vector<std::vector<HostPool*>> pools;  ///< [cluster][host]
  std::vector<uint32_t> cursors;              ///< round-robin position per cluster
  /// [cluster]: this worker's balancer (null when the cluster has no balancing data) and
  /// outlier recorder (null without outlier detection).
  std::vector<std::unique_ptr<upstream::LoadBalancer>> balancers;
  std::vector<std::unique_ptr<upstream::OutlierRecorder>> recorders;
  /// [cluster]: this worker's stats block of the cluster's upstream (null: not counted).
  std::vector<observability::UpstreamStats*> upstreamStats;
  uint32_t refs = 0;
};

class Worker {
public:
  Worker(size_t index, SnapshotHolder& holder, WorkerSettings settings);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  /// Starts the thread. Adopts the holder's snapshot first.
  Status start();
  /// Thread-safe: look at the holder now (after a publish).
  void notifySnapshot();
  /// Thread-safe: stop accepting, finish in-flight requests, then stop the thread.
  void drain();
  /// Thread-safe: stop at once.
  void stop();
  void join();

  // ---- used by connections on the worker thread ----
  net::EventLoop& loop() { return *loop_; }
  size_t index() const { return index_; }
  const WorkerSettings& settings() const { return settings_; }
  bool draining() const { return draining_; }
  /// Read scratch space shared by all of this worker's connections.
  /// Output buffers for connections with something to send: an idle connection gives its
  /// buffer back, so that idle keep-alive connections hold no buffer and busy ones reuse the
  /// same few (no allocation per request).
  Buffer takeBuffer() {
    if (spareBuffers_.empty()) return Buffer();
    Buffer b = std::move(spareBuffers_.back());
    spareBuffers_.pop_back();
    return b;
  }
  void giveBuffer(Buffer& b) {
    b.clear();
    if (b.capacity() > kSpareBufferMax || spareBuffers_.size() >= kSpareBuffers) {
      b.shrinkTo(0);  // too big to keep (after a large response), or enough spares already
      return;
    }
    spareBuffers_.push_back(std::move(b));
  }
  char* scratch() { return scratch_.data(); }
  size_t scratchSize() const { return scratch_.size(); }

  WorkerSnapshot* acquireSnapshot() {
    ++current_->refs;
    return current_;
  }
  void releaseSnapshot(WorkerSnapshot* s);
  /// The snapshot new requests start with (requests answered before routing log with it).
  const WorkerSnapshot* currentSnapshot() const { return current_; }
  /// This worker's metrics (only this thread writes them); null when metrics are off.
  observability::WorkerStats* stats() { return stats_; }
  /// The tracer, with this worker's span ring; null when tracing is off.
  observability::Tracer* tracer() { return tracer_; }

  void addConnection(DownstreamConnection* c);
  void removeConnection(DownstreamConnection* c);
  /// True while this worker's listeners are paused at settings().maxConnections.
  bool acceptPaused() const { return acceptPaused_; }
  /// A fresh UUIDv4 for x-request-id, written into 36 chars at `out`.
  void newRequestId(char* out);
  /// Fast per-worker pseudo-random numbers (sampling, weighted picks, back-off jitter):
  /// xorshift128+, inline (several calls per traced request); none of its uses needs secrecy.
  uint64_t random() {
    uint64_t s1 = rng_[0];
    const uint64_t s0 = rng_[1];
    rng_[0] = s0;
    s1 ^= s1 << 23;
    rng_[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
    return rng_[1] + s0;
  }

private:
  void run();
  void adoptSnapshot();
  HostPool* poolFor(const upstream::Host& host);
  /// Gives back a snapshot's pool references and deletes it.
  void deleteSnapshot(WorkerSnapshot* s);
  /// Forgets the pools of hosts no snapshot lists any more (HostPool::unused).
  void prunePools();
  void maybeFinishDrain();
  void pauseAccepting();
  void resumeAccepting();

  size_t index_;
  SnapshotHolder& holder_;
  WorkerSettings settings_;
  std::unique_ptr<net::EventLoop> loop_;
  std::thread thread_;
  uint64_t adoptedVersion_ = 0;
  WorkerSnapshot* current_ = nullptr;
  std::vector<std::shared_ptr<ListenerHandler>> listeners_;
  std::unordered_map<std::string, std::unique_ptr<HostPool>> pools_;
  std::unordered_set<DownstreamConnection*> connections_;
  static constexpr size_t kSpareBuffers = 1024;
  static constexpr size_t kSpareBufferMax = 64 << 10;
  std::vector<Buffer> spareBuffers_;
  std::vector<char> scratch_;
  bool draining_ = false;
  bool acceptPaused_ = false;
  std::unique_ptr<net::Timer> drainTimer_;
  uint64_t rng_[2];
  observability::WorkerStats* stats_ = nullptr;
  observability::Tracer* tracer_ = nullptr;
};

}  // namespace portico::gateway

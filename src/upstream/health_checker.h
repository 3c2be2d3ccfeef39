// HealthChecker: active HTTP and TCP health checks of upstream hosts, run on a thread of their
// own with their own EventLoop, writing verdicts into the hosts' shared HostHealth.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "config/model.h"
#include "net/address.h"
#include "net/event_loop.h"
#include "net/tls_context.h"
#include "upstream/cluster.h"
#include "upstream/host_health.h"

namespace portico::upstream {

struct ClusterLbData;

/// One host checked by one of its cluster's health checks.
struct HealthCheckTarget {
  std::string cluster;      ///< cluster name
  std::string hostKey;      ///< Host::key
  net::Address address;     ///< where to connect
  std::string hostname;     ///< Host header when check.httpHost is empty (else the address)
  uint32_t checkIndex = 0;  ///< index in Cluster::healthChecks (< 32)
  config::HealthCheck check;
  HostHealthSharedPtr health;  ///< the host's shared state (ClusterLbData::health)
  /// Upstream TLS: checks handshake first (a failed handshake is a failed check). Null: plain.
  net::TlsClientContextConstSharedPtr tls;
  std::string sni;  ///< with tls: the SNI sent (empty: none)
};

/// Every (host, check) pair of `cluster`, with the HostHealth objects of `data` (built from
/// `cluster`). Hosts listed twice are checked once. Any thread.
std::vector<HealthCheckTarget> healthCheckTargets(const Cluster& cluster,
                                                  const ClusterLbData& data);

/// Runs the checks. For each target: the first check after a random delay in
/// [0, initialJitter] (or in [0, interval) without one, to spread checks of many hosts), then
/// one check every interval (+ intervalJitter, + intervalJitterPercent of the interval) after
/// the previous one ended, each bounded by `timeout`.
///  * HTTP: non-blocking connect, "GET <path>" with Host, "User-Agent: portico-health-check",
///    "Connection: close"; healthy when the status is in expectedStatuses ([200, 201) if none).
///  * TCP: connect; write `tcpSend` if any; with `tcpReceive`, read until every payload was seen
///    in order (Envoy's matching); healthy on connect alone when neither is given.
/// Hosts of TLS upstreams are checked over TLS (same context and SNI as the traffic; the
/// handshake is part of the check, bounded by `timeout`).
/// A refused connection, a timeout, a failed TLS handshake, a close before the answer, or a
/// malformed answer is a failure. Envoy's thresholds: a healthy host turns unhealthy after `unhealthyThreshold`
/// consecutive failures, an unhealthy one healthy after `healthyThreshold` consecutive
/// successes. Hosts start healthy (HostHealth), so a restart serves at once instead of
/// answering 503 until the first checks complete.
///
/// Threads: update() and loop().post() from any thread; start()/stop() from the owner. Checks
/// never run on a worker thread.
class HealthChecker {
public:
  /// `seed` for the jitter draws; 0 = from std::random_device.
  static Result<std::unique_ptr<HealthChecker>> create(uint64_t seed = 0);
  /// Stops the thread if it runs. Destroy any OutlierDetector using loop() first.
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  /// Starts the checker thread (once).
  Status start();
  /// Stops and joins the thread; pending checks are abandoned. Idempotent.
  void stop();

  /// Thread-safe: the complete set of targets after a reload. Targets whose (cluster, host key,
  /// check index), address, check settings and HostHealth are unchanged keep their schedule and
  /// consecutive counts; changed ones restart their counts (the host's verdict is kept); a
  /// removed check's verdict is cleared so it cannot keep a remaining host unhealthy.
  void update(std::vector<HealthCheckTarget> targets);

  /// The checker thread's loop (for the OutlierDetector, which runs on the same thread).
  net::EventLoop& loop() { return *loop_; }
  /// Targets currently scheduled (any thread; after update() was applied on the loop).
  size_t targetCount() const { return targetCount_.load(std::memory_order_relaxed); }

private:
  class Probe;
  class Session;
  friend class Probe;
  friend class Session;

  explicit HealthChecker(std::unique_ptr<net::EventLoop> loop, uint64_t seed);
  void apply(std::vector<HealthCheckTarget> targets);
  /// Uniform in [0, bound) (0 when bound ≤ 0). Loop thread.
  int64_t randomBelow(int64_t bound);

  std::unique_ptr<net::EventLoop> loop_;  // declared first: destroyed after the sessions
  std::thread thread_;
  bool started_ = false;
  std::mt19937_64 rng_;
  std::unordered_map<std::string, std::unique_ptr<Session>> sessions_;  // loop thread only
  std::atomic<size_t> targetCount_{0};
};

}  // namespace portico::upstream

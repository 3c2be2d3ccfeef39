// Load balancers: per-worker host pickers (round robin, least request, random, ring hash,
// Maglev) over one cluster, and ClusterLbData, the immutable part they share across workers.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "common/clock.h"
#include "upstream/cluster.h"
#include "upstream/consistent_hash.h"
#include "upstream/host_health.h"

namespace portico::upstream {

/// Built once per cluster per snapshot (controller thread), then immutable and shared by every
/// worker's balancer through Cluster::lbData.
struct ClusterLbData {
  config::LoadBalancerConfig config;
  std::shared_ptr<ClusterHealth> clusterHealth;  ///< the health epoch of the cluster
  std::vector<HostHealthSharedPtr> health;       ///< [host index]: shared with the registry
  std::vector<uint32_t> weights;                 ///< [host index], ≥ 1
  std::shared_ptr<const RingHashTable> ring;     ///< RingHash policy only
  std::shared_ptr<const MaglevTable> maglev;     ///< Maglev policy only
};

/// Builds the balancing data of `cluster` (its `hosts` and `loadBalancer` must be final): attaches
/// each host's HostHealth from `registry` (same object as in the previous snapshot for a host
/// that stayed) and builds the ring or Maglev table. When `previous` (the same cluster's data
/// in the snapshot being replaced) was built from the same hosts, weights and table settings,
/// its table is shared instead of rebuilt (a Maglev table is 256 KiB; a ring of 1,000 hosts
/// ~2 MB and ~20 ms to build). Controller thread; never on the request path.
std::shared_ptr<const ClusterLbData> buildClusterLbData(const Cluster& cluster,
                                                        HostHealthRegistry& registry,
                                                        const ClusterLbData* previous = nullptr);

/// What a pick may use besides the balancer's own state.
struct PickContext {
  /// The request hash computed from the route's hash policies (hashBytes() of the header,
  /// cookie or source IP); none → hash-based balancers pick like Random.
  std::optional<uint64_t> hash;
  /// The worker loop's cached monotonic time (EventLoop::now()): decides ejection expiry.
  MonoMs now = 0;
  /// A fresh 64-bit random number (Worker::random()).
  uint64_t random = 0;
};

/// Picks a host of one cluster. One object per (worker, cluster, snapshot): NOT thread-safe and
/// lock-free by design; it must be used only on the worker thread that created it, and must not
/// outlive the ClusterLbData it was created from (the WorkerSnapshot holds both).
///
/// Every balancer picks only available hosts (no failing active check, not ejected). When the
/// available share of hosts falls below loadBalancer.healthyPanicThreshold percent it picks among
/// all hosts (Envoy's panic mode: better to spread load over possibly-bad hosts than to pile it
/// on the few good ones); with the threshold at 0 it never panics and returns -1 when no host is
/// available. Availability is re-read only when the cluster's health epoch moved or an ejection
/// expired, so a pick costs O(1) (O(log n) for weighted random / ring; O(n) for weighted round
/// robin) and never touches other threads' cache lines.
class LoadBalancer {
public:
  virtual ~LoadBalancer() = default;
  /// The chosen host's index in Cluster::hosts, or -1 when there is none to choose.
  virtual int pick(const PickContext& ctx) = 0;
  /// The request was sent to / finished with `host` (least request counts them). Call both on
  /// the balancer that picked the host (a request keeps its snapshot, hence its balancer).
  virtual void onRequestStart(int host) { (void)host; }
  virtual void onRequestEnd(int host) { (void)host; }
};

/// The balancer for `data.config.policy`. `cluster` must be the cluster `data` was built from.
/// Worker thread.
std::unique_ptr<LoadBalancer> createLoadBalancer(const Cluster& cluster, const ClusterLbData& data);

}  // namespace portico::upstream

// Snapshot: everything the data plane serves — listeners with their route tables, and clusters —
// built by the controller, published with one atomic swap, never mutated after publication.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "net/address.h"
#include "net/tls_context.h"
#include "observability/access_log.h"
#include "observability/observability.h"
#include "router/route_table.h"
#include "upstream/cluster.h"

namespace portico::gateway {

/// The listening sockets of one bind address, one per worker (SO_REUSEPORT spreads
/// connections). Created by the controller so that a bind failure becomes a Gateway status;
/// shared by every snapshot that keeps the address, so reloads never re-bind.
class ListenSocketSet {
public:
  static Result<std::shared_ptr<ListenSocketSet>> create(const net::Address& address,
                                                         size_t workers);
  ~ListenSocketSet();
  ListenSocketSet(const ListenSocketSet&) = delete;
  ListenSocketSet& operator=(const ListenSocketSet&) = delete;

  /// The socket worker `worker` accepts on; -1 once that worker closed it (drain).
  int fd(size_t worker) const;
  /// Closes the worker's socket so the kernel refuses new connections (drain). Worker thread.
  void closeFor(size_t worker);
  const net::Address& address() const { return address_; }

private:
  ListenSocketSet(net::Address address, const std::vector<int>& fds)
      : address_(address), fds_(fds.size()) {
    for (size_t i = 0; i < fds.size(); ++i) fds_[i].store(fds[i]);
  }
  net::Address address_;
  std::vector<std::atomic<int>> fds_;
};

struct Listener {
  std::string name;  ///< Gateway object, "gateway gateway-proxy.gloo-system"
  net::Address address;
  std::shared_ptr<ListenSocketSet> sockets;  ///< null when only validating
  router::RouteTable routes;
  /// The gateway's access logs (null: none).
  std::shared_ptr<const observability::ListenerAccessLogs> accessLogs;
  /// An HTTPS gateway's certificates chosen by SNI; null for plain HTTP.
  net::TlsServerConfigConstSharedPtr tls;
};

struct Snapshot {
  uint64_t version = 0;
  std::vector<Listener> listeners;
  std::vector<upstream::ClusterConstSharedPtr> clusters;
  /// Stats ids of the clusters and routes (null: not counted, e.g. validation).
  std::shared_ptr<const observability::SnapshotStatsIndex> stats;
};

using SnapshotConstSharedPtr = std::shared_ptr<const Snapshot>;

/// Where the controller publishes and workers pick up. Workers poll version() (one relaxed
/// load per loop wake-up) and take the pointer only when it moved.
class SnapshotHolder {
public:
  void publish(SnapshotConstSharedPtr snapshot) {
    std::atomic_store_explicit(&current_, std::move(snapshot), std::memory_order_release);
    version_.fetch_add(1, std::memory_order_release);
  }
  SnapshotConstSharedPtr load() const {
    return std::atomic_load_explicit(&current_, std::memory_order_acquire);
  }
  uint64_t version() const { return version_.load(std::memory_order_acquire); }

private:
  SnapshotConstSharedPtr current_;
  std::atomic<uint64_t> version_{0};
};

}  // namespace portico::gateway

// The process's observability state — the metrics registry, the access log writer and the
// --access-log default — reachable from the controller, the workers and the admin API.
// One instance per process because those layers share no other object that could carry it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "observability/access_log_writer.h"
#include "observability/metrics_registry.h"
#include "router/route_table.h"
#include "upstream/cluster.h"

namespace portico::observability {

class Observability {
public:
  /// Sets the worker count of the registry and the writer (`portico run`, before the first
  /// snapshot is built). Without it (validate), nothing is counted or written.
  void configure(size_t workers) {
    metrics_.configure(workers);
    accessLogs_.configure(workers);
  }
  MetricsRegistry& metrics() { return metrics_; }
  AccessLogWriter& accessLogs() { return accessLogs_; }
  /// --access-log: the log of every gateway that configures none. Set before the first build.
  void setDefaultAccessLogPath(std::string path) { defaultAccessLogPath_ = std::move(path); }
  const std::string& defaultAccessLogPath() const { return defaultAccessLogPath_; }

private:
  MetricsRegistry metrics_;
  AccessLogWriter accessLogs_;
  std::string defaultAccessLogPath_;
};

Observability& instance();

/// Where a route's requests are counted and what its access log calls it.
struct RouteStatsRef {
  uint32_t virtualService = kNoStatsId;
  uint32_t route = kNoStatsId;
  std::string name;  ///< the Gloo route name, else "<virtual service>/<index>"
};

/// Per snapshot: the stable stats ids of its clusters and routes, so the request path indexes.
/// Holds one registry reference per id it lists, given back when the last snapshot using it
/// goes (so no request can write an id after the registry frees it).
struct SnapshotStatsIndex {
  SnapshotStatsIndex() = default;
  ~SnapshotStatsIndex();
  SnapshotStatsIndex(const SnapshotStatsIndex&) = delete;
  SnapshotStatsIndex& operator=(const SnapshotStatsIndex&) = delete;

  std::vector<uint32_t> clusters;  ///< [cluster index] → upstream id
  std::vector<std::vector<std::vector<RouteStatsRef>>> routes;  ///< [listener][vhost][route]
  /// The registry the ids came from (it outlives every index built from it) and the virtual
  /// service ids, one per virtual host (routes repeat them).
  MetricsRegistry* registry = nullptr;
  std::vector<uint32_t> virtualServices;
};

/// Interns every cluster, virtual service and route of a snapshot in `registry` (after freeing
/// the ids retired long enough) and hands the clusters to it for scrape-time gauges.
/// `routeName(entry, vhost)` gives a route's label. Controller thread.
std::shared_ptr<const SnapshotStatsIndex> buildStatsIndex(
    MetricsRegistry& registry, const std::vector<const router::RouteTable*>& listeners,
    const std::vector<upstream::ClusterConstSharedPtr>& clusters,
    const std::function<std::string(const router::RouteEntry&, const router::VirtualHost&, size_t)>&
        routeName);

}  // namespace portico::observability

namespace portico::observability {

/// GET /metrics of the admin API: the process's metrics in the format `accept` asks for
/// (Prometheus text 0.0.4 by default, OpenMetrics 1.0.0 on request). Admin thread.
void serveMetrics(std::string_view accept, std::string& contentType, std::string& body);

}  // namespace portico::observability

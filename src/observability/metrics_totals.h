// MetricsTotals: every worker's cells summed into plain numbers, the common input of the
// Prometheus exposition and the statsd flush. Any thread; no lock on the workers' side.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "observability/metrics_registry.h"

namespace portico::observability {

struct RequestTotals {
  std::array<uint64_t, kCodeClasses> requests{};
  std::array<uint64_t, kLatencyBuckets> buckets{};
  uint64_t sumUs = 0;
  void add(const RequestStats& s) {
    for (size_t c = 0; c < kCodeClasses; ++c) requests[c] += s.requests[c].value();
    for (size_t b = 0; b < kLatencyBuckets; ++b) buckets[b] += s.latency.bucket(b);
    sumUs += s.latency.sumUs();
  }
};

struct UpstreamTotals {
  uint64_t requests = 0, retries = 0, timeouts = 0, connectFailures = 0;
  std::array<uint64_t, kUpstreamErrorKinds> errors{};
  std::array<uint64_t, kLatencyBuckets> buckets{};
  uint64_t sumUs = 0;
  uint64_t opened = 0, closed = 0, idleIn = 0, idleOut = 0;
  void add(const UpstreamStats& s) {
    requests += s.requests.value();
    retries += s.retries.value();
    timeouts += s.timeouts.value();
    connectFailures += s.connectFailures.value();
    for (size_t e = 0; e < kUpstreamErrorKinds; ++e) errors[e] += s.errors[e].value();
    for (size_t b = 0; b < kLatencyBuckets; ++b) buckets[b] += s.latency.bucket(b);
    sumUs += s.latency.sumUs();
    opened += s.connectionsOpened.value();
    closed += s.connectionsClosed.value();
    idleIn += s.idleEntered.value();
    idleOut += s.idleLeft.value();
  }
};

/// a - b for gauges kept as two counters read at slightly different moments (never negative).
inline uint64_t difference(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }

struct MetricsTotals {
  MetricsRegistry::Names names;  ///< index i of each vector below is the id i ("": free)
  uint64_t connectionsOpened = 0, connectionsClosed = 0;
  uint64_t acceptPauses = 0, listenersPaused = 0, listenersResumed = 0;
  std::array<std::array<uint64_t, kCodeClasses>, kMethods> requestsByMethod{};
  std::vector<RequestTotals> virtualServices, routes;
  std::vector<UpstreamTotals> upstreams;
};

/// Sums the workers of `registry` (names taken first, so every id has a name).
MetricsTotals sumWorkers(const MetricsRegistry& registry);

}  // namespace portico::observability

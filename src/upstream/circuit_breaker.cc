#include "upstream/circuit_breaker.h"

#include <algorithm>

namespace portico::upstream {

std::string_view toString(CircuitResource r) {
  switch (r) {
  case CircuitResource::Connections:
    return "connections";
  case CircuitResource::PendingRequests:
    return "pending_requests";
  case CircuitResource::Requests:
    return "requests";
  case CircuitResource::Retries:
    return "retries";
  }
  return "unknown";
}

namespace {

uint32_t share(uint32_t limit, size_t workers, size_t worker) {
  if (limit == 0) return 0;  // "none at all" (maxRetries: 0) stays none on every worker
  if (workers == 0) return limit;
  uint64_t base = limit / workers;
  uint64_t extra = worker < limit % workers ? 1 : 0;
  return static_cast<uint32_t>(std::max<uint64_t>(base + extra, 1));
}

}  // namespace

CircuitBreakerLimits workerShare(const config::CircuitBreakers& limits, size_t workers,
                                 size_t worker) {
  CircuitBreakerLimits out;
  out[CircuitResource::Connections] = share(limits.maxConnections, workers, worker);
  out[CircuitResource::PendingRequests] = share(limits.maxPendingRequests, workers, worker);
  out[CircuitResource::Requests] = share(limits.maxRequests, workers, worker);
  out[CircuitResource::Retries] = share(limits.maxRetries, workers, worker);
  return out;
}

CircuitBreakerStats sumCircuitBreakers(const CircuitBreaker* const* breakers, size_t count) {
  CircuitBreakerStats s;
  for (size_t w = 0; w < count; ++w) {
    if (!breakers[w]) continue;
    for (size_t i = 0; i < kCircuitResourceCount; ++i) {
      auto r = static_cast<CircuitResource>(i);
      s.inUse[i] += breakers[w]->inUse(r);
      s.limit[i] += breakers[w]->limit(r);
      s.trips[i] += breakers[w]->trips(r);
    }
  }
  return s;
}

}  // namespace portico::upstream

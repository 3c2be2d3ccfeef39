#include "controller/upstream_status.h"

#include "common/clock.h"
#include "config/decode.h"
#include "upstream/circuit_breaker.h"
#include "upstream/host_health.h"
#include "upstream/load_balancer.h"

namespace portico::controller {

std::string clusterHostsJson(const upstream::Cluster& cluster, size_t workers) {
  MonoMs now = monotonicMs();
  std::string out = "\"hosts\":[";
  for (size_t i = 0; i < cluster.hosts.size(); ++i) {
    const upstream::Host& h = cluster.hosts[i];
    if (i) out += ",";
    out += "{\"address\":" + config::jsonQuote(h.key);
    if (!h.hostname.empty()) out += ",\"hostname\":" + config::jsonQuote(h.hostname);
    out += ",\"weight\":" + std::to_string(h.weight);
    if (cluster.lbData && i < cluster.lbData->health.size() && cluster.lbData->health[i]) {
      const upstream::HostHealth& health = *cluster.lbData->health[i];
      upstream::HostHealth::Counters c = health.counters();
      bool ejected = c.ejectedUntil > now;
      out += std::string(",\"healthy\":") + (health.available(now) ? "true" : "false") +
             ",\"healthCheck\":" + (c.healthCheckHealthy ? "\"passing\"" : "\"failing\"") +
             ",\"ejected\":" + (ejected ? "true" : "false") +
             (ejected ? ",\"ejectedForMs\":" + std::to_string(c.ejectedUntil - now) : "") +
             ",\"ejections\":" + std::to_string(c.totalEjections) +
             ",\"healthChecks\":" + std::to_string(c.hcChecks) +
             ",\"healthCheckFailures\":" + std::to_string(c.hcFailures);
      if (!c.lastHcFailure.empty())
        out += ",\"lastHealthCheckFailure\":" + config::jsonQuote(c.lastHcFailure);
    }
    out += "}";
  }
  out += "],\"unresolved\":[";
  for (size_t i = 0; i < cluster.unresolved.size(); ++i)
    out += (i ? "," : "") + config::jsonQuote(cluster.unresolved[i]);
  out += "]";
  if (cluster.breakers) {
    std::vector<const upstream::CircuitBreaker*> list;
    for (const auto& b : cluster.breakers->perWorker) list.push_back(b.get());
    upstream::CircuitBreakerStats s = upstream::sumCircuitBreakers(list.data(), std::min(list.size(), workers));
    out += ",\"circuitBreakers\":{";
    for (size_t r = 0; r < upstream::kCircuitResourceCount; ++r) {
      if (r) out += ",";
      out += config::jsonQuote(upstream::toString(static_cast<upstream::CircuitResource>(r))) +
             ":{\"limit\":" + std::to_string(s.limit[r]) + ",\"inUse\":" + std::to_string(s.inUse[r]) +
             ",\"trips\":" + std::to_string(s.trips[r]) + "}";
    }
    out += "}";
  }
  return out;
}

}  // namespace portico::controller

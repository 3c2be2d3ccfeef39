// Helpers for the upstream tests: clusters of numbered hosts and balancers over them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "upstream/cluster.h"
#include "upstream/host_health.h"
#include "upstream/load_balancer.h"

namespace portico::upstream::testing {

using Policy = config::LoadBalancerConfig::Policy;

/// "10.<i/65536>.<i/256>.<i%256>:8080" for host i.
inline Host numberedHost(size_t i, uint32_t weight = 1) {
  std::string ip = "10." + std::to_string((i >> 16) & 255) + "." + std::to_string((i >> 8) & 255) +
                   "." + std::to_string(i & 255);
  Host h;
  h.address = net::Address::fromIp(ip, 8080).value();
  h.key = ip + ":8080";
  h.weight = weight;
  return h;
}

inline Cluster makeCluster(size_t n, Policy policy, const std::vector<uint32_t>& weights = {}) {
  Cluster c;
  c.name = "test.default";
  c.loadBalancer.policy = policy;
  for (size_t i = 0; i < n; ++i)
    c.hosts.push_back(numberedHost(i, i < weights.size() ? weights[i] : 1));
  return c;
}

/// A cluster, its shared data and one worker's balancer.
struct Balanced {
  Balanced(Cluster c, HostHealthRegistry& registry) : cluster(std::move(c)) {
    data = buildClusterLbData(cluster, registry);
    lb = createLoadBalancer(cluster, *data);
  }
  HostHealth& health(size_t i) { return *data->health[i]; }
  const std::string& keyOf(int i) const { return cluster.hosts[static_cast<size_t>(i)].key; }

  Cluster cluster;
  std::shared_ptr<const ClusterLbData> data;
  std::unique_ptr<LoadBalancer> lb;
};

/// xorshift64*: a deterministic random stream for picks.
struct TestRandom {
  uint64_t state = 0x2545F4914F6CDD1DULL;
  uint64_t next() {
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545F4914F6CDD1DULL;
  }
};

}  // namespace portico::upstream::testing

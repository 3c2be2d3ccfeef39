// Cluster: the runtime form of one Upstream — its hosts and connection settings — as the data
// plane uses it. Built by upstream plugins in the controller; immutable inside a Snapshot.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "net/address.h"

namespace portico::upstream {

struct Host {
  net::Address address;
  /// "10.0.0.1:8080": identifies the host's connection pool across snapshots.
  std::string key;
  /// Hostname as configured (for Host-less logs); empty when configured as an IP.
  std::string hostname;
  uint32_t weight = 1;
};

struct Cluster {
  std::string name;  ///< "petstore.gloo-system"
  std::vector<Host> hosts;
  int64_t connectTimeoutMs = 5000;
};

using ClusterConstSharedPtr = std::shared_ptr<const Cluster>;

}  // namespace portico::upstream

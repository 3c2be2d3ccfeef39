// The live state of a cluster as the admin API shows it: each host's health-check verdict,
// ejection and counters, unresolved hostnames, and the circuit breakers summed over workers.
#pragma once

#include <string>

#include "upstream/cluster.h"

namespace portico::controller {

/// JSON members (no braces): "hosts":[...],"unresolved":[...],"circuitBreakers":{...}.
std::string clusterHostsJson(const upstream::Cluster& cluster, size_t workers);

}  // namespace portico::controller

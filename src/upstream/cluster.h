// Cluster: the runtime form of one Upstream — its hosts, connection settings and resilience
// settings — as the data plane uses it. Built by upstream plugins in the controller; immutable
// inside a Snapshot.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/model.h"
#include "net/address.h"
#include "net/tls_context.h"

namespace portico::upstream {

struct ClusterLbData;  // upstream/load_balancer.h
class CircuitBreaker;  // upstream/circuit_breaker.h

/// One cluster's circuit breakers, one per worker (index = worker index). Kept by the controller
/// per cluster name across snapshots so that requests in flight during a reload stay counted.
struct ClusterBreakers {
  std::vector<std::unique_ptr<CircuitBreaker>> perWorker;
};

struct Host {
  net::Address address;
  /// "10.0.0.1:8080": identifies the host's connection pool and its shared health state
  /// (HostHealthRegistry) across snapshots.
  std::string key;
  /// Hostname as configured (for Host-less logs); empty when configured as an IP.
  std::string hostname;
  /// Relative share of traffic (static: loadBalancingWeight). Balancers treat 0 as 1.
  uint32_t weight = 1;
  /// SNI for TLS when sslConfig.sni is not set: static sniAddr, else the hostname (never an IP).
  std::string sni;
};

/// Upstream TLS of a cluster (sslConfig, static useTls / port 443). Immutable.
struct ClusterTls {
  net::TlsClientContextConstSharedPtr context;  ///< shared across snapshots while unchanged
  /// The SNI of each host's connections, by Host::key: sslConfig.sni, else Host::sni. Hosts
  /// sharing an address share connections: the first one's SNI wins.
  std::unordered_map<std::string, std::string> sniByHostKey;

  const std::string& sniFor(const std::string& hostKey) const {
    static const std::string kNone;
    auto it = sniByHostKey.find(hostKey);
    return it == sniByHostKey.end() ? kNone : it->second;
  }
};

struct Cluster {
  std::string name;  ///< "petstore.gloo-system"
  std::vector<Host> hosts;
  int64_t connectTimeoutMs = 5000;
  /// Hostnames that gave no address (yet): "name: reason". Shown by the admin API.
  std::vector<std::string> unresolved;

  // Resilience settings, copied from the Upstream by the controller.
  config::LoadBalancerConfig loadBalancer;        ///< spec.loadBalancerConfig
  std::vector<config::HealthCheck> healthChecks;  ///< spec.healthChecks (index = check index)
  std::optional<config::OutlierDetection> outlierDetection;  ///< spec.outlierDetection
  config::CircuitBreakers circuitBreakers;                   ///< spec.circuitBreakers
  // connectionConfig
  uint32_t maxRequestsPerConnection = 0;  ///< 0 = unlimited
  std::optional<config::TcpKeepalive> tcpKeepalive;
  uint32_t perConnectionBufferLimitBytes = 0;  ///< 0 = the gateway's default watermark
  /// useHttp2: HTTP/2 connections, many requests on each (H2UpstreamConnection).
  bool http2 = false;
  /// Set by the upstream plugin: connect with TLS even without sslConfig (static useTls, or a
  /// host on port 443 as in Gloo).
  bool wantsTls = false;
  /// Upstream TLS; null = plain TCP. Built by the controller (TlsContexts).
  std::shared_ptr<const ClusterTls> tls;
  /// serviceSpec.rest.transformations: the REST functions routes may call by name.
  std::vector<std::pair<std::string, config::TransformationTemplate>> restFunctions;
  /// spec.aws (set by the aws plugin): the Lambda functions routes may call and the secret
  /// whose keys sign the calls.
  std::shared_ptr<const config::AwsUpstream> aws;

  /// The workers' breakers for this cluster (shared across snapshots); null until the
  /// controller attached them.
  std::shared_ptr<ClusterBreakers> breakers;

  /// Shared, immutable balancing data (host health pointers, ring / Maglev table), built once
  /// per cluster by buildClusterLbData() after `hosts` is final and before the Cluster is
  /// published. Null when the controller did not build it (the gateway then cannot balance
  /// by health).
  std::shared_ptr<const ClusterLbData> lbData;
};

using ClusterConstSharedPtr = std::shared_ptr<const Cluster>;

}  // namespace portico::upstream

// decodeUpstream's resilience fields: loadBalancerConfig, healthChecks, outlierDetection,
// circuitBreakers and connectionConfig.
#include <gtest/gtest.h>

#include "config/decode.h"
#include "decode_test_util.h"

namespace portico::config {
namespace {

using testing::Strings;

// A static upstream (Gloo's postman-echo example) with `extra` spec lines (two-space indent).
std::string upstream(const std::string& extra) {
  return "apiVersion: gloo.solo.io/v1\n"
         "kind: Upstream\n"
         "metadata: {name: postman-echo, namespace: gloo-system}\n"
         "spec:\n"
         "  static: {hosts: [{addr: postman-echo.com, port: 80}]}\n" +
         extra;
}

Upstream decode(const std::string& extra) {
  Errors errors;
  Upstream us = decodeUpstream(testing::rawObject(upstream(extra)), errors);
  EXPECT_TRUE(errors.empty()) << errors.toString();
  return us;
}

Strings errorsOf(const std::string& extra) {
  Errors errors;
  decodeUpstream(testing::rawObject(upstream(extra)), errors);
  return errors.items();
}

Strings unsupported(const std::string& path) {
  return Strings{path + ": field not supported by Portico yet"};
}

// ---- loadBalancerConfig -------------------------------------------------------------------

TEST(DecodeUpstreamOptionsTest, LoadBalancerDefaults) {
  Upstream us = decode("");
  EXPECT_EQ(us.loadBalancer.policy, LoadBalancerConfig::Policy::RoundRobin);
  EXPECT_EQ(us.loadBalancer.choiceCount, 2u);
  EXPECT_EQ(us.loadBalancer.minimumRingSize, 1024u);
  EXPECT_EQ(us.loadBalancer.maximumRingSize, 8388608u);
  EXPECT_DOUBLE_EQ(us.loadBalancer.healthyPanicThreshold, 50);

  Upstream empty = decode("  loadBalancerConfig: {}\n");
  EXPECT_EQ(empty.loadBalancer.policy, LoadBalancerConfig::Policy::RoundRobin);
  EXPECT_DOUBLE_EQ(empty.loadBalancer.healthyPanicThreshold, 50);
}

TEST(DecodeUpstreamOptionsTest, LoadBalancerPolicies) {
  Upstream rr = decode("  loadBalancerConfig:\n"
                       "    healthyPanicThreshold: 25.5\n"
                       "    updateMergeWindow: 2s\n"
                       "    roundRobin: {}\n");
  EXPECT_EQ(rr.loadBalancer.policy, LoadBalancerConfig::Policy::RoundRobin);
  EXPECT_DOUBLE_EQ(rr.loadBalancer.healthyPanicThreshold, 25.5);

  Upstream lr = decode("  loadBalancerConfig:\n"
                       "    leastRequest: {choiceCount: 5}\n");
  EXPECT_EQ(lr.loadBalancer.policy, LoadBalancerConfig::Policy::LeastRequest);
  EXPECT_EQ(lr.loadBalancer.choiceCount, 5u);
  // 0 is protobuf's "unset": Gloo leaves Envoy's default (2).
  Upstream zero = decode("  loadBalancerConfig: {leastRequest: {choiceCount: 0}}\n");
  EXPECT_EQ(zero.loadBalancer.choiceCount, 2u);
  EXPECT_EQ(decode("  loadBalancerConfig: {leastRequest: {}}\n").loadBalancer.choiceCount, 2u);

  EXPECT_EQ(decode("  loadBalancerConfig: {random: {}}\n").loadBalancer.policy,
            LoadBalancerConfig::Policy::Random);
  EXPECT_EQ(decode("  loadBalancerConfig: {maglev: {}}\n").loadBalancer.policy,
            LoadBalancerConfig::Policy::Maglev);

  Upstream ring = decode("  loadBalancerConfig:\n"
                         "    healthyPanicThreshold: {value: 0}\n"
                         "    ringHash:\n"
                         "      ringHashConfig:\n"
                         "        minimumRingSize: 4096\n"
                         "        maximumRingSize: '65536'\n"  // proto-JSON writes uint64 quoted
                         "    useHostnameForHashing: false\n");
  EXPECT_EQ(ring.loadBalancer.policy, LoadBalancerConfig::Policy::RingHash);
  EXPECT_EQ(ring.loadBalancer.minimumRingSize, 4096u);
  EXPECT_EQ(ring.loadBalancer.maximumRingSize, 65536u);
  EXPECT_DOUBLE_EQ(ring.loadBalancer.healthyPanicThreshold, 0);

  Upstream ringDefaults = decode("  loadBalancerConfig: {ringHash: {}}\n");
  EXPECT_EQ(ringDefaults.loadBalancer.policy, LoadBalancerConfig::Policy::RingHash);
  EXPECT_EQ(ringDefaults.loadBalancer.minimumRingSize, 1024u);
  EXPECT_EQ(ringDefaults.loadBalancer.maximumRingSize, 8388608u);
  Upstream ringZero =
      decode("  loadBalancerConfig: {ringHash: {ringHashConfig: {minimumRingSize: 0, "
             "maximumRingSize: 2048}}}\n");
  EXPECT_EQ(ringZero.loadBalancer.minimumRingSize, 1024u);
  EXPECT_EQ(ringZero.loadBalancer.maximumRingSize, 2048u);
  Upstream emptyPercent = decode("  loadBalancerConfig: {healthyPanicThreshold: {}}\n");
  EXPECT_DOUBLE_EQ(emptyPercent.loadBalancer.healthyPanicThreshold, 0);
}

TEST(DecodeUpstreamOptionsTest, LoadBalancerErrors) {
  const std::string p = "spec.loadBalancerConfig";
  EXPECT_EQ(errorsOf("  loadBalancerConfig: {roundRobin: {}, maglev: {}}\n"),
            Strings{p + ": only one of roundRobin, leastRequest, random, ringHash, maglev may be "
                        "set"});
  EXPECT_EQ(errorsOf("  loadBalancerConfig: {healthyPanicThreshold: 101}\n"),
            Strings{p + ".healthyPanicThreshold: must be between 0 and 100, got 101"});
  EXPECT_EQ(errorsOf("  loadBalancerConfig: {healthyPanicThreshold: {value: -1}}\n"),
            Strings{p + ".healthyPanicThreshold.value: must be between 0 and 100, got -1"});
  EXPECT_EQ(errorsOf("  loadBalancerConfig: {healthyPanicThreshold: '50'}\n"),
            Strings{p + ".healthyPanicThreshold: expected a number, got string"});
  EXPECT_EQ(errorsOf("  loadBalancerConfig: {healthyPanicThreshold: {value: 5, unit: x}}\n"),
            unsupported(p + ".healthyPanicThreshold.unit"));
  EXPECT_EQ(errorsOf("  loadBalancerConfig: {updateMergeWindow: 1}\n"),
            Strings{p + ".updateMergeWindow: expected a duration string such as \"15s\", got "
                        "number"});
  EXPECT_EQ(errorsOf("  loadBalancerConfig: {roundRobin: {slowStartConfig: {slowStartWindow: "
                     "30s}}}\n"),
            unsupported(p + ".roundRobin.slowStartConfig"));
  EXPECT_EQ(errorsOf("  loadBalancerConfig: {leastRequest: {choiceCount: 2, slowStartConfig: "
                     "{}}}\n"),
            unsupported(p + ".leastRequest.slowStartConfig"));
  EXPECT_EQ(errorsOf("  loadBalancerConfig: {leastRequest: {choiceCount: 1}}\n"),
            Strings{p + ".leastRequest.choiceCount: must be at least 2, got 1"});
  EXPECT_EQ(errorsOf("  loadBalancerConfig: {leastRequest: {choiceCount: -2}}\n"),
            Strings{p + ".leastRequest.choiceCount: must be between 0 and 4294967295, got -2"});
  EXPECT_EQ(errorsOf("  loadBalancerConfig: {roundRobin: true}\n"),
            Strings{p + ".roundRobin: expected a map, got boolean"});
  EXPECT_EQ(errorsOf("  loadBalancerConfig: {random: {x: 1}}\n"), unsupported(p + ".random.x"));
  EXPECT_EQ(errorsOf("  loadBalancerConfig: {ringHash: {ringHashConfig: {minimumRingSize: 2048, "
                     "maximumRingSize: 1024}}}\n"),
            Strings{p + ".ringHash.ringHashConfig: minimumRingSize (2048) must not be greater "
                        "than maximumRingSize (1024)"});
  EXPECT_EQ(errorsOf("  loadBalancerConfig: {ringHash: {ringHashConfig: {maximumRingSize: "
                     "8388609}}}\n"),
            Strings{p + ".ringHash.ringHashConfig.maximumRingSize: must be between 0 and "
                        "8388608, got 8388609"});
  EXPECT_EQ(errorsOf("  loadBalancerConfig: {ringHash: {ringHashConfig: {minimumRingSize: "
                     "'lots'}}}\n"),
            Strings{p + ".ringHash.ringHashConfig.minimumRingSize: expected a number, got "
                        "string"});
  EXPECT_EQ(errorsOf("  loadBalancerConfig: {ringHash: {useHostnameForHashing: true}}\n"),
            unsupported(p + ".ringHash.useHostnameForHashing"));
  EXPECT_EQ(errorsOf("  loadBalancerConfig: {maglev: {}, useHostnameForHashing: true}\n"),
            unsupported(p + ".useHostnameForHashing"));
  EXPECT_EQ(errorsOf("  loadBalancerConfig: {localityWeightedLbConfig: {}}\n"),
            unsupported(p + ".localityWeightedLbConfig"));
  EXPECT_EQ(errorsOf("  loadBalancerConfig: roundRobin\n"),
            Strings{p + ": expected a map, got string"});
}

// ---- healthChecks -------------------------------------------------------------------------

TEST(DecodeUpstreamOptionsTest, HttpHealthCheck) {
  Upstream us = decode("  healthChecks:\n"
                       "  - timeout: 1s\n"
                       "    interval: 10s\n"
                       "    intervalJitter: 1s\n"
                       "    intervalJitterPercent: 10\n"
                       "    initialJitter: 500ms\n"
                       "    unhealthyThreshold: 3\n"
                       "    healthyThreshold: 1\n"
                       "    alwaysLogHealthCheckFailures: true\n"
                       "    httpHealthCheck:\n"
                       "      path: /api/pets/health?verbose=1\n"
                       "      host: petstore.example.com:8080\n"
                       "      expectedStatuses:\n"
                       "      - {start: 200, end: 300}\n"
                       "      - {start: '404', end: '405'}\n");
  ASSERT_EQ(us.healthChecks.size(), 1u);
  const HealthCheck& hc = us.healthChecks[0];
  EXPECT_EQ(hc.type, HealthCheck::Type::Http);
  EXPECT_EQ(hc.timeoutMs, 1000);
  EXPECT_EQ(hc.intervalMs, 10000);
  EXPECT_EQ(hc.intervalJitterMs, 1000);
  EXPECT_EQ(hc.intervalJitterPercent, 10u);
  EXPECT_EQ(hc.initialJitterMs, 500);
  EXPECT_EQ(hc.unhealthyThreshold, 3u);
  EXPECT_EQ(hc.healthyThreshold, 1u);
  EXPECT_EQ(hc.httpPath, "/api/pets/health?verbose=1");
  EXPECT_EQ(hc.httpHost, "petstore.example.com:8080");
  EXPECT_EQ(hc.expectedStatuses,
            (std::vector<std::pair<uint32_t, uint32_t>>{{200, 300}, {404, 405}}));
}

TEST(DecodeUpstreamOptionsTest, HealthCheckDefaults) {
  EXPECT_TRUE(decode("").healthChecks.empty());
  EXPECT_TRUE(decode("  healthChecks: []\n").healthChecks.empty());
  Upstream us = decode("  healthChecks:\n"
                       "  - {timeout: 0.5s, interval: 5s, httpHealthCheck: {path: /}}\n");
  ASSERT_EQ(us.healthChecks.size(), 1u);
  const HealthCheck& hc = us.healthChecks[0];
  EXPECT_EQ(hc.timeoutMs, 500);
  EXPECT_EQ(hc.intervalMs, 5000);
  EXPECT_EQ(hc.intervalJitterMs, 0);
  EXPECT_EQ(hc.intervalJitterPercent, 0u);
  EXPECT_EQ(hc.initialJitterMs, 0);
  EXPECT_EQ(hc.unhealthyThreshold, 3u);  // required by Envoy; Portico defaults it
  EXPECT_EQ(hc.healthyThreshold, 2u);
  EXPECT_EQ(hc.httpPath, "/");
  EXPECT_EQ(hc.httpHost, "");
  EXPECT_TRUE(hc.expectedStatuses.empty());  // 200 only
}

TEST(DecodeUpstreamOptionsTest, TcpHealthCheck) {
  Upstream us = decode("  healthChecks:\n"
                       "  - timeout: 2s\n"
                       "    interval: 5s\n"
                       "    unhealthyThreshold: 2\n"
                       "    healthyThreshold: 2\n"
                       "    tcpHealthCheck:\n"
                       "      send: {text: 50494e470D0A}\n"  // "PING\r\n"
                       "      receive: [{text: 2B504F4E47}, {text: '00ff'}]\n");
  ASSERT_EQ(us.healthChecks.size(), 1u);
  const HealthCheck& hc = us.healthChecks[0];
  EXPECT_EQ(hc.type, HealthCheck::Type::Tcp);
  EXPECT_EQ(hc.tcpSend, "PING\r\n");
  EXPECT_EQ(hc.tcpReceive, (Strings{"+PONG", std::string("\x00\xff", 2)}));

  Upstream connectOnly =
      decode("  healthChecks: [{timeout: 1s, interval: 1s, tcpHealthCheck: {}}]\n");
  ASSERT_EQ(connectOnly.healthChecks.size(), 1u);
  EXPECT_EQ(connectOnly.healthChecks[0].type, HealthCheck::Type::Tcp);
  EXPECT_TRUE(connectOnly.healthChecks[0].tcpSend.empty());
  EXPECT_TRUE(connectOnly.healthChecks[0].tcpReceive.empty());
}

TEST(DecodeUpstreamOptionsTest, HealthCheckErrors) {
  const std::string p = "spec.healthChecks[0]";
  auto check = [](const std::string& item) {
    return errorsOf("  healthChecks:\n  - " + item + "\n");
  };
  EXPECT_EQ(check("{httpHealthCheck: {path: /}}"),
            (Strings{p + ".timeout: required", p + ".interval: required"}));
  EXPECT_EQ(check("{timeout: 0s, interval: 0ms, httpHealthCheck: {path: /}}"),
            (Strings{p + ".timeout: must be greater than 0",
                     p + ".interval: must be greater than 0"}));
  EXPECT_EQ(check("{timeout: 1, interval: 1s, httpHealthCheck: {path: /}}"),
            Strings{p + ".timeout: expected a duration string such as \"15s\", got number"});
  EXPECT_EQ(check("{timeout: 1s, interval: 1s}"),
            Strings{p + ": one of httpHealthCheck, tcpHealthCheck is required"});
  EXPECT_EQ(check("{timeout: 1s, interval: 1s, httpHealthCheck: {path: /}, tcpHealthCheck: {}}"),
            Strings{p + ": only one of httpHealthCheck, tcpHealthCheck, grpcHealthCheck, "
                        "customHealthCheck may be set"});
  EXPECT_EQ(check("{timeout: 1s, interval: 1s, grpcHealthCheck: {serviceName: petstore}}"),
            unsupported(p + ".grpcHealthCheck"));
  EXPECT_EQ(check("{timeout: 1s, interval: 1s, customHealthCheck: {name: redis}}"),
            unsupported(p + ".customHealthCheck"));
  EXPECT_EQ(check("{timeout: 1s, interval: 1s, unhealthyThreshold: 0, healthyThreshold: -1, "
                  "intervalJitterPercent: x, httpHealthCheck: {path: /}}"),
            (Strings{p + ".intervalJitterPercent: expected a number, got string",
                     p + ".unhealthyThreshold: must be between 1 and 4294967295, got 0",
                     p + ".healthyThreshold: must be between 1 and 4294967295, got -1"}));
  EXPECT_EQ(check("{timeout: 1s, interval: 1s, intervalJitter: -1s, httpHealthCheck: {path: /}}"),
            Strings{p + ".intervalJitter: invalid duration \"-1s\": expected e.g. \"15s\", "
                        "\"1.5s\", \"250ms\" or \"1m30s\""});
  for (const char* key : {"noTrafficInterval: 60s", "unhealthyInterval: 1s",
                          "unhealthyEdgeInterval: 1s", "healthyEdgeInterval: 1s",
                          "eventLogPath: /dev/stdout", "reuseConnection: false", "altPort: 81",
                          "tlsOptions: {alpnProtocols: [h2]}"}) {
    std::string k(key);
    EXPECT_EQ(check("{timeout: 1s, interval: 1s, httpHealthCheck: {path: /}, " + k + "}"),
              unsupported(p + "." + k.substr(0, k.find(':'))))
        << key;
  }
  EXPECT_EQ(check("{timeout: 1s, interval: 1s, alwaysLogHealthCheckFailures: 1, "
                  "httpHealthCheck: {path: /}}"),
            Strings{p + ".alwaysLogHealthCheckFailures: expected a boolean, got number"});
  EXPECT_EQ(errorsOf("  healthChecks: {timeout: 1s}\n"),
            Strings{"spec.healthChecks: expected a list, got map"});
  EXPECT_EQ(errorsOf("  healthChecks: [~]\n"), Strings{p + ": expected a map, got null"});
  EXPECT_EQ(errorsOf("  healthChecks:\n"
                     "  - {timeout: 1s, interval: 1s, tcpHealthCheck: {}}\n"
                     "  - {timeout: 1s, interval: 1s, httpHealthCheck: {path: /}}\n"),
            Strings{"spec.healthChecks: at most one health check per upstream is supported, "
                    "got 2"});
}

TEST(DecodeUpstreamOptionsTest, HttpHealthCheckErrors) {
  const std::string p = "spec.healthChecks[0].httpHealthCheck";
  auto http = [](const std::string& body) {
    return errorsOf("  healthChecks:\n  - {timeout: 1s, interval: 1s, httpHealthCheck: " + body +
                    "}\n");
  };
  EXPECT_EQ(http("{}"), Strings{p + ".path: required"});
  EXPECT_EQ(http("{path: ''}"), Strings{p + ".path: required"});
  EXPECT_EQ(http("{path: health}"),
            Strings{p + ".path: invalid path \"health\": expected a path starting with '/', "
                        "without spaces or control characters"});
  EXPECT_EQ(http("{path: '/a b'}"),
            Strings{p + ".path: invalid path \"/a b\": expected a path starting with '/', "
                        "without spaces or control characters"});
  EXPECT_EQ(http("{path: /, host: 'a b'}"),
            Strings{p + ".host: invalid host \"a b\": expected a host name or IP address, "
                        "optionally followed by \":port\""});
  EXPECT_EQ(http("{path: /, expectedStatuses: [{start: 99, end: 200}]}"),
            Strings{p + ".expectedStatuses[0].start: must be between 100 and 599, got 99"});
  EXPECT_EQ(http("{path: /, expectedStatuses: [{start: 200, end: 601}]}"),
            Strings{p + ".expectedStatuses[0].end: must be between 101 and 600, got 601"});
  EXPECT_EQ(http("{path: /, expectedStatuses: [{start: 200, end: 300}, {start: 300, end: 300}]}"),
            Strings{p + ".expectedStatuses[1]: start (300) must be less than end (300): the "
                        "range is [start, end)"});
  EXPECT_EQ(http("{path: /, expectedStatuses: [{start: 200}]}"),
            Strings{p + ".expectedStatuses[0].end: required"});
  EXPECT_EQ(http("{path: /, expectedStatuses: [200]}"),
            Strings{p + ".expectedStatuses[0]: expected a map, got number"});
  EXPECT_EQ(http("{path: /, expectedStatuses: {start: 200, end: 300}}"),
            Strings{p + ".expectedStatuses: expected a list, got map"});
  for (const char* key : {"useHttp2: true", "serviceName: petstore",
                          "requestHeadersToAdd: [{header: {key: x, value: y}}]",
                          "requestHeadersToRemove: [x]", "codecClientType: HTTP2",
                          "serviceNameMatcher: {exact: x}", "send: {text: '00'}"}) {
    std::string k(key);
    EXPECT_EQ(http("{path: /, " + k + "}"), unsupported(p + "." + k.substr(0, k.find(':'))))
        << key;
  }
  EXPECT_EQ(http("/health"), Strings{p + ": expected a map, got string"});
}

TEST(DecodeUpstreamOptionsTest, TcpHealthCheckErrors) {
  const std::string p = "spec.healthChecks[0].tcpHealthCheck";
  auto tcp = [](const std::string& body) {
    return errorsOf("  healthChecks:\n  - {timeout: 1s, interval: 1s, tcpHealthCheck: " + body +
                    "}\n");
  };
  const std::string hexHint = ": expected an even number of hex digits such as \"000000FF\"";
  EXPECT_EQ(tcp("{send: {text: abc}}"), Strings{p + ".send.text: invalid hex \"abc\"" + hexHint});
  EXPECT_EQ(tcp("{send: {text: 'PING'}}"),
            Strings{p + ".send.text: invalid hex \"PING\"" + hexHint});
  EXPECT_EQ(tcp("{receive: [{text: 0A}, {text: 'zz'}]}"),
            Strings{p + ".receive[1].text: invalid hex \"zz\"" + hexHint});
  EXPECT_EQ(tcp("{send: {}}"), Strings{p + ".send.text: required"});
  EXPECT_EQ(tcp("{send: {text: ''}}"), Strings{p + ".send.text: required"});
  EXPECT_EQ(tcp("{send: {text: 12}}"), Strings{p + ".send.text: expected a string, got number"});
  EXPECT_EQ(tcp("{send: {binary: UElORw==}}"), unsupported(p + ".send.binary"));
  EXPECT_EQ(tcp("{receive: {text: 0A}}"), Strings{p + ".receive: expected a list, got map"});
  EXPECT_EQ(tcp("{receive: [0A]}"), Strings{p + ".receive[0]: expected a map, got string"});
  EXPECT_EQ(tcp("{send: 0A}"), Strings{p + ".send: expected a map, got string"});
  EXPECT_EQ(tcp("{proxyProtocolConfig: {}}"), unsupported(p + ".proxyProtocolConfig"));
}

// ---- outlierDetection ---------------------------------------------------------------------

TEST(DecodeUpstreamOptionsTest, OutlierDetection) {
  EXPECT_FALSE(decode("").outlierDetection.has_value());

  // Present, even empty: enabled with Envoy's defaults.
  Upstream defaults = decode("  outlierDetection: {}\n");
  ASSERT_TRUE(defaults.outlierDetection.has_value());
  const OutlierDetection& d = *defaults.outlierDetection;
  EXPECT_EQ(d.consecutive5xx, 5u);
  EXPECT_EQ(d.consecutiveGatewayFailure, 5u);
  EXPECT_EQ(d.enforcingConsecutive5xx, 100u);
  EXPECT_EQ(d.enforcingConsecutiveGatewayFailure, 0u);
  EXPECT_EQ(d.enforcingSuccessRate, 100u);
  EXPECT_EQ(d.intervalMs, 10000);
  EXPECT_EQ(d.baseEjectionTimeMs, 30000);
  EXPECT_EQ(d.maxEjectionTimeMs, 300000);
  EXPECT_EQ(d.maxEjectionPercent, 10u);
  EXPECT_EQ(d.successRateMinimumHosts, 5u);
  EXPECT_EQ(d.successRateRequestVolume, 100u);
  EXPECT_EQ(d.successRateStdevFactor, 1900u);

  Upstream full = decode("  outlierDetection:\n"
                         "    consecutive5xx: 3\n"
                         "    consecutiveGatewayFailure: 2\n"
                         "    enforcingConsecutive5xx: 50\n"
                         "    enforcingConsecutiveGatewayFailure: 100\n"
                         "    enforcingSuccessRate: 0\n"
                         "    interval: 5s\n"
                         "    baseEjectionTime: 15s\n"
                         "    maxEjectionTime: 2m\n"
                         "    maxEjectionPercent: 100\n"
                         "    successRateMinimumHosts: 3\n"
                         "    successRateRequestVolume: 50\n"
                         "    successRateStdevFactor: 1500\n"
                         "    splitExternalLocalOriginErrors: false\n");
  ASSERT_TRUE(full.outlierDetection.has_value());
  const OutlierDetection& o = *full.outlierDetection;
  EXPECT_EQ(o.consecutive5xx, 3u);
  EXPECT_EQ(o.consecutiveGatewayFailure, 2u);
  EXPECT_EQ(o.enforcingConsecutive5xx, 50u);
  EXPECT_EQ(o.enforcingConsecutiveGatewayFailure, 100u);
  EXPECT_EQ(o.enforcingSuccessRate, 0u);
  EXPECT_EQ(o.intervalMs, 5000);
  EXPECT_EQ(o.baseEjectionTimeMs, 15000);
  EXPECT_EQ(o.maxEjectionTimeMs, 120000);
  EXPECT_EQ(o.maxEjectionPercent, 100u);
  EXPECT_EQ(o.successRateMinimumHosts, 3u);
  EXPECT_EQ(o.successRateRequestVolume, 50u);
  EXPECT_EQ(o.successRateStdevFactor, 1500u);

  // Envoy: an unset maxEjectionTime is max(300s, baseEjectionTime).
  Upstream longBase = decode("  outlierDetection: {baseEjectionTime: 10m}\n");
  EXPECT_EQ(longBase.outlierDetection->maxEjectionTimeMs, 600000);
  Upstream equal = decode("  outlierDetection: {baseEjectionTime: 1m, maxEjectionTime: 60s}\n");
  EXPECT_EQ(equal.outlierDetection->maxEjectionTimeMs, 60000);
}

TEST(DecodeUpstreamOptionsTest, OutlierDetectionErrors) {
  const std::string p = "spec.outlierDetection";
  auto od = [](const std::string& body) { return errorsOf("  outlierDetection: " + body + "\n"); };
  EXPECT_EQ(od("{consecutive5xx: 0, consecutiveGatewayFailure: 0}"),
            (Strings{p + ".consecutive5xx: must be between 1 and 4294967295, got 0",
                     p + ".consecutiveGatewayFailure: must be between 1 and 4294967295, got 0"}));
  EXPECT_EQ(od("{enforcingConsecutive5xx: 101, enforcingConsecutiveGatewayFailure: -1, "
               "enforcingSuccessRate: 100.5, maxEjectionPercent: 150}"),
            (Strings{p + ".enforcingConsecutive5xx: must be between 0 and 100, got 101",
                     p + ".enforcingConsecutiveGatewayFailure: must be between 0 and 100, got -1",
                     p + ".enforcingSuccessRate: expected an integer, got 100.5",
                     p + ".maxEjectionPercent: must be between 0 and 100, got 150"}));
  EXPECT_EQ(od("{interval: 0s, baseEjectionTime: 0s, maxEjectionTime: 0s}"),
            (Strings{p + ".interval: must be greater than 0",
                     p + ".baseEjectionTime: must be greater than 0",
                     p + ".maxEjectionTime: must be greater than 0"}));
  EXPECT_EQ(od("{maxEjectionTime: 10s}"),
            Strings{p + ".maxEjectionTime: must not be less than baseEjectionTime (30s, the "
                        "default)"});
  EXPECT_EQ(od("{baseEjectionTime: 1m, maxEjectionTime: 30s}"),
            Strings{p + ".maxEjectionTime: must not be less than baseEjectionTime (1m)"});
  EXPECT_EQ(od("{successRateStdevFactor: '1900'}"),
            Strings{p + ".successRateStdevFactor: expected a number, got string"});
  EXPECT_EQ(od("{splitExternalLocalOriginErrors: true}"),
            unsupported(p + ".splitExternalLocalOriginErrors"));
  for (const char* key :
       {"consecutiveLocalOriginFailure: 5", "enforcingConsecutiveLocalOriginFailure: 100",
        "enforcingLocalOriginSuccessRate: 100", "failurePercentageThreshold: 85",
        "enforcingFailurePercentage: 100", "failurePercentageMinimumHosts: 5",
        "failurePercentageRequestVolume: 50"}) {
    std::string k(key);
    EXPECT_EQ(od("{" + k + "}"), unsupported(p + "." + k.substr(0, k.find(':')))) << key;
  }
  EXPECT_EQ(od("[]"), Strings{p + ": expected a map, got list"});
}

// ---- circuitBreakers ----------------------------------------------------------------------

TEST(DecodeUpstreamOptionsTest, CircuitBreakers) {
  Upstream defaults = decode("");
  EXPECT_EQ(defaults.circuitBreakers.maxConnections, 1024u);
  EXPECT_EQ(defaults.circuitBreakers.maxPendingRequests, 1024u);
  EXPECT_EQ(defaults.circuitBreakers.maxRequests, 1024u);
  EXPECT_EQ(defaults.circuitBreakers.maxRetries, 3u);

  Upstream us = decode("  circuitBreakers:\n"
                       "    maxConnections: 100\n"
                       "    maxPendingRequests: 10\n"
                       "    maxRequests: 200\n"
                       "    maxRetries: 1\n");
  EXPECT_EQ(us.circuitBreakers.maxConnections, 100u);
  EXPECT_EQ(us.circuitBreakers.maxPendingRequests, 10u);
  EXPECT_EQ(us.circuitBreakers.maxRequests, 200u);
  EXPECT_EQ(us.circuitBreakers.maxRetries, 1u);

  Upstream partial = decode("  circuitBreakers: {maxConnections: 1}\n");
  EXPECT_EQ(partial.circuitBreakers.maxConnections, 1u);
  EXPECT_EQ(partial.circuitBreakers.maxRequests, 1024u);
}

TEST(DecodeUpstreamOptionsTest, CircuitBreakerErrors) {
  const std::string p = "spec.circuitBreakers";
  EXPECT_EQ(errorsOf("  circuitBreakers: {maxConnections: 0, maxPendingRequests: 4294967296, "
                     "maxRequests: '10', maxRetries: -1}\n"),
            (Strings{p + ".maxConnections: must be between 1 and 4294967295, got 0",
                     p + ".maxPendingRequests: must be between 1 and 4294967295, got 4294967296",
                     p + ".maxRequests: expected a number, got string",
                     p + ".maxRetries: must be between 1 and 4294967295, got -1"}));
  EXPECT_EQ(errorsOf("  circuitBreakers: {trackRemaining: true}\n"),
            unsupported(p + ".trackRemaining"));
  EXPECT_EQ(errorsOf("  circuitBreakers: 5\n"), Strings{p + ": expected a map, got number"});
}

// ---- connectionConfig ---------------------------------------------------------------------

TEST(DecodeUpstreamOptionsTest, ConnectionConfig) {
  Upstream defaults = decode("");
  EXPECT_EQ(defaults.connectTimeoutMs, 5000);
  EXPECT_EQ(defaults.maxRequestsPerConnection, 0u);
  EXPECT_FALSE(defaults.tcpKeepalive.has_value());
  EXPECT_EQ(defaults.perConnectionBufferLimitBytes, 0u);

  Upstream us = decode("  connectionConfig:\n"
                       "    maxRequestsPerConnection: 100\n"
                       "    connectTimeout: 0.25s\n"
                       "    tcpKeepalive:\n"
                       "      keepaliveProbes: 3\n"
                       "      keepaliveTime: 60s\n"
                       "      keepaliveInterval: 1.5s\n"
                       "    perConnectionBufferLimitBytes: 32768\n");
  EXPECT_EQ(us.maxRequestsPerConnection, 100u);
  EXPECT_EQ(us.connectTimeoutMs, 250);
  ASSERT_TRUE(us.tcpKeepalive.has_value());
  EXPECT_EQ(us.tcpKeepalive->probes, 3u);
  EXPECT_EQ(us.tcpKeepalive->timeMs, 60000);
  EXPECT_EQ(us.tcpKeepalive->intervalMs, 2000);  // rounded up to a whole second, as Gloo does
  EXPECT_EQ(us.perConnectionBufferLimitBytes, 32768u);

  Upstream keepalive =
      decode("  connectionConfig: {tcpKeepalive: {}, maxRequestsPerConnection: 0}\n");
  ASSERT_TRUE(keepalive.tcpKeepalive.has_value());
  EXPECT_EQ(keepalive.tcpKeepalive->probes, 0u);  // 0 = the system's default
  EXPECT_EQ(keepalive.tcpKeepalive->timeMs, 0);
  EXPECT_EQ(keepalive.tcpKeepalive->intervalMs, 0);
  EXPECT_EQ(keepalive.maxRequestsPerConnection, 0u);
  EXPECT_EQ(decode("  connectionConfig: {tcpKeepalive: {keepaliveTime: 1ms}}\n")
                .tcpKeepalive->timeMs,
            1000);
}

TEST(DecodeUpstreamOptionsTest, ConnectionConfigErrors) {
  const std::string p = "spec.connectionConfig";
  auto cc = [](const std::string& body) { return errorsOf("  connectionConfig: " + body + "\n"); };
  EXPECT_EQ(cc("{connectTimeout: 0s}"), Strings{p + ".connectTimeout: must be greater than 0"});
  EXPECT_EQ(cc("{maxRequestsPerConnection: -1}"),
            Strings{p + ".maxRequestsPerConnection: must be between 0 and 4294967295, got -1"});
  EXPECT_EQ(cc("{perConnectionBufferLimitBytes: 1023}"),
            Strings{p + ".perConnectionBufferLimitBytes: must be between 1024 and 4294967295, "
                        "got 1023"});
  EXPECT_EQ(cc("{tcpKeepalive: {keepaliveProbes: 128}}"),
            Strings{p + ".tcpKeepalive.keepaliveProbes: must be between 0 and 127, got 128"});
  EXPECT_EQ(cc("{tcpKeepalive: {keepaliveTime: 10h, keepaliveInterval: 32768s}}"),
            (Strings{p + ".tcpKeepalive.keepaliveTime: must be at most 32767s, got \"10h\"",
                     p + ".tcpKeepalive.keepaliveInterval: must be at most 32767s, got "
                         "\"32768s\""}));
  EXPECT_EQ(cc("{tcpKeepalive: {keepaliveInterval: 5}}"),
            Strings{p + ".tcpKeepalive.keepaliveInterval: expected a duration string such as "
                        "\"15s\", got number"});
  EXPECT_EQ(cc("{tcpKeepalive: true}"), Strings{p + ".tcpKeepalive: expected a map, got boolean"});
  EXPECT_EQ(cc("{commonHttpProtocolOptions: {idleTimeout: 1h}}"),
            unsupported(p + ".commonHttpProtocolOptions"));
  EXPECT_EQ(cc("{http1ProtocolOptions: {enableTrailers: true}}"),
            unsupported(p + ".http1ProtocolOptions"));
}

// ---- together -----------------------------------------------------------------------------

TEST(DecodeUpstreamOptionsTest, EverythingTogetherAndUnknownKeysStillReported) {
  Upstream us = decode("  connectionConfig: {connectTimeout: 1s, maxRequestsPerConnection: 10}\n"
                       "  loadBalancerConfig: {leastRequest: {choiceCount: 3}}\n"
                       "  healthChecks:\n"
                       "  - timeout: 1s\n"
                       "    interval: 2s\n"
                       "    unhealthyThreshold: 2\n"
                       "    healthyThreshold: 2\n"
                       "    httpHealthCheck: {path: /status/200}\n"
                       "  outlierDetection: {consecutive5xx: 3, interval: 5s}\n"
                       "  circuitBreakers: {maxConnections: 64, maxRetries: 5}\n");
  EXPECT_EQ(us.type, "static");
  EXPECT_EQ(us.connectTimeoutMs, 1000);
  EXPECT_EQ(us.loadBalancer.policy, LoadBalancerConfig::Policy::LeastRequest);
  ASSERT_EQ(us.healthChecks.size(), 1u);
  EXPECT_EQ(us.healthChecks[0].httpPath, "/status/200");
  ASSERT_TRUE(us.outlierDetection.has_value());
  EXPECT_EQ(us.outlierDetection->consecutive5xx, 3u);
  EXPECT_EQ(us.circuitBreakers.maxConnections, 64u);
  EXPECT_EQ(us.circuitBreakers.maxRetries, 5u);

  EXPECT_EQ(errorsOf("  circuitBreakers: {maxConnections: 64}\n"
                     "  sslConfig: {sni: postman-echo.com}\n"
                     "  outlierDetection: {}\n"
                     "  useHttp2: maybe\n"
                     "  failover: {prioritizedLocalities: []}\n"
                     "  healthChecks: [{timeout: 1s, interval: 1s, tcpHealthCheck: {}}]\n"
                     "  ignoreHealthOnHostRemoval: true\n"),
            (Strings{"spec.useHttp2: expected a boolean, got string",
                     "spec.failover: field not supported by Portico yet",
                     "spec.ignoreHealthOnHostRemoval: field not supported by Portico yet"}));
}

}  // namespace
}  // namespace portico::config

// An Upstream's resilience fields: spec.loadBalancerConfig, healthChecks, outlierDetection,
// circuitBreakers and connectionConfig (Envoy's cluster settings, as Gloo exposes them).
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "config/decode.h"
#include "config/decode_internal.h"
#include "config/field_reader.h"

namespace portico::config::detail {

namespace {

constexpr int64_t kUint32Max = std::numeric_limits<uint32_t>::max();
// Envoy's cap on both ring hash sizes (8M entries).
constexpr int64_t kMaxRingSize = 8388608;
// Linux's limits for TCP_KEEPCNT and for TCP_KEEPIDLE / TCP_KEEPINTVL (seconds): larger values
// make setsockopt fail, so they are refused here rather than on every connection.
constexpr int64_t kMaxKeepaliveProbes = 127;
constexpr int64_t kMaxKeepaliveSeconds = 32767;

constexpr const char* kLbPolicies[] = {"roundRobin", "leastRequest", "random", "ringHash",
                                       "maglev"};
constexpr const char* kHealthCheckers[] = {"httpHealthCheck", "tcpHealthCheck", "grpcHealthCheck",
                                           "customHealthCheck"};

size_t countPresent(const MapReader& r, std::span<const char* const> keys) {
  size_t n = 0;
  for (const char* key : keys)
    n += r.has(key);
  return n;
}

bool readUint32(MapReader& r, std::string_view key, int64_t min, uint32_t& out) {
  int64_t n = 0;
  if (!r.readInt(key, min, kUint32Max, n)) return false;
  out = static_cast<uint32_t>(n);
  return true;
}

// Proto-JSON writes 64-bit integers as strings ("1024"); people write numbers. Both are read.
bool readInt64(MapReader& r, std::string_view key, int64_t min, int64_t max, int64_t& out) {
  const Value* v = r.take(key);
  if (!v) return false;
  bool quotedNumber = v->type == Value::Type::String && !v->scalar.empty();
  for (char c : v->scalar)
    quotedNumber = quotedNumber && c >= '0' && c <= '9';
  if (quotedNumber) {
    Value number = *v;
    number.type = Value::Type::Number;
    return readIntValue(number, r.pathOf(key), r.errors(), min, max, out);
  }
  return readIntValue(*v, r.pathOf(key), r.errors(), min, max, out);
}

// A number in [0, 100] (Envoy's DoubleValue percentages).
bool readPercentValue(const Value& v, std::string_view path, Errors& errors, double& out) {
  if (v.type != Value::Type::Number) {
    errors.add(path, std::string("expected a number, got ") + typeName(v.type));
    return false;
  }
  std::string_view text = v.scalar;
  if (!text.empty() && text[0] == '+') text.remove_prefix(1);
  double d = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
  if (ec != std::errc() || end != text.data() + text.size() || !(d >= 0 && d <= 100)) {
    errors.add(path, "must be between 0 and 100, got " + v.scalar);
    return false;
  }
  out = d;
  return true;
}

// A percentage written as a number (DoubleValue) or as Envoy's Percent message ({value: N};
// {} is 0, as in protobuf).
bool readPercent(MapReader& r, std::string_view key, double& out) {
  const Value* v = r.take(key);
  if (!v) return false;
  if (!v->isMap()) return readPercentValue(*v, r.pathOf(key), r.errors(), out);
  MapReader percent(*v, r.pathOf(key), r.errors());
  const Value* value = percent.take("value");
  if (!value) {
    out = 0;
    return true;
  }
  return readPercentValue(*value, percent.pathOf("value"), r.errors(), out);
}

// An integer percentage in [0, 100] (Envoy's UInt32Value percentages).
bool readIntPercent(MapReader& r, std::string_view key, uint32_t& out) {
  int64_t n = 0;
  if (!r.readInt(key, 0, 100, n)) return false;
  out = static_cast<uint32_t>(n);
  return true;
}

bool readPositiveDuration(MapReader& r, std::string_view key, int64_t& outMs) {
  int64_t ms = 0;
  if (!r.readDurationMs(key, ms)) return false;
  if (ms <= 0) {
    r.errors().add(r.pathOf(key), "must be greater than 0");
    return false;
  }
  outMs = ms;
  return true;
}

bool requirePositiveDuration(MapReader& r, std::string_view key, int64_t& outMs) {
  if (!r.has(key)) {
    r.take(key);
    r.errors().add(r.pathOf(key), "required");
    return false;
  }
  return readPositiveDuration(r, key, outMs);
}

// A boolean whose default (false) is what Portico does: false is accepted, true is not
// implemented and reported like any other unsupported field.
void readFalseOnly(MapReader& r, std::string_view key) {
  bool b = false;
  if (r.readBool(key, b) && b) r.errors().add(r.pathOf(key), "field not supported by Portico yet");
}

int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool decodeHex(std::string_view hex, std::string& out) {
  if (hex.empty() || hex.size() % 2 != 0) return false;
  std::string bytes;
  bytes.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = hexDigit(hex[i]), lo = hexDigit(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    bytes.push_back(static_cast<char>(hi * 16 + lo));
  }
  out = std::move(bytes);
  return true;
}

// HealthCheck.Payload: {text: "<hex>"}. `binary` (raw bytes) stays unread: reported as
// unsupported.
void decodePayload(const Value& v, const std::string& path, std::string& out, Errors& errors) {
  if (!expectMap(v, path, errors)) return;
  MapReader r(v, path, errors);
  if (!r.has("text") && r.has("binary")) return;
  std::string text;
  if (!r.requireString("text", text)) return;
  if (!decodeHex(text, out))
    errors.add(r.pathOf("text"), "invalid hex " + jsonQuote(text) +
                                     ": expected an even number of hex digits such as "
                                     "\"000000FF\"");
}

// The request target of an HTTP health check: sent as is on the request line.
bool isHealthCheckPath(std::string_view path) {
  if (path.empty() || path[0] != '/') return false;
  for (char c : path) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return false;
  }
  return true;
}

void decodeExpectedStatuses(const Value& v, const std::string& path,
                            std::vector<std::pair<uint32_t, uint32_t>>& out, Errors& errors) {
  if (!expectList(v, path, errors)) return;
  for (size_t i = 0; i < v.list.size(); ++i) {
    std::string itemPath = indexPath(path, i);
    if (!expectMap(v.list[i], itemPath, errors)) continue;
    MapReader r(v.list[i], itemPath, errors);
    // Envoy's Int64Range: [start, end), both required, within [100, 600).
    int64_t start = 0, end = 0;
    bool ok = true;
    for (auto [key, min, max, target] : {std::tuple{"start", 100, 599, &start},
                                         std::tuple{"end", 101, 600, &end}}) {
      if (!r.has(key)) {
        r.take(key);
        errors.add(r.pathOf(key), "required");
        ok = false;
      } else if (!readInt64(r, key, min, max, *target)) {
        ok = false;
      }
    }
    if (!ok) continue;
    if (start >= end) {
      errors.add(itemPath, "start (" + std::to_string(start) + ") must be less than end (" +
                               std::to_string(end) + "): the range is [start, end)");
      continue;
    }
    out.emplace_back(static_cast<uint32_t>(start), static_cast<uint32_t>(end));
  }
}

// httpHealthCheck. Unread, so reported as unsupported: requestHeadersToAdd,
// requestHeadersToRemove, send, receive, codecClientType, serviceNameMatcher, and the removed
// v2 fields useHttp2 and serviceName.
void decodeHttpHealthCheck(const Value& v, const std::string& path, HealthCheck& out,
                           Errors& errors) {
  MapReader r(v, path, errors);
  if (!v.isMap()) return;  // reported by the reader
  out.type = HealthCheck::Type::Http;
  std::string hcPath;
  if (r.requireString("path", hcPath)) {
    if (isHealthCheckPath(hcPath))
      out.httpPath = std::move(hcPath);
    else
      errors.add(r.pathOf("path"), "invalid path " + jsonQuote(hcPath) +
                                       ": expected a path starting with '/', without spaces or "
                                       "control characters");
  }
  std::string host;
  if (r.readString("host", host) && !host.empty()) {
    if (isHostAndPort(host))
      out.httpHost = std::move(host);
    else
      errors.add(r.pathOf("host"), "invalid host " + jsonQuote(host) +
                                       ": expected a host name or IP address, optionally "
                                       "followed by \":port\"");
  }
  if (const Value* statuses = r.take("expectedStatuses"))
    decodeExpectedStatuses(*statuses, r.pathOf("expectedStatuses"), out.expectedStatuses, errors);
}

// tcpHealthCheck: {send: Payload, receive: [Payload]}. No send = a connect-only check.
void decodeTcpHealthCheck(const Value& v, const std::string& path, HealthCheck& out,
                          Errors& errors) {
  MapReader r(v, path, errors);
  out.type = HealthCheck::Type::Tcp;
  if (const Value* send = r.take("send"))
    decodePayload(*send, r.pathOf("send"), out.tcpSend, errors);
  if (const Value* receive = r.take("receive")) {
    std::string listPath = r.pathOf("receive");
    if (expectList(*receive, listPath, errors)) {
      for (size_t i = 0; i < receive->list.size(); ++i)
        decodePayload(receive->list[i], indexPath(listPath, i), out.tcpReceive.emplace_back(),
                      errors);
    }
  }
}

// One spec.healthChecks entry. Unread, so reported as unsupported: grpcHealthCheck,
// customHealthCheck, noTrafficInterval, unhealthyInterval, unhealthyEdgeInterval,
// healthyEdgeInterval, eventLogPath, eventService, altPort, reuseConnection, tlsOptions,
// transportSocketMatchCriteria.
void decodeHealthCheck(const Value& v, const std::string& path, HealthCheck& out,
                       Errors& errors) {
  if (!expectMap(v, path, errors)) return;
  MapReader r(v, path, errors);
  requirePositiveDuration(r, "timeout", out.timeoutMs);
  requirePositiveDuration(r, "interval", out.intervalMs);
  r.readDurationMs("intervalJitter", out.intervalJitterMs);
  readUint32(r, "intervalJitterPercent", 0, out.intervalJitterPercent);
  r.readDurationMs("initialJitter", out.initialJitterMs);
  // Envoy requires both thresholds; Portico defaults them (3 and 2) like the model does.
  readUint32(r, "unhealthyThreshold", 1, out.unhealthyThreshold);
  readUint32(r, "healthyThreshold", 1, out.healthyThreshold);

  size_t checkers = countPresent(r, kHealthCheckers);
  if (checkers > 1)
    errors.add(path, "only one of httpHealthCheck, tcpHealthCheck, grpcHealthCheck, "
                     "customHealthCheck may be set");
  else if (checkers == 0)
    errors.add(path, "one of httpHealthCheck, tcpHealthCheck is required");
  if (const Value* http = r.take("httpHealthCheck"))
    decodeHttpHealthCheck(*http, r.pathOf("httpHealthCheck"), out, errors);
  if (const Value* tcp = r.take("tcpHealthCheck"))
    decodeTcpHealthCheck(*tcp, r.pathOf("tcpHealthCheck"), out, errors);

  // Only changes what goes into Envoy's health check event log (eventLogPath), which Portico
  // does not write: accepted and ignored.
  bool alwaysLog = false;
  r.readBool("alwaysLogHealthCheckFailures", alwaysLog);
}

void decodeRingHash(const Value& v, const std::string& path, LoadBalancerConfig& out,
                    Errors& errors) {
  MapReader r(v, path, errors);
  const Value* config = r.take("ringHashConfig");
  if (!config) return;
  MapReader c(*config, r.pathOf("ringHashConfig"), errors);
  // 0 (protobuf's unset) keeps Envoy's default, as Gloo does.
  int64_t minSize = 0, maxSize = 0;
  bool minOk =
      !c.has("minimumRingSize") || readInt64(c, "minimumRingSize", 0, kMaxRingSize, minSize);
  bool maxOk =
      !c.has("maximumRingSize") || readInt64(c, "maximumRingSize", 0, kMaxRingSize, maxSize);
  if (minSize > 0) out.minimumRingSize = static_cast<uint64_t>(minSize);
  if (maxSize > 0) out.maximumRingSize = static_cast<uint64_t>(maxSize);
  if (minOk && maxOk && out.minimumRingSize > out.maximumRingSize)
    errors.add(c.path(), "minimumRingSize (" + std::to_string(out.minimumRingSize) +
                             ") must not be greater than maximumRingSize (" +
                             std::to_string(out.maximumRingSize) + ")");
}

void decodeTcpKeepalive(const Value& v, const std::string& path, TcpKeepalive& out,
                        Errors& errors) {
  MapReader r(v, path, errors);
  // 0 (protobuf's unset) keeps the system default, as Gloo does.
  int64_t probes = 0;
  if (r.readInt("keepaliveProbes", 0, kMaxKeepaliveProbes, probes))
    out.probes = static_cast<uint32_t>(probes);
  // The socket options take whole seconds: Gloo rounds up, and so does Portico.
  for (auto [key, target] : {std::pair{"keepaliveTime", &out.timeMs},
                             std::pair{"keepaliveInterval", &out.intervalMs}}) {
    int64_t ms = 0;
    if (!r.readDurationMs(key, ms)) continue;
    int64_t seconds = ms / 1000 + (ms % 1000 != 0);
    if (seconds > kMaxKeepaliveSeconds) {
      errors.add(r.pathOf(key), "must be at most " + std::to_string(kMaxKeepaliveSeconds) +
                                    "s, got " + jsonQuote(v.find(key)->scalar));
      continue;
    }
    *target = seconds * 1000;
  }
}

}  // namespace

void decodeLoadBalancerConfig(const Value& v, const std::string& path, LoadBalancerConfig& out,
                              Errors& errors) {
  MapReader r(v, path, errors);
  readPercent(r, "healthyPanicThreshold", out.healthyPanicThreshold);
  // Batches Envoy's host updates to save CPU; Portico applies each update as it comes. Checked
  // as a duration, then ignored: it changes no routing decision.
  int64_t mergeWindowMs = 0;
  r.readDurationMs("updateMergeWindow", mergeWindowMs);

  if (countPresent(r, kLbPolicies) > 1)
    errors.add(path, "only one of roundRobin, leastRequest, random, ringHash, maglev may be set");
  // None given: round robin. Each policy reads its own map so that unknown keys are reported
  // (roundRobin.slowStartConfig, leastRequest.slowStartConfig, ...).
  if (const Value* rr = r.take("roundRobin")) {
    MapReader m(*rr, r.pathOf("roundRobin"), errors);
    out.policy = LoadBalancerConfig::Policy::RoundRobin;
  }
  if (const Value* lr = r.take("leastRequest")) {
    MapReader m(*lr, r.pathOf("leastRequest"), errors);
    out.policy = LoadBalancerConfig::Policy::LeastRequest;
    int64_t choices = 0;
    // 0 (protobuf's unset) keeps the default of 2, as Gloo does; Envoy needs at least 2.
    if (m.readInt("choiceCount", 0, kUint32Max, choices)) {
      if (choices == 1)
        errors.add(m.pathOf("choiceCount"), "must be at least 2, got 1");
      else if (choices >= 2)
        out.choiceCount = static_cast<uint32_t>(choices);
    }
  }
  if (const Value* random = r.take("random")) {
    MapReader m(*random, r.pathOf("random"), errors);
    out.policy = LoadBalancerConfig::Policy::Random;
  }
  if (const Value* ringHash = r.take("ringHash")) {
    out.policy = LoadBalancerConfig::Policy::RingHash;
    decodeRingHash(*ringHash, r.pathOf("ringHash"), out, errors);
  }
  if (const Value* maglev = r.take("maglev")) {
    MapReader m(*maglev, r.pathOf("maglev"), errors);
    out.policy = LoadBalancerConfig::Policy::Maglev;
  }
  readFalseOnly(r, "useHostnameForHashing");
  // localityWeightedLbConfig stays unread: reported as unsupported.
}

void decodeHealthChecks(const Value& v, const std::string& path, std::vector<HealthCheck>& out,
                        Errors& errors) {
  if (!expectList(v, path, errors)) return;
  // Envoy refuses clusters with several ("Multiple health checks not supported"), so no Gloo
  // config that works has more than one; what several would mean is left undefined.
  if (v.list.size() > 1)
    errors.add(path, "at most one health check per upstream is supported, got " +
                         std::to_string(v.list.size()));
  for (size_t i = 0; i < v.list.size(); ++i)
    decodeHealthCheck(v.list[i], indexPath(path, i), out.emplace_back(), errors);
}

void decodeOutlierDetection(const Value& v, const std::string& path, OutlierDetection& out,
                            Errors& errors) {
  MapReader r(v, path, errors);
  // Counts of 0 would mean "eject on no failure at all"; Envoy never triggers on them either.
  readUint32(r, "consecutive5xx", 1, out.consecutive5xx);
  readUint32(r, "consecutiveGatewayFailure", 1, out.consecutiveGatewayFailure);
  readIntPercent(r, "enforcingConsecutive5xx", out.enforcingConsecutive5xx);
  readIntPercent(r, "enforcingConsecutiveGatewayFailure", out.enforcingConsecutiveGatewayFailure);
  readIntPercent(r, "enforcingSuccessRate", out.enforcingSuccessRate);
  readPositiveDuration(r, "interval", out.intervalMs);
  bool baseOk = !r.has("baseEjectionTime") ||
                readPositiveDuration(r, "baseEjectionTime", out.baseEjectionTimeMs);
  bool maxGiven = r.has("maxEjectionTime");
  bool maxOk = readPositiveDuration(r, "maxEjectionTime", out.maxEjectionTimeMs);
  readIntPercent(r, "maxEjectionPercent", out.maxEjectionPercent);
  readUint32(r, "successRateMinimumHosts", 0, out.successRateMinimumHosts);
  readUint32(r, "successRateRequestVolume", 0, out.successRateRequestVolume);
  readUint32(r, "successRateStdevFactor", 0, out.successRateStdevFactor);
  readFalseOnly(r, "splitExternalLocalOriginErrors");
  // consecutiveLocalOriginFailure, failurePercentage*, ... stay unread: reported as unsupported.

  // Envoy: an unset maxEjectionTime is max(300s, baseEjectionTime); a set one below
  // baseEjectionTime is refused.
  if (!maxGiven) {
    out.maxEjectionTimeMs = std::max(out.maxEjectionTimeMs, out.baseEjectionTimeMs);
  } else if (maxOk && baseOk && out.maxEjectionTimeMs < out.baseEjectionTimeMs) {
    const Value* base = v.find("baseEjectionTime");
    errors.add(r.pathOf("maxEjectionTime"),
               "must not be less than baseEjectionTime (" +
                   (base ? base->scalar : std::string("30s, the default")) + ")");
  }
}

void decodeCircuitBreakers(const Value& v, const std::string& path, CircuitBreakers& out,
                           Errors& errors) {
  MapReader r(v, path, errors);
  readUint32(r, "maxConnections", 1, out.maxConnections);
  readUint32(r, "maxPendingRequests", 1, out.maxPendingRequests);
  readUint32(r, "maxRequests", 1, out.maxRequests);
  readUint32(r, "maxRetries", 1, out.maxRetries);
}

void decodeConnectionConfig(const Value& v, const std::string& path, Upstream& out,
                            Errors& errors) {
  MapReader r(v, path, errors);
  int64_t ms = 0;
  if (r.readDurationMs("connectTimeout", ms)) {
    if (ms > 0)
      out.connectTimeoutMs = ms;
    else
      errors.add(r.pathOf("connectTimeout"), "must be greater than 0");
  }
  readUint32(r, "maxRequestsPerConnection", 0, out.maxRequestsPerConnection);
  if (const Value* keepalive = r.take("tcpKeepalive"))
    decodeTcpKeepalive(*keepalive, r.pathOf("tcpKeepalive"), out.tcpKeepalive.emplace(), errors);
  readUint32(r, "perConnectionBufferLimitBytes", 1024, out.perConnectionBufferLimitBytes);
  // commonHttpProtocolOptions and http1ProtocolOptions stay unread: reported as unsupported.
}

}  // namespace portico::config::detail

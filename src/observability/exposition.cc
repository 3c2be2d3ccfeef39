#include "observability/exposition.h"

#include "observability/metrics_totals.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "common/clock.h"
#include "upstream/circuit_breaker.h"
#include "upstream/host_health.h"
#include "upstream/load_balancer.h"

namespace portico::observability {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

/// Label pairs already rendered as `a="x",b="y"` (without braces).
class Family {
public:
  Family(std::string& out, ExpositionFormat format, std::string_view name, std::string_view type,
         std::string_view help)
      : out_(out), format_(format), name_(name), counter_(type == "counter") {
    // OpenMetrics names a counter family without its _total suffix; 0.0.4 uses the sample name.
    std::string family(name);
    if (counter_ && format == ExpositionFormat::PrometheusText) family += "_total";
    out_ += "# HELP " + family + " " + std::string(help) + "\n";
    out_ += "# TYPE " + family + " " + std::string(type) + "\n";
  }
  void sample(std::string_view labels, uint64_t value, std::string_view suffix = {}) {
    char buf[32];
    snprintf(buf, sizeof(buf), "%" PRIu64, value);
    line(labels, buf, suffix);
  }
  void sampleDouble(std::string_view labels, double value, std::string_view suffix = {}) {
    char buf[48];
    snprintf(buf, sizeof(buf), "%.6f", value);
    line(labels, buf, suffix);
  }
  void histogram(const std::string& labels, const std::array<uint64_t, kLatencyBuckets>& buckets,
                 uint64_t sumUs) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kLatencyBuckets; ++i) {
      cumulative += buckets[i];
      char le[32];
      if (i + 1 == kLatencyBuckets) {
        snprintf(le, sizeof(le), "+Inf");
      } else {
        // Canonical floats ("1.0", not "1"): OpenMetrics asks for them, Prometheus accepts them.
        snprintf(le, sizeof(le), "%.6g", static_cast<double>(kLatencyBoundsUs[i]) / 1e6);
        if (!strpbrk(le, ".e")) strcat(le, ".0");
      }
      std::string l = labels.empty() ? "" : labels + ",";
      l += "le=\"";
      l += le;
      l += "\"";
      sample(l, cumulative, "_bucket");
    }
    sample(labels, cumulative, "_count");
    sampleDouble(labels, static_cast<double>(sumUs) / 1e6, "_sum");
  }

private:
  void line(std::string_view labels, const char* value, std::string_view suffix) {
    out_ += name_;
    if (suffix.empty() && counter_) out_ += "_total";
    out_ += suffix;
    if (!labels.empty()) {
      out_ += '{';
      out_ += labels;
      out_ += '}';
    }
    out_ += ' ';
    out_ += value;
    out_ += '\n';
  }

  std::string& out_;
  ExpositionFormat format_;
  std::string name_;
  bool counter_;
};

std::string label(std::string_view name, std::string_view value) {
  return std::string(name) + "=\"" + escapeLabelValue(value) + "\"";
}

}  // namespace

std::string escapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

ExpositionFormat negotiateFormat(std::string_view accept) {
  double openMetricsQ = -1, textQ = -1;
  while (!accept.empty()) {
    size_t comma = accept.find(',');
    std::string_view range = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view() : accept.substr(comma + 1);
    size_t semi = range.find(';');
    std::string_view type = trim(range.substr(0, semi));
    double q = 1;
    std::string_view params = semi == std::string_view::npos ? std::string_view() : range.substr(semi + 1);
    while (!params.empty()) {
      size_t next = params.find(';');
      std::string_view p = trim(params.substr(0, next));
      params = next == std::string_view::npos ? std::string_view() : params.substr(next + 1);
      if (p.size() > 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=')
        q = std::strtod(std::string(p.substr(2)).c_str(), nullptr);
    }
    if (equalsIgnoreCase(type, "application/openmetrics-text")) openMetricsQ = std::max(openMetricsQ, q);
    else if (equalsIgnoreCase(type, "text/plain") || type == "*/*") textQ = std::max(textQ, q);
  }
  return openMetricsQ > 0 && openMetricsQ >= textQ ? ExpositionFormat::OpenMetrics
                                                   : ExpositionFormat::PrometheusText;
}

const char* contentType(ExpositionFormat format) {
  return format == ExpositionFormat::OpenMetrics
             ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
             : "text/plain; version=0.0.4; charset=utf-8";
}

std::string renderMetrics(const MetricsRegistry& registry, ExpositionFormat format,
                          AccessLogWriter* accessLogs) {
  std::string out;
  out.reserve(16 << 10);

  // ---- downstream ----
  const MetricsTotals totals = sumWorkers(registry);
  const MetricsRegistry::Names& names = totals.names;
  const uint64_t opened = totals.connectionsOpened, closed = totals.connectionsClosed;
  const auto& byMethod = totals.requestsByMethod;
  {
    Family f(out, format, "portico_downstream_connections_active", "gauge",
             "Client connections open now.");
    f.sample("", difference(opened, closed));
  }
  {
    Family f(out, format, "portico_downstream_connections", "counter", "Client connections accepted.");
    f.sample("", opened);
  }
  {
    Family f(out, format, "portico_downstream_connections_paused", "counter",
             "Times a worker stopped accepting because it reached --max-connections.");
    f.sample("", totals.acceptPauses);
  }
  {
    Family f(out, format, "portico_downstream_listeners_paused", "gauge",
             "Worker listener sockets not accepting now (worker at --max-connections).");
    f.sample("", difference(totals.listenersPaused, totals.listenersResumed));
  }
  {
    Family f(out, format, "portico_downstream_requests", "counter",
             "Client requests answered, by method and response code class.");
    for (size_t m = 0; m < kMethods; ++m)
      for (size_t c = 0; c < kCodeClasses; ++c)
        if (byMethod[m][c])
          f.sample(label("method", kMethodNames[m]) + "," + label("code_class", kCodeClassNames[c]),
                   byMethod[m][c]);
  }

  // ---- virtual services and routes ----
  auto requestFamilies = [&](std::string_view prefix, std::string_view what,
                             const std::vector<RequestTotals>& totals, auto labelsOf, auto named) {
    const size_t count = totals.size();
    {
      Family f(out, format, std::string(prefix) + "_requests", "counter",
               "Requests answered " + std::string(what) + ", by response code class.");
      for (size_t i = 0; i < count; ++i) {
        if (!named(i)) continue;  // a free id
        for (size_t c = 0; c < kCodeClasses; ++c)
          if (totals[i].requests[c])
            f.sample(labelsOf(i) + "," + label("code_class", kCodeClassNames[c]), totals[i].requests[c]);
      }
    }
    {
      Family f(out, format, std::string(prefix) + "_request_duration_seconds", "histogram",
               "Request duration " + std::string(what) + " (head received to response complete).");
      for (size_t i = 0; i < count; ++i)
        if (named(i)) f.histogram(labelsOf(i), totals[i].buckets, totals[i].sumUs);
    }
  };
  requestFamilies(
      "portico_virtual_service", "per virtual service", totals.virtualServices,
      [&](size_t i) { return label("virtual_service", names.virtualServices[i]); },
      [&](size_t i) { return !names.virtualServices[i].empty(); });
  requestFamilies(
      "portico_route", "per route", totals.routes,
      [&](size_t i) {
        return label("virtual_service", names.routes[i].first) + "," + label("route", names.routes[i].second);
      },
      [&](size_t i) { return !names.routes[i].first.empty(); });

  // ---- upstreams ----
  const std::vector<UpstreamTotals>& up = totals.upstreams;
  auto upLabel = [&](size_t i) { return label("upstream", names.upstreams[i]); };
  auto upNamed = [&](size_t i) { return !names.upstreams[i].empty(); };  // else a free id
  auto upCounter = [&](const char* name, const char* help, uint64_t UpstreamTotals::*field) {
    Family f(out, format, name, "counter", help);
    for (size_t i = 0; i < up.size(); ++i)
      if (upNamed(i)) f.sample(upLabel(i), up[i].*field);
  };
  upCounter("portico_upstream_requests", "Requests sent to the upstream (each attempt counts).",
            &UpstreamTotals::requests);
  {
    Family f(out, format, "portico_upstream_errors", "counter",
             "Failed upstream attempts: 5xx answers, connect failures, resets.");
    for (size_t i = 0; i < up.size(); ++i) {
      if (!upNamed(i)) continue;
      for (size_t e = 0; e < kUpstreamErrorKinds; ++e)
        f.sample(upLabel(i) + "," + label("type", kUpstreamErrorNames[e]), up[i].errors[e]);
    }
  }
  upCounter("portico_upstream_retries", "Retries scheduled by route retry policies.",
            &UpstreamTotals::retries);
  upCounter("portico_upstream_timeouts", "Upstream attempts ended by a connect, per-try or route timeout.",
            &UpstreamTotals::timeouts);
  upCounter("portico_upstream_connect_failures", "Upstream connections that failed to establish.",
            &UpstreamTotals::connectFailures);
  {
    Family f(out, format, "portico_upstream_request_duration_seconds", "histogram",
             "Upstream attempt duration (request sent to response headers).");
    for (size_t i = 0; i < up.size(); ++i)
      if (upNamed(i)) f.histogram(upLabel(i), up[i].buckets, up[i].sumUs);
  }
  {
    Family f(out, format, "portico_upstream_connections", "gauge",
             "Pooled upstream connections by state (active: lent to a request or connecting).");
    for (size_t i = 0; i < up.size(); ++i) {
      if (!upNamed(i)) continue;
      uint64_t open = difference(up[i].opened, up[i].closed);
      uint64_t idle = std::min(open, difference(up[i].idleIn, up[i].idleOut));
      f.sample(upLabel(i) + "," + label("state", "active"), open - idle);
      f.sample(upLabel(i) + "," + label("state", "idle"), idle);
    }
  }

  // Gauges and counters of the clusters in effect (shared host health, breakers).
  auto clusters = registry.clusters();
  MonoMs now = monotonicMs();
  {
    Family f(out, format, "portico_upstream_hosts", "gauge", "Hosts of the upstream.");
    for (const auto& [id, c] : clusters)
      if (id < names.upstreams.size()) f.sample(upLabel(id), c->hosts.size());
  }
  {
    Family f(out, format, "portico_upstream_healthy_hosts", "gauge",
             "Hosts passing active health checks and not ejected.");
    for (const auto& [id, c] : clusters) {
      if (id >= names.upstreams.size()) continue;
      uint64_t healthy = c->hosts.size();
      if (c->lbData) {
        healthy = 0;
        for (const auto& h : c->lbData->health) healthy += h && h->available(now);
      }
      f.sample(upLabel(id), healthy);
    }
  }
  {
    Family f(out, format, "portico_upstream_ejections", "counter",
             "Outlier-detection ejections of the upstream's current hosts.");
    for (const auto& [id, c] : clusters) {
      if (id >= names.upstreams.size()) continue;
      uint64_t ejections = 0;
      if (c->lbData)
        for (const auto& h : c->lbData->health) ejections += h ? h->totalEjections() : 0;
      f.sample(upLabel(id), ejections);
    }
  }
  {
    Family f(out, format, "portico_upstream_circuit_breaker_trips", "counter",
             "Requests or connections refused by a circuit breaker, by resource.");
    for (const auto& [id, c] : clusters) {
      if (id >= names.upstreams.size() || !c->breakers) continue;
      std::vector<const upstream::CircuitBreaker*> list;
      for (const auto& b : c->breakers->perWorker) list.push_back(b.get());
      upstream::CircuitBreakerStats s = upstream::sumCircuitBreakers(list.data(), list.size());
      for (size_t r = 0; r < upstream::kCircuitResourceCount; ++r)
        f.sample(upLabel(id) + "," +
                     label("resource", upstream::toString(static_cast<upstream::CircuitResource>(r))),
                 s.trips[r]);
    }
  }

  // ---- controller ----
  ControllerStats cs = registry.controllerStats();
  {
    Family f(out, format, "portico_controller_snapshot_builds", "counter", "Config snapshots built.");
    f.sample("", cs.builds);
  }
  {
    Family f(out, format, "portico_controller_snapshot_build_duration_seconds", "histogram",
             "Time to read, validate and translate the config into a snapshot.");
    f.histogram("", cs.buildBuckets, cs.buildSumUs);
  }
  {
    Family f(out, format, "portico_controller_objects", "gauge", "Config objects by kind and state.");
    for (const auto& [key, n] : cs.objects)
      f.sample(label("kind", key.first) + "," + label("state", key.second), n);
  }
  if (accessLogs) {
    Family f(out, format, "portico_access_log_dropped_lines", "counter",
             "Access log lines dropped because the writer could not keep up.");
    f.sample("", accessLogs->dropped());
  }
  if (format == ExpositionFormat::OpenMetrics) out += "# EOF\n";
  return out;
}

}  // namespace portico::observability

// MetricsRegistry, Histogram and the exposition formats (rendering, negotiation, escaping).
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <thread>

#include "observability/exposition.h"
#include "observability/metrics_registry.h"

namespace portico::observability {
namespace {

/// name{labels} → value, from the non-comment lines of an exposition.
std::map<std::string, std::string> samples(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t sp = line.rfind(' ');
    out[line.substr(0, sp)] = line.substr(sp + 1);
  }
  return out;
}

TEST(HistogramTest, BucketsAreUpperBoundsInclusive) {
  Histogram h;
  h.recordUs(0);
  h.recordUs(500);       // le 0.0005
  h.recordUs(501);       // le 0.001
  h.recordUs(60000000);  // le 60
  h.recordUs(60000001);  // +Inf
  EXPECT_EQ(h.bucket(0), 2u);
  EXPECT_EQ(h.bucket(1), 1u);
  EXPECT_EQ(h.bucket(kLatencyBuckets - 2), 1u);
  EXPECT_EQ(h.bucket(kLatencyBuckets - 1), 1u);
  EXPECT_EQ(h.sumUs(), 0u + 500 + 501 + 60000000 + 60000001);
}

TEST(MetricsRegistryTest, StableIdsAndSlotsInEveryWorker) {
  MetricsRegistry r(2);
  uint32_t a = r.upstreamId("a.ns");
  uint32_t b = r.upstreamId("b.ns");
  EXPECT_NE(a, b);
  EXPECT_EQ(r.upstreamId("a.ns"), a);
  EXPECT_EQ(r.routeId("vs", "r1"), r.routeId("vs", "r1"));
  EXPECT_NE(r.routeId("vs", "r1"), r.routeId("vs2", "r1"));
  // Enough ids to need several chunks: every worker has a slot for each.
  uint32_t last = 0;
  for (int i = 0; i < 300; ++i) last = r.virtualServiceId("vs" + std::to_string(i));
  EXPECT_EQ(last, 299u);  // "vs" above is not "vs0"
  r.worker(1).virtualServices[last].requests[1].add(3);
  EXPECT_EQ(r.worker(1).virtualServices.find(last)->requests[1].value(), 3u);
  EXPECT_EQ(r.worker(0).virtualServices.find(last)->requests[1].value(), 0u);
}

TEST(MetricsRegistryTest, ConfigureAfterIdsAllocatesTheirSlots) {
  MetricsRegistry r;
  uint32_t id = r.upstreamId("early");
  r.configure(3);
  ASSERT_EQ(r.workers(), 3u);
  EXPECT_NE(r.worker(2).upstreams.find(id), nullptr);
}

TEST(ExpositionTest, SumsWorkersInBothFormats) {
  MetricsRegistry r(2);
  uint32_t up = r.upstreamId("petstore.gloo-system");
  uint32_t vs = r.virtualServiceId("default.gloo-system");
  uint32_t route = r.routeId("default.gloo-system", "say \"hi\"\\now");
  for (size_t w = 0; w < 2; ++w) {
    WorkerStats& s = r.worker(w);
    s.downstream.connectionsOpened.add(5);
    s.downstream.connectionsClosed.add(4);
    s.downstream.requests[methodIndex("GET")][codeClassIndex(200)].add(10);
    s.downstream.requests[methodIndex("BREW")][codeClassIndex(503)].add(1);
    s.upstreams[up].requests.add(7);
    s.upstreams[up].error(UpstreamError::Reset);
    s.upstreams[up].connectionsOpened.add(3);
    s.upstreams[up].idleEntered.add(2);
    s.virtualServices[vs].requests[codeClassIndex(404)].add(2);
    s.routes[route].latency.recordUs(700);
  }
  r.recordBuild(1500, {{{"Upstream", "accepted"}, 2}});

  auto text = samples(renderMetrics(r, ExpositionFormat::PrometheusText));
  EXPECT_EQ(text["portico_downstream_connections_active"], "2");
  EXPECT_EQ(text["portico_downstream_connections_total"], "10");
  EXPECT_EQ(text["portico_downstream_requests_total{method=\"GET\",code_class=\"2xx\"}"], "20");
  EXPECT_EQ(text["portico_downstream_requests_total{method=\"other\",code_class=\"5xx\"}"], "2");
  EXPECT_EQ(text["portico_upstream_requests_total{upstream=\"petstore.gloo-system\"}"], "14");
  EXPECT_EQ(text["portico_upstream_errors_total{upstream=\"petstore.gloo-system\",type=\"reset\"}"], "2");
  EXPECT_EQ(text["portico_upstream_connections{upstream=\"petstore.gloo-system\",state=\"idle\"}"], "4");
  EXPECT_EQ(text["portico_upstream_connections{upstream=\"petstore.gloo-system\",state=\"active\"}"], "2");
  EXPECT_EQ(text["portico_virtual_service_requests_total{virtual_service=\"default.gloo-system\",code_class=\"4xx\"}"], "4");
  const std::string routeLabels = "virtual_service=\"default.gloo-system\",route=\"say \\\"hi\\\"\\\\now\"";
  EXPECT_EQ(text["portico_route_request_duration_seconds_bucket{" + routeLabels + ",le=\"0.0005\"}"], "0");
  EXPECT_EQ(text["portico_route_request_duration_seconds_bucket{" + routeLabels + ",le=\"0.001\"}"], "2");
  EXPECT_EQ(text["portico_route_request_duration_seconds_bucket{" + routeLabels + ",le=\"+Inf\"}"], "2");
  EXPECT_EQ(text["portico_route_request_duration_seconds_count{" + routeLabels + "}"], "2");
  EXPECT_EQ(text["portico_route_request_duration_seconds_sum{" + routeLabels + "}"], "0.001400");
  EXPECT_EQ(text["portico_controller_snapshot_builds_total"], "1");
  EXPECT_EQ(text["portico_controller_objects{kind=\"Upstream\",state=\"accepted\"}"], "2");

  std::string plain = renderMetrics(r, ExpositionFormat::PrometheusText);
  EXPECT_NE(plain.find("# TYPE portico_downstream_connections_total counter\n"), std::string::npos);
  EXPECT_EQ(plain.find("# EOF"), std::string::npos);
  std::string om = renderMetrics(r, ExpositionFormat::OpenMetrics);
  EXPECT_NE(om.find("# TYPE portico_downstream_connections counter\n"), std::string::npos);
  EXPECT_NE(om.find("\nportico_downstream_connections_total 10\n"), std::string::npos);
  EXPECT_TRUE(om.ends_with("\n# EOF\n"));
}

TEST(ExpositionTest, ScrapeWhileWorkersWrite) {
  // A scrape never sees a histogram whose +Inf bucket differs from its count.
  MetricsRegistry r(1);
  uint32_t up = r.upstreamId("u");
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    uint64_t i = 0;
    while (!stop.load(std::memory_order_relaxed)) r.worker(0).upstreams[up].latency.recordUs(i++ % 90000000);
  });
  for (int i = 0; i < 50; ++i) {
    auto s = samples(renderMetrics(r, ExpositionFormat::PrometheusText));
    EXPECT_EQ(s["portico_upstream_request_duration_seconds_bucket{upstream=\"u\",le=\"+Inf\"}"],
              s["portico_upstream_request_duration_seconds_count{upstream=\"u\"}"]);
  }
  stop = true;
  writer.join();
}

TEST(ExpositionTest, NegotiatesTheFormat) {
  EXPECT_EQ(negotiateFormat(""), ExpositionFormat::PrometheusText);
  EXPECT_EQ(negotiateFormat("text/plain"), ExpositionFormat::PrometheusText);
  EXPECT_EQ(negotiateFormat("application/openmetrics-text; version=1.0.0"), ExpositionFormat::OpenMetrics);
  // Prometheus 2.x's own Accept header.
  EXPECT_EQ(negotiateFormat("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
                            "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"),
            ExpositionFormat::OpenMetrics);
  EXPECT_EQ(negotiateFormat("application/openmetrics-text;q=0.2, text/plain;q=0.9"), ExpositionFormat::PrometheusText);
  EXPECT_EQ(negotiateFormat("application/openmetrics-text;q=0"), ExpositionFormat::PrometheusText);
  EXPECT_EQ(negotiateFormat("*/*"), ExpositionFormat::PrometheusText);
  EXPECT_STREQ(contentType(ExpositionFormat::PrometheusText), "text/plain; version=0.0.4; charset=utf-8");
}

TEST(ExpositionTest, EscapesLabelValues) {
  EXPECT_EQ(escapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
}

TEST(StatsTest, BoundedLabels) {
  EXPECT_EQ(methodIndex("GET"), 0u);
  EXPECT_EQ(kMethodNames[methodIndex("get")], "other");
  EXPECT_EQ(kMethodNames[methodIndex("PATCH")], "PATCH");
  EXPECT_EQ(kCodeClassNames[codeClassIndex(0)], "none");
  EXPECT_EQ(kCodeClassNames[codeClassIndex(101)], "1xx");
  EXPECT_EQ(kCodeClassNames[codeClassIndex(599)], "5xx");
  EXPECT_EQ(kCodeClassNames[codeClassIndex(600)], "none");
}

}  // namespace
}  // namespace portico::observability

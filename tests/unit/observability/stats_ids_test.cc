// Stats ids under config churn: snapshots hold them, retired ones stay scrapable for the grace
// period and are then reused, so names that come and go leave the registry at a bounded size.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "observability/exposition.h"
#include "observability/observability.h"
#include "observability/statsd_sink.h"

namespace portico::observability {
namespace {

/// A registry with a clock the test moves.
struct Fixture {
  MonoMs now = 1000000;
  MetricsRegistry registry{2};
  Fixture() {
    registry.setClockForTest([this] { return now; });
  }
};

/// One build of the soak's shape: `stable` with 1-3 routes, a fresh `extra-<k>`, two upstreams.
std::shared_ptr<const SnapshotStatsIndex> build(MetricsRegistry& registry, int k) {
  router::RouteTable table;
  router::VirtualHost stable;
  stable.name = "stable.default";
  stable.routes.resize(1 + static_cast<size_t>(k % 3));
  table.addVirtualHost(std::move(stable), {"stable.example"});
  router::VirtualHost extra;
  extra.name = "extra-" + std::to_string(k) + ".default";
  extra.routes.resize(1);
  table.addVirtualHost(std::move(extra), {"extra-" + std::to_string(k) + ".example"});
  std::vector<upstream::ClusterConstSharedPtr> clusters;
  for (const char* name : {"up-stable.default", "up-churn.default"}) {
    auto c = std::make_shared<upstream::Cluster>();
    c->name = name;
    clusters.push_back(c);
  }
  return buildStatsIndex(registry, {&table}, clusters,
                         [](const router::RouteEntry&, const router::VirtualHost& vh, size_t i) {
                           return vh.name + "/" + std::to_string(i);
                         });
}

TEST(StatsIdsTest, ConfigChurnLeavesTheRegistryBounded) {
  Fixture f;
  std::shared_ptr<const SnapshotStatsIndex> current;
  auto churn = [&](int from, int to) {
    for (int k = from; k < to; ++k) {
      current = build(f.registry, k);  // the previous snapshot goes: its ids are released
      f.now += 100;                    // one build every 100 ms, as in the soak
    }
  };
  churn(0, 1000);
  const size_t vsIds = f.registry.idCapacity(StatsKind::VirtualService);
  const size_t routeIds = f.registry.idCapacity(StatsKind::Route);
  churn(1000, 3000);  // 2,000 more fresh names of each kind
  EXPECT_EQ(f.registry.idCapacity(StatsKind::VirtualService), vsIds);
  EXPECT_EQ(f.registry.idCapacity(StatsKind::Route), routeIds);
  EXPECT_EQ(f.registry.idCapacity(StatsKind::Upstream), 2u);
  // What is kept: the names in use plus those retired within the grace period.
  const size_t perGrace = MetricsRegistry::kRetiredGraceMs / 100;
  EXPECT_LE(vsIds, perGrace + 3);
  EXPECT_LE(routeIds, perGrace + 5);
  EXPECT_LE(f.registry.namedIds(StatsKind::Route), perGrace + 5);
}

TEST(StatsIdsTest, RetiredStatsStayScrapableForTheGraceThenTheIdIsReused) {
  Fixture f;
  MetricsRegistry& r = f.registry;
  uint32_t gone = r.routeId("vs.ns", "old");
  r.worker(0).routes[gone].requests[1].add(7);
  r.release(StatsKind::Route, gone);

  f.now += MetricsRegistry::kRetiredGraceMs - 1;
  r.forgetRetired();
  std::string text = renderMetrics(r, ExpositionFormat::PrometheusText);
  EXPECT_NE(text.find("route=\"old\",code_class=\"2xx\"} 7"), std::string::npos) << text;

  f.now += 1;
  r.forgetRetired();
  text = renderMetrics(r, ExpositionFormat::PrometheusText);
  EXPECT_EQ(text.find("route=\"old\""), std::string::npos) << text;
  EXPECT_EQ(r.namedIds(StatsKind::Route), 0u);

  // The next new name takes the id over, from zero.
  uint32_t next = r.routeId("vs.ns", "new");
  EXPECT_EQ(next, gone);
  EXPECT_EQ(r.idCapacity(StatsKind::Route), 1u);
  EXPECT_EQ(r.worker(0).routes.find(next)->requests[1].value(), 0u);
  EXPECT_EQ(r.names().routes[next].second, "new");
}

TEST(StatsIdsTest, ANameBackWithinTheGraceKeepsItsIdAndValues) {
  Fixture f;
  MetricsRegistry& r = f.registry;
  uint32_t id = r.virtualServiceId("stable.default");
  r.worker(1).virtualServices[id].requests[1].add(5);
  r.release(StatsKind::VirtualService, id);
  f.now += MetricsRegistry::kRetiredGraceMs / 2;
  r.forgetRetired();
  EXPECT_EQ(r.virtualServiceId("stable.default"), id);
  f.now += 10 * MetricsRegistry::kRetiredGraceMs;
  r.forgetRetired();  // held again: not retired
  EXPECT_EQ(r.worker(1).virtualServices.find(id)->requests[1].value(), 5u);
  EXPECT_EQ(r.names().virtualServices[id], "stable.default");
}

TEST(StatsIdsTest, AnUpstreamIsFreedOnlyOnceItsPooledConnectionsClosed) {
  Fixture f;
  MetricsRegistry& r = f.registry;
  uint32_t id = r.upstreamId("gone.default");
  r.worker(0).upstreams[id].connectionsOpened.add(2);
  r.worker(1).upstreams[id].connectionsClosed.add(1);
  r.release(StatsKind::Upstream, id);
  f.now += 2 * MetricsRegistry::kRetiredGraceMs;
  r.forgetRetired();
  EXPECT_EQ(r.names().upstreams[id], "gone.default");  // a pooled connection still counts here
  r.worker(0).upstreams[id].connectionsClosed.add(1);
  r.forgetRetired();
  EXPECT_EQ(r.names().upstreams[id], "");
}

TEST(StatsIdsTest, StatsdStartsAReusedIdFromZero) {
  Fixture f;
  MetricsRegistry& r = f.registry;
  StatsdOptions o;
  o.address = *net::Address::parse("127.0.0.1:9");  // collect() only: nothing is sent
  auto sink = StatsdSink::create(o, r);
  ASSERT_TRUE(sink.ok()) << sink.error();
  uint32_t old = r.routeId("vs", "old");
  r.worker(0).routes[old].requests[1].add(10);
  (*sink)->collect();
  r.release(StatsKind::Route, old);
  f.now += MetricsRegistry::kRetiredGraceMs;
  r.forgetRetired();
  uint32_t next = r.routeId("vs", "new");
  ASSERT_EQ(next, old);
  r.worker(0).routes[next].requests[1].add(3);  // fewer than the old name's 10
  auto lines = (*sink)->collect();
  EXPECT_NE(std::find(lines.begin(), lines.end(), "portico.route.requests.vs.new.2xx:3|c"), lines.end());
  for (const auto& l : lines) EXPECT_EQ(l.find(".old."), std::string::npos) << l;
}

}  // namespace
}  // namespace portico::observability

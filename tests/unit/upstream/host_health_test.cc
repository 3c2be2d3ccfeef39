// HostHealth and its registry: verdicts of several checks, ejection by time, the health epoch,
// and state that survives reloads but not the removal of its host.
#include "upstream/host_health.h"

#include <gtest/gtest.h>

#include <thread>

namespace portico::upstream {
namespace {

TEST(HostHealth, StartsAvailable) {
  HostHealthRegistry registry(2);
  auto h = registry.attach("c", "10.0.0.1:80");
  EXPECT_TRUE(h->available(0));
  EXPECT_TRUE(h->healthCheckHealthy());
  EXPECT_EQ(h->workers(), 2u);
  EXPECT_EQ(h->clusterName(), "c");
  EXPECT_EQ(h->key(), "10.0.0.1:80");
}

TEST(HostHealth, AnyFailingCheckMakesItUnavailable) {
  HostHealthRegistry registry(1);
  auto h = registry.attach("c", "h");
  ClusterHealth& cluster = h->cluster();
  uint64_t e0 = cluster.epoch();
  EXPECT_TRUE(h->setCheckVerdict(0, false));
  EXPECT_GT(cluster.epoch(), e0);
  EXPECT_FALSE(h->available(0));
  uint64_t e1 = cluster.epoch();
  EXPECT_FALSE(h->setCheckVerdict(1, false));  // already unhealthy: no change for workers
  EXPECT_EQ(cluster.epoch(), e1);
  EXPECT_FALSE(h->setCheckVerdict(0, true));  // check 1 still fails
  EXPECT_FALSE(h->available(0));
  EXPECT_TRUE(h->checkVerdict(0));
  EXPECT_FALSE(h->checkVerdict(1));
  EXPECT_TRUE(h->setCheckVerdict(1, true));
  EXPECT_TRUE(h->available(0));
  EXPECT_GT(cluster.epoch(), e1);
}

TEST(HostHealth, EjectionEndsByTime) {
  HostHealthRegistry registry(1);
  auto h = registry.attach("c", "h");
  h->eject(1000, 1);
  EXPECT_FALSE(h->available(999));
  EXPECT_TRUE(h->ejected(999));
  EXPECT_TRUE(h->available(1000));
  EXPECT_EQ(h->totalEjections(), 1u);
  EXPECT_EQ(h->ejectionMultiplier(), 1u);
  h->uneject();
  EXPECT_EQ(h->ejectedUntil(), 0);
  auto c = h->counters();
  EXPECT_EQ(c.totalEjections, 1u);
}

TEST(HostHealth, CountersForAdmin) {
  HostHealthRegistry registry(1);
  auto h = registry.attach("c", "h");
  h->recordCheck(false, 1, "status 503");
  h->recordCheck(false, 2, "timeout");
  h->recordCheck(true, 0, {});
  auto c = h->counters();
  EXPECT_EQ(c.hcChecks, 3u);
  EXPECT_EQ(c.hcFailures, 2u);
  EXPECT_EQ(c.hcConsecutiveFailures, 0u);
  EXPECT_EQ(c.lastHcFailure, "timeout");
}

TEST(HostHealth, WorkerSlotsAreSummed) {
  HostHealthRegistry registry(3);
  auto h = registry.attach("c", "h");
  EXPECT_EQ(reinterpret_cast<uintptr_t>(&h->workerSlot(1)) % 64, 0u);
  h->workerSlot(0).requests.store(5);
  h->workerSlot(2).requests.store(7);
  h->workerSlot(2).successes.store(6);
  EXPECT_EQ(h->requestsTotal(), 12u);
  EXPECT_EQ(h->successesTotal(), 6u);
}

TEST(HostHealthRegistry, SameObjectWhileAliveDroppedAfter) {
  HostHealthRegistry registry(1);
  auto a = registry.attach("c1", "h1");
  EXPECT_EQ(registry.attach("c1", "h1"), a);
  EXPECT_NE(registry.attach("c2", "h1"), a);  // same host key, other cluster: separate state
  auto b = registry.attach("c1", "h2");
  EXPECT_EQ(&a->cluster(), &b->cluster());
  EXPECT_EQ(registry.size(), 2u);  // c2/h1 was released at once
  a->setCheckVerdict(0, false);
  auto again = registry.attach("c1", "h1");
  EXPECT_FALSE(again->healthCheckHealthy());  // survived "the reload"
  a.reset();
  again.reset();
  registry.sweep();
  EXPECT_EQ(registry.size(), 1u);
  EXPECT_TRUE(registry.attach("c1", "h1")->healthCheckHealthy());  // removed, then re-added: fresh
  int seen = 0;
  registry.forEach([&](const HostHealth& h) { seen += h.key() == "h2"; });
  EXPECT_EQ(seen, 1);
}

TEST(HostHealthRegistry, ConcurrentAttachAndRead) {
  HostHealthRegistry registry(2);
  auto h = registry.attach("c", "h");
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    while (!stop.load()) (void)h->available(5);
  });
  for (int i = 0; i < 2000; ++i) {
    auto x = registry.attach("c", "h" + std::to_string(i % 50));
    x->setCheckVerdict(0, i % 2 == 0);
  }
  stop = true;
  reader.join();
  EXPECT_LE(registry.size(), 51u);
}

}  // namespace
}  // namespace portico::upstream

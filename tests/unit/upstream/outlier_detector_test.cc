// Outlier detection: consecutive-5xx ejection through a worker's recorder, return after the
// ejection time, growing (capped, decaying) ejection times, maxEjectionPercent, enforcement
// draws, success-rate ejection, and reloads.
#include "upstream/outlier_detector.h"

#include <gtest/gtest.h>

#include "common/log.h"
#include "upstream_test_util.h"

namespace portico::upstream {
namespace {

using namespace testing;

/// A cluster under outlier detection with a detector on an event loop that runs only when
/// drain() is called (so posted ejection requests are applied at a point the test chooses).
struct OutlierFixture {
  explicit OutlierFixture(size_t hosts, config::OutlierDetection cfg = {}, size_t workers = 2)
      : registry(workers), config(cfg) {
    loop = net::EventLoop::create().value();
    detector = std::make_unique<OutlierDetector>(*loop, 42);
    cluster = makeCluster(hosts, Policy::RoundRobin);
    cluster.outlierDetection = cfg;
    data = buildClusterLbData(cluster, registry);
    detector->updateAt({OutlierCluster{cluster.name, cfg, data->health}}, 0);
  }
  /// Runs what workers posted.
  void drain() {
    loop->stop();
    loop->run();
  }
  HostHealth& host(size_t i) { return *data->health[i]; }
  bool eject(size_t i, MonoMs now) {
    return detector->requestEjectionAt(host(i), EjectionReason::Consecutive5xx, now);
  }

  HostHealthRegistry registry;
  config::OutlierDetection config;
  std::unique_ptr<net::EventLoop> loop;
  std::unique_ptr<OutlierDetector> detector;
  Cluster cluster;
  std::shared_ptr<const ClusterLbData> data;
};

TEST(OutlierDetector, Consecutive5xxEjectsThroughTheRecorder) {
  OutlierFixture f(4);
  OutlierRecorder worker0(*f.data, f.config, 0, f.detector.get());
  OutlierRecorder worker1(*f.data, f.config, 1, f.detector.get());
  for (int i = 0; i < 4; ++i) worker0.recordResult(1, 503);
  worker0.recordResult(1, 200);  // a success breaks the streak
  for (int i = 0; i < 4; ++i) worker0.recordResult(1, 500);
  for (int i = 0; i < 4; ++i) worker1.recordResult(1, 0);  // another worker's streak is its own
  f.drain();
  EXPECT_FALSE(f.host(1).ejected(monotonicMs()));

  worker0.recordResult(1, 502);  // worker 0's fifth in a row
  f.drain();
  MonoMs now = monotonicMs();
  EXPECT_TRUE(f.host(1).ejected(now));
  EXPECT_FALSE(f.host(1).available(now));
  EXPECT_GE(f.host(1).ejectedUntil(), now + 30000 - 1000);  // baseEjectionTime 30 s
  EXPECT_EQ(f.host(1).totalEjections(), 1u);
  auto stats = f.detector->stats();
  EXPECT_EQ(stats.enforced[static_cast<size_t>(EjectionReason::Consecutive5xx)], 1u);
  // Gateway failures are counted but not enforced by default (enforcing 0 %).
  EXPECT_EQ(stats.enforced[static_cast<size_t>(EjectionReason::ConsecutiveGatewayFailure)], 0u);

  // Worker 1's old streak began before the ejection: it starts over instead of re-ejecting.
  f.detector->runIntervalAt(f.cluster.name, now + 30000);
  EXPECT_TRUE(f.host(1).available(now + 30000));
  worker1.recordResult(1, 503);
  f.drain();
  EXPECT_EQ(f.host(1).totalEjections(), 1u);
  // Success-rate counters are per worker and monotonic.
  EXPECT_EQ(f.host(1).requestsTotal(), 15u);
  EXPECT_EQ(f.host(1).successesTotal(), 1u);
}

TEST(OutlierDetector, GatewayFailureWhenEnforced) {
  config::OutlierDetection cfg;
  cfg.consecutive5xx = 100;
  cfg.consecutiveGatewayFailure = 3;
  cfg.enforcingConsecutiveGatewayFailure = 100;
  OutlierFixture f(3, cfg);
  OutlierRecorder w(*f.data, cfg, 0, f.detector.get());
  w.recordResult(0, 504);
  w.recordResult(0, 500);  // a 5xx that is not a gateway failure resets that streak
  w.recordResult(0, 504);
  w.recordResult(0, 0);
  f.drain();
  EXPECT_EQ(f.host(0).totalEjections(), 0u);
  w.recordResult(0, 503);
  f.drain();
  EXPECT_EQ(f.host(0).totalEjections(), 1u);
}

TEST(OutlierDetector, ReturnsHostWhenEjectionTimeIsUp) {
  config::OutlierDetection cfg;
  cfg.baseEjectionTimeMs = 1000;
  OutlierFixture f(3, cfg);
  ASSERT_TRUE(f.eject(0, 10'000));
  EXPECT_FALSE(f.eject(0, 10'500));  // already ejected
  f.detector->runIntervalAt(f.cluster.name, 10'999);
  EXPECT_TRUE(f.host(0).detectorState().ejected);
  EXPECT_FALSE(f.host(0).available(10'999));
  f.detector->runIntervalAt(f.cluster.name, 11'000);
  EXPECT_FALSE(f.host(0).detectorState().ejected);
  EXPECT_EQ(f.host(0).ejectedUntil(), 0);
  EXPECT_TRUE(f.host(0).available(11'000));
}

TEST(OutlierDetector, EjectionTimeGrowsIsCappedAndDecays) {
  config::OutlierDetection cfg;
  cfg.baseEjectionTimeMs = 1000;
  cfg.maxEjectionTimeMs = 2500;
  cfg.intervalMs = 100;
  OutlierFixture f(1, cfg);
  HostHealth& h = f.host(0);
  MonoMs t = 0;
  std::vector<MonoMs> durations;
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(f.eject(0, t));
    durations.push_back(h.ejectedUntil() - t);
    t = h.ejectedUntil();
    f.detector->runIntervalAt(f.cluster.name, t);  // back in service
    ASSERT_FALSE(h.detectorState().ejected);
  }
  EXPECT_EQ(durations, (std::vector<MonoMs>{1000, 2000, 2500, 2500}));
  EXPECT_EQ(h.ejectionMultiplier(), 3u);  // stops growing at the cap
  // In service: the multiplier only decays once a base ejection time has passed.
  f.detector->runIntervalAt(f.cluster.name, t + 500);
  EXPECT_EQ(h.ejectionMultiplier(), 3u);
  f.detector->runIntervalAt(f.cluster.name, t + 1000);
  f.detector->runIntervalAt(f.cluster.name, t + 1100);
  EXPECT_EQ(h.ejectionMultiplier(), 1u);
  ASSERT_TRUE(f.eject(0, t + 1200));
  EXPECT_EQ(h.ejectedUntil() - (t + 1200), 2000);
}

TEST(OutlierDetector, MaxEjectionPercent) {
  config::OutlierDetection cfg;
  cfg.maxEjectionPercent = 20;
  OutlierFixture f(10, cfg);
  EXPECT_TRUE(f.eject(0, 100));
  EXPECT_TRUE(f.eject(1, 100));   // 2 of 10 = 20 %
  EXPECT_FALSE(f.eject(2, 100));  // 3 of 10 would exceed it
  EXPECT_EQ(f.detector->stats().overflow, 1u);

  config::OutlierDetection small;  // 10 % of 3 hosts rounds to 0: one host may still go
  OutlierFixture g(3, small);
  EXPECT_TRUE(g.eject(0, 100));
  EXPECT_FALSE(g.eject(1, 100));
  // Once the first one is back, another may go.
  g.detector->runIntervalAt(g.cluster.name, 100 + 30000);
  EXPECT_TRUE(g.eject(1, 100 + 30000));
}

TEST(OutlierDetector, EnforcementIsARandomDraw) {
  config::OutlierDetection cfg;
  cfg.enforcingConsecutive5xx = 0;
  OutlierFixture never(1, cfg);
  for (int i = 0; i < 50; ++i) EXPECT_FALSE(never.eject(0, i));
  EXPECT_EQ(never.detector->stats().detected[0], 50u);

  cfg.enforcingConsecutive5xx = 50;
  cfg.baseEjectionTimeMs = 1;
  cfg.maxEjectionTimeMs = 1;
  OutlierFixture half(1, cfg);
  int ejected = 0;
  MonoMs t = 0;
  LogLevel level = logLevel();
  setLogLevel(LogLevel::Error);                                        // 200 ejection lines
  for (int i = 0; i < 400; ++i, t += 10) ejected += half.eject(0, t);  // each ejection ends in 1 ms
  setLogLevel(level);
  EXPECT_GT(ejected, 150);
  EXPECT_LT(ejected, 250);
}

TEST(OutlierDetector, SuccessRateEjectsTheOutlier) {
  config::OutlierDetection cfg;  // minimum hosts 5, volume 100, stdev factor 1.9
  OutlierFixture f(6, cfg);
  auto serve = [&](size_t host, uint64_t requests, uint64_t successes) {
    auto& slot = f.host(host).workerSlot(host % 2);
    slot.requests.store(slot.requests.load() + requests);
    slot.successes.store(slot.successes.load() + successes);
  };
  for (size_t i = 0; i < 5; ++i) serve(i, 200, 198);
  serve(5, 200, 120);
  f.detector->runIntervalAt(f.cluster.name, 1000);
  EXPECT_TRUE(f.host(5).ejected(1000));
  for (size_t i = 0; i < 5; ++i) EXPECT_FALSE(f.host(i).ejected(1000));
  EXPECT_EQ(f.detector->stats().enforced[static_cast<size_t>(EjectionReason::SuccessRate)], 1u);

  // The next interval only looks at what happened since: nobody is an outlier any more.
  for (size_t i = 0; i < 5; ++i) serve(i, 200, 198);
  f.detector->runIntervalAt(f.cluster.name, 2000);
  EXPECT_EQ(f.detector->stats().detected[static_cast<size_t>(EjectionReason::SuccessRate)], 1u);
}

TEST(OutlierDetector, SuccessRateNeedsVolumeAndHosts) {
  config::OutlierDetection cfg;
  OutlierFixture f(6, cfg);
  for (size_t i = 0; i < 5; ++i) {
    f.host(i).workerSlot(0).requests.store(200);
    f.host(i).workerSlot(0).successes.store(200);
  }
  f.host(5).workerSlot(0).requests.store(99);  // below the request volume
  f.detector->runIntervalAt(f.cluster.name, 1000);
  EXPECT_FALSE(f.host(5).ejected(1000));

  config::OutlierDetection few;
  few.successRateMinimumHosts = 7;
  OutlierFixture g(6, few);
  for (size_t i = 0; i < 6; ++i) g.host(i).workerSlot(0).requests.store(200);
  for (size_t i = 0; i < 5; ++i) g.host(i).workerSlot(0).successes.store(200);
  g.detector->runIntervalAt(g.cluster.name, 1000);  // only 6 qualifying hosts < 7
  EXPECT_FALSE(g.host(5).ejected(1000));
}

TEST(OutlierDetector, ReloadKeepsStateAndReleasesDroppedHosts) {
  OutlierFixture f(4);
  ASSERT_TRUE(f.eject(0, 100));
  f.host(3).eject(30100, 1);  // as if ejected (bypassing maxEjectionPercent)
  // Same cluster, host 3 removed: host 0 stays ejected, host 3 goes back to service.
  Cluster smaller = f.cluster;
  smaller.hosts.pop_back();
  auto data = buildClusterLbData(smaller, f.registry, f.data.get());
  f.detector->updateAt({OutlierCluster{smaller.name, f.config, data->health}}, 200);
  EXPECT_TRUE(f.host(0).ejected(200));
  EXPECT_EQ(f.host(3).ejectedUntil(), 0);
  EXPECT_FALSE(f.detector->requestEjectionAt(f.host(3), EjectionReason::Consecutive5xx, 300));
  // Outlier detection removed from the cluster: its hosts return.
  f.detector->updateAt({}, 300);
  EXPECT_EQ(f.host(0).ejectedUntil(), 0);
}

TEST(OutlierDetector, IntervalTimerRunsOnTheLoop) {
  config::OutlierDetection cfg;
  cfg.intervalMs = 20;
  cfg.baseEjectionTimeMs = 30;
  HostHealthRegistry registry(1);
  auto loop = net::EventLoop::create().value();
  OutlierDetector detector(*loop, 7);
  Cluster c = makeCluster(2, Policy::RoundRobin);
  auto data = buildClusterLbData(c, registry);
  detector.update({OutlierCluster{c.name, cfg, data->health}});
  detector.requestEjection(data->health[1], EjectionReason::Consecutive5xx);
  net::Timer stop(*loop, [&] { loop->stop(); });
  stop.arm(200);
  loop->run();
  EXPECT_EQ(data->health[1]->totalEjections(), 1u);
  EXPECT_FALSE(data->health[1]->detectorState().ejected);  // returned by a sweep
  EXPECT_EQ(data->health[1]->ejectedUntil(), 0);
}

}  // namespace
}  // namespace portico::upstream

namespace portico::upstream {
namespace {

TEST(OutlierDetectorSetup, ClusterHelperDeduplicatesHosts) {
  HostHealthRegistry registry(1);
  Cluster c = testing::makeCluster(3, testing::Policy::RoundRobin);
  c.hosts.push_back(c.hosts[0]);  // listed twice
  config::OutlierDetection cfg;
  cfg.consecutive5xx = 7;
  c.outlierDetection = cfg;
  auto data = buildClusterLbData(c, registry);
  OutlierCluster oc = outlierCluster(c, *data);
  EXPECT_EQ(oc.name, c.name);
  EXPECT_EQ(oc.config.consecutive5xx, 7u);
  EXPECT_EQ(oc.hosts.size(), 3u);
}

}  // namespace
}  // namespace portico::upstream
